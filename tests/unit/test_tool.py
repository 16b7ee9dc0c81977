from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass
from typing import Literal

import pytest
from pydantic import BaseModel

from agentkit import ModelRetry, RunContext, Tool, ToolArgumentsError, ToolDefinitionError, tool
from agentkit.messages import ToolCall
from agentkit.registry import ToolRegistry
from agentkit.tool import serialize_result


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    zip_code: str | None = None


def test_schema_covers_common_types_and_defaults() -> None:
    @tool
    def book(
        city: str,
        nights: int = 1,
        color: Color = Color.RED,
        mode: Literal["fast", "cheap"] = "fast",
        guests: list[str] | None = None,
        extras: dict[str, float] | None = None,
        address: Address | None = None,
    ) -> str:
        """Book a room."""
        return city

    params = book.parameters
    props = params["properties"]
    assert params["required"] == ["city"]
    assert params["additionalProperties"] is False
    assert props["city"] == {"type": "string"}
    assert props["nights"] == {"default": 1, "type": "integer"}
    assert props["mode"]["enum"] == ["fast", "cheap"]
    assert props["guests"]["anyOf"][0] == {"items": {"type": "string"}, "type": "array"}
    assert props["extras"]["anyOf"][0] == {"additionalProperties": {"type": "number"}, "type": "object"}
    # nested models and enums live in $defs, without pydantic's noise titles
    assert params["$defs"]["Address"]["required"] == ["street"]
    assert params["$defs"]["Color"]["enum"] == ["red", "blue"]
    assert "title" not in params and "title" not in props["city"]
    assert book.description == "Book a room."


GOOGLE = """Look up the weather.

    More detail for humans.

    Args:
        city: The city name.
        days: How many days ahead.
    """
NUMPY = """Look up the weather.

    Parameters
    ----------
    city : str
        The city name.
    days : int
        How many days ahead.
    """
REST = """Look up the weather.

    :param city: The city name.
    :param days: How many days ahead.
    """


@pytest.mark.parametrize("doc", [GOOGLE, NUMPY, REST], ids=["google", "numpy", "rest"])
def test_parameter_descriptions_from_each_docstring_style(doc: str) -> None:
    def weather(city: str, days: int = 0) -> str:
        return city

    weather.__doc__ = doc
    made = Tool.from_function(weather)
    props = made.parameters["properties"]
    assert props["city"]["description"] == "The city name."
    assert props["days"]["description"] == "How many days ahead."
    assert made.description.startswith("Look up the weather.")


def test_tool_with_options_and_direct_call() -> None:
    @tool(name="plus", description="Adds.", timeout=2)
    def add(a: int, b: int) -> int:
        return a + b

    assert (add.name, add.description, add.timeout) == ("plus", "Adds.", 2)
    assert add(2, 3) == 5  # still callable as a function


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "dot.name", "ünï"])
def test_invalid_names_are_rejected(bad: str) -> None:
    with pytest.raises(ToolDefinitionError, match="invalid tool name"):
        Tool.from_function(lambda: None, name=bad)


def test_var_args_are_rejected() -> None:
    def f(*args: int) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"\*args/\*\*kwargs"):
        Tool.from_function(f)


def test_non_positive_timeout_is_rejected() -> None:
    with pytest.raises(ToolDefinitionError, match="timeout must be positive"):
        Tool.from_function(lambda: None, name="f", timeout=0)


def test_run_context_is_injected_and_hidden() -> None:
    seen: list[object] = []

    @tool
    def whoami(ctx: RunContext[str], greeting: str) -> str:
        seen.append(ctx.deps)
        return f"{greeting}, {ctx.deps}"

    assert list(whoami.parameters["properties"]) == ["greeting"]
    context = RunContext(deps="Ada")
    result = asyncio.run(
        ToolRegistry([whoami]).execute(ToolCall(name="whoami", arguments={"greeting": "Hi"}), context)
    )
    assert result.content == "Hi, Ada"
    assert seen == ["Ada"]


def test_validation_names_parameter_expected_and_received() -> None:
    @tool
    def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(ToolArgumentsError) as info:
        add.validate({"a": "seven", "c": 1})
    message = info.value.message
    assert "tool 'add'" in message
    assert "parameter 'a'" in message and "integer" in message and "'seven' (str)" in message
    assert "parameter 'b' is required" in message
    assert "unexpected parameter 'c'" in message


