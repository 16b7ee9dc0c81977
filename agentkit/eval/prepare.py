"""Turn cases and the user's tools into ready-to-send requests, finding every input mistake first.

Checked here, before any model time is spent: each tool a case names is given; each expected call
names a tool the case offers; each expected argument is a parameter of that tool's schema; each schema a
case carries makes a valid tool. A case that fails a check is left out and named in a
:class:`CaseProblem`; the others still run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.errors import ToolDefinitionError
from agentkit.eval.cases import CaseProblem, EvalCase, names_of
from agentkit.eval.signature import Signature
from agentkit.tool import Tool
from agentkit.tool_spec import ToolSpec


@dataclass(frozen=True, slots=True)
class PreparedCase:
    """A case with its tools resolved: what the model is sent and what the scorer reads."""

    case: EvalCase
    specs: tuple[ToolSpec, ...]
    """What the model is told about each tool: plain frozen data, so a prepared case travels to Ray
    workers."""
    signatures: Mapping[str, Signature]
    """By the name the expectation uses."""

    def expectation_name(self, sent_name: str) -> str:
        return self.case.names.get(sent_name, sent_name)


def _never_called(**_: object) -> None:
    """Eval tools are never executed: only the calls a model asks for are scored."""
    raise RuntimeError("agentkit eval does not run tools")


def _schema_tool(schema: Mapping[str, Any]) -> Tool:
    parameters = schema.get("parameters") or {"type": "object", "properties": {}}
    description = schema.get("description") or ""
    return Tool.from_schema(str(schema["name"]), str(description), dict(parameters), _never_called)


def _problem(case: EvalCase, source: str, field: str, message: str) -> CaseProblem:
    return CaseProblem(source, case.line or 0, field, f"case {case.id!r}: {message}")


def _check(
    case: EvalCase, tools: Sequence[Tool], signatures: Mapping[str, Signature], source: str
) -> CaseProblem | None:
    offered = {case.names.get(t.name, t.name) for t in tools}
    for index, call in enumerate(case.expect.calls):
        field = f"expect[{index}]"
        if call.name not in offered:
            return _problem(
                case,
                source,
                f"{field}.name",
                f"expects a call of {call.name!r}, which the case does not offer "
                f"(tools: {', '.join(sorted(offered)) or 'none'})",
            )
        if case.signatures is not None:
            continue  # BFCL's own answers are taken as they are
        params = signatures[call.name].params
        for key in call.arguments:
            if key not in params:
                has = ", ".join(params) or "no parameters"
                return _problem(
                    case,
                    source,
                    f"{field}.arguments.{key}",
                    f"expected argument {key!r} is not a parameter of {call.name} (it has: {has})",
                )
    return None


def prepare(
    cases: Sequence[EvalCase], tools: Sequence[Tool], source: str = "<cases>"
) -> tuple[list[PreparedCase], list[CaseProblem]]:
    """Resolve every case's tools; returns the runnable cases and a problem for each other case."""
    given = {tool.name: tool for tool in tools}
    prepared: list[PreparedCase] = []
    problems: list[CaseProblem] = []
    schema_tools: dict[str, Tool] = {}
    for case in cases:
        resolved: list[Tool] = []
        problem = None
        for index, ref in enumerate(case.tools):
            if isinstance(ref, str):
                if ref not in given:
                    choices = ", ".join(sorted(given)) or "none: pass them with --tool"
                    problem = _problem(
                        case, source, f"tools[{index}]", f"tool {ref!r} is not given (given: {choices})"
                    )
                    break
                resolved.append(given[ref])
                continue
            key = json.dumps(ref, sort_keys=True, default=str)
            try:
                tool = schema_tools.get(key) or _schema_tool(ref)
            except (ToolDefinitionError, TypeError, ValueError) as exc:
                problem = _problem(case, source, f"tools[{index}]", f"not a usable tool schema: {exc}")
                break
            schema_tools[key] = tool
            resolved.append(tool)
        if problem is None:
            signatures = (
                dict(case.signatures)
                if case.signatures is not None
                else {
                    case.names.get(t.name, t.name): Signature.from_json_schema(t.name, t.parameters)
                    for t in resolved
                }
            )
            problem = _check(case, resolved, signatures, source)
        if problem is not None:
            problems.append(problem)
            continue
        prepared.append(PreparedCase(case, tuple(t.spec() for t in resolved), signatures))
    return prepared, problems


def tool_list(cases: Sequence[EvalCase]) -> list[str]:
    """Every tool name the cases refer to (for messages about what to pass)."""
    names: list[str] = []
    for case in cases:
        for name in names_of(case.tools):
            if name not in names:
                names.append(name)
    return names
