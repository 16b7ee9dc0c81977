"""Property tests: the schema a tool advertises and the validator it applies agree."""

from __future__ import annotations

import enum
from typing import Any, Literal

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from agentkit import Tool, ToolArgumentsError


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


class Item(BaseModel):
    name: str
    quantity: int = 1


def order(
    customer: str,
    count: int,
    price: float,
    express: bool = False,
    size: Size = Size.SMALL,
    channel: Literal["web", "phone"] = "web",
    tags: list[str] | None = None,
    notes: dict[str, int] | None = None,
    item: Item | None = None,
) -> str:
    return customer


TOOLS = [Tool.from_function(order)]
SCHEMA_TOOL = Tool.from_schema(
    "search",
    "Search.",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            "filters": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    lambda **kw: kw,
)


ORDER_ARGUMENTS = st.fixed_dictionaries(
    {
        "customer": st.text(),
        "count": st.integers(),
        "price": st.floats(allow_nan=False, allow_infinity=False),
    },
    optional={
        "express": st.booleans(),
        "size": st.sampled_from(Size),
        "channel": st.sampled_from(["web", "phone"]),
        "tags": st.none() | st.lists(st.text(max_size=5), max_size=3),
        "notes": st.none() | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        "item": st.none() | st.builds(Item, name=st.text(max_size=5), quantity=st.integers()),
    },
)
SEARCH_ARGUMENTS = st.fixed_dictionaries(
    {"query": st.text(min_size=1)},
    optional={
        "limit": st.integers(min_value=1, max_value=50),
        "filters": st.lists(st.sampled_from(["a", "b"]), max_size=3),
    },
)


@given(ORDER_ARGUMENTS)
def test_typed_values_conform_to_the_advertised_schema_and_validate(arguments: dict[str, Any]) -> None:
    """Whatever pydantic accepts for the signature, sent as JSON the way a model would, is admitted
    by the JSON schema the model was shown and by the tool's validator, which gives the values back."""
    made = TOOLS[0]
    as_json = to_jsonable_python(arguments)
    jsonschema.validate(as_json, made.parameters)
    validated = made.validate(as_json)
    assert validated["customer"] == arguments["customer"]
    assert validated.get("item", None) == arguments.get("item")
    assert validated.get("size", Size.SMALL) == arguments.get("size", Size.SMALL)


@given(SEARCH_ARGUMENTS)
def test_schema_tool_admits_every_value_of_its_schema(arguments: dict[str, Any]) -> None:
    jsonschema.validate(arguments, SCHEMA_TOOL.parameters)
    assert SCHEMA_TOOL.validate(arguments)["query"] == arguments["query"]


WRONG_TYPE = {
    "string": st.integers() | st.lists(st.integers(), min_size=1),
    "integer": st.text(alphabet="xyz", min_size=1) | st.lists(st.integers(), min_size=1),
    "number": st.text(alphabet="xyz", min_size=1) | st.dictionaries(st.text(), st.integers(), min_size=1),
    "boolean": st.text(alphabet="xyz", min_size=2) | st.lists(st.integers(), min_size=1),
}


@given(data=st.data())
def test_type_broken_arguments_are_rejected_naming_the_parameter(data: st.DataObject) -> None:
    made = TOOLS[0]
    valid = {"customer": "ada", "count": 1, "price": 1.5, "express": False}
    param = data.draw(st.sampled_from(sorted(valid)))
    kind = made.parameters["properties"][param]["type"]
    broken = {**valid, param: data.draw(WRONG_TYPE[kind])}
    with pytest.raises(ToolArgumentsError) as info:
        made.validate(broken)
    assert f"parameter '{param}'" in info.value.message


@given(data=st.data())
def test_schema_tool_rejects_wrong_types_naming_the_parameter(data: st.DataObject) -> None:
    param, bad = data.draw(
        st.sampled_from(["query", "limit"]).flatmap(
            lambda p: st.tuples(st.just(p), WRONG_TYPE["string" if p == "query" else "integer"])
        )
    )
    arguments = {"query": "x", param: bad}
    with pytest.raises(ToolArgumentsError) as info:
        SCHEMA_TOOL.validate(arguments)
    assert f"parameter '{param}'" in info.value.message
