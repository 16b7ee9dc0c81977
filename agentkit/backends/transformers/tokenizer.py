"""The Hugging Face tokenizer as the shared parts see it: a chat template for
:class:`~agentkit.backends.local.prompting.PromptRenderer`, and an llguidance tokenizer for the
grammars of :mod:`agentkit.backends.local.constraints`."""

from __future__ import annotations

import copy
from typing import Any

from agentkit.errors import ConfigurationError


class HFChatTemplate:
    """A transformers tokenizer's chat template (rendered by ``apply_chat_template``) and encoder."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        template = getattr(tokenizer, "chat_template", None)
        self.source: str = template if isinstance(template, str) else ""

    def apply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        return str(
            self.tokenizer.apply_chat_template(
                messages, tools=tools, add_generation_prompt=True, tokenize=False
            )
        )

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False).input_ids
        return ids


def ll_tokenizer(hf_tokenizer: Any, eos_token_id: int) -> Any:
    """An llguidance tokenizer from a fast Hugging Face tokenizer (about a second; build it once)."""
    import llguidance

    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ConfigurationError(
            "constrained decoding needs a fast (Rust) tokenizer; pass constrained=False to run without it"
        )
    backend = copy.copy(backend)
    backend.no_padding()
    backend.no_truncation()
    return llguidance.LLTokenizer(backend.to_str(), eos_token=eos_token_id)
