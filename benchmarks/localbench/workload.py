"""The 10-step growth workload, as plain data every framework turns into its own messages.

An agent reads a report one page at a time: each step the model is called with the whole
conversation so far, then the scripted step appends the same ``read_page`` call and its result
(about 200 tokens of text) for every framework, whatever the model replied. So each framework sees
prompts that grow by the same content each step, and only how it runs the model differs.
"""

from __future__ import annotations

import random
from typing import Any

STEPS = 10
MAX_NEW_TOKENS = 32
SYSTEM = "You are a careful analyst. Read the report with the read_page tool, then summarise it."
TASK = "Read the field report page by page and tell me which site had the highest rainfall."

READ_PAGE: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "read_page",
        "description": "Return the text of one page of the field report.",
        "parameters": {
            "type": "object",
            "properties": {"page": {"type": "integer", "description": "page number, from 1"}},
            "required": ["page"],
        },
    },
}

SPEED_TASK = (
    "Write a long, detailed story about a lighthouse keeper on a remote northern island who finds a "
    "message in a bottle one stormy winter night. Describe the island, the weather, the keeper's daily "
    "routine, the lamp and its machinery, the supply boat that comes once a month, the letters he "
    "writes to his sister in the city, and what the message says. Take your time and do not stop early."
)
"""The prompt of the speed part: about 120 tokens with the chat template, and long replies."""
SPEED_NEW_TOKENS = 128


def speed_messages(run: int) -> list[dict[str, str]]:
    """The speed prompt as chat messages; ``run`` changes the first line, so no engine can reuse a
    cached prefix from the run before."""
    return [
        {"role": "system", "content": f"Run {run}. You are a storyteller."},
        {"role": "user", "content": SPEED_TASK},
    ]


def read_page_spec() -> Any:
    """``READ_PAGE`` as agentkit's typed tool spec."""
    from agentkit.tool_spec import ToolSpec

    function = READ_PAGE["function"]
    return ToolSpec(function["name"], function["description"], function["parameters"])


_SITES = ["Arden", "Brill", "Caddo", "Delmar", "Eskdale", "Fenwick", "Garrow", "Hollin"]
_WORDS = (  # noqa: SIM905 - prose reads better than a 40-line list
    "rainfall soil sample river bank gauge reading morning evening wind north south crew logged "
    "measured recorded station valley ridge meadow sensor drift level average peak storm dry wet "
    "temperature humidity pressure trend survey field notes weekly daily instrument calibrated"
).split()


def page_text(page: int) -> str:
    """Page ``page`` of the report: deterministic, about 200 SmolLM2 tokens."""
    rng = random.Random(page)
    sentences = [f"Page {page} of the field report."]
    for _ in range(9):
        site = rng.choice(_SITES)
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(7, 11)))
        sentences.append(f"At {site} the {words}, {rng.randint(2, 180)} mm on day {rng.randint(1, 30)}.")
    return " ".join(sentences)


def call_id(step: int) -> str:
    return f"call_{step}"


def call_arguments(step: int) -> dict[str, Any]:
    return {"page": step}


def unique_tokens(prompts: list[list[int]]) -> int:
    """Tokens in the prefix tree of all prompts: what a perfect cache would have to prefill."""
    total = 0
    for i, prompt in enumerate(prompts):
        shared = 0
        for earlier in prompts[:i]:
            n = 0
            for a, b in zip(prompt, earlier, strict=False):
                if a != b:
                    break
                n += 1
            shared = max(shared, n)
        total += len(prompt) - shared
    return total