def test_nested_model_arguments_are_validated_and_typed() -> None:
    @tool
    def ship(to: Address) -> str:
        assert isinstance(to, Address)
        return to.street

    assert ship.validate({"to": {"street": "Main"}})["to"] == Address(street="Main")
    with pytest.raises(ToolArgumentsError, match=r"parameter 'to\.street' is required"):
        ship.validate({"to": {}})


SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "default": 5}},
    "required": ["query"],
    "additionalProperties": False,
}


def test_from_schema_validates_and_fills_defaults() -> None:
    received: list[dict] = []

    def search(**kwargs: object) -> str:
        received.append(kwargs)
        return "ok"

    made = Tool.from_schema("search", "Search things.", SCHEMA, search)
    assert made.spec().parameters is SCHEMA
    assert made.validate({"query": "x"}) == {"query": "x", "limit": 5}
    with pytest.raises(ToolArgumentsError) as info:
        made.validate({"limit": 0, "extra": True})
    text = info.value.message
    assert "'query' is a required property" in text
    assert "parameter 'limit': 0 is less than the minimum of 1" in text
    assert "'extra' was unexpected" in text


def test_from_schema_rejects_invalid_schema() -> None:
    with pytest.raises(ToolDefinitionError, match="invalid JSON schema"):
        Tool.from_schema("bad", "", {"type": "object", "properties": {"x": {"type": "nope"}}}, lambda: None)
    with pytest.raises(ToolDefinitionError, match="type 'object'"):
        Tool.from_schema("bad", "", {"type": "string"}, lambda: None)


@dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", "plain text"),
        (42, "42"),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        (Address(street="Main"), '{"street":"Main","zip_code":null}'),
        (Point(1, 2), '{"x":1,"y":2}'),
        (None, "null"),
        (Color.BLUE, '"blue"'),
    ],
)
def test_results_are_serialized_for_the_model(value: object, expected: str) -> None:
    assert serialize_result(value) == expected


def test_async_and_sync_tools_run_and_errors_become_results() -> None:
    @tool
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @tool
    def boom() -> None:
        raise ValueError("disk on fire")

    @tool
    def picky(n: int) -> int:
        if n < 0:
            raise ModelRetry("n must be positive; try abs(n)")
        return n

    registry = ToolRegistry([slow, boom, picky])

    async def go() -> list:
        return [
            await registry.execute(ToolCall(name="slow", arguments={"seconds": 0}), default_timeout=1),
            await registry.execute(ToolCall(name="slow", arguments={"seconds": 5}), default_timeout=0.05),
            await registry.execute(ToolCall(name="boom")),
            await registry.execute(ToolCall(name="picky", arguments={"n": -1})),
        ]

    ok, late, failed, retry = asyncio.run(go())
    assert (ok.content, ok.is_error) == ("done", False)
    assert late.is_error and "did not finish within 0.05 s" in late.content
    assert failed.is_error and failed.content == "Tool 'boom' failed: ValueError: disk on fire"
    assert retry.is_error and retry.content == "n must be positive; try abs(n)"


def test_a_sync_tool_does_not_block_the_event_loop() -> None:
    @tool
    def sleepy() -> str:
        time.sleep(0.3)
        return "awake"

    registry = ToolRegistry([sleepy])

    async def go() -> tuple[str, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await registry.execute(ToolCall(name="sleepy"), default_timeout=0.1)
        task.cancel()
        return result.content, ticks

    content, ticks = asyncio.run(go())
    assert "did not finish within 0.1 s" in content  # the timeout fired while the thread slept
    assert ticks >= 3  # the loop kept running meanwhile


def test_a_tool_raising_timeout_error_itself_is_not_called_a_timeout() -> None:
    @tool
    def flaky() -> None:
        raise TimeoutError("upstream timed out")

    result = asyncio.run(ToolRegistry([flaky]).execute(ToolCall(name="flaky"), default_timeout=5))
    assert result.content == "Tool 'flaky' failed: TimeoutError: upstream timed out"


def test_inline_sync_tools_run_on_the_event_loop_thread_and_others_do_not() -> None:
    import threading

    @tool(inline=True)
    def where_inline() -> str:
        return threading.current_thread().name

    @tool
    def where_default() -> str:
        return threading.current_thread().name

    registry = ToolRegistry([where_inline, where_default])

    async def go() -> tuple[str, str, str]:
        loop_thread = threading.current_thread().name
        inline = await registry.execute(ToolCall(name="where_inline"))
        default = await registry.execute(ToolCall(name="where_default"))
        return loop_thread, inline.content, default.content

    loop_thread, inline, default = asyncio.run(go())
    assert inline == loop_thread
    assert default != loop_thread
