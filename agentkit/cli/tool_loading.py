"""Tools named on the command line: built-in names, or ``path/to/file.py:function`` for the user's own.

A file is imported with importlib under a private module name; ``file.py`` alone takes every
:class:`~agentkit.Tool` the file defines, ``file.py:name`` takes one function, Tool or list of Tools.
``package.module:name`` works too. Every failure (missing file, syntax error, an exception at import,
a missing name, a function that cannot become a tool) is a ConfigurationError naming the file and line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from agentkit.errors import ConfigurationError
from agentkit.tool import Tool


def _from_builtins(attribute: str) -> Callable[[], list[Tool]]:
    def load() -> list[Tool]:
        module = _import_builtin_tools()
        value = getattr(module, attribute, None)
        if value is None:
            raise ConfigurationError(f"built-in tool '{attribute}' is not part of this agentkit installation")
        return _as_tools(value, f"agentkit.tools.{attribute}")

    return load


def _files_in_cwd() -> list[Tool]:
    module = _import_builtin_tools()
    factory = getattr(module, "files_tools", None)
    if factory is None:
        raise ConfigurationError("built-in tool 'files' is not part of this agentkit installation")
    return _as_tools(factory(Path.cwd()), "agentkit.tools.files_tools")


BUILTIN_TOOLS: dict[str, tuple[str, Callable[[], list[Tool]]]] = {
    "calculator": ("arithmetic and math functions, without eval", _from_builtins("calculator")),
    "web_search": ("web search through DuckDuckGo (ddgs)", _from_builtins("web_search")),
    "fetch_url": ("read a public web page as text", _from_builtins("fetch_url")),
    "python": ("run Python in a separate, limited process (asks for approval)", _from_builtins("python")),
    "files": ("read, list, search and write files under the current directory", _files_in_cwd),
}
"""Built-in tool names the CLI accepts: name -> (one-line summary, loader)."""


def _import_builtin_tools() -> ModuleType:
    try:
        return importlib.import_module("agentkit.tools")
    except ConfigurationError:
        raise
    except ImportError as exc:
        raise ConfigurationError(f"the built-in tools cannot be imported: {exc}") from exc


def _as_tools(value: Any, where: str) -> list[Tool]:
    if isinstance(value, Tool):
        return [value]
    if isinstance(value, list | tuple) and value:
        tools: list[Tool] = []
        for item in value:
            tools.extend(_as_tools(item, where))
        return tools
    if callable(value):
        return [Tool.from_function(value)]  # ToolDefinitionError says what is wrong with it
    raise ConfigurationError(f"{where} is a {type(value).__name__}, not a tool, function or list of tools")


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigurationError(f"tool file not found: {path}")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"agentkit_user_tools_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as a normal import does: pydantic resolves annotations through it
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ConfigurationError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        line = f":{frames[-1].lineno}" if frames else ""
        raise ConfigurationError(f"{path}{line}: importing it raised {type(exc).__name__}: {exc}") from exc
    return module


def _import_target(target: str) -> ModuleType:
    if target.endswith(".py") or "/" in target or Path(target).is_file():
        return _import_file(Path(target))
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import tool module {target!r}: {exc}") from exc


def load_tool_spec(spec: str) -> list[Tool]:
    """The tools one ``--tool`` value names."""
    if spec in BUILTIN_TOOLS:
        return BUILTIN_TOOLS[spec][1]()
    target, sep, attribute = spec.rpartition(":")
    if not sep:
        target, attribute = spec, ""
    if not target.endswith(".py") and "." not in target and "/" not in target and not attribute:
        known = ", ".join(BUILTIN_TOOLS)
        raise ConfigurationError(
            f"unknown tool {spec!r}: use a built-in name ({known}) or path/to/file.py[:function]"
        )
    module = _import_target(target)
    if not attribute:
        tools = [value for value in vars(module).values() if isinstance(value, Tool)]
        if not tools:
            raise ConfigurationError(
                f"{target} defines no @tool; name a function with {target}:function_name"
            )
        return tools
    if not hasattr(module, attribute):
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        hint = f" (it has: {', '.join(public[:10])})" if public else ""
        raise ConfigurationError(f"{target} has no {attribute!r}{hint}")
    return _as_tools(getattr(module, attribute), f"{target}:{attribute}")


def load_tools(specs: Sequence[str]) -> list[Tool]:
    """Every tool named by ``--tool`` values, in order."""
    tools: list[Tool] = []
    for spec in specs:
        tools.extend(load_tool_spec(spec))
    return tools
