"""BFCL's own cases as eval cases, read from the data the ``bfcl-eval`` package ships.

``pip install --no-deps bfcl-eval`` is enough: only its data files are read here (its declared
dependencies are the SDKs of hosted models). Each BFCL function becomes a tool schema (BFCL's
Python-flavoured types turned into JSON schema; dotted names such as ``math.factorial`` made legal tool
names, ``math_factorial``, as BFCL's OpenAI handler does) and each answer an expectation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from agentkit.errors import ConfigurationError
from agentkit.eval.cases import (
    DictPattern,
    EvalCase,
    Expectation,
    ExpectedArgument,
    ExpectedCall,
    message_from_json,
)
from agentkit.eval.signature import Signature

CALL_CATEGORIES = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
)
NO_CALL_CATEGORIES = ("irrelevance", "live_irrelevance")
ANY_CALL_CATEGORIES = ("live_relevance",)
CATEGORIES = CALL_CATEGORIES + NO_CALL_CATEGORIES + ANY_CALL_CATEGORIES
ALIASES = {"simple": "simple_python", "all": ",".join(CATEGORIES)}
INSTALL_HINT = "install BFCL's data with: pip install --no-deps bfcl-eval"

_JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array", "integer": "integer"}


def categories(spec: str) -> list[str]:
    """``simple_python``, ``parallel,irrelevance``, ``simple`` or ``all`` -> category names."""
    names: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        for name in ALIASES.get(part, part).split(","):
            if name not in CATEGORIES:
                raise ConfigurationError(
                    f"unknown BFCL category {name!r}; known: {', '.join(CATEGORIES)}, all"
                )
            if name not in names:
                names.append(name)
    return names


def safe_name(name: str) -> str:
    """Tool names allow ``[A-Za-z0-9_-]``; BFCL's have dots."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def to_json_schema(spec: Any) -> Any:
    """BFCL's schema -> JSON schema: ``dict`` -> object, ``float`` -> number, ``tuple`` -> array, ``any``
    -> no type; BFCL's ``optional`` flag is dropped (``required`` says the same)."""
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


def _value(raw: Any) -> Any:
    if isinstance(raw, dict) and all(isinstance(v, list) for v in raw.values()):
        return DictPattern({key: argument(options) for key, options in raw.items()})
    if isinstance(raw, list):
        return [_value(item) for item in raw]
    return raw


def argument(options: list[Any]) -> ExpectedArgument:
    """BFCL's possible answers (``""`` marking an optional parameter) as an expected argument."""
    return ExpectedArgument(tuple(_value(o) for o in options if o != ""), "" in options)


def expectation(category: str, ground_truth: list[dict[str, dict[str, list[Any]]]] | None) -> Expectation:
    if category in NO_CALL_CATEGORIES:
        return Expectation("no_call")
    if category in ANY_CALL_CATEGORIES:
        return Expectation("any_call")
    calls = []
    for answer in ground_truth or []:
        ((name, arguments),) = answer.items()
        calls.append(ExpectedCall(name, {key: argument(options) for key, options in arguments.items()}))
    return Expectation("calls", tuple(calls))


def _case(category: str, row: dict[str, Any], answers: dict[str, Any]) -> EvalCase:
    functions: list[dict[str, Any]] = row["function"]
    tools = tuple(
        {
            "name": safe_name(f["name"]),
            "description": f.get("description", ""),
            "parameters": to_json_schema(f["parameters"]),
        }
        for f in functions
    )
    return EvalCase(
        id=row["id"],
        messages=tuple(message_from_json(m) for m in row["question"][0]),
        tools=tools,
        expect=expectation(category, answers.get(row["id"])),
        category=category,
        signatures={f["name"]: Signature.from_bfcl(f) for f in functions},
        names={safe_name(f["name"]): f["name"] for f in functions},
    )


def _jsonl(text: str) -> Iterable[dict[str, Any]]:
    return (json.loads(line) for line in text.splitlines() if line.strip())


def data_files(category: str) -> tuple[Any, Any | None]:
    """The question file and (for scored categories) the answer file of one category."""
    from importlib import resources

    try:
        data = resources.files("bfcl_eval") / "data"
    except ModuleNotFoundError:
        raise ConfigurationError(f"BFCL cases need the bfcl-eval package: {INSTALL_HINT}") from None
    name = f"BFCL_v4_{category}.json"
    answers = data / "possible_answer" / name
    return data / name, (answers if answers.is_file() else None)


def load_bfcl(spec: str, limit: int | None = None) -> list[EvalCase]:
    """The cases of the named categories, in BFCL's order; ``limit``: the first N of each category."""
    cases: list[EvalCase] = []
    for category in categories(spec):
        questions, answer_file = data_files(category)
        if not questions.is_file():
            raise ConfigurationError(f"this bfcl-eval has no {category} data ({questions}); {INSTALL_HINT}")
        answers = {}
        if answer_file is not None:
            answers = {
                row["id"]: row["ground_truth"] for row in _jsonl(answer_file.read_text(encoding="utf-8"))
            }
        rows = list(_jsonl(questions.read_text(encoding="utf-8")))
        cases.extend(_case(category, row, answers) for row in rows[:limit])
    return cases


def raw_rows(category: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """BFCL's own rows and answers for one category (the agreement test hands them to its checker)."""
    questions, answer_file = data_files(category)
    answers = {}
    if answer_file is not None:
        answers = {row["id"]: row["ground_truth"] for row in _jsonl(answer_file.read_text(encoding="utf-8"))}
    return list(_jsonl(questions.read_text(encoding="utf-8"))), answers
