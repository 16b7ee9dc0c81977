"""BFCL simple_python: load the cases shipped in the ``bfcl-eval`` package, turn each function spec into
a JSON schema, and score a produced call by BFCL's AST rules.

``bfcl-eval`` is installed with ``--no-deps`` for its data; its own checker imports every model
handler (and so their SDKs), so the rules are restated here: exactly one call, of the named function;
every required argument present, no unknown argument; each value of the declared type (an integer is
accepted for a float, a list for a tuple) and one of the listed acceptable values, strings compared
case-insensitively without spaces and ``,./-_*^``; an optional argument may be left out only where
``""`` is among its acceptable values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

MAX_NEW_TOKENS = 256
DATA = "BFCL_v4_simple_python.json"

_PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array", "integer": "integer"}


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    messages: list[dict[str, str]]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, dict[str, list[Any]]]]


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    reason: str


def _jsonl(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_cases(limit: int | None = None) -> list[Case]:
    """All simple_python cases in file order (the first ``limit`` if given)."""
    data = resources.files("bfcl_eval") / "data"
    answers = {row["id"]: row["ground_truth"] for row in _jsonl(data / "possible_answer" / DATA)}
    cases = [
        Case(row["id"], row["question"][0], row["function"], answers[row["id"]])
        for row in _jsonl(data / DATA)
    ]
    return cases if limit is None else cases[:limit]


def safe_name(name: str) -> str:
    """Tool names allow ``[A-Za-z0-9_-]``; BFCL's have dots (``math.factorial``), as OpenAI's handler does."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def original_name(produced: str, declared: str) -> str:
    return declared if produced == safe_name(declared) else produced


def to_json_schema(spec: Any) -> Any:
    """BFCL's Python-flavoured schema -> JSON schema (``dict`` -> object, ``float`` -> number, ``tuple`` ->
    array, ``any`` -> no type); BFCL's ``optional`` flag is dropped, ``required`` says the same."""
    if isinstance(spec, list):
        return [to_json_schema(item) for item in spec]
    if not isinstance(spec, dict):
        return spec
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "type" and isinstance(value, str):
            if value != "any":
                out["type"] = _JSON_TYPES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = to_json_schema(value)
        elif key != "optional":
            out[key] = value
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"[ ,./\-_*^]", "", value).lower().replace("'", '"')
    if isinstance(value, list):
        return [_norm(item) for item in value]
    return value


def _dict_ok(value: dict[str, Any], options: list[Any]) -> bool:
    for option in options:
        if not isinstance(option, dict):
            continue
        if all(k in option and _norm(v) in [_norm(o) for o in option[k]] for k, v in value.items()) and all(
            k in value or "" in v for k, v in option.items()
        ):
            return True
    return False


def _value_ok(value: Any, spec: dict[str, Any], options: list[Any]) -> str | None:
    """``None`` when ``value`` is acceptable, else why not."""
    declared = spec.get("type", "any")
    if declared == "float" and type(value) is int:
        value = float(value)
    if isinstance(value, tuple):
        value = list(value)
    expected = _PY_TYPES.get(declared, object)
    answer_types = {type(o) for o in options if o != ""}
    if type(value) is not expected and type(value) not in answer_types:
        return f"type {type(value).__name__}, expected {declared}"
    if expected is dict and isinstance(value, dict):
        return None if _dict_ok(value, options) else f"value {value!r} not in {options}"
    item_type = spec.get("items", {}).get("type") if isinstance(spec.get("items"), dict) else None
    if expected is list and item_type == "dict" and isinstance(value, list):
        for option in options:
            if (
                isinstance(option, list)
                and len(option) == len(value)
                and all(isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option, strict=True))
            ):
                return None
        return f"value {value!r} not in {options}"
    if _norm(value) in [_norm(o) for o in options if o != "" or value == ""]:
        return None
    return f"value {value!r} not in {options}"


def score(calls: list[dict[str, dict[str, Any]]], case: Case) -> Verdict:
    """BFCL's simple-function check of the produced calls against the case's possible answers."""
    if len(calls) != 1:
        return Verdict(False, f"{len(calls)} calls, expected 1")
    function = case.functions[0]
    name = function["name"]
    ((produced_name, arguments),) = calls[0].items()
    if produced_name != name:
        return Verdict(False, f"called {produced_name!r}, expected {name!r}")
    answer = case.ground_truth[0][name]
    properties = function["parameters"].get("properties", {})
    for required in function["parameters"].get("required", []):
        if required not in arguments:
            return Verdict(False, f"missing required {required!r}")
    for key, value in arguments.items():
        if key not in properties or key not in answer:
            return Verdict(False, f"unexpected argument {key!r}")
        why = _value_ok(value, properties[key], answer[key])
        if why is not None:
            return Verdict(False, f"{key}: {why}")
    for key, options in answer.items():
        if key not in arguments and "" not in options:
            return Verdict(False, f"missing {key!r}")
    return Verdict(True, "ok")
