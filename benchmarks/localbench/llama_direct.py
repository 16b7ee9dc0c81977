"""The reference of ``benchmarks/local.py``: ``llama_cpp.Llama`` called directly, on the same GGUF and
the same prompt token ids as agentkit's llama.cpp engine (rendered by agentkit, so only the calling
differs): ``python -m benchmarks.localbench.llama_direct speed|growth --out FILE``.

``speed``: ``create_completion`` on the token ids, greedy, after ``reset()`` (nothing cached), once
for one token and once for up to 128, alternating run by run with agentkit's engine on the same
request (``reuse_cache=False``), in this one process. ``growth``: the 10-step workload's prompts one
after another on one ``Llama``, which keeps its KV cache and evaluates only what differs from the
previous prompt (its own prefix matching); prefilled tokens are counted the same way. No grammar: the
reference writes free text where agentkit writes the constrained call.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.localbench import workload
from benchmarks.localbench.agentkit_worker import summarize_speed


def _prompts_and_model(threads: int) -> tuple[Any, Any]:
    from llama_cpp import Llama

    from agentkit.backends.local import local_backend

    renderer = local_backend(engine="llama", threads=threads)
    renderer.ensure_loaded()
    llm = Llama(
        str(renderer.path),
        n_ctx=renderer.context_window,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    return renderer, llm


def _direct_run(llm: Any, ids: list[int]) -> dict[str, Any]:
    llm.reset()
    started = time.perf_counter()
    llm.create_completion(ids, max_tokens=1, temperature=0.0)
    prefill_s = time.perf_counter() - started
    llm.reset()
    started = time.perf_counter()
    out = llm.create_completion(ids, max_tokens=workload.SPEED_NEW_TOKENS, temperature=0.0)
    full_s = time.perf_counter() - started
    return {
        "prompt_tokens": len(ids),
        "prefill_s": prefill_s,
        "full_s": full_s,
        "generated": out["usage"]["completion_tokens"],
    }


def _engine_run(backend: Any, request: Any) -> dict[str, Any]:
    from agentkit.backends.base import ModelRequest, ModelSettings

    one = ModelRequest(messages=request.messages, settings=ModelSettings(temperature=0.0, max_tokens=1))
    full = ModelRequest(
        messages=request.messages,
        settings=ModelSettings(temperature=0.0, max_tokens=workload.SPEED_NEW_TOKENS),
    )
    started = time.perf_counter()
    first = backend.generate_sync(one)
    prefill_s = time.perf_counter() - started
    started = time.perf_counter()
    response = backend.generate_sync(full)
    full_s = time.perf_counter() - started
    return {
        "prompt_tokens": first.usage.input_tokens,
        "prefill_s": prefill_s,
        "full_s": full_s,
        "generated": response.usage.output_tokens,
    }


def speed(threads: int, repeats: int) -> dict[str, Any]:
    """agentkit's engine and the direct call on the same ids, alternating run by run (which goes first
    alternates too), so that the load of this shared machine weighs on both alike."""
    from agentkit.backends.base import ModelRequest
    from agentkit.backends.local import local_backend
    from agentkit.messages import SystemMessage, UserMessage

    renderer, llm = _prompts_and_model(threads)
    engine = local_backend(engine="llama", threads=threads, reuse_cache=False)
    engine.ensure_loaded()
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for run in range(repeats + 1):
        system, user = workload.speed_messages(run)
        request = ModelRequest(
            messages=[SystemMessage(content=system["content"]), UserMessage(content=user["content"])]
        )
        ids = renderer.prompt_ids(request)
        if run % 2:
            ours.append(_engine_run(engine, request))
            theirs.append(_direct_run(llm, ids))
        else:
            theirs.append(_direct_run(llm, ids))
            ours.append(_engine_run(engine, request))
    ours, theirs = ours[1:], theirs[1:]  # the first run warms caches and code paths
    return {
        "llama": {"engine": "llama", "runs": ours, **summarize_speed(ours)},
        "direct": {"engine": "direct", "runs": theirs, **summarize_speed(theirs)},
    }


def growth(threads: int) -> dict[str, Any]:
    from agentkit.backends.base import ModelRequest
    from agentkit.backends.local.stats import common_prefix_length
    from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage

    renderer, llm = _prompts_and_model(threads)
    messages: list[Message] = [SystemMessage(content=workload.SYSTEM), UserMessage(content=workload.TASK)]
    prompts: list[list[int]] = []
    steps: list[dict[str, Any]] = []
    prefilled = generated = 0
    started = time.perf_counter()
    for step in range(1, workload.STEPS + 1):
        ids = renderer.prompt_ids(ModelRequest(messages=list(messages), tools=[workload.read_page_spec()]))
        prompts.append(ids)
        held = min(common_prefix_length(llm.input_ids[: llm.n_tokens].tolist(), ids), len(ids) - 1)
        t0 = time.perf_counter()
        out = llm.create_completion(ids, max_tokens=workload.MAX_NEW_TOKENS, temperature=0.0)
        steps.append(
            {"prompt_tokens": len(ids), "prefilled": len(ids) - held, "seconds": time.perf_counter() - t0}
        )
        prefilled += len(ids) - held
        generated += out["usage"]["completion_tokens"]
        call = ToolCall(id=workload.call_id(step), name="read_page", arguments=workload.call_arguments(step))
        messages.append(AssistantMessage(tool_calls=[call]))
        messages.append(ToolMessage(tool_call_id=call.id, name=call.name, content=workload.page_text(step)))
    return {
        "framework": "direct",
        "wall_s": time.perf_counter() - started,
        "tokens_prefilled": prefilled,
        "tokens_generated": generated,
        "unique_tokens": workload.unique_tokens(prompts),
        "final_prompt_tokens": len(prompts[-1]),
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["speed", "growth"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = speed(args.threads, args.repeats) if args.part == "speed" else growth(args.threads)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
