"""The per-run context window: measures each new message once, asks the policy what to send, and
guarantees that what is sent fits.

``build`` is called by the run loop before every model call. It costs O(new messages) for counting and
cutting plus what the policy does (the default policy is incremental too), so the cost of building a
request stays flat as a conversation grows (benchmarks/context.py). The history itself is never
changed: cut tool results and evictions exist only in the requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from agentkit.backends.base import Backend, ModelRequest, ModelSettings
from agentkit.backends.counting import TokenCounter
from agentkit.context.config import ContextConfig, default_reserve
from agentkit.context.policy import ContextPolicy, DefaultPolicy, Selection
from agentkit.context.summary import update_summary
from agentkit.context.truncation import truncate_middle
from agentkit.context.units import pairing_problems
from agentkit.errors import ConfigurationError, ContextOverflowError
from agentkit.messages import Message, SystemMessage, ToolMessage, Usage
from agentkit.templates import render
from agentkit.tool_spec import ToolSpec


class ContextWindow:
    """Token accounting and request building for one run.

    Attributes a policy may use: ``counts`` (tokens of each history message, index-aligned),
    ``limit`` (tokens available to messages), ``tokens(message)``, ``state`` (a per-run dict for the
    policy's own bookkeeping) and ``evict(messages)`` (hand evicted messages to the running summary).
    """

    def __init__(
        self,
        config: ContextConfig,
        backend: Backend,
        tools: Sequence[ToolSpec] = (),
        settings: ModelSettings | None = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.counter: TokenCounter = config.counter or backend.token_counter()
        self.policy: ContextPolicy = config.policy or DefaultPolicy()
        self.window = config.context_window or backend.context_window
        if not (isinstance(self.window, int) and self.window > 0):
            raise ConfigurationError(
                f"backend {backend.name!r} reports no usable context window ({self.window!r}); "
                "pass ContextConfig(context_window=...)"
            )
        reply = (
            config.reserve_tokens
            or (settings.max_tokens if settings else None)
            or default_reserve(self.window)
        )
        self.budget = self.window - reply
        """Tokens one request may take: the window minus the reply's reserve."""
        self.summary_reserve = config.summary_tokens if config.summarize else 0
        if self.budget - self.summary_reserve <= 0:
            raise ConfigurationError(
                f"the context window ({self.window} tokens) leaves no room for a request after reserving "
                f"{reply} tokens for the reply and {self.summary_reserve} for the summary"
            )
        self.tools_tokens = self.counter.count_tools(tools)
        self.views: list[Message] = []
        """The history as requests show it (oversized tool results cut), index-aligned with it."""
        self.counts: list[int] = []
        self.state: dict[Any, Any] = {}
        self.summary: str | None = None
        self.summary_requests: list[ModelRequest] = []
        self._evicted: list[Message] = []
        self._by_id: dict[int, int] = {}
        self._keep: list[Message] = []
        self._system_view: tuple[Message, Message, int] | None = None
        self._pending_usage: Usage | None = None
        self._limit: tuple[float, int] = (math.nan, 0)
        """``limit`` for the counter's scale it was computed with (asked for twice a step)."""
        self.last_tokens = 0
        """Tokens (unscaled) of the last request built, for calibration against the server's count."""

    @property
    def limit(self) -> int:
        """Tokens (as the counter counts them) that the messages of a request may take."""
        scale = self.counter.scale
        if self._limit[0] == scale:
            return self._limit[1]
        usable = math.floor(self.budget / scale)
        limit = usable - self.tools_tokens - self.counter.overhead - self.summary_reserve
        self._limit = (scale, limit)
        return limit

    @property
    def taken(self) -> int:
        """How many messages of the history this window has taken in (it goes on from there)."""
        return len(self.views)

    def tool_result_limit(self, tool_name: str) -> int:
        limit = self.config.tool_limits.get(tool_name) or self.config.tool_result_tokens
        return limit if limit is not None else max(self.limit // 4, 32)

    def tokens(self, message: Message) -> int:
        """Tokens of ``message`` (counted once, then cached)."""
        found = self._by_id.get(id(message))
        if found is None:
            found = self.counter.count_message(message)
            self._by_id[id(message)] = found
            self._keep.append(message)  # keeps the id valid
        return found

    def evict(self, messages: Sequence[Message]) -> None:
        """Policies call this with what they drop, so a running summary can take it in."""
        if self.config.summarize:
            self._evicted.extend(messages)

    def _ingest(self, history: Sequence[Message]) -> None:
        if len(history) < len(self.views):  # the history was replaced, not extended: start over
            self.views, self.counts, self.state = [], [], {}
            self._by_id, self._keep = {}, []
        count_message = self.counter.count_message
        for index in range(len(self.views), len(history)):
            message = history[index]
            if isinstance(message, ToolMessage):
                limit = self.tool_result_limit(message.name)
                cut = truncate_middle(message.content, limit, self.counter.count_text)
                if cut is not message.content:
                    message = message.model_copy(update={"content": cut})
            self.views.append(message)
            self.counts.append(count_message(message))

    async def build(self, history: Sequence[Message]) -> list[Message]:
        """The messages of the next request; raises :class:`ContextOverflowError` if they cannot fit."""
        self._ingest(history)
        chosen = self.policy(self.views, self)
        if isinstance(chosen, Selection):
            request: list[Message] = chosen
            tokens = chosen.tokens
        else:
            request = list(chosen)
            problems = pairing_problems(request)
            if problems:
                raise ConfigurationError(
                    f"context policy {self.policy!r} built a request that breaks call/result pairing: "
                    + "; ".join(problems[:3])
                )
            tokens = sum(self.tokens(m) for m in request)
        if self._evicted:
            await self._update_summary()
        if self.summary and request and isinstance(request[0], SystemMessage):
            system, tokens_delta = self._with_summary(request[0])
            request = [system, *request[1:]]
            tokens += tokens_delta
        total = tokens + self.tools_tokens + self.counter.overhead
        needed = math.ceil(total * self.counter.scale)
        if needed > self.budget:
            raise ContextOverflowError(
                f"the request needs {needed} tokens but the budget is {self.budget} (context window "
                f"{self.window} minus {self.window - self.budget} reserved for the reply), even after "
                "evicting everything the policy may evict; the system prompt, tool schemas, the task and the "
                "latest turn alone are too large. Shorten them, lower tool_result_tokens, or use a model "
                "with a larger window.",
                needed=needed,
                budget=self.budget,
            )
        self.last_tokens = total
        return request

    def _with_summary(self, system: Message) -> tuple[Message, int]:
        cached = self._system_view
        if cached is not None and cached[0] is system:
            return cached[1], cached[2]
        summary = self.summary or ""
        base = self.tokens(system)
        for _ in range(4):
            note = render("summary_note.jinja", summary=summary)
            view = SystemMessage(content=f"{system.content}\n\n{note}")
            extra = self.counter.count_message(view) - base
            if extra <= self.summary_reserve:
                self._system_view = (system, view, extra)
                return view, extra
            summary = truncate_middle(summary, max(self.summary_reserve // 2, 1), self.counter.count_text)
        self._system_view = (system, system, 0)
        return system, 0

    async def _update_summary(self) -> None:
        evicted, self._evicted = self._evicted, []
        text, usage, request = await update_summary(
            self.backend,
            self.counter,
            self.summary,
            evicted,
            window=self.window,
            summary_tokens=self.config.summary_tokens,
        )
        self.summary_requests.append(request)
        self.summary = text
        self._system_view = None
        self._pending_usage = usage if self._pending_usage is None else self._pending_usage + usage

    def charge(self, usage: Usage) -> Usage:
        """``usage`` plus what summary calls used since the last charge."""
        pending, self._pending_usage = self._pending_usage, None
        return usage if pending is None else usage + pending

    def observe(self, usage: Usage) -> None:
        """Calibrate an estimating counter with the prompt size the server reported."""
        if usage.input_tokens and self.last_tokens:
            self.counter.observe(self.last_tokens, usage.input_tokens)
