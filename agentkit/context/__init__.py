"""Context management: token counting, a budget, and policies that keep every request within the
model's window without ever separating a tool call from its results.

    agent = Agent(model, tools=[...], context=ContextConfig(summarize=True))

See docs/memory.md.
"""

from agentkit.context.config import ContextConfig
from agentkit.context.counting import (
    BackendCounter,
    EstimateCounter,
    OpenAICounter,
    TokenCounter,
    counter_for,
    openai_counter,
)
from agentkit.context.manager import ContextWindow
from agentkit.context.policy import ContextPolicy, DefaultPolicy, Selection
from agentkit.context.sizes import KNOWN_CONTEXT_WINDOWS, known_context_window, resolve_context_window
from agentkit.context.truncation import truncate_middle
from agentkit.context.units import pairing_problems

__all__ = [
    "KNOWN_CONTEXT_WINDOWS",
    "BackendCounter",
    "ContextConfig",
    "ContextPolicy",
    "ContextWindow",
    "DefaultPolicy",
    "EstimateCounter",
    "OpenAICounter",
    "Selection",
    "TokenCounter",
    "counter_for",
    "known_context_window",
    "openai_counter",
    "pairing_problems",
    "resolve_context_window",
    "truncate_middle",
]
