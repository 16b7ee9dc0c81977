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
    AuthenticationError,
    BackendError,
    BadRequestError,
    ConfigurationError,
    ContextOverflowError,
    DurationLimitExceeded,
    HandoffLimitExceeded,
    InvalidResponseError,
    MaxStepsExceeded,
    ModelFixableError,
    ModelNotFoundError,
    ModelRetry,
    OutputRetriesExhausted,
    OutputValidationError,
    PermissionDeniedError,
    RemoteBackendError,
    RetriesExhaustedError,
    RunCancelled,
    RunLimitExceeded,
    SessionBusyError,
    SessionError,
    ToolApprovalDenied,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolExecutionError,
    ToolLoopDetected,
    ToolsetError,
    ToolTimeoutError,
    TransientError,
    UnknownToolError,
    UnprocessableRequestError,
    UsageLimitExceeded,
    UserFacingError,
)
from agentkit.events import (
    AgentEvent,
    FinalOutput,
    HandedOff,
    ModelResponded,
    ModelTextDelta,
    OutputRejected,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
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
    load_messages,
)
from agentkit.registry import ToolRegistry
from agentkit.result import RunResult, StopReason
from agentkit.run_context import RunContext
from agentkit.run_tree import Budget
from agentkit.tool import Tool, tool
from agentkit.tool_result import ToolResult
from agentkit.tool_spec import ToolSpec

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Budget",
    "HandedOff",
    "HandoffLimitExceeded",
    "AgentEvent",
    "AgentkitError",
    "AssistantMessage",
    "AuthenticationError",
    "Backend",
    "BackendError",
    "BadRequestError",
    "BaseBackend",
    "CancellationToken",
    "ConfigurationError",
    "ContextOverflowError",
    "DurationLimitExceeded",
    "FinalOutput",
    "InvalidResponseError",
    "MaxStepsExceeded",
    "Message",
    "ModelFixableError",
    "ModelNotFoundError",
    "ModelRequest",
    "ModelResponded",
    "ModelResponse",
    "ModelRetry",
    "ModelSettings",
    "ModelTextDelta",
    "OutputRejected",
    "OutputRetriesExhausted",
    "OutputValidationError",
    "PermissionDeniedError",
    "RemoteBackendError",
    "RetriesExhaustedError",
    "RunCancelled",
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
    "ToolProgress",
    "ToolDefinitionError",
    "ToolExecutionError",
    "ToolLoopDetected",
    "ToolMessage",
    "ToolRegistry",
    "ToolResult",
    "ToolSpec",
    "ToolTimeoutError",
    "ToolsetError",
    "TransientError",
    "UnknownToolError",
    "UnprocessableRequestError",
    "Usage",
    "UsageLimitExceeded",
    "UserFacingError",
    "UserMessage",
    "dump_messages",
    "load_messages",
    "tool",
    "__version__",
]
