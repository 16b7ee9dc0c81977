"""The ``calculator`` tool: arithmetic and common math functions, evaluated without eval or exec.

The expression is parsed with :mod:`ast` in ``eval`` mode and walked node by node; only numbers,
the arithmetic operators, a fixed table of math functions and the constants pi, e and tau are
accepted. Anything else (names, attributes, strings, comprehensions, assignments) is refused
with a message the model can act on. Every step is bounded: integers may have at most
``MAX_DIGITS`` digits, and powers, factorials and combinations are refused *before* they are
computed when their result would be larger, so no input can make the tool run for long.

Two concessions to small models: ``^`` means power (as in ordinary math notation, not XOR) and
the multiplication, division and minus signs of Unicode are read as ``*``, ``/`` and ``-``. ``^``
is rewritten to ``**`` before parsing, so it has the power's precedence and right associativity:
``2^3^2`` is ``2^(3^2)`` = 512 and ``-2^2`` is -4, as in math (Python's own ``^`` binds more
loosely than ``+`` and groups from the left).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from agentkit.errors import ModelRetry
from agentkit.tool import Tool

MAX_EXPRESSION_CHARS = 1000
MAX_DIGITS = 1000
_MAX_BITS = int(MAX_DIGITS * math.log2(10)) + 1

Number = int | float


class CalculationError(ModelRetry):
    """The expression is malformed, unsupported or its result would be too large."""


def _check(value: Number) -> Number:
    """Refuse integers past the digit limit and floats that overflowed to inf or nan."""
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise CalculationError(f"the result has more than {MAX_DIGITS} digits; this calculator refuses it")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculationError("the result is too large or undefined for a float (it came out as inf or nan)")
    return value


def _log10_bound(log10_estimate: float, what: str) -> None:
    if log10_estimate > MAX_DIGITS:
        raise CalculationError(
            f"{what} would have about {log10_estimate:.0f} digits (limit {MAX_DIGITS}); "
            "this calculator refuses it"
        )


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _log10_bound(exponent * math.log10(abs(base)), f"{base} ** {exponent}")
    result: Any = base**exponent
    if isinstance(result, complex):
        raise CalculationError(f"({base}) ** ({exponent}) is not a real number")
    return float(result) if isinstance(result, float) else int(result)


def _multiply(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > _MAX_BITS + 1:
        raise CalculationError(f"the product has more than {MAX_DIGITS} digits; this calculator refuses it")
    return a * b


def _factorial(n: Number) -> Number:
    if not isinstance(n, int) or n < 0:
        raise CalculationError("factorial() needs a non-negative integer")
    _log10_bound(math.lgamma(n + 1) / math.log(10), f"factorial({n})")
    return math.factorial(n)


def _comb(n: Number, k: Number) -> Number:
    if not (isinstance(n, int) and isinstance(k, int)) or n < 0 or k < 0:
        raise CalculationError("comb() needs two non-negative integers")
    if k <= n:
        estimate = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        _log10_bound(estimate / math.log(10), f"comb({n}, {k})")
    return math.comb(n, k)


def _perm(n: Number, k: Number) -> Number:
    if not (isinstance(n, int) and isinstance(k, int)) or n < 0 or k < 0:
        raise CalculationError("perm() needs two non-negative integers")
    if k <= n:
        _log10_bound((math.lgamma(n + 1) - math.lgamma(n - k + 1)) / math.log(10), f"perm({n}, {k})")
    return math.perm(n, k)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _round(x: Number, ndigits: int | None = None) -> Number:
    return round(x) if ndigits is None else round(x, ndigits)


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}

_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}

FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "cbrt": math.cbrt,
    "exp": math.exp,
    "log": _log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "degrees": math.degrees,
    "radians": math.radians,
    "hypot": math.hypot,
    "floor": math.floor,
    "ceil": math.ceil,
    "trunc": math.trunc,
    "factorial": _factorial,
    "comb": _comb,
    "perm": _perm,
    "gcd": math.gcd,
    "lcm": math.lcm,
    "isqrt": math.isqrt,
}
"""Functions the expression may call, by name."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


