"""Context management: token counting, a budget, and policies that keep every request within the
model's window without ever separating a tool call from its results.

    agent = Agent(model, tools=[...], context=ContextConfig(summarize=True))

See docs/memory.md.
"""

from agentkit.backends.counting import BackendCounter, EstimateCounter, TokenCounter
from agentkit.context.config import ContextConfig
from agentkit.context.manager import ContextWindow
from agentkit.context.policy import ContextPolicy, DefaultPolicy, Selection
from agentkit.context.truncation import truncate_middle
from agentkit.context.units import pairing_problems

__all__ = [
    "BackendCounter",
    "ContextConfig",
    "ContextPolicy",
    "ContextWindow",
    "DefaultPolicy",
    "EstimateCounter",
    "Selection",
    "TokenCounter",
    "pairing_problems",
    "truncate_middle",
]
