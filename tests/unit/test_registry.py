from __future__ import annotations

import asyncio

import pytest

from agentkit import Tool, ToolCall, ToolDefinitionError, ToolRegistry, ToolSpec, UnknownToolError, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool(requires_approval=True)
def delete_everything(path: str) -> str:
    """Delete a path."""
    return f"deleted {path}"


def test_register_get_and_specs() -> None:
    registry = ToolRegistry([add])

    def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    registry.register(shout)  # plain typed functions become tools
    assert registry.names == ["add", "shout"]
    assert registry.get("shout").name == "shout"
    specs = registry.specs()
    assert [s.name for s in specs] == ["add", "shout"]
    assert specs[0] == ToolSpec("add", "Add two integers.", add.parameters)
    assert registry.specs() is specs  # cached
    registry.unregister("shout")
    assert [s.name for s in registry.specs()] == ["add"]


def test_duplicate_names_are_rejected() -> None:
    registry = ToolRegistry([add])
    with pytest.raises(ToolDefinitionError, match="'add' is already registered"):
        registry.register(Tool.from_function(lambda a: a, name="add"))


def test_unknown_tool_lists_the_available_ones() -> None:
    registry = ToolRegistry([add, delete_everything])
    with pytest.raises(
        UnknownToolError, match=r"Unknown tool 'sub'. Available tools: add, delete_everything."
    ):
        registry.validate(ToolCall(name="sub"))


def test_validate_reports_unparseable_arguments() -> None:
    call = ToolCall(name="add", raw_arguments="{a: oops", arguments_error="arguments are not valid JSON")
    with pytest.raises(Exception, match="Invalid arguments for tool 'add': arguments are not valid JSON"):
        ToolRegistry([add]).validate(call)


def test_execute_turns_every_model_error_into_a_result() -> None:
    registry = ToolRegistry([add])

    async def go() -> list:
        return [
            await registry.execute(ToolCall(name="add", arguments={"a": 1, "b": 2})),
            await registry.execute(ToolCall(name="nope")),
            await registry.execute(ToolCall(name="add", arguments={"a": "x", "b": 2})),
        ]

    ok, unknown, invalid = asyncio.run(go())
    assert (ok.content, ok.is_error, ok.value) == ("3", False, 3)
    assert unknown.is_error and isinstance(unknown.error, UnknownToolError)
    assert invalid.is_error and "parameter 'a'" in invalid.content
    message = invalid.to_message()
    assert (message.tool_call_id, message.name, message.is_error) == (invalid.call.id, "add", True)


@pytest.mark.parametrize("answer", [True, False])
def test_approval_callback_decides(answer: bool) -> None:
    asked: list[str] = []

    async def approve(call: ToolCall, found: Tool) -> bool:
        asked.append(f"{found.name}:{call.arguments['path']}")
        return answer

    registry = ToolRegistry([delete_everything])
    result = asyncio.run(
        registry.execute(ToolCall(name="delete_everything", arguments={"path": "/tmp/x"}), approve=approve)
    )
    assert asked == ["delete_everything:/tmp/x"]
    if answer:
        assert (result.content, result.is_error) == ("deleted /tmp/x", False)
    else:
        assert result.is_error and "did not approve" in result.content


def test_tools_needing_approval_do_not_run_without_an_approver() -> None:
    result = asyncio.run(
        ToolRegistry([delete_everything]).execute(ToolCall(name="delete_everything", arguments={"path": "/"}))
    )
    assert result.is_error and "no approver is configured" in result.content
