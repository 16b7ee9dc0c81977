"""A GGUF's chat template, rendered the way Hugging Face tokenizers render theirs.

The template is the Jinja text in the file's ``tokenizer.chat_template`` metadata. Chat templates are
written against transformers' environment (sandboxed, ``trim_blocks``/``lstrip_blocks``, loop
controls, ``tojson`` without HTML escaping, ``raise_exception``, ``strftime_now``, the special tokens
as variables), so the same environment is set up here: the same request then renders to the same text
on both engines, and tokenizes to the same ids when the tokenizers agree.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agentkit.errors import BackendError


def _tojson(value: Any, indent: int | None = None, separators: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message: str) -> None:
    import jinja2

    raise jinja2.exceptions.TemplateError(message)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@functools.lru_cache(maxsize=16)
def compile_template(source: str) -> Any:
    """The compiled template (cached: agents re-render the same template every step)."""
    import jinja2
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationBlocks(Extension):
        """``{% generation %}...{% endgeneration %}`` (marks assistant text for training masks):
        rendered as its body."""

        tags = {"generation"}  # noqa: RUF012 - the type jinja2 declares

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.Scope(body, lineno=lineno)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols, GenerationBlocks]
    )
    environment.filters["tojson"] = _tojson
    environment.globals["raise_exception"] = _raise_exception
    environment.globals["strftime_now"] = _strftime_now
    try:
        return environment.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as exc:
        raise BackendError(f"the model's chat template does not compile: {exc}") from exc


class GGUFChatTemplate:
    """The chat template of a GGUF file with llama.cpp's tokenizer behind it."""

    def __init__(self, source: str, tokens: dict[str, str], encode: Callable[[str], list[int]]) -> None:
        self.source = source
        self._tokens = tokens
        self._encode = encode

    def apply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        template = compile_template(self.source)
        return str(
            template.render(messages=messages, tools=tools, add_generation_prompt=True, **self._tokens)
        )

    def encode(self, text: str) -> list[int]:
        return self._encode(text)
