"""agentkit: typed, fast LLM agents that call tools, on local models or any OpenAI-compatible API.

    from agentkit import Agent, tool

    @tool
    def add(a: int, b: int) -> int:
        \"\"\"Add two integers.\"\"\"
        return a + b

    result = Agent(model="local", tools=[add]).run("What is 2 + 3?")
    print(result.output)

``import agentkit`` is light: torch, transformers, openai, ddgs and mcp load only when a backend or
tool that needs them is used.
"""

from agentkit.agent import Agent
from agentkit.backends import Backend, BaseBackend, ModelRequest, ModelResponse, ModelSettings, TextDelta
from agentkit.cancellation import CancellationToken
from agentkit.errors import (
    AgentkitError,
    BackendError,
    ConfigurationError,
    ContextOverflowError,
    MaxStepsExceeded,
    ModelFixableError,
    ModelRetry,
    OutputRetriesExhausted,
    OutputValidationError,
    RunLimitExceeded,
    SessionBusyError,
    SessionError,
    ToolApprovalDenied,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolExecutionError,
    ToolLoopDetected,
    ToolTimeoutError,
    UnknownToolError,
    UsageLimitExceeded,
    UserFacingError,
)
from agentkit.events import (
    AgentEvent,
    FinalOutput,
    ModelResponded,
    ModelTextDelta,
    OutputRejected,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
    dump_messages,
    from_openai,
    load_messages,
    to_openai,
)
from agentkit.registry import ToolRegistry, ToolResult
from agentkit.result import RunResult, StopReason
from agentkit.run_context import RunContext
from agentkit.tool import Tool, tool

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentkitError",
    "AssistantMessage",
    "Backend",
    "BackendError",
    "BaseBackend",
    "CancellationToken",
    "ConfigurationError",
    "ContextOverflowError",
    "FinalOutput",
    "MaxStepsExceeded",
    "Message",
    "ModelFixableError",
    "ModelRequest",
    "ModelResponded",
    "ModelResponse",
    "ModelRetry",
    "ModelSettings",
    "ModelTextDelta",
    "OutputRejected",
    "OutputRetriesExhausted",
    "OutputValidationError",
    "RunContext",
    "RunFailed",
    "RunLimitExceeded",
    "RunResult",
    "RunStarted",
    "SessionBusyError",
    "SessionError",
    "StepStarted",
    "StopReason",
    "SystemMessage",
    "TextDelta",
    "Tool",
    "ToolApprovalDenied",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolDefinitionError",
    "ToolExecutionError",
    "ToolLoopDetected",
    "ToolMessage",
    "ToolRegistry",
    "ToolResult",
    "ToolTimeoutError",
    "UnknownToolError",
    "Usage",
    "UsageLimitExceeded",
    "UserFacingError",
    "UserMessage",
    "dump_messages",
    "from_openai",
    "load_messages",
    "to_openai",
    "tool",
    "__version__",
]
