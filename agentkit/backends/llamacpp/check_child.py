"""The child process of :mod:`.probe`: open a GGUF file the way the engine does and run a prompt of
about a hundred tokens and one decode step. Its exit status and stderr (llama.cpp's log) are all the
parent reads, so a crash here is only an exit status there."""

from __future__ import annotations

import sys
from pathlib import Path

from agentkit.backends.llamacpp.probe import MESSAGE, PROMPT, PROMPT_TOKENS, REFUSED
from agentkit.errors import ConfigurationError


def main(path: str) -> int:
    """Open ``path`` as the engine does and run a short prompt; the parent reads the exit status and
    stderr (llama.cpp's log)."""
    from agentkit.backends.llamacpp.loading import open_llama
    from agentkit.backends.local.gguf_file import check_gguf

    model = Path(path)
    try:
        loaded = open_llama(model, check_gguf(model), n_ctx=256, threads=(1, 1), echo_log=True)
    except ConfigurationError as exc:
        print(f"{MESSAGE}{exc}", file=sys.stderr)
        return REFUSED
    llm = loaded.llm
    tokens = llm.tokenize(PROMPT.encode(), add_bos=False, special=False)
    while 0 < len(tokens) < PROMPT_TOKENS:
        tokens = tokens + tokens
    tokens = tokens[:PROMPT_TOKENS] or [loaded.eos]
    try:
        llm.eval(tokens)  # a batch: the matrix kernels a long prompt uses
        llm.eval(tokens[:1])  # one token: the decode path
    except (ValueError, RuntimeError) as exc:
        print(f"{MESSAGE}llama.cpp failed running {model}: {exc}", file=sys.stderr)
        return REFUSED
    return 0
