"""web_search through a fake DDGS client: typed results, retries on rate limits, clear errors."""

from __future__ import annotations

from typing import Any

import ddgs
import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from agentkit import Agent, ToolMessage
from agentkit.errors import ModelRetry
from agentkit.testing import ScriptedBackend, call
from agentkit.tools import SearchResult, web_search, web_search_tool
from agentkit.tools.web_search import SearchFailed

HITS = [
    {"title": "Python", "href": "https://python.org", "body": "The official site."},
    {"title": "Docs", "href": "https://docs.python.org", "body": "Documentation."},
    {"title": "PyPI", "href": "https://pypi.org", "body": "Packages."},
]


class FakeDDGS:
    """Stands in for ddgs.DDGS: records each query and answers from a script of results or errors."""

    def __init__(self, *answers: list[dict[str, Any]] | Exception) -> None:
        self.answers = list(answers)
        self.queries: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.queries.append((query, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_returns_typed_results_and_passes_the_options() -> None:
    fake = FakeDDGS(HITS)
    tool = web_search_tool(client_factory=lambda: fake, safesearch="off")
    results = tool("python", max_results=2, region="de-de", timelimit="w")
    assert results == [
        SearchResult(title="Python", url="https://python.org", snippet="The official site."),
        SearchResult(title="Docs", url="https://docs.python.org", snippet="Documentation."),
    ]
    assert fake.queries == [
        ("python", {"region": "de-de", "safesearch": "off", "timelimit": "w", "max_results": 2})
    ]


def test_rate_limits_and_timeouts_are_retried_with_backoff() -> None:
    fake = FakeDDGS(RatelimitException("202 Ratelimit"), TimeoutException("timed out"), HITS)
    tool = web_search_tool(client_factory=lambda: fake, attempts=3, backoff=0.01)
    assert [r.title for r in tool("python", max_results=1)] == ["Python"]
    assert len(fake.queries) == 3


def test_persistent_rate_limiting_becomes_a_clear_message() -> None:
    fake = FakeDDGS(*[RatelimitException("202 Ratelimit")] * 2)
    tool = web_search_tool(client_factory=lambda: fake, attempts=2, backoff=0.01)
    with pytest.raises(SearchFailed, match=r"unavailable right now .*RatelimitException.* after 2 tries"):
        tool("python")
    assert len(fake.queries) == 2


def test_other_failures_are_not_retried() -> None:
    fake = FakeDDGS(DDGSException("No results found."))
    tool = web_search_tool(client_factory=lambda: fake, backoff=0.01)
    with pytest.raises(SearchFailed, match="no results for 'zzqx'; try fewer or different keywords"):
        tool("zzqx")
    fake = FakeDDGS(ConnectionError("network is unreachable"))
    with pytest.raises(SearchFailed, match="web search failed: ConnectionError: network is unreachable"):
        web_search_tool(client_factory=lambda: fake, backoff=0.01)("python")
    assert len(fake.queries) == 1


def test_empty_queries_and_results() -> None:
    with pytest.raises(SearchFailed, match="query is empty"):
        web_search_tool(client_factory=lambda: FakeDDGS())("  ")
    with pytest.raises(SearchFailed, match="no results"):
        web_search_tool(client_factory=lambda: FakeDDGS([]))("python")


def test_the_default_tool_uses_ddgs(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []

    class PatchedDDGS(FakeDDGS):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(HITS)
            made.append(kwargs)

    monkeypatch.setattr(ddgs, "DDGS", PatchedDDGS)
    assert web_search("python", max_results=1)[0].url == "https://python.org"
    assert made == [{"timeout": 10}]


def test_schema_bounds_max_results_for_the_model() -> None:
    backend = ScriptedBackend([call("web_search", query="python", max_results=500), "ok"])
    result = Agent(model=backend, tools=[web_search_tool(client_factory=lambda: FakeDDGS())]).run("search")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert (
        message.is_error
        and "max_results" in message.content
        and "less than or equal to 20" in message.content
    )


def test_agent_searches_and_reads_the_results() -> None:
    fake = FakeDDGS(RatelimitException("202 Ratelimit"), HITS)
    backend = ScriptedBackend([call("web_search", query="python docs", max_results=3), "python.org"])
    tool = web_search_tool(client_factory=lambda: fake, backoff=0.01)
    result = Agent(model=backend, tools=[tool]).run("Find the Python docs")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert not message.is_error
    assert '"url":"https://docs.python.org"' in message.content and '"snippet":"Packages."' in message.content
    assert issubclass(SearchFailed, ModelRetry)
    backend.assert_used_up()
