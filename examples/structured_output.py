"""Structured output: the final answer is validated as a pydantic model (and retried if it is not).

python examples/structured_output.py
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from agentkit import Agent, Backend, RunResult


class Contact(BaseModel):
    name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    company: str | None = None


TEXT = "Hi, it's Grace Hopper from the Navy. Reach me at grace@navy.mil about the compiler."


def main(model: Backend | str | None = None) -> RunResult[Contact]:
    agent: Agent[Contact, None] = Agent(
        model or os.environ.get("AGENTKIT_MODEL", "local"),
        output_type=Contact,
        system_prompt="Extract the contact details from the user's text.",
    )
    return agent.run(TEXT)


if __name__ == "__main__":
    contact = main().output
    print(contact.model_dump_json(indent=2) if contact else "no answer")
