"""BFCL's official verdicts, from the checker in the installed ``bfcl-eval`` wheel (run in .venv-bfcl).

Reads JSON lines ``{"key", "category", "id", "output"}`` on stdin, where ``output`` is the decoded reply,
``[{function_name: {argument: value}}, ...]``, or ``null`` for a reply that does not decode. Writes
``{"key", "valid"}`` lines on stdout. Each verdict comes from BFCL's own per-entry evaluators
(``_evaluate_single_ast_entry``, ``_evaluate_single_relevance_entry``), fed BFCL's own question and
answer files from the same wheel; the only stand-in is the model handler's ``decode_ast``, which here
returns the already-decoded calls (or fails, for ``null``), as a handler's decoder would.

Kept apart from the project's venv: importing the checker imports every hosted model's SDK.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from typing import Any

from bfcl_eval.constants.enums import Language, ReturnFormat
from bfcl_eval.eval_checker.eval_runner import (
    _evaluate_single_ast_entry,
    _evaluate_single_relevance_entry,
)

MODEL = "gorilla-openfunctions-v2"  # a model whose handler keeps dotted function names as they are


class DecodedReply:
    """A model handler's decoding step, for replies that are decoded already."""

    def decode_ast(self, result: Any, language: Any = None, has_tool_call_tag: bool = False) -> Any:
        if result is None:
            raise ValueError("the reply does not decode to function calls")
        return result


def _rows(name: str) -> dict[str, Any]:
    data = resources.files("bfcl_eval") / "data" / name
    if not data.is_file():
        return {}
    return {row["id"]: row for row in map(json.loads, data.read_text(encoding="utf-8").splitlines()) if row}


def _verdict(
    handler: DecodedReply, item: dict[str, Any], prompt: dict[str, Any], answers: dict[str, Any]
) -> bool:
    category = item["category"]
    if "relevance" in category:
        verdict = _evaluate_single_relevance_entry(
            handler, item["id"], item["output"], prompt, MODEL, category
        )
    else:
        verdict = _evaluate_single_ast_entry(
            handler,
            item["id"],
            item["output"],
            answers[item["id"]]["ground_truth"],
            prompt,
            MODEL,
            category,
            Language.PYTHON,
            ReturnFormat.PYTHON,
            False,
        )
    return bool(verdict["valid"])


def main() -> int:
    questions: dict[str, dict[str, Any]] = {}
    answers: dict[str, dict[str, Any]] = {}
    handler = DecodedReply()
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        category = item["category"]
        if category not in questions:
            questions[category] = _rows(f"BFCL_v4_{category}.json")
            answers[category] = _rows(f"possible_answer/BFCL_v4_{category}.json")
        try:
            valid = _verdict(handler, item, questions[category][item["id"]], answers[category])
        except Exception as exc:  # noqa: BLE001 - a checker crash is reported, not a verdict
            sys.stdout.write(json.dumps({"key": item["key"], "crash": f"{type(exc).__name__}: {exc}"}) + "\n")
            continue
        sys.stdout.write(json.dumps({"key": item["key"], "valid": valid}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
