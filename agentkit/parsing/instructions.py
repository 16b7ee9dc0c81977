"""The system-prompt text that teaches a model without native tool calling how to call tools.

It asks for the Hermes ``<tool_call>`` format: the most widely trained one, explicitly tagged (so
:func:`agentkit.parsing.parse_tool_calls` never confuses it with an answer), and easy for a grammar to
constrain. The words live in ``prompts/tool_instructions.jinja`` so they can be tuned without code. They give
no example call on purpose: small models copy an example's placeholder values into their own calls
(on BFCL simple_python, 184 of SmolLM2's 314 misses were such copies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.errors import ConfigurationError
from agentkit.parsing.listing import describe_function
from agentkit.templates import render


def _function(spec: Mapping[str, Any], index: int) -> dict[str, Any]:
    function = spec.get("function", spec)
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str) or not function["name"]:
        raise ConfigurationError(
            f"tool spec #{index} has no function name; expected the OpenAI format "
            '{"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}'
        )
    return dict(function)


def tool_instructions(tools: Sequence[Mapping[str, Any]], *, listing: bool = False) -> str:
    """System-prompt text describing ``tools`` (OpenAI ``tools`` format) and the ``<tool_call>`` syntax.

    ``listing``: describe each tool's parameters as a plain-text list (:mod:`agentkit.parsing.listing`)
    instead of its JSON schema, for small local models, which otherwise copy schema tokens into their
    calls. Returns ``""`` when there are no tools. Raises :class:`ConfigurationError` for a spec without
    a name.
    """
    functions = [_function(spec, index) for index, spec in enumerate(tools)]
    if not functions:
        return ""
    return render(
        "tool_instructions.jinja",
        tool_specs=[json.dumps(f, ensure_ascii=False) for f in functions],
        tool_listings=[describe_function(f) for f in functions] if listing else [],
        tool_names=[f["name"] for f in functions],
    )
