"""A research agent: it searches the web (web_search, on ddgs) and reads pages (fetch_url).

    pip install 'agentkit[tools]'
    python examples/research_agent.py "Who designed the Python language, and when was it first released?"

fetch_url refuses private and loopback addresses unless told otherwise; search results are
records (title, url, snippet) the model reads as JSON.
"""

from __future__ import annotations

import os
import sys

from agentkit import Agent, Backend, RunResult, Tool
from agentkit.tools import fetch_url, web_search

INSTRUCTIONS = (
    "You answer research questions. Search first, then read the most relevant page with fetch_url, "
    "and answer in two or three sentences that cite the page's URL."
)


def main(
    question: str = "Who designed the Python language, and when was it first released?",
    *,
    model: Backend | str | None = None,
    tools: list[Tool] | None = None,
) -> RunResult[str]:
    agent = Agent(
        model or os.environ.get("AGENTKIT_MODEL", "local"),
        tools=tools or [web_search, fetch_url],
        system_prompt=INSTRUCTIONS,
        max_steps=8,
    )
    return agent.run(question)


if __name__ == "__main__":
    print(main(*sys.argv[1:2]).output)
