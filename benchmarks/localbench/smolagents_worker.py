"""smolagents' side of ``benchmarks/local.py``, run in .venv-peers:
``python -m benchmarks.localbench.smolagents_worker growth|bfcl --model-dir DIR --out FILE``.

The model is smolagents' ``TransformersModel`` loaded from the dequantized safetensors copy of the
embedded GGUF that agentkit writes, so both frameworks run the same weights. Prefill is counted from
the input length of every ``model.generate`` call (smolagents keeps no cache between calls, so each
call prefills its whole prompt), by wrapping the underlying transformers model's ``generate``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from benchmarks.localbench import workload


def _model(model_dir: str, max_new_tokens: int, threads: int) -> tuple[Any, list[dict[str, Any]]]:
    import torch
    from smolagents import TransformersModel

    torch.set_num_threads(threads)
    model = TransformersModel(
        model_id=model_dir,
        device_map="cpu",
        torch_dtype="float32",
        max_new_tokens=max_new_tokens,
        do_sample=False,
    )
    calls: list[dict[str, Any]] = []
    inner = model.model.generate

    def counting_generate(*args: Any, **kwargs: Any) -> Any:
        inputs = kwargs["inputs"] if "inputs" in kwargs else args[0]
        out = inner(*args, **kwargs)
        calls.append(
            {
                "prompt_ids": inputs[0].tolist(),
                "prefilled": int(inputs.shape[-1]),
                "generated": int(out.shape[-1] - inputs.shape[-1]),
            }
        )
        return out

    model.model.generate = counting_generate
    return model, calls


def _tool(name: str, description: str, parameters: dict[str, Any]) -> Any:
    from smolagents import Tool

    required = set(parameters.get("required", []))
    inputs = {
        key: {
            **{k: v for k, v in spec.items() if k not in ("default",)},
            "type": spec.get("type", "any"),
            "description": spec.get("description", key),
            **({} if key in required else {"nullable": True}),
        }
        for key, spec in parameters.get("properties", {}).items()
    }
    attributes = {
        "name": name,
        "description": description or name,
        "inputs": inputs,
        "output_type": "string",
        "skip_forward_signature_validation": True,
        "forward": lambda self, **kwargs: "",
    }
    return type("BenchTool", (Tool,), attributes)()


def growth(model_dir: str, threads: int) -> dict[str, Any]:
    from smolagents.memory import ActionStep, ToolCall
    from smolagents.models import ChatMessage, MessageRole
    from smolagents.monitoring import Timing

    model, calls = _model(model_dir, workload.MAX_NEW_TOKENS, threads)
    spec = workload.READ_PAGE["function"]
    tool = _tool(spec["name"], spec["description"], spec["parameters"])
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content=[{"type": "text", "text": workload.SYSTEM}]),
        ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": workload.TASK}]),
    ]
    steps: list[dict[str, Any]] = []
    started = time.perf_counter()
    for step in range(1, workload.STEPS + 1):
        t0 = time.perf_counter()
        reply = model.generate(list(messages), tools_to_call_from=[tool])
        last = {k: v for k, v in calls[-1].items() if k != "prompt_ids"}
        steps.append({**last, "seconds": time.perf_counter() - t0, "reply": reply.content})
        # What ToolCallingAgent's memory turns a step with this call and observation into.
        action = ActionStep(
            step_number=step,
            timing=Timing(start_time=0.0),
            tool_calls=[
                ToolCall(name="read_page", arguments=workload.call_arguments(step), id=workload.call_id(step))
            ],
            observations=workload.page_text(step),
        )
        messages.extend(action.to_messages())
    return {
        "framework": "smolagents TransformersModel",
        "wall_s": time.perf_counter() - started,
        "tokens_prefilled": sum(c["prefilled"] for c in calls),
        "tokens_generated": sum(c["generated"] for c in calls),
        "unique_tokens": workload.unique_tokens([c["prompt_ids"] for c in calls]),
        "final_prompt_tokens": calls[-1]["prefilled"],
        "steps": steps,
    }


def _identifier(name: str) -> str:
    return re.sub(r"\W", "_", name)


MAX_NEW_TOKENS = 256  # as agentkit eval's default


def run_bfcl(model_dir: str, limit: int | None, threads: int) -> dict[str, Any]:
    """Each case as ToolCallingAgent's first step: its system prompt (listing the tool) and the task,
    ``generate`` with its stop sequences, then ``parse_tool_calls`` as the agent does. The calls are
    scored by ``agentkit.eval`` (the one scorer), exactly as ``agentkit eval`` scores agentkit's."""
    from smolagents import ToolCallingAgent
    from smolagents.memory import TaskStep

    from agentkit.eval.bfcl import load_bfcl
    from agentkit.eval.case_run import judge
    from agentkit.eval.prepare import prepare
    from agentkit.eval.scoring import ProducedCall

    model, generated = _model(model_dir, MAX_NEW_TOKENS, threads)
    prepared, problems = prepare(load_bfcl("simple_python", limit), [])
    assert not problems, problems[:3]
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for case in prepared:
        (spec,) = case.specs
        original = case.expectation_name(spec.name)
        name = _identifier(original)
        tool = _tool(name, spec.description, dict(spec.parameters))
        agent = ToolCallingAgent(tools=[tool], model=model, verbosity_level=0)
        agent.memory.system_prompt.system_prompt = agent.system_prompt
        task = "\n".join(str(m.content) for m in case.case.messages)
        agent.memory.steps.append(TaskStep(task=task))
        t0 = time.perf_counter()
        reply = model.generate(
            agent.write_memory_to_messages(),
            stop_sequences=["Observation:", "Calling tools:"],
            tools_to_call_from=list(agent.tools.values()),
        )
        calls: list[ProducedCall] = []
        error = None
        try:
            parsed = model.parse_tool_calls(reply)
            for tc in parsed.tool_calls or []:
                produced = original if tc.function.name == name else tc.function.name
                arguments = tc.function.arguments
                if isinstance(arguments, dict):
                    calls.append(ProducedCall(produced, arguments))
                else:
                    calls.append(ProducedCall(produced, {}, f"arguments are not an object: {arguments!r}"))
        except Exception as exc:  # noqa: BLE001 - what ToolCallingAgent reports as an AgentParsingError
            error = f"{type(exc).__name__}: {exc}"
        verdict = judge(case, tuple(calls))
        results.append(
            {
                "id": case.case.id,
                "passed": verdict.passed,
                "reason": verdict.reason if error is None else f"parse error: {error}",
                "calls": [c.to_json() for c in calls],
                "text": reply.content,
                "prompt_tokens": generated[-1]["prefilled"],
                "error": error,
                "expected": case.case.expect.to_json(),
                "seconds": time.perf_counter() - t0,
            }
        )
    return {"framework": "smolagents", "wall_s": time.perf_counter() - started, "cases": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["growth", "bfcl"])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.part == "growth":
        result = growth(args.model_dir, args.threads)
    else:
        result = run_bfcl(args.model_dir, args.limit, args.threads)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
