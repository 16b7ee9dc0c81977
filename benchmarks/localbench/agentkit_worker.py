"""agentkit's side of ``benchmarks/local.py``:
``python -m benchmarks.localbench.agentkit_worker speed|growth --engine E --out FILE``.

Engines: ``transformers`` and ``llama`` (agentkit's in-process engines on the ``local`` model, through
``backend.generate_sync``), and ``server`` (llama.cpp's own OpenAI-compatible server, already started
by ``local.py`` at ``--base-url``, through agentkit's OpenAI backend). ``speed``: prefill and decode
rates on the same prompt. ``growth``: the 10-step workload, with KV-cache reuse or (``--naive``)
re-prefilling every prompt. Prints nothing but writes one JSON document to ``--out``. (BFCL runs
through ``agentkit eval``: see ``benchmarks/local.py``.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.localbench import workload


def _backend(engine: str, threads: int, base_url: str | None, reuse: bool = True) -> Any:
    if engine == "server":
        from agentkit.backends import resolve_backend

        return resolve_backend(f"openai:smollm2@{base_url}")
    from agentkit.backends.local import local_backend

    backend = local_backend(engine=engine, reuse_cache=reuse, threads=threads)
    backend.ensure_loaded()  # load before any timing
    return backend


def _complete(backend: Any, request: Any) -> Any:
    if hasattr(backend, "generate_sync"):
        return backend.generate_sync(request)
    return asyncio.run(backend.complete(request))


def _load_seconds(engine: str, threads: int) -> float | None:
    """How long loading takes, on a fresh backend after a first load (the disk cache is warm, a GGUF's
    safetensors copy or llama.cpp check exists: the load of every later run)."""
    if engine == "server":
        return None
    from agentkit.backends.local import local_backend
    from agentkit.backends.transformers import backend as transformers_backend

    transformers_backend._models.clear()  # no weights shared from the backend measured before

    started = time.perf_counter()
    local_backend(engine=engine, threads=threads).ensure_loaded()
    return time.perf_counter() - started


def speed(engine: str, threads: int, base_url: str | None, repeats: int) -> dict[str, Any]:
    """Prefill rate: a request for one token on a prompt no cache holds; decode rate: the extra time a
    request for up to 128 tokens takes over that, per extra token. Medians over ``repeats`` runs."""
    from agentkit.backends.base import ModelRequest, ModelSettings
    from agentkit.messages import SystemMessage, UserMessage

    backend = _backend(engine, threads, base_url, reuse=False)
    runs: list[dict[str, Any]] = []
    for run in range(repeats + 1):
        system, user = workload.speed_messages(run)
        messages = [SystemMessage(content=system["content"]), UserMessage(content=user["content"])]
        one = ModelRequest(messages=messages, settings=ModelSettings(temperature=0.0, max_tokens=1))
        full = ModelRequest(
            messages=messages, settings=ModelSettings(temperature=0.0, max_tokens=workload.SPEED_NEW_TOKENS)
        )
        started = time.perf_counter()
        first = _complete(backend, one)
        prefill_s = time.perf_counter() - started
        started = time.perf_counter()
        response = _complete(backend, full)
        full_s = time.perf_counter() - started
        runs.append(
            {
                "prompt_tokens": first.usage.input_tokens,
                "prefill_s": prefill_s,
                "full_s": full_s,
                "generated": response.usage.output_tokens,
            }
        )
    runs = runs[1:]  # the first run warms caches and code paths
    return {
        "engine": engine,
        "runs": runs,
        **summarize_speed(runs),
        "load_s": _load_seconds(engine, threads),
    }


def summarize_speed(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median prefill and decode rates of speed runs (shared with the direct-call reference)."""
    prefill = [r["prompt_tokens"] / r["prefill_s"] for r in runs]
    decode = [
        (r["generated"] - 1) / max(r["full_s"] - r["prefill_s"], 1e-9) for r in runs if r["generated"] > 1
    ]
    return {
        "prefill_tps": statistics.median(prefill),
        "decode_tps": statistics.median(decode) if decode else 0.0,
        "prompt_tokens": runs[0]["prompt_tokens"],
        "generated": statistics.median(r["generated"] for r in runs),
    }


def growth(engine: str, reuse: bool, threads: int, base_url: str | None) -> dict[str, Any]:
    from agentkit.backends.base import ModelRequest, ModelSettings
    from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage

    backend = _backend(engine, threads, base_url, reuse)
    messages: list[Message] = [SystemMessage(content=workload.SYSTEM), UserMessage(content=workload.TASK)]
    settings = ModelSettings(temperature=0.0, max_tokens=workload.MAX_NEW_TOKENS)
    prompts: list[list[int]] = []
    steps: list[dict[str, Any]] = []
    started = time.perf_counter()
    for step in range(1, workload.STEPS + 1):
        request = ModelRequest(messages=list(messages), tools=[workload.read_page_spec()], settings=settings)
        if engine != "server":
            prompts.append(backend.prompt_ids(request))
        t0 = time.perf_counter()
        response = _complete(backend, request)
        steps.append(
            {
                "prompt_tokens": response.usage.input_tokens,
                "prefilled": backend.stats.last_prefilled if engine != "server" else None,
                "generated_ids": list(backend.last_ids) if engine != "server" else [],
                "seconds": time.perf_counter() - t0,
                "reply": response.message.content,
            }
        )
        call = ToolCall(id=workload.call_id(step), name="read_page", arguments=workload.call_arguments(step))
        messages.append(AssistantMessage(tool_calls=[call]))
        messages.append(ToolMessage(tool_call_id=call.id, name=call.name, content=workload.page_text(step)))
    wall = time.perf_counter() - started
    stats = getattr(backend, "stats", None)  # the server renders its own prompts and counts nothing
    return {
        "framework": f"{engine}" + ("" if reuse else ", reuse_cache=False"),
        "wall_s": wall,
        "tokens_prefilled": stats.tokens_prefilled if stats is not None else None,
        "tokens_reused": stats.tokens_reused if stats is not None else None,
        "tokens_generated": stats.tokens_generated if stats is not None else None,
        "unique_tokens": workload.unique_tokens(prompts) if prompts else None,
        "final_prompt_tokens": steps[-1]["prompt_tokens"],
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["speed", "growth"])
    parser.add_argument("--engine", choices=["transformers", "llama", "server"], default="transformers")
    parser.add_argument("--base-url", default=None, help="server: llama.cpp's server, .../v1")
    parser.add_argument("--naive", action="store_true", help="growth: reuse_cache=False")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="speed: measured runs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.part == "speed":
        result = speed(args.engine, args.threads, args.base_url, args.repeats)
    else:
        result = growth(args.engine, not args.naive, args.threads, args.base_url)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
