"""The count signal and the number-label rules fed BFCL's expected calls: how often they agree.

``python -m benchmarks.localbench.expected_calls``

No model runs. ``count``: for each request, the expected calls are fed one more at a time to
:func:`~agentkit.backends.local.several.asks_for_several` until it says no (the last one repeated past
the expected number): how many requests get exactly the expected number of calls, too few, too many.
Then each expected call of simple_python and parallel gets the arguments schema the local
path would build for it (numbers from the request, :mod:`agentkit.backends.local.number_labels`
applied), the earlier expected calls standing in for the reply's calls so far. Prints, per category:

- ``not offered``: number arguments whose expected value the request offered, how many still offer
  it, how many wrong numbers were taken away
  (:func:`~agentkit.backends.local.number_labels.numbers_for_their_owners`);
- ``first``: first calls whose numbers :func:`~agentkit.backends.local.number_labels.first_labelled`
  narrowed, how many kept the expected value, how many kept one another expected call has;
- ``next``: later calls :func:`~agentkit.backends.local.number_labels.next_labelled` narrowed, how many
  kept the expected value.

These are the figures benchmarks/README.md and the docstrings of ``several`` and ``number_labels`` quote.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentkit.backends.local.constraints import _closed  # the schema build_grammar starts from
from agentkit.backends.local.number_labels import first_labelled, next_labelled, numbers_for_their_owners
from agentkit.backends.local.request_values import RequestValues
from agentkit.backends.local.several import asks_for_several
from agentkit.eval.bfcl import load_bfcl

CATEGORIES = ("simple_python", "parallel")


def _first(expected: Any) -> Any:
    """An expected argument's first non-empty value."""
    return next((value for value in expected.values if value not in ("", None)), None)


def _written(expected: Any, text: str) -> Any:
    """The value an expected argument stands for in a previous call: the spelling the request
    writes, else the first non-empty one."""
    values = [value for value in expected.values if value not in ("", None)]
    return next((v for v in values if isinstance(v, str) and v.lower() in text.lower()), None) or (
        values[0] if values else None
    )


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The number arguments whose listed values ``after`` narrowed, with what they kept."""
    return [
        (key, after["properties"][key]["enum"])
        for key, sub in before["properties"].items()
        if isinstance(sub, dict) and sub.get("enum") != after["properties"][key].get("enum")
    ]


_MOST_CALLS = 8
"""The count is followed no further than this."""


def _counted(text: str, calls: list[tuple[str, dict[str, Any]]]) -> int:
    """How many calls the count signal asks for when the reply's calls are the expected ones."""
    count = 1
    while count < _MOST_CALLS:
        made = calls[:count] + [calls[-1]] * max(0, count - len(calls))
        if not asks_for_several(text, made):
            break
        count += 1
    return count


def measure(category: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for case in load_bfcl(category):
        text = case.messages[-1].content
        tools = {tool["name"]: tool for tool in case.tools}
        calls = case.expect.calls
        if calls:
            fed = [
                (call.name, {k: v for k, a in call.arguments.items() if (v := _first(a)) is not None})
                for call in calls
            ]
            counted = _counted(text, fed)
            verdict = "exact" if counted == len(calls) else "too few" if counted < len(calls) else "too many"
            counts[f"count: {verdict}"] += 1
        for index, call in enumerate(calls):
            tool = tools.get(call.name) or case.tools[0]
            previous = tuple(
                (done.name, {k: v for k, a in done.arguments.items() if (v := _written(a, text)) is not None})
                for done in calls[:index]
            )
            values = RequestValues(text, previous)
            built = _closed(dict(tool["parameters"]), values)
            owned = numbers_for_their_owners(values, built)
            for key, sub in built.get("properties", {}).items():
                expected = call.arguments.get(key)
                numbers = [v for v in (expected.values if expected else ()) if type(v) in (int, float)]
                if not numbers or not isinstance(sub, dict) or sub.get("type") not in ("integer", "number"):
                    continue
                if not isinstance(sub.get("enum"), list):
                    continue
                offered = owned["properties"][key]["enum"]
                if any(v in sub["enum"] for v in numbers):
                    counts["not offered: expected was offered"] += 1
                    counts["not offered: expected still offered"] += any(v in offered for v in numbers)
                counts["not offered: wrong taken away"] += sum(
                    1 for v in sub["enum"] if v not in offered and v not in numbers
                )
            if index == 0:
                for key, kept in _changed(owned, first_labelled(values, owned)):
                    counts["first: narrowed"] += 1
                    counts["first: expected kept"] += any(v in kept for v in call.arguments[key].values)
                    counts["first: another call's kept"] += not any(
                        v in kept for v in call.arguments[key].values
                    ) and any(v in kept for c in calls if key in c.arguments for v in c.arguments[key].values)
            elif any(name == call.name for name, _ in previous):
                for key, kept in _changed(owned, next_labelled(values, call.name, owned)):
                    expected_values = call.arguments[key].values if key in call.arguments else ()
                    counts["next: narrowed"] += 1
                    counts["next: expected kept"] += any(v in kept for v in expected_values)
    return counts


def main() -> None:
    for category in CATEGORIES:
        counts = measure(category)
        print(category)
        for name in sorted(counts):
            print(f"  {name}: {counts[name]}")


if __name__ == "__main__":
    main()
