"""Offline tool-calling evals on your own tools, scored by BFCL's AST rules (docs/eval.md).

    from agentkit.eval import evaluate, load_bfcl

    report = evaluate("cases.jsonl", ["local", "openai:gpt-4o-mini"], tools=[get_weather], out_dir="eval-out")
    print(report.table())
    report.accuracy("local", "default")

    report = evaluate(load_bfcl("simple_python", limit=100), "local")

Cases (``cases``), the scorer (``scoring``, ``values``), one case's request (``case_run``), the run on the
batch engine (``run``), the report (``report``, ``html_report``). Not imported by ``import agentkit``.
"""

from agentkit.eval.api import aevaluate, evaluate
from agentkit.eval.bfcl import CATEGORIES as BFCL_CATEGORIES
from agentkit.eval.bfcl import load_bfcl
from agentkit.eval.case_run import CaseResult, EvalSettings
from agentkit.eval.cases import (
    CaseProblem,
    DictPattern,
    EvalCase,
    Expectation,
    ExpectedArgument,
    ExpectedCall,
    LoadedCases,
    load_cases,
    parse_cases,
)
from agentkit.eval.report import CategoryScore, EvalReport, ModelReport
from agentkit.eval.run import ModelUnreachableError
from agentkit.eval.scoring import ProducedCall, Verdict, score

__all__ = [
    "BFCL_CATEGORIES",
    "CaseProblem",
    "CaseResult",
    "CategoryScore",
    "DictPattern",
    "EvalCase",
    "EvalReport",
    "EvalSettings",
    "ExpectedArgument",
    "ExpectedCall",
    "Expectation",
    "LoadedCases",
    "ModelReport",
    "ModelUnreachableError",
    "ProducedCall",
    "Verdict",
    "aevaluate",
    "evaluate",
    "load_bfcl",
    "load_cases",
    "parse_cases",
    "score",
]
