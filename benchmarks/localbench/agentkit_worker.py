"""agentkit's side of ``benchmarks/local.py``: ``python -m benchmarks.localbench.agentkit_worker``.

``growth --reuse/--naive``: the 10-step workload through ``TransformersBackend`` (the ``local`` model),
with KV-cache reuse or re-prefilling every prompt. ``bfcl``: BFCL simple_python cases, each function
registered with ``Tool.from_schema`` and the call decoded under agentkit's grammar. Prints nothing but
writes one JSON document to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.localbench import bfcl, workload


def _backend(reuse: bool, threads: int) -> Any:
    from agentkit.backends.transformers import local_backend

    backend = local_backend(reuse_cache=reuse, threads=threads)
    backend.loaded  # noqa: B018 - load (from the cached safetensors copy) before any timing
    return backend


def growth(reuse: bool, threads: int) -> dict[str, Any]:
    from agentkit.backends.base import ModelRequest, ModelSettings
    from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage

    backend = _backend(reuse, threads)
    messages: list[Message] = [SystemMessage(content=workload.SYSTEM), UserMessage(content=workload.TASK)]
    settings = ModelSettings(temperature=0.0, max_tokens=workload.MAX_NEW_TOKENS)
    prompts: list[list[int]] = []
    steps: list[dict[str, Any]] = []
    started = time.perf_counter()
    for step in range(1, workload.STEPS + 1):
        request = ModelRequest(messages=list(messages), tools=[workload.READ_PAGE], settings=settings)
        prompts.append(backend.prompt_ids(request))
        t0 = time.perf_counter()
        response = backend.generate_sync(request)
        steps.append(
            {
                "prompt_tokens": len(prompts[-1]),
                "prefilled": backend.stats.last_prefilled,
                "generated_ids": list(backend.last_ids),
                "seconds": time.perf_counter() - t0,
                "reply": response.message.content,
            }
        )
        call = ToolCall(id=workload.call_id(step), name="read_page", arguments=workload.call_arguments(step))
        messages.append(AssistantMessage(tool_calls=[call]))
        messages.append(ToolMessage(tool_call_id=call.id, name=call.name, content=workload.page_text(step)))
    wall = time.perf_counter() - started
    return {
        "framework": "agentkit" if reuse else "agentkit, reuse_cache=False",
        "wall_s": wall,
        "tokens_prefilled": backend.stats.tokens_prefilled,
        "tokens_reused": backend.stats.tokens_reused,
        "tokens_generated": backend.stats.tokens_generated,
        "unique_tokens": workload.unique_tokens(prompts),
        "final_prompt_tokens": len(prompts[-1]),
        "steps": steps,
    }


def run_bfcl(limit: int | None, threads: int, every: int = 1) -> dict[str, Any]:
    from agentkit.backends.base import ModelRequest, ModelSettings
    from agentkit.errors import AgentkitError
    from agentkit.messages import Message, SystemMessage, UserMessage
    from agentkit.tool import Tool

    backend = _backend(True, threads)
    settings = ModelSettings(temperature=0.0, max_tokens=bfcl.MAX_NEW_TOKENS)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for case in bfcl.load_cases(limit)[::every]:
        function = case.functions[0]
        name = bfcl.safe_name(function["name"])
        tool = Tool.from_schema(
            name,
            function.get("description", ""),
            bfcl.to_json_schema(function["parameters"]),
            lambda **_: None,
        )
        messages: list[Message] = [
            SystemMessage(content=m["content"])
            if m["role"] == "system"
            else UserMessage(content=m["content"])
            for m in case.messages
        ]
        request = ModelRequest(messages=messages, tools=[tool.spec()], tool_choice=name, settings=settings)
        t0 = time.perf_counter()
        try:
            response = backend.generate_sync(request)
            calls = [
                {bfcl.original_name(c.name, function["name"]): c.arguments}
                for c in response.message.tool_calls
            ]
            raw = response.message.content
            error = None
        except AgentkitError as exc:
            calls, raw, error = [], None, f"{type(exc).__name__}: {exc}"
        verdict = bfcl.score(calls, case)
        results.append(
            {
                "id": case.id,
                "correct": verdict.correct,
                "reason": verdict.reason,
                "calls": calls,
                "raw": raw,
                "error": error,
                "expected": case.ground_truth,
                "seconds": time.perf_counter() - t0,
            }
        )
    return {"framework": "agentkit", "wall_s": time.perf_counter() - started, "cases": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["growth", "bfcl"])
    parser.add_argument("--naive", action="store_true", help="growth: reuse_cache=False")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--every", type=int, default=1, help="bfcl: every K-th case only (a fixed sample)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.part == "growth":
        result = growth(not args.naive, args.threads)
    else:
        result = run_bfcl(args.limit, args.threads, args.every)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
