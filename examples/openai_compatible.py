"""Any OpenAI-compatible server by URL: OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio.

    python examples/openai_compatible.py MODEL [BASE_URL]
    python examples/openai_compatible.py llama3.2 http://localhost:11434/v1       # Ollama
    python examples/openai_compatible.py gpt-4o-mini                               # OpenAI (OPENAI_API_KEY)

The model and URL can also come from AGENTKIT_OPENAI_MODEL and OPENAI_BASE_URL. The API key is read
from OPENAI_API_KEY (a local server usually accepts any value).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from agentkit import Agent, RunResult, tool


@tool
def convert_temperature(celsius: float) -> float:
    """Convert a temperature from Celsius to Fahrenheit.

    Args:
        celsius: degrees Celsius
    """
    return round(celsius * 9 / 5 + 32, 2)


def model_string(argv: Sequence[str], environ: dict[str, str] | None = None) -> str:
    """``openai:MODEL`` or ``openai:MODEL@BASE_URL`` from the command line or the environment."""
    env = os.environ if environ is None else environ
    model = argv[0] if argv else env.get("AGENTKIT_OPENAI_MODEL")
    if not model:
        raise SystemExit("usage: openai_compatible.py MODEL [BASE_URL]  (or set AGENTKIT_OPENAI_MODEL)")
    base_url = argv[1] if len(argv) > 1 else env.get("OPENAI_BASE_URL")
    return f"openai:{model}@{base_url}" if base_url else f"openai:{model}"


def main(argv: Sequence[str] = (), *, model: str | None = None) -> RunResult[str]:
    agent = Agent(model or model_string(argv), tools=[convert_temperature], tool_choice="auto")
    return agent.run("It is 21.5 degrees Celsius outside. How much is that in Fahrenheit?")


if __name__ == "__main__":
    result = main(sys.argv[1:])
    print(result.output)
