"""A later call that must not repeat the one before: the values it moves on to.

When the request asks for more calls than the reply holds and the model writes its last call again
(:mod:`~agentkit.backends.local.several`), the call loop asks for one that moves forward through the
request instead: its number arguments all move on to the numbers written next, in the order their
values were written, or one argument (a number, a span, a named value) takes one written after the
values the tool's calls used. Applied to an arguments schema that
:meth:`~agentkit.backends.local.request_values.RequestValues.progress` has already narrowed.
"""

from __future__ import annotations

import copy
from typing import Any

from agentkit.backends.local.request_values import RequestValues
from agentkit.backends.local.spans import MAX_SPAN_CHUNKS, span_alternatives

_MOVE_SLACK = 1
"""How far past its rank a moving number argument may reach among the further numbers."""


def numbers_forward(values: RequestValues, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments schema of a later call of ``tool`` whose number arguments all move on when
    the request writes, after every value the tool's calls used, at least as many numbers as
    the last call took ("$15000 short term, $25000 long term in California and $20000 short
    term, $50000 long term in Florida": the Florida call may not keep 15000); ``arguments``
    unchanged otherwise, and when the last call left out a number argument, which the further
    numbers may be for ("player 3142 ... in seasons 2017, 2018 and 2019" with the season left
    out: the player stays). Applied to a schema
    :meth:`~agentkit.backends.local.request_values.RequestValues.progress` has already narrowed."""
    earlier = [called for name, called in values.previous if name == tool]
    if not earlier:
        return arguments
    numeric = [
        key
        for key, sub in (arguments.get("properties") or {}).items()
        if isinstance(sub, dict) and sub.get("type") in ("integer", "number")
    ]
    if any(key not in earlier[-1] for key in numeric):
        return arguments
    frontier = values.frontier(earlier, numeric)  # a unit named at the end moves nothing
    moved = _numbers_moved(values, arguments, earlier, frontier)
    return arguments if moved is None else moved


def advanced(values: RequestValues, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments schema of a call of ``tool`` that must not repeat its previous call: some
    top-level number argument takes a number the request writes after every value the tool's
    calls used so far (one ``anyOf`` branch per such argument). ``None`` when the request writes
    no further number for any of them: the reply has used what the request offers. Applied to
    a schema :meth:`~agentkit.backends.local.request_values.RequestValues.progress` has already narrowed."""
    earlier = [called for name, called in values.previous if name == tool]
    if not earlier:
        return arguments
    properties = arguments.get("properties") or {}
    frontier = values.frontier(earlier, properties)
    moved = _numbers_moved(values, arguments, earlier, frontier)
    if moved is not None:
        return moved
    variants = []
    for key, sub in properties.items():
        last = earlier[-1].get(key)
        if isinstance(last, str) and isinstance(sub, dict) and ("pattern" in sub or "enum" in sub):
            written = [called[key] for called in earlier if key in called]
            advance = _string_advanced if "pattern" in sub else _named_advanced
            variant = advance(values, arguments, key, written)
            if variant is not None:
                variants.append(variant)
            continue
        if not (isinstance(sub, dict) and isinstance(sub.get("enum"), list)):
            continue
        if not isinstance(last, int | float) or isinstance(last, bool):
            continue
        later = [v for p, v in values.numbers if p > frontier and v != last and v in sub["enum"]]
        if not later:
            continue
        variant = copy.deepcopy(arguments)
        variant["properties"][key] = {**sub, "enum": list(dict.fromkeys(later))}
        variant["required"] = sorted({*variant.get("required", []), key})
        variants.append(variant)
    if not variants:
        variants = _unused_numbers_after_own(values, arguments, earlier)
    if not variants:
        return None
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def _unused_numbers_after_own(
    values: RequestValues, arguments: dict[str, Any], earlier: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Variants of ``arguments`` where one number argument takes a number written after its own
    earlier values that no earlier call used, when nothing is written after all of them ("for
    the next 10 years and 20 years if ... income is $10,000 and ... $3,000": the duration moves
    to 20, though both incomes come later)."""
    used = {
        value
        for called in earlier
        for value in called.values()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    variants = []
    for key, sub in (arguments.get("properties") or {}).items():
        if not (isinstance(sub, dict) and isinstance(sub.get("enum"), list)):
            continue
        own = [called[key] for called in earlier if key in called]
        if not own or not isinstance(own[-1], int | float) or isinstance(own[-1], bool):
            continue
        position = values.position(own)
        later = [v for p, v in values.numbers if p > position and v not in used and v in sub["enum"]]
        if later:
            variant = copy.deepcopy(arguments)
            variant["properties"][key] = {**sub, "enum": list(dict.fromkeys(later))}
            variant["required"] = sorted({*variant.get("required", []), key})
            variants.append(variant)
    return variants


def _numbers_moved(
    values: RequestValues, arguments: dict[str, Any], earlier: list[dict[str, Any]], frontier: int
) -> dict[str, Any] | None:
    """A variant of ``arguments`` where every number argument of the last call takes a number
    written after ``frontier``, when the request writes at least as many further numbers as
    there are such arguments ("36 and 48, ... 60 and 96": the next call is (60, 96), not (36,
    60)); ``None`` otherwise. The arguments keep the order their values were written in: where
    the last call's came in the order (height, weight), so do the next call's ("6 feet and 80
    kg, also 5.6 feet and 60 kg": height 5.6, never 60), each taking a number from its own
    window of the next further numbers: the one at its rank, or the one after it (exactly the
    one when there are no more numbers than arguments). On the moves between BFCL's expected
    parallel calls this window admits 110 of the 111 an unbounded one does, while the model
    can no longer reach a later call's numbers ("3 bedrooms, 2 bathrooms, 1500 square feet
    ... 4 bedrooms, 3 bathrooms, 2000 square feet": not 1800, the fourth house's)."""
    properties = arguments.get("properties") or {}
    last_call = earlier[-1]
    keys = [
        key
        for key, sub in properties.items()
        if isinstance(sub, dict)
        and isinstance(sub.get("enum"), list)
        and isinstance(last_call.get(key), int | float)
        and not isinstance(last_call.get(key), bool)
    ]
    later = list(dict.fromkeys(v for p, v in values.numbers if p > frontier))
    if not keys or len(later) < len(keys):
        return None
    written_at = {key: values.position([called[key] for called in earlier if key in called]) for key in keys}
    ordered = sorted(keys, key=written_at.__getitem__)
    slack = min(_MOVE_SLACK, len(later) - len(keys))
    windows = [later[rank : rank + slack + 1] for rank in range(len(keys))]
    if min(written_at.values()) < 0 or len(set(written_at.values())) < len(keys):
        windows = [later] * len(keys)  # no order to keep
    for attempt in (windows, [later] * len(keys)):
        variant = copy.deepcopy(arguments)
        for key, window in zip(ordered, attempt, strict=True):
            allowed = [v for v in properties[key]["enum"] if v in window]
            if not allowed:
                break
            variant["properties"][key] = {**properties[key], "enum": allowed}
        else:
            variant["required"] = sorted({*variant.get("required", []), *keys})
            return variant
    return None


def _named_advanced(
    values: RequestValues, arguments: dict[str, Any], key: str, earlier: list[Any]
) -> dict[str, Any] | None:
    """A variant of ``arguments`` whose listed-value argument ``key`` takes a value the request
    names after where its earlier values were written (``None`` when it names none)."""
    choices = arguments["properties"][key].get("enum")
    if not isinstance(choices, list):
        return None
    named = values.named_after(choices, values.position(earlier))
    later = [value for value in named if value != earlier[-1]]
    if not later:
        return None
    variant = copy.deepcopy(arguments)
    variant["properties"][key] = {**variant["properties"][key], "enum": later}
    variant["required"] = sorted({*variant.get("required", []), key})
    return variant


def _string_advanced(
    values: RequestValues, arguments: dict[str, Any], key: str, earlier: list[Any]
) -> dict[str, Any] | None:
    """A variant of ``arguments`` whose string argument ``key`` takes a span of the request that
    starts after where its earlier values were written (``None`` when none does)."""
    last = earlier[-1]
    later = span_alternatives(
        values.chunks,
        MAX_SPAN_CHUNKS,
        values.end(values.position(earlier), last),
        like=last if isinstance(last, str) else None,
    )
    if not later:
        return None
    variant = copy.deepcopy(arguments)
    variant["properties"][key] = {
        **variant["properties"][key],
        "pattern": "^(?:" + "|".join(later) + ")$",
    }
    variant["required"] = sorted({*variant.get("required", []), key})
    return variant
