"""Eval cases: what a model is asked, with which tools, and which calls count as right.

One case per JSONL line (docs/eval.md has the full format)::

    {"id": "w1", "prompt": "Weather in Paris, in celsius?", "tools": ["get_weather"],
     "expect": [{"name": "get_weather",
                 "arguments": {"city": "Paris", "unit": {"one_of": ["celsius", "C"]},
                               "days": {"one_of": [1], "optional": true}}}]}

``expect`` is a list of calls (order-free unless ``"ordered": true``), ``"no_call"`` (the model must
not call a tool) or ``"any_call"`` (it must call one, whatever the arguments). A plain argument value is
the one acceptable value; ``{"one_of": [...], "optional": bool}`` lists several and/or lets the model
leave the argument out. ``tools`` holds names of tools given to the run or OpenAI-style JSON schemas.

A malformed line never stops loading: it becomes a :class:`CaseProblem` naming its line and field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, Message, SystemMessage, UserMessage

ExpectKind = Literal["calls", "no_call", "any_call"]
ToolRef = str | Mapping[str, Any]
"""A tool a case offers: the name of a tool given to the run, or an OpenAI-style function schema."""

_SPEC_KEYS = frozenset({"one_of", "optional"})


@dataclass(frozen=True, slots=True)
class ExpectedArgument:
    """The values one argument may take (BFCL's "possible answers"); ``optional``: it may be left out.

    A value that is an object is a :class:`DictPattern`: each of its keys is itself an expected
    argument (a literal, or ``one_of``/``optional``), as in BFCL's answers for dict parameters.
    """

    values: tuple[Any, ...]
    optional: bool = False

    def possible(self) -> list[Any]:
        """BFCL's form: the acceptable values, ``""`` among them when the argument may be left out."""
        out = [_plain(v) for v in self.values]
        return [*out, ""] if self.optional else out

    def to_json(self) -> Any:
        if len(self.values) == 1 and not self.optional and not _looks_like_spec(self.values[0]):
            return _json_value(self.values[0])
        out: dict[str, Any] = {"one_of": [_json_value(v) for v in self.values]}
        if self.optional:
            out["optional"] = True
        return out


@dataclass(frozen=True, slots=True)
class DictPattern:
    """An expected object: every key's acceptable values (BFCL: ``{key: [values, ""?]}``)."""

    fields: Mapping[str, ExpectedArgument]

    def to_json(self) -> dict[str, Any]:
        return {key: arg.to_json() for key, arg in self.fields.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, DictPattern):
        return {key: arg.possible() for key, arg in value.fields.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, DictPattern):
        return value.to_json()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class ExpectedCall:
    name: str
    arguments: Mapping[str, ExpectedArgument]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": {k: v.to_json() for k, v in self.arguments.items()}}


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a right reply holds: these calls, no call at all, or some call."""

    kind: ExpectKind
    calls: tuple[ExpectedCall, ...] = ()
    ordered: bool = False

    def to_json(self) -> Any:
        if self.kind != "calls":
            return self.kind
        return [call.to_json() for call in self.calls]


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One case. ``signatures`` (BFCL cases only) overrides the parameter types the scorer reads from
    the tools' JSON schemas, for type names JSON schema lacks (BFCL's ``any``, ``tuple``)."""

    id: str
    messages: tuple[Message, ...]
    tools: tuple[ToolRef, ...]
    expect: Expectation
    category: str = "default"
    line: int | None = None
    signatures: Mapping[str, Any] | None = field(default=None, compare=False)
    names: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Tool name sent to the model -> the name the expectation uses (BFCL's dotted names)."""


@dataclass(frozen=True, slots=True)
class CaseProblem:
    """A case that could not be read: where, which field, and what to change."""

    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f" field {self.field!r}:" if self.field else ""
        return f"{self.source}:{self.line}:{where} {self.message}"


@dataclass(frozen=True, slots=True)
class LoadedCases:
    cases: list[EvalCase]
    problems: list[CaseProblem]
    source: str = "<cases>"


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _looks_like_spec(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= _SPEC_KEYS


def _value(path: str, raw: Any, depth: int) -> Any:
    """A literal expected value; objects become patterns whose keys are expected arguments."""
    if isinstance(raw, dict):
        if depth > 0:
            return raw  # deeper objects compare as they are, as BFCL's do
        return DictPattern({k: _argument(f"{path}.{k}", v, depth + 1) for k, v in raw.items()})
    if isinstance(raw, list):
        return [_value(f"{path}[{i}]", v, depth) for i, v in enumerate(raw)]
    return raw


def _argument(path: str, raw: Any, depth: int = 0) -> ExpectedArgument:
    if not _looks_like_spec(raw):
        return ExpectedArgument((_value(path, raw, depth),))
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise _Bad(f"{path}.optional", f"must be true or false, got {optional!r}")
    if "one_of" not in raw:
        raise _Bad(path, 'an argument spec needs "one_of": [acceptable values]')
    values = raw["one_of"]
    if not isinstance(values, list) or not values:
        raise _Bad(f"{path}.one_of", f"must be a non-empty list of acceptable values, got {values!r}")
    return ExpectedArgument(
        tuple(_value(f"{path}.one_of[{i}]", v, depth) for i, v in enumerate(values)), optional
    )


def _call(path: str, raw: Any) -> ExpectedCall:
    if not isinstance(raw, dict):
        raise _Bad(path, f'must be an object {{"name": ..., "arguments": {{...}}}}, got {raw!r}')
    unknown = set(raw) - {"name", "arguments"}
    if unknown:
        raise _Bad(path, f"unknown keys {sorted(unknown)}; a call has 'name' and 'arguments'")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise _Bad(f"{path}.name", f"must be a tool name, got {name!r}")
    arguments = raw.get("arguments", {})
    if not isinstance(arguments, dict):
        raise _Bad(f"{path}.arguments", f"must be an object, got {type(arguments).__name__}")
    return ExpectedCall(name, {k: _argument(f"{path}.arguments.{k}", v) for k, v in arguments.items()})


def _expectation(raw: Any, ordered: Any) -> Expectation:
    if not isinstance(ordered, bool):
        raise _Bad("ordered", f"must be true or false, got {ordered!r}")
    if raw in ("no_call", "any_call"):
        return Expectation(raw)
    if not isinstance(raw, list) or not raw:
        raise _Bad("expect", f'must be a non-empty list of calls, "no_call" or "any_call"; got {raw!r}')
    return Expectation("calls", tuple(_call(f"expect[{i}]", c) for i, c in enumerate(raw)), ordered)


def _messages(row: Mapping[str, Any]) -> tuple[Message, ...]:
    if ("prompt" in row) == ("messages" in row):
        raise _Bad("prompt", 'give exactly one of "prompt" (text) or "messages" (a chat list)')
    if "prompt" in row:
        prompt = row["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise _Bad("prompt", f"must be non-empty text, got {prompt!r}")
        return (UserMessage(content=prompt),)
    raw = row["messages"]
    if not isinstance(raw, list) or not raw:
        raise _Bad("messages", "must be a non-empty list of chat messages")
    messages: list[Message] = []
    for i, item in enumerate(raw):
        try:
            messages.append(message_from_json(item))
        except ValueError as exc:
            raise _Bad(f"messages[{i}]", str(exc)) from None
    return tuple(messages)


_ROLES: dict[str, type[SystemMessage | UserMessage | AssistantMessage]] = {
    "system": SystemMessage,
    "user": UserMessage,
    "assistant": AssistantMessage,
}


def message_from_json(item: Any) -> Message:
    """``{"role": "system" | "user" | "assistant", "content": "..."}`` -> a message (ValueError if not)."""
    if not isinstance(item, dict) or item.get("role") not in _ROLES:
        raise ValueError(
            'must be an object like {"role": "user", "content": "..."} (roles: system, user, '
            f"assistant), got {item!r}"
        )
    content = item.get("content")
    if not isinstance(content, str):
        raise ValueError(f"content must be text, got {type(content).__name__}")
    return _ROLES[item["role"]](content=content)


def message_to_json(message: Message) -> dict[str, Any]:
    return {"role": message.role, "content": getattr(message, "content", None)}


def _tools(raw: Any) -> tuple[ToolRef, ...]:
    if not isinstance(raw, list):
        raise _Bad("tools", f"must be a list of tool names or JSON schemas, got {raw!r}")
    refs: list[ToolRef] = []
    for i, item in enumerate(raw):
        if isinstance(item, str) and item:
            refs.append(item)
            continue
        schema = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
            raise _Bad(
                f"tools[{i}]", f'must be a tool name or a schema {{"name", "parameters"}}, got {item!r}'
            )
        if not isinstance(schema.get("parameters", {}), dict):
            raise _Bad(f"tools[{i}].parameters", "must be a JSON schema object")
        refs.append(schema)
    return tuple(refs)


def parse_case(row: Any, *, line: int = 0, default_category: str = "default") -> EvalCase:
    """One case from its decoded JSON; raises :class:`CaseFormatError` naming the field at fault."""
    try:
        return _parse(row, line, default_category)
    except _Bad as bad:
        raise CaseFormatError(bad.field, bad.message) from None


class CaseFormatError(ConfigurationError, ValueError):
    """A case that does not follow the format: the user must fix the named field (still a
    ``ValueError``, as :func:`parse_case` has always documented)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}" if field else message)
        self.field = field
        self.message = message


_KNOWN = frozenset({"id", "prompt", "messages", "tools", "expect", "ordered", "category"})


def _parse(row: Any, line: int, default_category: str) -> EvalCase:
    if not isinstance(row, dict):
        raise _Bad("", f"a case must be a JSON object, got {type(row).__name__}")
    unknown = set(row) - _KNOWN
    if unknown:
        raise _Bad(sorted(unknown)[0], f"unknown key; a case has {sorted(_KNOWN)}")
    case_id = row.get("id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id:
        raise _Bad("id", f"must be a non-empty string, got {case_id!r}")
    category = row.get("category", default_category)
    if not isinstance(category, str) or not category:
        raise _Bad("category", f"must be a non-empty string, got {category!r}")
    if "expect" not in row:
        raise _Bad("expect", 'missing: a list of calls, "no_call" or "any_call"')
    if "tools" not in row:
        raise _Bad("tools", "missing: the tool names or JSON schemas the model is offered")
    return EvalCase(
        id=case_id,
        messages=_messages(row),
        tools=_tools(row["tools"]),
        expect=_expectation(row["expect"], row.get("ordered", False)),
        category=category,
        line=line,
    )


def parse_cases(
    lines: Iterable[str], source: str = "<cases>", default_category: str = "default"
) -> LoadedCases:
    """Every readable case of JSONL text, and a problem for each line that is not one (duplicate ids:
    the later line is the problem)."""
    cases: list[EvalCase] = []
    problems: list[CaseProblem] = []
    seen: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(CaseProblem(source, number, "", f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        except RecursionError:
            problems.append(CaseProblem(source, number, "", "nested too deeply to read"))
            continue
        try:
            case = _parse(row, number, default_category)
        except _Bad as bad:
            problems.append(CaseProblem(source, number, bad.field, bad.message))
            continue
        except RecursionError:
            problems.append(CaseProblem(source, number, "expect", "nested too deeply to read"))
            continue
        if case.id in seen:
            problems.append(
                CaseProblem(source, number, "id", f"duplicate id {case.id!r} (first on line {seen[case.id]})")
            )
            continue
        seen[case.id] = number
        cases.append(case)
    return LoadedCases(cases, problems, source)


def load_cases(path: str | Path, *, category: str | None = None) -> LoadedCases:
    """Cases from a JSONL file; ``category`` (default: the file's stem) for cases that name none."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return parse_cases(text.splitlines(), str(path), category or path.stem)


def case_to_json(case: EvalCase) -> dict[str, Any]:
    """A case in the JSONL format (what :func:`parse_case` reads back)."""
    row: dict[str, Any] = {"id": case.id, "category": case.category}
    if len(case.messages) == 1 and isinstance(case.messages[0], UserMessage):
        row["prompt"] = case.messages[0].content
    else:
        row["messages"] = [message_to_json(m) for m in case.messages]
    row["tools"] = [ref if isinstance(ref, str) else dict(ref) for ref in case.tools]
    row["expect"] = case.expect.to_json()
    if case.expect.ordered:
        row["ordered"] = True
    return row


def tool_name(ref: ToolRef) -> str:
    return ref if isinstance(ref, str) else str(ref["name"])


def names_of(refs: Sequence[ToolRef]) -> list[str]:
    return [tool_name(ref) for ref in refs]
