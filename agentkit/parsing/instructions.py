"""The system-prompt text that teaches a model without native tool calling how to call tools.

It asks for the Hermes ``<tool_call>`` format: the most widely trained one, explicitly tagged (so
:func:`agentkit.parsing.parse_tool_calls` never confuses it with an answer), and easy for a grammar to
constrain. The words live in ``prompts/tool_instructions.jinja`` so they can be tuned without code. They give
no example call on purpose: small models copy an example's placeholder values into their own calls
(on BFCL simple_python, 184 of SmolLM2's 314 misses were such copies).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from agentkit.parsing.listing import describe_function
from agentkit.templates import render
from agentkit.tool_spec import ToolSpec


def tool_instructions(tools: Sequence[ToolSpec], *, listing: bool = False) -> str:
    """System-prompt text describing ``tools`` and the ``<tool_call>`` syntax.

    ``listing``: describe each tool's parameters as a plain-text list (:mod:`agentkit.parsing.listing`)
    instead of its JSON schema, for small local models, which otherwise copy schema tokens into their
    calls. Returns ``""`` when there are no tools.
    """
    functions = [spec.as_dict() for spec in tools]
    if not functions:
        return ""
    return render(
        "tool_instructions.jinja",
        tool_specs=[json.dumps(f, ensure_ascii=False) for f in functions],
        tool_listings=[describe_function(f) for f in functions] if listing else [],
        tool_names=[f["name"] for f in functions],
    )
