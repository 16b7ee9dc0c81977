"""Bad GGUF files on both in-process engines: a clear ``ConfigurationError`` naming the file, and never a
crashed interpreter. The files are the embedded model with one thing broken (cut short, a damaged
header, another architecture, a huge context length, a vocabulary that makes llama.cpp abort), and
each one reaches the engine the way a user's would: through ``Agent(...).run``. These tests run in the
pytest process itself: a native crash would end the session, not fail one test.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent
from agentkit.backends import ModelSettings
from agentkit.backends.llamacpp import probe
from agentkit.backends.local.files import embedded_gguf
from agentkit.errors import ConfigurationError
from tests.gguf_files import edit_gguf
from tests.local_engines import ENGINES

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees a cache of its own: no verdict or converted copy carries over."""
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))


def _run(model: str) -> Any:
    return Agent(model=model, settings=ModelSettings(max_tokens=4), max_steps=1).run("Hi")


def _fails_naming(path: Path, model: str, reason: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        _run(model)
    message = str(caught.value)
    assert str(path) in message, message
    assert re.search(reason, message), message
    return message


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gguf")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_truncated_file(engine: str, copies: Path) -> None:
    path = copies / f"cut-{engine}.gguf"
    with embedded_gguf().open("rb") as source, path.open("wb") as target:
        target.write(source.read(60_000_000))  # a download that stopped at 60 of 98 MB
    _fails_naming(path, f"gguf:{path}@{engine}", r"truncated: its tensors need \d+ bytes")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_damaged_header(engine: str, copies: Path) -> None:
    path = copies / f"damaged-{engine}.gguf"
    data = bytearray(embedded_gguf().read_bytes()[:3_000_000])
    data[24:32] = (2**62).to_bytes(8, "little")  # the first key's length: far past the end
    path.write_bytes(bytes(data))
    _fails_naming(path, f"gguf:{path}@{engine}", "past the end of the file")
    other = copies / f"not-gguf-{engine}.gguf"
    other.write_bytes(b"<html>404 Not Found</html>")
    _fails_naming(other, f"gguf:{other}@{engine}", "not a GGUF file")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_architecture_the_engine_does_not_support(engine: str, copies: Path) -> None:
    path = copies / "mamba9.gguf"
    if not path.exists():
        edit_gguf(embedded_gguf(), path, {"general.architecture": "mamba9"})
    reason = {
        "llama": r"architecture 'mamba9' is not supported by llama-cpp-python",
        "transformers": r"transformers cannot load the GGUF file .*mamba9",
    }[engine]
    _fails_naming(path, f"gguf:{path}@{engine}", reason)


def test_a_context_length_larger_than_memory(copies: Path) -> None:
    path = copies / "huge-context.gguf"
    edit_gguf(embedded_gguf(), path, {"llama.context_length": 2**31})  # 2 billion tokens: ~47 TiB of KV cache
    message = _fails_naming(path, f"gguf:{path}@llama", r"needs a [\d.]+ GiB KV cache, but only [\d.]+ GiB")
    fits = int(re.search(r"context_window=(\d+)", message).group(1))  # type: ignore[union-attr]
    assert 256 <= fits < 2**31


def test_a_file_that_makes_llama_cpp_abort_is_an_error_not_a_crash(copies: Path) -> None:
    path = copies / "duplicate-token.gguf"

    def duplicate_first_token(old: Any) -> Any:
        kind, tokens = old
        return kind, [tokens[0], tokens[0], *tokens[2:]]

    # llama.cpp checks this with GGML_ASSERT, which calls abort(): the whole process would end
    edit_gguf(embedded_gguf(), path, {"tokenizer.ggml.tokens": duplicate_first_token})
    _fails_naming(path, f"gguf:{path}@llama", r"llama\.cpp crashed \(SIGABRT\).*GGML_ASSERT")
    assert not probe.is_checked(path)  # a failed check is not remembered as a pass


def test_a_good_file_is_checked_once(copies: Path) -> None:
    path = copies / "good.gguf"
    shutil.copyfile(embedded_gguf(), path)
    assert not probe.is_checked(path)
    assert probe.ensure_checked(path) and probe.is_checked(path)
    assert not probe.ensure_checked(path)  # the verdict is kept: no second child process
    path.touch()  # a changed file is checked again
    assert not probe.is_checked(path)
