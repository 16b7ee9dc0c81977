"""Is one argument value acceptable? BFCL's AST rules for a single parameter, restated.

The rules (BFCL's ``ast_checker``, Python flavour), in the order they apply:

1. An integer is accepted where a number (BFCL ``float``) is declared, as that number.
2. The value must have the declared type exactly (``True`` is not an integer). When the acceptable
   values are of another type than the declared one (BFCL calls this a *variable*: the answer names a
   value the caller holds, e.g. a string for an integer parameter), a value of their type is
   accepted too, and then compared exactly, without the rules below.
3. A list's items must have the declared item type, or the type of the acceptable list's items; an
   optional argument, or an acceptable value that is not a list, skips this item check.
4. Strings compare after normalization: spaces and ``,./-_*^`` removed, lower case, ``'`` as ``"``.
5. Lists compare element by element, their string elements normalized; an optional argument may be
   given as an empty list.
6. Objects compare key by key against each acceptable object: no key it does not list, every key it
   requires present, each value one of that key's acceptable values (strings normalized).
7. Lists of objects: same length as an acceptable list, each object matching the one at its position.
8. Anything else (numbers, booleans) must equal one of the acceptable values.

Acceptable values come in BFCL's form (:meth:`ExpectedArgument.possible`): ``""`` among them marks
the argument optional, and so an empty string (or empty list) given for it is accepted as well.
"""

from __future__ import annotations

import re
from typing import Any

from agentkit.eval.signature import Param

_PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}
_IGNORED = re.compile(r"[ ,./\-_*^]")
_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def normalize(text: str) -> str:
    """BFCL's string normalization: ``April 1, 2024`` and ``april 1 2024`` compare equal."""
    return _IGNORED.sub("", text).lower().replace("'", '"')


def _norm(value: Any) -> Any:
    return normalize(value) if type(value) is str else value


def _answer_type(possible: list[Any]) -> type | None:
    for value in possible:
        if value != "":
            return type(value)
    return None


def _describe(value: Any) -> str:
    return f"{_NAMES.get(type(value), type(value).__name__)} {value!r}"


def _shown(possible: list[Any]) -> str:
    return repr([v for v in possible if v != ""])


def _exactly(value: Any, kind: type) -> bool:
    """BFCL compares types exactly: ``True`` is not an ``int``, a subclass is not its base."""
    return type(value) is kind


def check_value(name: str, given: Any, param: Param | None, possible: list[Any]) -> str | None:
    """``None`` when ``given`` is acceptable for argument ``name``, else why not (one line)."""
    value: Any = given
    declared = param.type if param is not None else None
    answer_type = _answer_type(possible)
    expected = _PY_TYPES.get(declared or "", answer_type)  # untyped: the acceptable values' type
    if declared == "number" and type(value) is int:
        value = float(value)
    if expected is None:  # untyped, and nothing but "may be left out" to go by
        return (
            None
            if value in possible
            else f"argument {name}: expected one of {_shown(possible)}, got {value!r}"
        )
    variable = answer_type is not None and answer_type is not expected
    items = _PY_TYPES.get(param.items) if param is not None and param.items else None
    if _exactly(value, expected):
        if expected is list and items is not None and not _items_ok(value, items, possible):
            return f"argument {name}: expected a list of {param.items if param else '?'}, got {value!r}"
    elif not (answer_type is not None and _exactly(value, answer_type)):
        wanted = declared or _NAMES.get(expected, expected.__name__)
        return f"argument {name}: expected {wanted}, got {_describe(value)}"
    if not variable:
        if expected is dict:
            return _check_dict(name, value, possible)
        if expected is list and items is dict:
            return _check_dict_list(name, value, possible)
        if expected is str:
            if normalize(value) in [normalize(v) for v in possible if type(v) is str]:
                return None
            return f"argument {name}: expected one of {_shown(possible)}, got {value!r}"
        if expected is list:
            return _check_list(name, value, possible)
    if value in possible:
        return None
    return f"argument {name}: expected one of {_shown(possible)}, got {value!r}"


def _items_ok(value: list[Any], items: type, possible: list[Any]) -> bool:
    for option in possible:
        if type(option) is not list:
            return True  # BFCL checks items only against acceptable lists
        inner = _answer_type(option)
        if all(type(item) is items or (inner is not None and type(item) is inner) for item in value):
            return True
    return False


def _as_sequence(option: Any) -> list[Any] | None:
    """BFCL walks an acceptable value by index: a list, or a string character by character."""
    if isinstance(option, list):
        return option
    if isinstance(option, str):
        return list(option)
    return None


def _check_list(name: str, value: list[Any], possible: list[Any]) -> str | None:
    given = [_norm(item) for item in value]
    for option in possible:
        items = _as_sequence(option)
        if items is not None and given == [_norm(item) for item in items]:
            return None
    return f"argument {name}: expected one of {_shown(possible)}, got {value!r}"


def _dict_mismatch(value: dict[str, Any], option: dict[str, Any]) -> str | None:
    for key, item in value.items():
        if key not in option:
            return f"unexpected key {key!r}"
        accepted = _as_sequence(option[key])
        if accepted is None or _norm(item) not in [_norm(a) for a in accepted]:
            return f"key {key!r}: expected one of {option[key]!r}, got {item!r}"
    for key, accepted in option.items():
        if key not in value and not (isinstance(accepted, list | str) and "" in accepted):
            return f"missing key {key!r}"
    return None


def _check_dict(name: str, value: dict[str, Any], possible: list[Any]) -> str | None:
    why = "no acceptable object"
    for option in possible:
        if option == "" or not isinstance(option, dict):
            continue
        mismatch = _dict_mismatch(value, option)
        if mismatch is None:
            return None
        why = mismatch
    return f"argument {name}: {why}"


def _check_dict_list(name: str, value: list[Any], possible: list[Any]) -> str | None:
    why = f"expected one of {_shown(possible)}, got {value!r}"
    for option in possible:
        items = _as_sequence(option)
        if items is None or len(items) != len(value):
            why = f"expected {len(items) if items is not None else '?'} objects, got {len(value)}"
            continue
        for index, (given, wanted) in enumerate(zip(value, items, strict=True)):
            if not isinstance(wanted, dict) or not isinstance(given, dict):
                why = f"item {index}: expected an object like {wanted!r}, got {given!r}"
                break
            mismatch = _dict_mismatch(given, wanted)
            if mismatch is not None:
                why = f"item {index}: {mismatch}"
                break
        else:
            return None
    return f"argument {name}: {why}"
