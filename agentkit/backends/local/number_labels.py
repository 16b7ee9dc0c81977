"""Which argument a number is for, read from the words the request writes beside it.

A request with several numbers labels most of them: "3 rooms", "an area of 2500 square feet",
"paid dividends of $200,000", "for 10, 20 and 30 years". A small model given every number for every
number argument swaps them (SmolLM2 wrote ``rooms=3000`` from "an area of 3000 square feet",
``payment_per_year=10, years=1000`` from "$1000 per year ... for 10, 20 and 30 years"). So:

- a number whose label names one number argument of the tool, and names it better than any other,
  is not offered to the tool's other number arguments (:func:`numbers_for_their_owners`). Fed
  BFCL's expected calls (simple_python and parallel) this takes 1,158 wrong numbers away from
  arguments and keeps the expected one 1,064 times in the 1,069 it was offered (the misses: "roll
  a 7", where the verb is the argument ``number_of_rolls``'s word; "compounded 4 times in a year"
  beside ``time``; "5%" where BFCL expects 5 and the only plain 5 is "5 years"; figures from
  ``python -m benchmarks.localbench.expected_calls``);
- an argument whose label several numbers carry takes them in order, one call each: the first in
  the reply's first call (:func:`first_labelled`), the next in each later call
  (:func:`next_labelled`).

Linear in the request: each number's label is read from a bounded window beside it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from agentkit.backends.local.request_values import (
    COMMON_WORDS,
    WORD,
    RequestValues,
    listed_numbers,
    numbers_in,
)

_LABEL_REACH = 80
"""Characters looked at on each side of a number for its label."""
_WORDS_BEFORE, _WORDS_AFTER = 3, 2
"""A label is at most this many words before the number (or its list) and after it."""
_WRITTEN = re.compile(r"-?\$?\d+(?:,\d{3})*(?:\.\d+)?%?|[A-Za-z]+")
"""A number as written (digits with sign, currency and percent, or a number word), from its start."""
_LIST_JOIN = re.compile(r"(?:[A-Za-z]{1,3}\b)?\s*(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)\$?\s*")
"""What joins the numbers of one list ("10, 20 and 30 years", "6cm and 10cm"): they share a label."""
_MIN_STEM = 5
"""Two words one of which starts with the other are the same word only from this length on."""
_JOIN_CHARS = 12
"""A list joiner is never longer than this ("cm, and $")."""
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\n\"]|\b(?:and|or)\b", re.IGNORECASE)


def _stem(word: str) -> str:
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def _tokens(words: Iterable[str]) -> list[str]:
    """Stemmed words, "per" joined to the word after it: ``payment_per_year`` is about a payment, and
    "$1000 per year" labels it, where "10 years" labels ``years``."""
    tokens: list[str] = []
    pending_per = False
    for word in words:
        if word.lower() == "per":
            pending_per = True
            continue
        tokens.append(("per_" if pending_per else "") + _stem(word))
        pending_per = False
    return tokens


_COMMON = frozenset(_stem(word) for word in COMMON_WORDS)


def name_words(key: str) -> frozenset[str]:
    """The label words an argument's name is made of (``outstanding_shares``: outstanding, share;
    ``annualReturn``: annual, return)."""
    parts = [part for part in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", key) if part and not part.isdigit()]
    return frozenset(token for token in _tokens(parts) if token not in _COMMON)


def number_labels(text: str, positions: list[int]) -> dict[int, frozenset[str]]:
    """The label of each number written at ``positions`` (sorted): the words just before it (back to
    a clause break, never past the words the number before it took) and just after it (up to a
    clause break, a function word or the next number: "a group of 50 with extroverted members"
    labels 50 with nothing), shared by all the numbers of one list."""
    ends = {}
    for position in positions:
        written = _WRITTEN.match(text, position)
        ends[position] = written.end() if written else position + 1
    after: dict[int, list[str]] = {}
    taken_up_to: dict[int, int] = {}
    for index, position in enumerate(positions):
        stop = positions[index + 1] if index + 1 < len(positions) else len(text)
        segment = text[ends[position] : min(stop, ends[position] + _LABEL_REACH)]
        cut = _CLAUSE_BREAK.search(segment)
        words = list(WORD.finditer(segment, 0, cut.start() if cut else len(segment)))[:_WORDS_AFTER]
        function = next((i for i, word in enumerate(words) if word.group().lower() in COMMON_WORDS), None)
        words = words[:function]
        after[position] = _tokens(word.group() for word in words)
        taken_up_to[position] = ends[position] + (words[-1].end() if words else 0)
    before: dict[int, list[str]] = {}
    for index, position in enumerate(positions):
        start = max(taken_up_to[positions[index - 1]] if index else 0, position - _LABEL_REACH)
        clause = _CLAUSE_BREAK.split(text[start:position])[-1]
        before[position] = _tokens(WORD.findall(clause))[-_WORDS_BEFORE:]
    labels: dict[int, frozenset[str]] = {}
    group: list[int] = []
    for position in [*positions, -1]:
        joined = group and 0 <= position - ends[group[-1]] <= _JOIN_CHARS
        if joined and _LIST_JOIN.fullmatch(text, ends[group[-1]], position):
            group.append(position)
            continue
        shared = {*before[group[0]], *after[group[-1]]} if group else set()
        for member in group:
            labels[member] = frozenset({*shared, *before[member], *after[member]} - _COMMON)
        group = [position]
    return labels


def _same_word(name_word: str, label_word: str) -> bool:
    """Whether a word of an argument's name and one of a label are the same word, give or take an
    ending the stemming leaves ("weight" and "weighs", "extroverts" and "extroverted")."""
    if name_word == label_word:
        return True
    shorter, longer = sorted((name_word, label_word), key=len)
    return len(shorter) >= _MIN_STEM and longer.startswith(shorter) and len(longer) - len(shorter) <= 2


def label_owners(labels: dict[int, frozenset[str]], keys: Iterable[str]) -> dict[int, str]:
    """The argument each labelled number is for: the one of ``keys`` whose name shares the most words
    with the number's label; no owner when none shares a word or two share as many."""
    words = {key: name_words(key) for key in keys}
    owners = {}
    for position, label in labels.items():
        scores = sorted(
            (
                (sum(any(_same_word(word, said) for said in label) for word in words[key]), key)
                for key in words
            ),
            reverse=True,
        )
        if scores and scores[0][0] > 0 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
            owners[position] = scores[0][1]
    return owners


