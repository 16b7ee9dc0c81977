"""Score a reply's tool calls against a case's expectation, by BFCL's AST rules; every verdict says why.

Call-level rules (argument-level ones are in :mod:`agentkit.eval.values`):

- ``no_call``: right when the reply holds no well-formed call (a call whose arguments are not JSON
  counts as none, as BFCL's decoder fails on it); ``any_call``: right when it holds one.
- Expected calls: the reply must hold exactly as many calls, all well-formed. Unless the case is
  ``ordered``, each expected call in turn takes the first remaining produced call that satisfies it
  (BFCL's order-free matching, greedy as BFCL's is); ordered cases compare position by position.
- A call satisfies an expected one when it names the same tool, gives every parameter the tool's schema
  requires, gives no argument that the schema or the expectation lacks, gives each argument an
  acceptable value, and leaves out only arguments marked optional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.eval.cases import Expectation, ExpectedCall
from agentkit.eval.signature import Signature
from agentkit.eval.values import check_value


@dataclass(frozen=True, slots=True)
class ProducedCall:
    """A call the model made: the tool's name (as the case knows it) and its arguments;
    ``error`` when the arguments could not be read as a JSON object."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "arguments": dict(self.arguments)}
        if self.error is not None:
            out["error"] = self.error
        return out

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({args})"


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    reason: str


PASS = Verdict(True, "ok")


def _listing(calls: Sequence[ProducedCall]) -> str:
    shown = ", ".join(str(c) for c in calls[:3])
    return shown + (f" and {len(calls) - 3} more" if len(calls) > 3 else "")


def check_call(call: ProducedCall, expected: ExpectedCall, signature: Signature | None) -> str | None:
    """``None`` when ``call`` satisfies ``expected``, else why not."""
    if call.name != expected.name:
        return f"called {call.name}, expected {expected.name}"
    params = signature.params if signature is not None else {}
    for required in signature.required if signature is not None else ():
        if required not in call.arguments:
            return f"missing required argument {required!r}"
    for key, value in call.arguments.items():
        if key not in params or key not in expected.arguments:
            where = "the tool's schema" if key not in params else "the expected call"
            return f"unexpected argument {key!r} (not in {where})"
        why = check_value(key, value, params[key], expected.arguments[key].possible())
        if why is not None:
            return why
    for key, argument in expected.arguments.items():
        if key not in call.arguments and not argument.optional:
            return f"missing argument {key!r}: expected one of {list(argument.values)!r}"
    return None


def _match(
    produced: Sequence[ProducedCall], expect: Expectation, signatures: Mapping[str, Signature]
) -> Verdict:
    if expect.ordered:
        for index, (call, expected) in enumerate(zip(produced, expect.calls, strict=True)):
            why = check_call(call, expected, signatures.get(expected.name))
            if why is not None:
                return Verdict(False, f"call {index + 1}: {why}" if len(produced) > 1 else why)
        return PASS
    taken: set[int] = set()
    for number, expected in enumerate(expect.calls, start=1):
        signature = signatures.get(expected.name)
        reasons: list[str] = []
        for index, call in enumerate(produced):
            if index in taken:
                continue
            why = check_call(call, expected, signature)
            if why is None:
                taken.add(index)
                break
            reasons.append(why)
        else:
            if len(expect.calls) == 1:
                return Verdict(False, reasons[0] if reasons else f"no call left for {expected.name}")
            closest = f": {reasons[0]}" if reasons else ""
            return Verdict(False, f"expected call {number} ({expected.name}) matches no call left{closest}")
    return PASS


def score(
    produced: Sequence[ProducedCall], expect: Expectation, signatures: Mapping[str, Signature]
) -> Verdict:
    """The verdict for one reply. ``signatures``: the case's tools by the name the expectation uses."""
    malformed = next((c for c in produced if c.error is not None), None)
    if expect.kind == "no_call":
        if malformed is None and produced:
            return Verdict(False, f"called {_listing(produced)}; expected no tool call")
        return PASS
    if malformed is not None:
        return Verdict(False, f"the call to {malformed.name} is not well-formed: {malformed.error}")
    if expect.kind == "any_call":
        return PASS if produced else Verdict(False, "no tool call; expected one")
    if not produced:
        return Verdict(False, f"no tool call; expected {len(expect.calls)}")
    if len(produced) != len(expect.calls):
        return Verdict(False, f"{len(produced)} calls ({_listing(produced)}); expected {len(expect.calls)}")
    return _match(produced, expect, signatures)
