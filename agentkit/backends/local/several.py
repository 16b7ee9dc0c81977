"""Whether the request asks for more calls than the reply holds: the count signal for small models.

Decoding calls one at a time (:mod:`~agentkit.backends.local.call_loop`), SmolLM2-135M ended a reply by
writing its last call again (after 38 of 40 single calls on BFCL's simple_python), and its log-odds of
ending the reply do not tell one call from several. On the parallel category the same repeat ended
replies whose second call should have taken the request's next values. What tells them apart is in the
request's words. After each call, another is wanted when the reply holds fewer calls than a **count**
the request writes, if it writes one ("the area of two circles"), and:

- the request numbers its parts with ordinals ("the first ..., the second ..., the third ...") and
  the reply holds fewer calls than the highest;
- a **pair cue** ("respectively", "both", "each", "as well", "separately", "compare") is written and
  the reply holds one call;
- the reply holds no more calls than the request writes **next cues** ("another", "also", "then",
  "lastly", "finally", "additionally", "instead": each starts one more request);
- the request writes, after the furthest number the calls used, at least as many **numbers they did
  not use** as the last call took;
- an **enumeration** goes on past a value the calls used: that value, then "and", "or", "&" or a
  comma, then a value of the same kind the calls did not use (a number right after the joiner; for a
  string, a word of the same capitalisation that is not a function word, and never after a bare comma:
  "Seattle, Washington" is one place, not two);
- a **neighbour** goes on: the word written right after a string value of the last call comes again
  after everything the calls used ("a Chicken Noodle Soup recipe and a Vegan Salad recipe"), at
  most one call for each time it is written.

Checked against BFCL's expected calls (feeding the first n calls, counting until it says no;
``python -m benchmarks.localbench.expected_calls``): the right number of calls for 137 of parallel's
200 requests (37 too few, 26 too many) and one call for 377 of simple_python's 400 (23 too many).
When it says no, the reply ends before the model is asked; when it says yes and the model repeats a
call, the repeat may be replaced by one that moves forward
(:func:`~agentkit.backends.local.advancing.advanced`). Linear in the request: a pass per cue list and
per number, one anchored match per used value, a pass per string value of the last call for its
neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agentkit.backends.local.request_values import COMMON_WORDS, WORD, RequestValues
from agentkit.backends.local.spans import MAX_TEXT_CHARS

_PAIR_CUE = re.compile(
    r"\b(?:respectively|both|each|as well|separately|compar(?:e|es|ed|ing|ison))\b", re.IGNORECASE
)
"""Words that ask for the same thing twice, or for each of a list the request enumerates."""
_NEXT_CUE = re.compile(r"\b(?:another|also|then|lastly|finally|additionally|instead)\b", re.IGNORECASE)
"""Words that start one more request each ("..., then do the same for ...")."""
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNTED = re.compile(r"\b(two|three|four|five|six)\b(?:[- ][\w-]+){0,2}?[- ]\w+s\b", re.IGNORECASE)
"""A count of things ("two circles", "four different cities"): at most that many calls."""
_ORDINAL = re.compile(r"\b(second|third|fourth|fifth|sixth)\b", re.IGNORECASE)
_ORDINAL_COUNTS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_FIRST = re.compile(r"\bfirst\b", re.IGNORECASE)
"""Ordinals that number the request's parts ("The first house ... The second ... The fourth ..."): as
many calls as the highest, when "first" is written too."""
_JOINER = re.compile(r"\.?(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+)")
"""A joiner of list items, after the full stop of an abbreviation too ("Apple Inc., Google LLC.")."""
_NUMBER_TAIL = re.compile(r"-?[\d,]*\.?\d+%?(?:\s?(?!(?:and|or)\b)[a-zA-Z$%]{1,12}\b)?")
"""A number and the unit word after it ("10m", "5 kg", "10 years"), never a joiner ("7 and 9")."""
_LEAD = re.compile(r"(?:(?:in|at|for|to|from|on|of|with|by|between|the|a|an)\s+){0,2}['\"]?([\w'-]+)")
"""The first word after a joiner, past up to two prepositions or articles."""
_LIST_GOES_ON = re.compile(r"(?:[\w' .-]{1,30}?,\s*){0,3}?[\w' .-]{1,30}?(?:,\s*|\s+)(?:and|or)\s")
"""After "navy, ": another item and the list's "and" ("purple and maroon"), after up to three more
items ("silver, platinum, and palladium"); "Seattle, Washington?" has none."""
_FUNCTION_WORDS = frozenset(
    re.split(
        r"\s+",
        "the a an its their his her my our your what which how in on at for to of with by from then also "
        "is are was i we it this that can could would you please provide tell give find show get",
    )
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def asks_for_several(text: str, calls: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Whether ``text`` (the request) asks for more calls than ``calls`` (name, arguments) made."""
    text = text[:MAX_TEXT_CHARS]
    counted = _COUNTED.search(text)
    if counted is not None and len(calls) >= _COUNT_WORDS[counted.group(1).lower()]:
        return False  # "the area of two circles": never a third call
    if calls and len(calls) < _highest_ordinal(text):
        return True  # "the first ..., the second ..., the third ...": one call for each
    if len(calls) < 2 and _PAIR_CUE.search(text):
        return True  # a second call; only an enumeration counts further ones
    if len(calls) <= len(_NEXT_CUE.findall(text)) and calls:
        return True  # one more call for each
    values = RequestValues(text)  # its numbers are read once, for all three
    return (
        _numbers_left_for_another(values, calls)
        or _enumeration_goes_on(values, calls)
        or _neighbour_goes_on(values, calls)
    )


