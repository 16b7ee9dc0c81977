"""agentkit's side of ``benchmarks/local.py``'s growth workload:
``python -m benchmarks.localbench.agentkit_worker growth [--naive] --out FILE``.

The 10-step workload through ``TransformersBackend`` (the ``local`` model), with KV-cache reuse or
re-prefilling every prompt. Prints nothing but writes one JSON document to ``--out``. (BFCL runs through
``agentkit eval``: see ``benchmarks/local.py``.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.localbench import workload


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["growth"])
    parser.add_argument("--naive", action="store_true", help="growth: reuse_cache=False")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = growth(not args.naive, args.threads)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
