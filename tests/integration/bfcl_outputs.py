"""Model outputs for the scorer agreement test: for every BFCL case, the embedded model's recorded
reply, the ground truth itself, and systematic perturbations of it.

An output is the decoded reply as BFCL writes it, ``[{name: {argument: value}}, ...]``, or ``None`` for
a reply that does not decode (a call whose arguments are not JSON). Each perturbation targets a rule:
types (a wrong type per argument, integers for numbers, numbers for integers), string normalization
(case, spaces, punctuation), optional parameters (dropped, given empty), lists and dicts (an item or
key dropped, added or retyped), the call level (extra or missing argument, wrong name, reordered,
duplicated or missing calls).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Output = list[dict[str, dict[str, Any]]] | None


def _first(options: list[Any]) -> tuple[bool, Any]:
    """(found, value): the first acceptable value, made concrete."""
    for option in options:
        if option != "":
            return True, concrete(option)
    return False, None


def _last(options: list[Any]) -> tuple[bool, Any]:
    for option in reversed(options):
        if option != "":
            return True, concrete(option)
    return False, None


def concrete(value: Any) -> Any:
    """An acceptable value as a model would write it (BFCL's dict answers list options per key)."""
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        out = {}
        for key, options in value.items():
            found, item = _first(options)
            if found:
                out[key] = item
        return out
    if isinstance(value, list):
        return [concrete(v) for v in value]
    return value


def truth(answer: list[dict[str, dict[str, list[Any]]]], pick: Any = _first, optional: bool = True) -> Output:
    calls = []
    for call in answer:
        ((name, arguments),) = call.items()
        args = {}
        for key, options in arguments.items():
            if not optional and "" in options:
                continue
            found, value = pick(options)
            if found:
                args[key] = value
        calls.append({name: args})
    return calls


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(value)
    if isinstance(value, str):
        return 1 if not value.isdigit() else int(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return list(value.values())
    return "x"


def _stringy(value: Any) -> Any:
    if isinstance(value, str):
        return f" {value.upper().replace(' ', '-')} "
    if isinstance(value, list):
        return [_stringy(v) for v in value]
    if isinstance(value, dict):
        return {k: _stringy(v) for k, v in value.items()}
    return value


def _numbers(value: Any, to_int: bool) -> Any:
    if to_int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not to_int and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list):
        return [_numbers(v, to_int) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v, to_int) for k, v in value.items()}
    return value


def _map_args(output: Output, change: Any) -> Output:
    assert output is not None
    out = copy.deepcopy(output)
    for call in out:
        ((name, arguments),) = call.items()
        call[name] = change(arguments)
    return out


def _per_argument(output: Output, change: Any) -> Iterator[Output]:
    """One output per argument of each call, that argument changed."""
    assert output is not None
    for index, call in enumerate(output):
        ((name, arguments),) = call.items()
        for key in arguments:
            changed = change(arguments[key])
            if changed is _SKIP:
                continue
            out = copy.deepcopy(output)
            out[index][name][key] = changed
            yield out


_SKIP = object()


def _nested(value: Any) -> Any:
    if isinstance(value, list) and value:
        return value[:-1]
    if isinstance(value, dict) and value:
        return dict(list(value.items())[1:])
    return _SKIP


def _nested_grow(value: Any) -> Any:
    if isinstance(value, list):
        return [*value, value[0] if value else 1]
    if isinstance(value, dict):
        return {**value, "unexpected_key": "x"}
    return _SKIP


def _nested_retype(value: Any) -> Any:
    if isinstance(value, list) and value:
        return [_wrong_type(v) for v in value]
    if isinstance(value, dict) and value:
        return {k: _wrong_type(v) for k, v in value.items()}
    return _SKIP


def _empty_optionals(answer: list[dict[str, dict[str, list[Any]]]], output: Output) -> Output:
    assert output is not None
    out = copy.deepcopy(output)
    for call, expected in zip(out, answer, strict=True):
        ((_, arguments),) = call.items()
        for key, options in next(iter(expected.values())).items():
            if "" in options:
                found, value = _first(options)
                arguments[key] = [] if found and isinstance(value, list) else ""
    return out


def ast_outputs(answer: list[dict[str, dict[str, list[Any]]]]) -> Iterator[tuple[str, Output]]:
    """(kind, output) pairs for a case whose answer lists calls."""
    gold = truth(answer)
    yield "truth", gold
    yield "truth_last_options", truth(answer, _last)
    yield "dropped_optional", truth(answer, optional=False)
    yield "empty_optional", _empty_optionals(answer, gold)
    for out in _per_argument(gold, _wrong_type):
        yield "wrong_type", out
    yield "ints_for_numbers", _map_args(gold, lambda a: _numbers(a, True))
    yield "numbers_for_ints", _map_args(gold, lambda a: _numbers(a, False))
    yield "string_variants", _map_args(gold, _stringy)
    for out in _per_argument(gold, _nested):
        yield "list_or_dict_shrunk", out
    for out in _per_argument(gold, _nested_grow):
        yield "list_or_dict_grown", out
    for out in _per_argument(gold, _nested_retype):
        yield "list_or_dict_items_retyped", out
    yield "extra_argument", _map_args(gold, lambda a: {**a, "unexpected_argument": "x"})
    yield (
        "first_argument_dropped",
        _map_args(gold, lambda a: {k: v for i, (k, v) in enumerate(a.items()) if i != 0}),
    )
    assert gold is not None
    renamed = copy.deepcopy(gold)
    ((name, arguments),) = renamed[0].items()
    renamed[0] = {name + "_v2": arguments}
    yield "wrong_name", renamed
    yield (
        "wrong_order",
        list(reversed(gold))
        if len(gold) > 1
        else [
            {name: dict(reversed(list(arguments.items())))}
            for name, arguments in (next(iter(c.items())) for c in gold)
        ],
    )
    yield "duplicate_call", [*gold, gold[0]]
    yield "dropped_call", gold[:-1]
    yield "no_call", []
    yield "malformed", None


def relevance_outputs(functions: list[dict[str, Any]]) -> Iterator[tuple[str, Output]]:
    """(kind, output) pairs for irrelevance and relevance cases, which have no answer."""
    yield "no_call", []
    yield "malformed", None
    if not functions:
        yield "call", [{"unknown_function": {}}]
        return
    first = functions[0]
    required = first["parameters"].get("required", [])
    yield "call", [{first["name"]: {key: "x" for key in required}}]
    yield "empty_call", [{first["name"]: {}}]
    yield "two_calls", [{f["name"]: {}} for f in functions[:2]] * (2 if len(functions) == 1 else 1)
