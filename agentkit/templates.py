"""Prompt templates: a jinja2 environment over the ``agentkit.prompts`` package.

``StrictUndefined`` makes a missing variable an error at render time instead of a silently empty
prompt, which would be very hard to notice in a model's behaviour.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


def _load(name: str) -> str | None:
    from importlib import resources  # with jinja2, at the first render

    path = resources.files("agentkit.prompts").joinpath(name)
    return path.read_text(encoding="utf-8") if path.is_file() else None


@functools.cache
def environment() -> jinja2.Environment:
    import jinja2  # imported on first render, keeping `import agentkit` light

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # prompts are plain text for a model, not HTML
    )


def render(name: str, **variables: Any) -> str:
    """Render the template ``name`` from agentkit/prompts with ``variables``."""
    return environment().get_template(name).render(**variables).strip()
