"""The calculator tool: arithmetic without eval, bounded, with clear errors for bad input."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit import Agent, ToolMessage
from agentkit.errors import ModelRetry
from agentkit.testing import ScriptedBackend, call
from agentkit.tools import calculator
from agentkit.tools.calculator import CalculationError, evaluate


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2^10", 1024),  # small models write powers with ^
        ("2 ** -1", 0.5),
        ("sqrt(16) + abs(-3)", 7.0),
        ("log(1000, 10)", math.log(1000, 10)),
        ("ln(e)", 1.0),
        ("sin(pi / 2)", 1.0),
        ("round(pi, 3)", 3.142),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("factorial(20)", 2432902008176640000),
        ("comb(10, 3) + perm(5, 2)", 140),
        ("gcd(12, 18) * lcm(4, 6)", 72),
        ("3 \u00d7 4 \u00f7 2 \u2212 1", 5.0),
        ("1e3 + 0.5", 1000.5),
    ],
)
def test_evaluates_arithmetic_and_math_functions(expression: str, expected: float) -> None:
    assert evaluate(expression) == pytest.approx(expected)


def test_the_tool_returns_exact_text() -> None:
    assert calculator("2**100") == str(2**100)
    assert calculator("0.1 + 0.2") == repr(0.1 + 0.2)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("", "empty"),
        ("2 +", "cannot parse"),
        ("1; 2", "cannot parse"),
        ("x = 1", "cannot parse"),
        ("__import__('os').system('true')", "unknown function"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("(1).real", "not arithmetic"),
        ("[1, 2]", "not arithmetic"),
        ("'a' * 3", "is not a number"),
        ("True + 1", "is not a number"),
        ("lambda: 1", "not arithmetic"),
        ("x + 1", "unknown name 'x'"),
        ("sqrt", "it is a function"),
        ("1 < 2", "not arithmetic"),
        ("1 << 5", "not supported"),
        ("sqrt(x=4)", "positional arguments only"),
        ("1 / 0", "divides by zero"),
        ("sqrt(-1)", "undefined"),
        ("(-8) ** 0.5", "not a real number"),
        ("factorial(2.5)", "non-negative integer"),
        ("min()", "min()"),
        ("1e308 * 10", "inf or nan"),
        ("exp(1000)", "overflows"),
        ("1" * 1001, "longer than 1000"),
    ],
)
def test_bad_expressions_get_a_clear_error(expression: str, reason: str) -> None:
    with pytest.raises(CalculationError) as raised:
        evaluate(expression)
    assert reason in raised.value.message
    assert isinstance(raised.value, ModelRetry)  # so an agent hands it back to the model


@pytest.mark.parametrize(
    "expression",
    ["9 ** 9 ** 9", "10 ** 100000", "factorial(100000)", "comb(10**6, 5 * 10**5)", "(10**600) * (10**600)"],
)
def test_huge_results_are_refused_before_they_are_computed(expression: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculationError, match="digits"):
        evaluate(expression)
    assert time.perf_counter() - started < 1.0  # refused up front, not computed then checked


@pytest.mark.parametrize(
    ("caret", "expected"),
    [
        ("2^3^2", 512),  # 2^(3^2), not (2^3)^2 = 64
        ("2^3^2^0", 8),
        ("(2^3)^2", 64),
        ("4^0.5^2", 4**0.25),
        ("-2^2", -4),  # -(2^2), as in math and as -2**2
        ("2*3^2", 18),  # the power binds tighter than *, not looser than +
        ("1+2^2", 5),
        ("2^-1", 0.5),
        ("10^2^0.5 - 10^(2^0.5)", 0.0),
        ("3^2 % 4", 1),
    ],
)
def test_caret_is_power_with_its_precedence_and_right_associativity(caret: str, expected: float) -> None:
    assert evaluate(caret) == pytest.approx(expected)
    assert evaluate(caret) == evaluate(caret.replace("^", "**"))


_OPERAND = st.one_of(st.integers(-4, 4).map(str), st.sampled_from(["0.5", "1.5", "(1+1)", "(2^2)"]))


@given(
    operands=st.lists(_OPERAND, min_size=2, max_size=5),
    operators=st.lists(st.sampled_from(["^", "^", "*", "+", "-", "/", "%"]), min_size=4, max_size=4),
    negate=st.booleans(),
)
def test_any_chain_with_caret_means_what_python_means_with_double_star(
    operands: list[str], operators: list[str], negate: bool
) -> None:
    caret = ("-" if negate else "") + operands[0]
    for operand, op in zip(operands[1:], operators, strict=False):
        caret += f" {op} {operand}"
    star = caret.replace("^", "**")
    try:
        value = evaluate(caret)
    except CalculationError as refused:
        with pytest.raises(CalculationError) as also:
            evaluate(star)
        assert also.value.message == refused.message
        return
    # Bounded (the calculator computed it), so Python itself can be the oracle for ** here.
    assert value == pytest.approx(eval(star, {"__builtins__": {}}), rel=1e-12), caret


def test_deep_nesting_is_refused_not_crashing() -> None:
    with pytest.raises(CalculationError, match="nested too deeply"):
        evaluate("-" * 990 + "1")


def test_agent_uses_the_calculator_and_sees_errors() -> None:
    backend = ScriptedBackend(
        [call("calculator", expression="1/0"), call("calculator", expression="6*7"), "42"]
    )
    result = Agent(model=backend, tools=[calculator]).run("What is 6 times 7?")
    tool_messages = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert tool_messages[0].is_error and "divides by zero" in tool_messages[0].content
    assert not tool_messages[1].is_error and tool_messages[1].content == "42"
    assert result.output == "42"
    backend.assert_used_up()