def writes_several(text: str) -> bool:
    """Whether the request's words alone ask for several calls: ordinals, a count of things, or a
    pair or next cue (before any call is made)."""
    text = text[:MAX_TEXT_CHARS]
    return bool(
        _highest_ordinal(text) >= 2
        or _COUNTED.search(text)
        or _NEXT_CUE.search(text)
        or _PAIR_CUE.search(text)
    )


def _highest_ordinal(text: str) -> int:
    """The highest ordinal the request numbers its parts with (0 unless it writes "first" too)."""
    if _FIRST.search(text) is None:
        return 0
    return max((_ORDINAL_COUNTS[match.group(1).lower()] for match in _ORDINAL.finditer(text)), default=0)


def _enumeration_goes_on(request: RequestValues, calls: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Whether a value the calls used is followed by a joiner and a value of the same kind they did not
    use."""
    values = [value for _, arguments in calls for value in arguments.values()]
    used_numbers = {float(v) for v in values if _is_number(v)}
    used_strings = [v for v in values if isinstance(v, str) and v]
    text, numbers = request.text, request.numbers
    numbers_at: dict[int, float] = {}
    for position, number in numbers:
        numbers_at.setdefault(position, number)
    ends: dict[int, str | None] = {}  # where a used value ends: its text (strings) or None (numbers)
    for position, number in numbers:
        if number in used_numbers or number / 100 in used_numbers:
            tail = _NUMBER_TAIL.match(text, position)
            ends.setdefault(tail.end() if tail else position, None)
    for used in used_strings:
        at = text.find(used)
        while at >= 0:  # every place it is written ("March 20, 2022 and for ...")
            ends.setdefault(at + len(used), used)
            at = text.find(used, at + len(used))
    for end, written in ends.items():
        joiner = _JOINER.match(text, end)
        if joiner is None:
            continue
        start = joiner.end()
        rest = text[start : start + 40]
        if any(rest.startswith(used) for used in used_strings):
            continue
        following = [numbers_at[at] for at in (start, start + 1) if at in numbers_at]
        if written is None:  # a number: another number must follow at once
            if following and following[0] not in used_numbers:
                return True
            continue
        if following and not written.isdigit():  # "No 28473 and 64725": a number written as text
            continue
        if joiner.group().strip(" .") == "," and not _LIST_GOES_ON.match(rest):
            continue
        word = _LEAD.match(rest)  # "Paris and in Oslo": the preposition leads to the next value
        if word is None or word.group(1).lower() in _FUNCTION_WORDS:
            continue
        if any(rest.startswith(used, word.start(1)) for used in used_strings):
            continue  # "... 2022 and for 'Royal Hotel'" once that hotel is called
        if written.isdigit() != word.group(1).isdigit():
            continue  # digits go on with digits ("No 28473 and 64725"), words with words
        if written[0].isupper() != word.group(1)[0].isupper():
            continue
        return True
    return False


def _numbers_left_for_another(values: RequestValues, calls: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Whether the request writes, after the furthest number the calls used, at least as many numbers
    they did not use as the last call took ("$500,000 ... $100,000 and for Wells Fargo $700,000 ...
    $120,000"; "four restaurants in New York ... four more in Los Angeles" asks for no third call)."""
    if not calls:
        return False
    last = {key: value for key, value in calls[-1][1].items() if _is_number(value)}
    if not last:
        return False
    used = {float(value) for _, arguments in calls for value in arguments.values() if _is_number(value)}
    frontier = values.frontier([arguments for _, arguments in calls], last)
    later = {position for position, number in values.numbers if position > frontier and number not in used}
    return len(later) >= len(last)


def _neighbour_goes_on(values: RequestValues, calls: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Whether the word written right after a string value of the last call comes again after
    everything the calls used, beside something they did not use ("a Chicken Noodle Soup recipe and
    a Vegan Salad recipe"): one call for each time the word is written, at most. Common words
    (:data:`~agentkit.backends.local.request_values.COMMON_WORDS`) tie nothing together. The count's
    side of :meth:`~agentkit.backends.local.request_values.RequestValues.progress`, where a word beside
    a value written again makes the value move."""
    if not calls:
        return False
    text = values.text
    used = [value for _, called in calls for value in called.values() if isinstance(value, str) and value]
    frontier = values.frontier([arguments for _, arguments in calls])
    for value in calls[-1][1].values():
        at = text.find(value) if isinstance(value, str) and value else -1
        after = WORD.search(text, at + len(value)) if at >= 0 else None
        if after is None or after.start() > at + len(value) + 2:
            continue  # nothing, or not right after it
        word = after.group().lower()
        if word in COMMON_WORDS:
            continue
        written = [match for match in WORD.finditer(text) if match.group().lower() == word]
        if len(calls) >= len(written):
            continue
        for match in written:
            if match.start() > max(frontier, after.start()) and not any(
                text[max(0, match.start() - len(other) - 8) : match.start()].rstrip().endswith(other)
                for other in used
            ):
                return True  # (a look back as long as each value, not the whole text: linear)
    return False
