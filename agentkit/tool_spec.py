"""``ToolSpec``: what a model is told about one tool, in no provider's format.

A backend turns specs into its own wire shape (the OpenAI ``tools`` array, a chat template's
``tools=``, a grammar, text instructions); the core hands them over typed, so no module outside a
backend needs to know any provider's nesting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool's name, what it does, and the JSON schema (an ``object``) of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """``{"name", "description", "parameters"}``: the plain JSON shape most formats nest or reuse."""
        return {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}
