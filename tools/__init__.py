"""Built-in tools, installed as ``agentkit.tools``. Each lives in its own module.

Ready to use (safe defaults)::

    from agentkit.tools import calculator, fetch_url, python, web_search, files_tools

    agent = Agent(tools=[calculator, web_search, fetch_url, *files_tools("./workspace")],
                  approve=ask_on_terminal)

``python`` and ``write_file`` need approval (``Agent(approve=...)``, see :mod:`agentkit.approval`).
Tools with settings come from factories: ``fetch_url_tool(allow_private=...)``,
``python_tool(PythonLimits(...))``, ``files_tools(root, ...)``, ``web_search_tool(...)``.
Optional dependencies (``ddgs``, ``html2text``) are imported when a tool first runs: install them
with ``pip install 'agentkit[tools]'``.
"""

from .calculator import calculator
from .fetch_url import FetchLimits, fetch_url, fetch_url_tool
from .files import FileLimits, Workspace, files_tools
from .python_exec import PythonLimits, choose_isolation, python, python_tool
from .web_search import SearchResult, web_search, web_search_tool

__all__ = [
    "FetchLimits",
    "FileLimits",
    "PythonLimits",
    "SearchResult",
    "Workspace",
    "calculator",
    "choose_isolation",
    "fetch_url",
    "fetch_url_tool",
    "files_tools",
    "python",
    "python_tool",
    "web_search",
    "web_search_tool",
]