@lru_cache(maxsize=32)
def _labels_of(text: str) -> dict[int, frozenset[str]]:
    """The labels of every number ``text`` writes, read once per request (each tool of each call
    of a reply asks for them up to three times); read-only."""
    return number_labels(text, sorted({position for position, _ in numbers_in(text)}))


def _owners(values: RequestValues, keys: list[str]) -> dict[int, str]:
    return label_owners(_labels_of(values.text), keys)


def numbers_for_their_owners(values: RequestValues, arguments: dict[str, Any]) -> dict[str, Any]:
    """A variant of ``arguments`` (an arguments schema whose number arguments list the request's
    numbers) where no number argument is offered a value the request writes only with another
    argument's label; an argument left with nothing keeps what it had. ``arguments`` unchanged
    when nothing is taken away."""
    numeric = listed_numbers(arguments)
    owners = _owners(values, numeric) if len(numeric) >= 2 else {}
    if not owners:
        return arguments
    properties = arguments["properties"]
    variant: dict[str, Any] | None = None
    for key in numeric:
        sub = properties[key]
        written_at = values.written_at(sub)
        kept = [
            value
            for value in sub["enum"]
            if not written_at.get(value)
            or any(owners.get(position, key) == key for position in written_at[value])
        ]
        if kept and len(kept) < len(sub["enum"]):
            variant = variant or copy.deepcopy(arguments)
            variant["properties"][key] = {**sub, "enum": kept}
    return variant or arguments


