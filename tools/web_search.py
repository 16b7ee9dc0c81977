"""The ``web_search`` tool: web results from ``ddgs`` (DuckDuckGo and other engines, no API key).

Results come back as typed records (title, url, snippet). Rate limits and timeouts are retried with
exponential back-off (tenacity); when retries run out, or the search fails otherwise, the model gets
a :class:`ModelRetry` message saying what happened and what it can do, never a raw traceback.

``ddgs`` is imported only when a search runs, so ``import agentkit.tools`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from agentkit.errors import ModelRetry
from agentkit.tool import Tool

from ._common import optional_import

TimeLimit = Literal["d", "w", "m", "y"]


class SearchResult(BaseModel):
    """One web search hit."""

    title: str
    url: str
    snippet: str


class SearchClient(Protocol):
    """What the tool needs of a ``ddgs.DDGS`` instance."""

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


ClientFactory = Callable[[], SearchClient]


class SearchFailed(ModelRetry):
    """The search engine could not answer (rate limit, network trouble, no results)."""


def _default_client(timeout: int) -> ClientFactory:
    def make() -> SearchClient:
        ddgs = optional_import("ddgs")
        client: SearchClient = ddgs.DDGS(timeout=timeout)
        return client

    return make


def _is_transient(exc: BaseException) -> bool:
    """Rate limits and timeouts are worth another try; other failures are not."""
    exceptions = optional_import("ddgs.exceptions")
    return isinstance(exc, exceptions.RatelimitException | exceptions.TimeoutException | TimeoutError)


def web_search_tool(
    *,
    client_factory: ClientFactory | None = None,
    attempts: int = 3,
    backoff: float = 2.0,
    request_timeout: int = 10,
    safesearch: Literal["on", "moderate", "off"] = "moderate",
    name: str = "web_search",
) -> Tool:
    """Build a ``web_search`` tool.

    Args:
        client_factory: makes the search client (default: ``ddgs.DDGS``); tests pass a fake.
        attempts: tries per search when rate limited or timed out.
        backoff: first wait in seconds between tries (doubles each time, at most 30 s).
        request_timeout: seconds per request to the engines.
        safesearch: the engines' adult-content filter.
        name: the tool name the model sees.
    """
    make_client = client_factory or _default_client(request_timeout)

    def web_search(
        query: str,
        max_results: Annotated[int, Field(ge=1, le=20)] = 5,
        region: str = "us-en",
        timelimit: TimeLimit | None = None,
    ) -> list[SearchResult]:
        """Search the web and return the top results (title, url and a short snippet each).

        Use it to find pages; read a page in full with a URL-fetching tool if one is available.

        Args:
            query: What to search for, as keywords, e.g. "python 3.13 release date".
            max_results: How many results to return (1 to 20).
            region: Region and language of the results, e.g. "us-en", "uk-en", "de-de", "wt-wt" (no region).
            timelimit: Only results from the last day "d", week "w", month "m" or year "y".
        """
        if not query.strip():
            raise SearchFailed("the query is empty; give some keywords to search for")
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=30),
            retry=retry_if_exception(_is_transient),
            reraise=False,
        )
        try:
            raw = retrying(
                lambda: make_client().text(
                    query, region=region, safesearch=safesearch, timelimit=timelimit, max_results=max_results
                )
            )
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise SearchFailed(
                f"web search is unavailable right now ({type(cause).__name__}: {cause}) after {attempts} "
                "tries; answer without it or try again later"
            ) from cause
        except Exception as exc:
            if "no results" in str(exc).lower():
                raise SearchFailed(f"no results for {query!r}; try fewer or different keywords") from exc
            raise SearchFailed(f"web search failed: {type(exc).__name__}: {exc}") from exc
        results = [
            SearchResult(
                title=str(item.get("title") or ""),
                url=str(item.get("href") or item.get("url") or ""),
                snippet=str(item.get("body") or item.get("snippet") or ""),
            )
            for item in raw[:max_results]
        ]
        if not results:
            raise SearchFailed(f"no results for {query!r}; try fewer or different keywords")
        return results

    return Tool.from_function(web_search, name=name, timeout=attempts * (request_timeout + 30))


web_search = web_search_tool()
"""``web_search`` with default settings."""
