"""A forgiving JSON reader for model output, in one forward pass: time linear in the text's length.

Models break JSON in a handful of ways: trailing commas, single quotes, unquoted keys and values,
missing commas, a missing colon or value, Python's ``True``/``None``, ``//`` comments, quotes left
unescaped inside a string (code arguments), and brackets or strings cut off where generation stopped.
:func:`read_lenient` reads all of them. It is used only after :func:`json.loads` has failed.

Why not the json-repair library: it scans ahead for a closing character at many points, so its time
grows with the square of the input on adversarial text (measured: 15 s for 20 KB of ``[1], {``
repeated), and model replies are untrusted. Here every character is looked at a bounded number of
times: the only look-ahead is a window of at most :data:`LOOKAHEAD` characters after a quote, to decide
whether that quote ends its string.
"""

from __future__ import annotations

import re
from typing import Any

LOOKAHEAD = 128
"""How far past a quote inside a string to look for the ``"key":`` that would mean the string ended
(so in broken JSON a value followed by a longer key reads on into that key)."""

_SKIP_RE = re.compile(r"\s*(?://[^\n]*|/\*(?:.*?\*/|.*))?", re.DOTALL)
_SPACE_RE = re.compile(r"\s*")
_NUMBER_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?=[\s,:\]}]|\Z)")
_BARE_VALUE_RE = re.compile(r"[^,\]}\n]*")
_BARE_KEY_RE = re.compile(r"[^:,\]}\n\"']*")
_STRING_EVENT_RE = {'"': re.compile(r'[\\"]'), "'": re.compile(r"[\\']")}
_KEY_AHEAD_RE = re.compile(
    rf"""\s*(?:"(?:[^"\\\n]|\\.){{0,{LOOKAHEAD}}}"|'(?:[^'\\\n]|\\.){{0,{LOOKAHEAD}}}'"""
    rf"""|[A-Za-z_][\w-]{{0,{LOOKAHEAD}}})\s*:"""
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"', "'": "'"}
_WORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
    "NaN": float("nan"),
    "Infinity": float("inf"),
    "-Infinity": float("-inf"),
}

# Where a string is read decides what may follow its closing quote.
_KEY, _OBJECT_VALUE, _ARRAY_VALUE, _TOP = range(4)


class _TooDeep(Exception):
    pass