def _labelled_for(values: RequestValues, owners: dict[int, str], key: str) -> list[int]:
    """Where the request writes numbers labelled for ``key``, in order; digits only when there
    are any, since number words are more often counts of things ("two charges. The first charge
    is 5 coulombs")."""
    own = sorted(position for position, owner in owners.items() if owner == key)
    digits = [position for position in own if not values.text[position].isalpha()]
    return digits or own


def _taking(arguments: dict[str, Any], key: str, values: list[float | int]) -> dict[str, Any] | None:
    """``arguments`` with argument ``key`` narrowed to ``values``; ``None`` when that would change
    nothing or leave nothing."""
    sub = arguments["properties"][key]
    kept = [value for value in sub["enum"] if value in values]
    if not kept or len(kept) == len(sub["enum"]):
        return None
    variant = copy.deepcopy(arguments)
    variant["properties"][key] = {**sub, "enum": kept}
    return variant


def first_labelled(values: RequestValues, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments schema of a reply's first call: a number argument whose label two or more
    numbers carry takes the first of them ("for 1, 5 and 10 years": 1; later calls take the
    others, :func:`next_labelled`), unless another number argument has nothing but those
    numbers to take ("base and height as 6cm and 10cm"). Fed BFCL's expected calls, it narrows
    88 first calls' numbers in parallel, to the expected value 84 times (3 more are expected in
    another call; the last, 1.4, is no number the request labels), and none in simple_python.
    ``arguments`` unchanged when no argument has such numbers."""
    numeric = listed_numbers(arguments)
    owners = _owners(values, numeric) if len(numeric) >= 2 else {}
    written_at = {key: values.written_at(arguments["properties"][key]) for key in numeric} if owners else {}
    for key in numeric:
        own = _labelled_for(values, owners, key)
        if len(own) < 2 or not all(
            _has_own_numbers(arguments["properties"][other]["enum"], written_at[other], owners, key)
            for other in numeric
            if other != key
        ):
            continue
        at_first = [value for value, at in written_at[key].items() if own[0] in at]
        arguments = _taking(arguments, key, at_first) or arguments
    return arguments


def _has_own_numbers(
    offered: list[Any], written_at: dict[float | int, list[int]], owners: dict[int, str], key: str
) -> bool:
    """Whether an argument is offered a number written somewhere not labelled for ``key``."""
    return any(any(owners.get(at) != key for at in written_at.get(value, [-1])) for value in offered)


def next_labelled(values: RequestValues, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments schema of a later call of ``tool``: a number argument whose label two or more
    numbers carry takes the next of them after the ones its earlier calls took ("for 1, 5 and 10
    years": 5 after 1, then 10), when there is a next one. Fed BFCL's expected parallel calls, it
    narrows 139 later calls' numbers, to the expected value 133 times (3 expect the value kept:
    "10 and 20 years respectively" for two countries). ``arguments`` unchanged
    otherwise."""
    earlier = [called for name, called in values.previous if name == tool]
    numeric = listed_numbers(arguments)
    owners = _owners(values, numeric) if earlier and len(numeric) >= 2 else {}
    for key in [key for key in numeric if owners and any(key in called for called in earlier)]:
        own = _labelled_for(values, owners, key)
        if len(own) < 2:
            continue
        written_at = values.written_at(arguments["properties"][key])
        taken = -1
        for value in (called[key] for called in earlier if key in called):
            taken = next((at for at in own if at > taken and at in written_at.get(value, ())), taken)
        following = [at for at in own if at > taken]
        if following:
            at_next = [value for value, at in written_at.items() if following[0] in at]
            arguments = _taking(arguments, key, at_next) or arguments
    return arguments
