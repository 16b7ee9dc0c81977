"""A process the resume test kills with SIGKILL: ``agentkit.eval.evaluate`` on a scripted model that
answers each case after a short wait and logs every prompt it is asked (one line, flushed).

    python eval_resume_worker.py CASES.jsonl OUT_DIR ASKED.log
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from agentkit import ModelRequest, tool
from agentkit.eval import evaluate
from agentkit.testing import ScriptedBackend, call


@tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: the city
    """
    raise AssertionError("never run")


def main() -> int:
    cases, out_dir, log = sys.argv[1:4]
    asked = open(log, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run

    async def reply(request: ModelRequest) -> Any:
        prompt = str(request.messages[-1].content)
        asked.write(prompt + "\n")
        asked.flush()
        await asyncio.sleep(0.05)
        return call("get_weather", city=prompt.removeprefix("Weather in ").removesuffix("?"))

    report = evaluate(cases, ScriptedBackend(reply), tools=[get_weather], out_dir=out_dir, concurrency=3)
    print(f"passed {report.model('scripted').passed} of {report.model('scripted').total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
