"""Which tool-call format a model writes, read from its Hugging Face chat template.

A chat template that supports tools renders past tool calls back into the prompt, so it contains the
very markers the model was trained to emit. Finding them is cheaper and more reliable than a table of
model names, and it covers fine-tunes that keep their base model's template.
"""

from __future__ import annotations


def detect_format(chat_template: str | None) -> str | None:
    """The format name (see :data:`agentkit.parsing.FORMATS`) the template's model emits, or ``None``.

    ``None`` means the template has no recognised tool-call syntax (SmolLM2, for one, has no tool support
    at all): prompt with :func:`agentkit.parsing.tool_instructions` and parse every format.
    """
    if not chat_template:
        return None
    template = chat_template
    if "<function=" in template and "<parameter=" in template:
        return "qwen3_xml"  # Qwen3-Coder; checked before hermes, its calls sit inside <tool_call> too
    if "[TOOL_CALLS]" in template:
        return "mistral"
    if "<tool_call>" in template:
        return "hermes"  # Qwen2.5, Qwen3, Hermes 2/3, and the many fine-tunes of them
    if "<|python_start|>" in template:
        return "pythonic"  # Llama 4
    if "<|python_tag|>" in template or ("<|start_header_id|>" in template and '"parameters"' in template):
        return "llama3_json"  # Llama 3.1-3.3: custom tools as {"name": ..., "parameters": ...}
    return None
