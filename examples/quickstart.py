"""An agent on the embedded local model (SmolLM2-135M-Instruct, in-process, offline) that needs a tool.

Run it with `make demo`. Each step is printed as it happens: the tool call the model makes (decoded
under a grammar, so it is always a valid call of a registered tool), the tool's result, then the
answer streamed token by token.
"""

from __future__ import annotations

import asyncio
import sys
import time

from agentkit import Agent, tool
from agentkit.backends import ModelSettings
from agentkit.events import FinalOutput, ModelTextDelta, StepStarted, ToolCallFinished, ToolCallStarted


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers exactly.

    Args:
        a: The first factor.
        b: The second factor.
    """
    return a * b


async def main(question: str) -> None:
    agent = Agent(
        model="local",
        tools=[multiply],
        system_prompt="You are a careful assistant. Use the multiply tool for arithmetic.",
        settings=ModelSettings(max_tokens=64),
        max_steps=4,
    )
    started = time.perf_counter()
    print(f"question: {question}")
    print("(the first step includes loading the model; the very first run also converts it once)", flush=True)
    streaming = False
    async for event in agent.run_stream(question):
        if isinstance(event, StepStarted):
            print(f"[step {event.step}]", flush=True)
        elif isinstance(event, ModelTextDelta):
            if not streaming:
                print("  answer: ", end="")
                streaming = True
            print(event.text, end="", flush=True)
        elif isinstance(event, ToolCallStarted):
            print(f"  calls {event.call.name}({event.call.arguments})", flush=True)
        elif isinstance(event, ToolCallFinished):
            print(f"  result: {event.result.content}", flush=True)
        elif isinstance(event, FinalOutput):
            if streaming:
                print()
            result = event.result
            print(f"final answer: {result.output}")
            print(
                f"{result.steps} steps, {result.usage.input_tokens} prompt + {result.usage.output_tokens} "
                f"generated tokens, {time.perf_counter() - started:.1f} s"
            )


if __name__ == "__main__":
    asyncio.run(main(" ".join(sys.argv[1:]) or "How much is 37 multiplied by 41?"))
