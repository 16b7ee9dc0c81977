"""Values from the request: argument values a small model must take from the user's words.

Small models fill a string argument with whatever the prompt made likely: the example in the
parameter's description ("San Francisco, CA" for another city), a word of the tool's name, a value
from a previous call. So a free-form string must be a span of the request
(:mod:`~agentkit.backends.local.spans`), a number one the request writes, a listed value or flag one
it names (:mod:`~agentkit.backends.local.choices`), and a later call of the same tool moves forward
through the request (the numbers all at once, and a call that must not repeat the one before:
:mod:`~agentkit.backends.local.advancing`).

Arrays get a repetition bound: small models repeat the last item of a list until the token limit
(``[85, 90, 91, 91, 91, ...]``, ``["Vegan", "Vegan", ...]``). An array of numbers holds at most as many
items as the request writes numbers, an array of allowed values at most as many as there are.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from agentkit.backends.local.choices import choose_named, named_where
from agentkit.backends.local.spans import (
    MAX_SPAN_CHUNKS,
    MAX_TEXT_CHARS,
    chunks_of,
    escape,
    span_alternatives,
)
from agentkit.messages import Message, ToolMessage, UserMessage

_NUMBER = re.compile(r"(?<![\w.^])(?!(?<=\d:)0+\b)(-)?(\d+(?:,\d{3})*(?:\.\d+)?)(%)?")
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven")
_NUMBER_WORDS = {word: value for value, word in enumerate((*_WORDS, "twelve"))}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*")
_SENTENCE_WORDS = frozenset(
    re.split(
        r"\s+",
        "also and then finally lastly after afterwards now next can could would will please what how which "
        "where when who why find get calculate compute show give tell list let make i the a an in for of on "
        "at to from with by is are do does did another additionally moreover furthermore besides plus "
        "instead however it this that these those there my our you your we they if",
    )
)
"""Words that start sentences rather than name things: a capitalised one is not a new name."""
WORD = re.compile(r"[^\W_][\w'-]*")
COMMON_WORDS = _SENTENCE_WORDS | {"and", "or", "as", "but", "between", "same", "each", "both"}
"""Words too common to tie two values together when written beside both (see
:meth:`RequestValues._neighbour_written_later`)."""
_PINNED = ("enum", "const", "pattern", "format")
"""A string schema with one of these says what its value looks like; it gets no span constraint."""


def numbers_in(text: str) -> list[tuple[int, float]]:
    """The numbers ``text`` writes, with where each starts: digits (``1,000`` is 1000, ``-3`` is -3,
    ``5%`` is both 5 and 0.05) and the words zero to twelve; never an exponent (the 2 of ``m/s^2``
    or ``x^2``, no expected value on BFCL's simple_python and parallel, 38 written) nor the zero
    minutes of a time (the 00 of ``22:00``; the 15 of ``3:15`` stays)."""
    found: list[tuple[int, float]] = []
    for match in _NUMBER.finditer(text[:MAX_TEXT_CHARS]):
        sign, digits, percent = match.groups()
        value = float(digits.replace(",", "")) * (-1 if sign else 1)
        found.append((match.start(), value))
        if percent:
            found.append((match.start(), value / 100))
    for match in _WORD_NUMBER.finditer(text[:MAX_TEXT_CHARS]):
        found.append((match.start(), float(_NUMBER_WORDS[match.group().lower()])))
    return sorted(found)


_DEFAULT_SAYS = re.compile(r"\bdefaults?\b", re.IGNORECASE)


def documented_default(description: str) -> float | None:
    """The number a parameter's description gives as its default, the first one in the clause after
    the word ("Default value is 9.81", "Default factor is 355.48", "Default is zero"), or ``None``.
    Passing the documented default is never wrong, and a small model that writes an optional
    argument the request does not mention otherwise has only the request's numbers to choose from."""
    said = _DEFAULT_SAYS.search(description[:MAX_TEXT_CHARS])
    if said is None:
        return None
    clause = re.split(r"[.;,]\s|\.$", description[said.end() : said.end() + 40])[0]
    found = numbers_in(clause)
    return found[0][1] if found else None


_FRONT_SLACK = 2
"""How many numbers past one per number argument a first call may reach (a count, a year)."""


def _drop_optional_numbers(schema: dict[str, Any]) -> None:
    """In place, an object schema: without its optional number and integer properties."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    required = set(schema.get("required") or ())
    for key in [key for key, sub in properties.items() if key not in required and isinstance(sub, dict)]:
        if properties[key].get("type") in ("integer", "number"):
            del properties[key]


def listed_numbers(arguments: dict[str, Any]) -> list[str]:
    """The number arguments of an arguments schema that list the numbers they may take (``enum``)."""
    return [
        key
        for key, sub in (arguments.get("properties") or {}).items()
        if isinstance(sub, dict)
        and isinstance(sub.get("enum"), list)
        and sub.get("type") in ("integer", "number")
    ]


def _json_number(value: float, integer: bool) -> float | int:
    return int(value) if integer or value.is_integer() else value


@dataclass(frozen=True)
class RequestValues:
    """What the request offers as argument values: its word spans and the numbers it writes.

    ``previous``: the calls already written in this reply (tool name, arguments). A later call of the
    same tool moves forward through the request: each top-level string or number argument either keeps
    the previous call's value or takes one written after it ("Paris and Oslo", "45, 100 and 150").
    """

    text: str
    previous: tuple[tuple[str, dict[str, Any]], ...] = ()

    @cached_property
    def chunks(self) -> list[tuple[int, str]]:
        return chunks_of(self.text)

    @cached_property
    def spans(self) -> str | None:
        alternatives = span_alternatives(self.chunks, MAX_SPAN_CHUNKS, -1)
        return "^(?:" + "|".join(alternatives) + ")$" if alternatives else None

    @cached_property
    def numbers(self) -> list[tuple[int, float]]:
        return numbers_in(self.text)

    def constrain(self, schema: dict[str, Any]) -> None:
        """In place, one schema node (not its children): a free-form string becomes a span of the
        request, a number one the request writes, and an array of numbers or of allowed values gets
        its repetition bound; an object takes the choices the request names
        (:func:`~agentkit.backends.local.choices.choose_named`), and no optional number argument
        when the request writes no number (SmolLM2 wrote ``start_year=1861`` for "the presidency of
        Abraham Lincoln"; on BFCL's simple_python and parallel such an argument may be left out 25
        times in 26)."""
        kind = schema.get("type")
        choose_named(schema, self.text)
        if not self.numbers:
            _drop_optional_numbers(schema)
        if kind == "string" and not any(key in schema for key in _PINNED) and self.spans is not None:
            schema["pattern"] = self.spans
        elif kind in ("integer", "number") and not any(key in schema for key in _PINNED):
            allowed = self._allowed_numbers(schema, self.numbers)
            if allowed:
                schema["enum"] = allowed
        elif kind == "array" and "maxItems" not in schema and isinstance(schema.get("items"), dict):
            items = schema["items"]
            if isinstance(items.get("enum"), list) and items["enum"]:
                bound = len(items["enum"])
            elif items.get("type") in ("number", "integer"):
                bound = max(1, len({position for position, _ in self.numbers}))
            else:
                return
            schema["maxItems"] = max(bound, int(schema.get("minItems", 0)))

    @staticmethod
    def _allowed_numbers(schema: dict[str, Any], numbers: list[tuple[int, float]]) -> list[float | int]:
        """The numbers of the request this schema accepts (integers for ``integer``, within its
        bounds; a percentage as its fraction unless the schema wants an integer), its default too;
        empty when the request writes none."""
        integer = schema.get("type") == "integer"
        low, high = schema.get("minimum"), schema.get("maximum")
        values: list[float | int] = []
        written: dict[int, list[float]] = {}
        for position, value in numbers:
            written.setdefault(position, []).append(value)
        for position, value in numbers:
            if integer and not value.is_integer():
                continue
            if not integer and len(written[position]) > 1 and abs(value) > min(map(abs, written[position])):
                continue  # "5%" is 0.05 where a fraction may go (BFCL expects it 36 times, 5 twice)
            if (isinstance(low, int | float) and value < low) or (
                isinstance(high, int | float) and value > high
            ):
                continue
            number = _json_number(value, integer)
            if number not in values:
                values.append(number)
        default = schema.get("default")
        if not (isinstance(default, int | float) and not isinstance(default, bool)):
            default = documented_default(str(schema.get("description") or ""))
        if values and default is not None:
            default = _json_number(float(default), integer)
            if default not in values and (not integer or float(default).is_integer()):
                values.append(default)
        return values

    def written_at(self, schema: dict[str, Any]) -> dict[float | int, list[int]]:
        """Where the request writes each number ``schema`` accepts (as :meth:`_allowed_numbers`
        reads them: "5%" is 0.05, not 5, where a fraction may go)."""
        by_position: dict[int, list[tuple[int, float]]] = {}
        for position, value in self.numbers:
            by_position.setdefault(position, []).append((position, value))
        bare = {key: value for key, value in schema.items() if key not in ("default", "description")}
        found: dict[float | int, list[int]] = {}
        for position, written in by_position.items():
            for value in self._allowed_numbers(bare, written):
                found.setdefault(value, []).append(position)
        return found

    def progress(self, tool: str, name: str, schema: dict[str, Any]) -> None:
        """In place, the schema of top-level argument ``name`` of a later call of ``tool``: keep the
        value of the tool's previous call in this reply, or take one written after it; only the
        latter when the request shows the value gives way (a new name after the calls' values, or
        a word beside a lowercase value written again: :meth:`_neighbour_written_later`)."""
        earlier = [
            arguments[name] for called, arguments in self.previous if called == tool and name in arguments
        ]
        if not earlier:
            return
        position = self.position(earlier)
        last = earlier[-1]
        if isinstance(last, str) and "pattern" in schema and schema.get("pattern") == self.spans:
            if self._name_written_later(tool, last) or self._neighbour_written_later(tool, position, last):
                moved = span_alternatives(
                    self.chunks, MAX_SPAN_CHUNKS, self.end(position, last), exclude=last, like=last
                )
                if moved:
                    schema["pattern"] = "^(?:" + "|".join(moved) + ")$"
                    return
            later = span_alternatives(self.chunks, MAX_SPAN_CHUNKS, self.end(position, last), like=last)
            schema["pattern"] = "^(?:" + "|".join([escape(last), *later]) + ")$"
        elif isinstance(last, str) and isinstance(schema.get("enum"), list) and last in schema["enum"]:
            later = [value for value in self.named_after(schema["enum"], position) if value != last]
            if later and self._neighbour_written_later(tool, position, last):
                schema["enum"] = later[:1]  # the next one named
            else:
                schema["enum"] = [last, *later]
        elif isinstance(last, int | float) and not isinstance(last, bool) and "enum" in schema:
            written = [(p, v) for p, v in self.numbers if p > position]
            offered = schema["enum"]  # already without numbers labelled for another argument
            further = self._allowed_numbers(schema, written)
            schema["enum"] = [last, *[v for v in further if v != last and v in offered]]

    def end(self, position: int, value: Any) -> int:
        """The last offset of ``value`` written at ``position`` (a later span starts after it, never
        inside it: "Forests of Canada" does not follow "Boreal Forests of Canada")."""
        if position < 0 or not isinstance(value, str) or not value:
            return position
        return position + len(value) - 1

    def named_after(self, choices: list[Any], position: int) -> list[Any]:
        """The string ``choices`` the request names (any case) after ``position``, the one named
        next first."""
        found = [
            (at, value)
            for value in choices
            if isinstance(value, str) and value and (at := self._find_text(value, position)) is not None
        ]
        return [value for _, value in sorted(found, key=lambda pair: pair[0])]

    def _name_written_later(self, tool: str, last: str) -> bool:
        """Whether ``last``, a capitalised value (a name: "HSBC", "Tokyo"), must give way to another:
        the request writes a capitalised word, not part of a value the tool's calls used, after
        everything those calls took from it ("... from HSBC with income $100,000 and for Wells Fargo
        ..."). On BFCL's parallel calls this says "move" for 139 names, rightly for 112; a name that
        stays ("Leonardo DiCaprio" for two years) has no new capitalised word after the values."""
        if not last[:1].isupper():
            return False
        earlier = [arguments for called, arguments in self.previous if called == tool]
        used = [value for arguments in earlier for value in arguments.values() if isinstance(value, str)]
        frontier = self.frontier(earlier)
        for match in _CAPITALISED.finditer(self.text[:MAX_TEXT_CHARS], frontier + 1):
            if match.group().lower() in _SENTENCE_WORDS:
                continue  # "..., Also list cases filed in 2018 against the same company"
            if not any(match.group() in value for value in used):
                return True
        return False

    def _neighbour_written_later(self, tool: str, position: int, last: str) -> bool:
        """Whether ``last``, a lowercase value written at ``position``, must give way to another: a
        word written just before or just after it comes again after everything the tool's calls
        took from the request ("using driving as ..., then ... using bicycling as ...", "jazz
        events ... rock events"). Fed BFCL's expected parallel calls, this moves 27 lowercase
        free-form values (rightly 26 times; 113 others are left to the model) and 10 listed values,
        each to the next one named (rightly 9 times; the wrong ones are a product of two lists:
        two sequences, each for 'insertion' and 'deletion')."""
        if position < 0 or not last or last[:1].isupper():
            return False
        text = self.text[:MAX_TEXT_CHARS]
        before = WORD.findall(text, 0, position)[-1:]
        after = WORD.search(text, position + len(last))
        neighbours = {word.lower() for word in before}
        if after is not None:
            neighbours.add(after.group().lower())
        neighbours -= COMMON_WORDS
        if not neighbours:
            return False
        earlier = [arguments for called, arguments in self.previous if called == tool]
        start = max(self.frontier(earlier), position + len(last), after.end() if after else 0)
        return any(match.group().lower() in neighbours for match in WORD.finditer(text, start))

    def numbers_first(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments schema of a reply's first call when the request asks for several: its
        number arguments take numbers from the front of the request, the first ones written, as
        many as the tool takes numbers and two more (SmolLM2 took a later person's 200 lbs as the
        first one's height, a later house's 3000 square feet as the first one's rooms). Only when
        the request writes at least two numbers for each number argument; ``arguments`` unchanged
        otherwise. On BFCL's parallel calls the front admits 163 of the first calls' 173 written
        values."""
        numeric = listed_numbers(arguments)
        positions = list(dict.fromkeys(position for position, _ in self.numbers))
        if not numeric or len(positions) < 2 * len(numeric):
            return arguments
        front = set(positions[: len(numeric) + _FRONT_SLACK])
        allowed = {value for position, value in self.numbers if position in front}
        variant = copy.deepcopy(arguments)
        for key in numeric:
            sub = variant["properties"][key]
            kept = [value for value in sub["enum"] if value in allowed]
            if kept:
                sub["enum"] = kept
        return variant

    def choices_first(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments schema of a reply's first call when the request asks for several: a
        listed-value argument the request names two or more values of takes the one named first
        ("the fastest route ..., then a scenic route ..."); later calls move on to the others
        (:meth:`progress`). On BFCL's parallel first calls that is the expected value all 10 times
        it applies (and in the 7 requests of parallel and simple_python that name two or more but
        do not ask for several). ``arguments`` unchanged when no argument has such values."""
        text = self.text[:MAX_TEXT_CHARS]
        variant: dict[str, Any] | None = None
        for key, sub in (arguments.get("properties") or {}).items():
            choices = sub.get("enum") if isinstance(sub, dict) and sub.get("type") == "string" else None
            if not isinstance(choices, list):
                continue
            named = named_where(text, [value for value in choices if isinstance(value, str)])
            if len(named) >= 2:
                variant = variant or copy.deepcopy(arguments)
                variant["properties"][key] = {**sub, "enum": [min(named)[1]]}
        return variant or arguments

    def distinct(self, arguments: dict[str, Any], call: dict[str, Any]) -> dict[str, Any] | None:
        """A variant of ``arguments`` (an arguments schema, already narrowed) for a call decoded again
        because two of its top-level arguments took one value the request writes once ("a loan of
        $400,000 at 4%": ``interest_rate=400000`` beside ``loan_amount=400000``): one ``anyOf``
        branch per argument that took it, barring it there, so the model keeps the value where it
        likes it best. ``None`` when ``call`` shares no such value. In BFCL's expected calls
        (simple_python, parallel, multiple, parallel_multiple: 1,747 calls) three share one."""
        properties = arguments.get("properties") or {}
        for value, keys in self._shared(call).items():
            variants = []
            for key in keys:
                barred = self._barred(properties.get(key), value)
                if barred is not None:
                    variant = copy.deepcopy(arguments)
                    variant["properties"][key] = barred
                    variants.append(variant)
            if variants:
                return variants[0] if len(variants) == 1 else {"anyOf": variants}
        return None

    def _shared(self, call: dict[str, Any]) -> dict[Any, list[str]]:
        """The values written at most once in the request that several arguments of ``call`` took."""
        taking: dict[Any, list[str]] = {}
        for key, value in call.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
                continue
            taking.setdefault(value, []).append(key)
        lowered = self.text.lower()
        shared = {}
        for value, keys in taking.items():
            if len(keys) < 2:
                continue
            if isinstance(value, str):
                written = lowered.count(value.lower())
            else:
                written = len({position for position, number in self.numbers if number == value})
            if written <= 1:
                shared[value] = keys
        return shared

    def _barred(self, schema: Any, value: Any) -> dict[str, Any] | None:
        """``schema`` (one argument's) without ``value``; ``None`` when it would admit nothing."""
        if not isinstance(schema, dict):
            return None
        if isinstance(schema.get("enum"), list):
            rest = [v for v in schema["enum"] if v != value or isinstance(v, bool)]
            return {**schema, "enum": rest} if rest else None
        if isinstance(value, str) and "pattern" in schema:
            spans = span_alternatives(self.chunks, MAX_SPAN_CHUNKS, -1, exclude=value)
            return {**schema, "pattern": "^(?:" + "|".join(spans) + ")$"} if spans else None
        return None

    def frontier(self, calls: Sequence[dict[str, Any]], keys: Any = None) -> int:
        """Where in the request the furthest value of ``calls`` (arguments, in call order) was written,
        following each argument's values forward; only arguments in ``keys`` when given; -1 when none
        is found."""
        names = keys if keys is not None else {key for called in calls for key in called}
        return max(
            (self.position([called[key] for called in calls if key in called]) for key in names),
            default=-1,
        )

    def position(self, values: list[Any]) -> int:
        """Where in the request the last of ``values`` (an argument's values in call order) was
        written, following them forward; -1 when none of them is found."""
        position = -1
        for index, value in enumerate(values):
            if index and value == values[index - 1]:
                continue
            found = self._find(value, position)
            if found is None:
                found = self._find(value, -1)
            if found is not None:
                position = found
        return position

    def _find(self, value: Any, after: int) -> int | None:
        if isinstance(value, str):
            return self._find_text(value, after)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return next((p for p, v in self.numbers if p > after and v == value), None)
        return None

    def _find_text(self, value: str, after: int) -> int | None:
        """Where ``value`` is written after ``after``: as it is spelled, else in any case."""
        at = self.text.find(value, after + 1)
        if at < 0 and value:
            found = re.compile(re.escape(value), re.IGNORECASE).search(self.text, after + 1)
            at = found.start() if found else -1
        return at if at >= 0 else None


def value_source(messages: Sequence[Message]) -> str:
    """Where argument values may come from: the last user message and the tool results since."""
    parts: list[str] = []
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            parts.append(message.content)
        elif isinstance(message, UserMessage):
            parts.append(message.content)
            break
    return "\n".join(reversed(parts))