class _Reader:
    """One pass over ``text``; ``depth`` is bounded, so the recursion is too."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.n = len(text)
        self.max_depth = max_depth

    def skip(self, i: int) -> int:
        """``i`` moved past whitespace and comments."""
        while True:
            end = _SKIP_RE.match(self.text, i).end()  # type: ignore[union-attr]  # always matches
            if end == i:
                return i
            i = end

    def value(self, i: int, depth: int, where: int) -> tuple[Any, int]:
        """The value starting at ``text[i]`` (``i`` past any whitespace) and the index after it."""
        text = self.text
        if i >= self.n:
            return "", i
        ch = text[i]
        if ch == "{":
            return self.obj(i + 1, depth + 1)
        if ch == "[":
            return self.array(i + 1, depth + 1)
        if ch in "\"'":
            return self.string(i, where)
        number = _NUMBER_RE.match(text, i)
        if number:
            return _number(number.group()), number.end()
        end = _BARE_VALUE_RE.match(text, i).end()  # type: ignore[union-attr]  # always matches
        word = text[i:end].rstrip()
        if not word:
            return "", i
        return _WORDS.get(word, word), end

    def obj(self, i: int, depth: int) -> tuple[dict[str, Any], int]:
        if depth > self.max_depth:
            raise _TooDeep
        text = self.text
        result: dict[str, Any] = {}
        while True:
            i = self.skip(i)
            if i >= self.n:
                return result, i  # cut off: close it
            ch = text[i]
            if ch == "}":
                return result, i + 1
            if ch == "]":
                return result, i  # the wrong closer ends this object; the enclosing list takes it
            if ch in ",:":
                i += 1
                continue
            key, i = self.key(i, depth)
            i = self.skip(i)
            if text.startswith(":", i):
                i = self.skip(i + 1)
            if i >= self.n or text[i] in ",}]":
                result[key] = ""  # a key without a value
                continue
            result[key], i = self.value(i, depth, _OBJECT_VALUE)

    def key(self, i: int, depth: int) -> tuple[str, int]:
        text = self.text
        ch = text[i]
        if ch in "\"'":
            return self.string(i, _KEY)
        if ch in "{[":
            _, end = self.value(i, depth, _KEY)  # a value where a key belongs: keep it as text
            return text[i:end], end
        end = _BARE_KEY_RE.match(text, i).end()  # type: ignore[union-attr]  # always matches
        if end == i:
            return text[i], i + 1  # a stray quote-less character; never loop in place
        return text[i:end].strip(), end

    def array(self, i: int, depth: int) -> tuple[list[Any], int]:
        if depth > self.max_depth:
            raise _TooDeep
        text = self.text
        result: list[Any] = []
        while True:
            i = self.skip(i)
            if i >= self.n:
                return result, i
            ch = text[i]
            if ch == "]":
                return result, i + 1
            if ch == "}":
                return result, i
            if ch in ",:":
                i += 1
                continue
            item, end = self.value(i, depth, _ARRAY_VALUE)
            result.append(item)
            i = max(end, i + 1)

    def string(self, i: int, where: int) -> tuple[str, int]:
        """The string whose opening quote is ``text[i]``, its escapes decoded.

        A closing quote ends the string only where what follows fits the context (a ``:`` after a
        key, a ``,`` and another key or the closing bracket after a value); any other quote is taken
        as a quote the model forgot to escape, as in ``"print("hi")"``.
        """
        text, n = self.text, self.n
        quote = text[i]
        events = _STRING_EVENT_RE[quote]
        parts: list[str] = []
        i += 1
        while True:
            event = events.search(text, i)
            if event is None:
                parts.append(text[i:])
                return "".join(parts), n  # cut off: close it
            j = event.start()
            parts.append(text[i:j])
            if text[j] == "\\":
                decoded, i = _escape(text, j)
                parts.append(decoded)
                continue
            if self.closes(j + 1, where):
                return "".join(parts), j + 1
            parts.append(quote)
            i = j + 1

    def closes(self, i: int, where: int) -> bool:
        """Whether a quote just before ``text[i]`` closes the string it is in."""
        if where == _TOP:
            return True
        text = self.text
        # Spaces only: a comment is looked past where it is consumed, never here, where the text after
        # a quote that turns out not to close may be read again as string content (once, not per quote).
        k = _SPACE_RE.match(text, i).end()  # type: ignore[union-attr]  # always matches
        if k >= self.n:
            return True
        ch = text[k]
        if where == _KEY:
            return ch in ":,}]" or k > i  # a space after a key's quote: the colon is missing
        if where == _ARRAY_VALUE:
            return ch in ",]}\"'"
        if ch in "}]":
            return True
        if ch == ",":
            after = _SPACE_RE.match(text, k + 1).end()  # type: ignore[union-attr]  # always matches
            return after >= self.n or text[after] in "}]" or _KEY_AHEAD_RE.match(text, after) is not None
        return ch in "\"'" and _KEY_AHEAD_RE.match(text, k) is not None  # a missing comma


def _number(token: str) -> int | float | str:
    try:
        if any(c in token for c in ".eE"):
            return float(token)
        return int(token)
    except ValueError:  # more digits than int() accepts
        return token


def _escape(text: str, j: int) -> tuple[str, int]:
    """The character an escape at ``text[j]`` (a backslash) stands for, and the index after it."""
    code = text[j + 1 : j + 2]
    if code in _ESCAPES:
        return _ESCAPES[code], j + 2
    if code == "u":
        high = _hex4(text, j + 2)
        if high is None:
            return "\\u", j + 2
        if 0xD800 <= high < 0xDC00 and text.startswith("\\u", j + 6):
            low = _hex4(text, j + 8)
            if low is not None and 0xDC00 <= low < 0xE000:
                return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), j + 12
        return chr(high), j + 6
    if not code:
        return "", j + 1  # a lone backslash at the very end
    return "\\" + code, j + 2  # an unknown escape is kept as written


def _hex4(text: str, i: int) -> int | None:
    digits = text[i : i + 4]
    if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    return None


def read_lenient(text: str, max_depth: int = 100) -> Any:
    """The first JSON-like value in ``text``, read forgivingly; ``None`` for nesting over ``max_depth``.

    Never raises. Text that is not JSON at all comes back as a string (``"city=Paris"``), so callers
    check the type they need.
    """
    reader = _Reader(text, max_depth)
    start = reader.skip(0)
    try:
        value, _ = reader.value(start, 0, _TOP)
    except _TooDeep:
        return None
    return value