class _Evaluator:
    """Walks a parsed expression; each node type it does not know is refused."""

    def eval(self, node: ast.AST) -> Number:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.BinOp):
            binary = _BINARY.get(type(node.op))
            if binary is None:
                raise CalculationError(f"the operator {_source(node)!r} is not supported")
            return _check(binary(self.eval(node.left), self.eval(node.right)))
        if isinstance(node, ast.UnaryOp):
            unary = _UNARY.get(type(node.op))
            if unary is None:
                raise CalculationError(f"the operator in {_source(node)!r} is not supported")
            return unary(self.eval(node.operand))
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            hint = " (it is a function: call it with parentheses)" if node.id in FUNCTIONS else ""
            raise CalculationError(f"unknown name {node.id!r}{hint}; known constants: pi, e, tau")
        if isinstance(node, ast.Call):
            return self._call(node)
        raise CalculationError(
            f"{_source(node)!r} is not arithmetic; use numbers, + - * / // % ** ^, parentheses "
            "and math functions such as sqrt(2)"
        )

    @staticmethod
    def _constant(value: Any) -> Number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculationError(f"{value!r} is not a number")
        return _check(value)

    def _call(self, node: ast.Call) -> Number:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        function = FUNCTIONS.get(name or "")
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise CalculationError(f"unknown function {_source(node.func)!r}; available: {known}")
        if node.keywords:
            raise CalculationError(f"{name}() takes positional arguments only")
        args = [self.eval(arg) for arg in node.args]
        try:
            return _check(function(*args))
        except TypeError as exc:
            raise CalculationError(f"{name}(): {exc}") from None


def _source(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - only used to word an error message
        return type(node).__name__


# "2^10" means a power to anyone but a programmer; as "**" it also groups like one (2^3^2 = 512).
_OPERATOR_SPELLINGS = str.maketrans({"^": "**", "\u00d7": "*", "\u00f7": "/", "\u2212": "-"})


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression; raises :class:`CalculationError` with a reason on bad input."""
    text = expression.strip()
    if not text:
        raise CalculationError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = text.translate(_OPERATOR_SPELLINGS)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculationError(f"cannot parse {_quote(text)}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise CalculationError(f"cannot parse {_quote(text)}: it is nested too deeply") from None
    try:
        return _Evaluator().eval(tree)
    except ZeroDivisionError:
        raise CalculationError(f"{_quote(text)} divides by zero") from None
    except OverflowError:
        raise CalculationError(f"{_quote(text)} overflows: the result is too large for a float") from None
    except ValueError as exc:
        raise CalculationError(f"{_quote(text)} is undefined: {exc}") from None
    except RecursionError:
        raise CalculationError(f"{_quote(text)} is nested too deeply") from None


def _calculator(expression: str) -> str:
    """Evaluate a math expression exactly and return the result as text.

    Supports + - * / // % and ** (or ^) for powers, parentheses, the constants pi, e and tau, and
    the functions sqrt, cbrt, exp, log(x[, base]), ln, log10, log2, sin, cos, tan, asin, acos,
    atan, atan2, sinh, cosh, tanh, degrees, radians, hypot, floor, ceil, trunc, round(x[, digits]),
    abs, min, max, factorial, comb, perm, gcd, lcm and isqrt. Angles are in radians.
    Example: "sqrt(2) * (3 + 4)^2 / 7".

    Args:
        expression: One arithmetic expression, e.g. "2 * (3 + 4)" or "log(1000, 10)".
    """
    result = evaluate(expression)
    return repr(result) if isinstance(result, float) else str(result)


calculator: Tool = Tool.from_function(_calculator, name="calculator")
"""The ``calculator`` tool (it needs no configuration; calling it directly returns the result text)."""
