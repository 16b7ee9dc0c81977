"""The engine-neutral parts of local models and the llama.cpp engine's pure parts: which engine serves a
model string, the GGUF header checks, the numpy sampler, the chat-template environment, the memory and
thread choices, the messages for a failed check, and load feedback. No model is run here."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentkit.backends import resolve_backend
from agentkit.backends.llamacpp import LlamaCppBackend, machine, probe
from agentkit.backends.llamacpp.chat_template import GGUFChatTemplate
from agentkit.backends.llamacpp.decoding import log_softmax, sample
from agentkit.backends.llamacpp.loading import check_memory
from agentkit.backends.local import ENGINE_VARIABLE, gguf_file, local_backend, split_engine
from agentkit.backends.local import feedback as feedback_module
from agentkit.backends.local.feedback import load_feedback, quiet_progress
from agentkit.backends.local.files import embedded_gguf
from agentkit.backends.local.gguf_file import check_gguf
from agentkit.backends.local.jobs import Sampling
from agentkit.backends.transformers import TransformersBackend
from agentkit.errors import BackendError, ConfigurationError
from tests.gguf_files import STRING, UINT32, write_gguf

# -- which engine serves a model string ------------------------------------------------------------


def _deciding_options(backend: Any) -> tuple[Any, ...]:
    return tuple(
        getattr(backend, option)
        for option in ("decide_calls", "values_from_request", "parallel_calls", "call_then_answer")
    )


def test_local_stays_on_transformers_unless_asked() -> None:
    local = resolve_backend("local")
    assert isinstance(local, TransformersBackend)
    assert _deciding_options(local) == (True, True, True, False)
    assert isinstance(resolve_backend("local@transformers"), TransformersBackend)
    backend = resolve_backend("local@llama")
    assert isinstance(backend, LlamaCppBackend) and backend.name == "local@llama"
    assert _deciding_options(backend) == (True, True, True, False)  # the same defaults on both engines
    assert backend.path == embedded_gguf()
    # the forced path stays an explicit option on both engines
    for engine in ("transformers", "llama"):
        forced = local_backend(engine=engine, call_then_answer=True, parallel_calls=False)
        assert forced.call_then_answer and not forced.parallel_calls
        assert local_backend(engine=engine, name="mine").name == "mine"  # a name given wins


def test_gguf_runs_on_llama_cpp_when_it_is_installed_and_a_suffix_chooses() -> None:
    path = embedded_gguf()
    assert isinstance(resolve_backend(f"gguf:{path}"), LlamaCppBackend)
    assert isinstance(resolve_backend(f"gguf:{path}@transformers"), TransformersBackend)
    assert isinstance(resolve_backend(f"gguf:{path}@llama"), LlamaCppBackend)


def test_engine_variable_chooses_for_strings_without_a_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_VARIABLE, "llama")
    assert isinstance(resolve_backend("local"), LlamaCppBackend)
    assert isinstance(resolve_backend("local@transformers"), TransformersBackend)  # the suffix wins
    monkeypatch.setenv(ENGINE_VARIABLE, "vllm")
    with pytest.raises(ConfigurationError, match="AGENTKIT_LOCAL_ENGINE is 'vllm'"):
        resolve_backend("local")


def test_unknown_engines_and_arguments_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="takes no argument but an engine"):
        resolve_backend("local@vllm")
    with pytest.raises(ConfigurationError, match="takes no argument"):
        resolve_backend("local:extra")
    assert split_engine("/models/a@b.gguf") == ("/models/a@b.gguf", None)  # '@' in a path stays
    assert split_engine("/models/m.gguf@llama") == ("/models/m.gguf", "llama")


def _hide_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without the ``llama`` extra: ``llama_cpp`` cannot be found."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "llama_cpp" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_without_llama_cpp_gguf_stays_on_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_llama_cpp(monkeypatch)
    assert isinstance(resolve_backend(f"gguf:{embedded_gguf()}"), TransformersBackend)
    assert isinstance(resolve_backend("local"), TransformersBackend)


def test_asking_for_a_missing_engine_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_llama_cpp(monkeypatch)
    with pytest.raises(ConfigurationError, match=r"needs llama_cpp: pip install 'agentkit\[llama\]'"):
        resolve_backend("local@llama")
    with pytest.raises(ConfigurationError, match=r"agentkit\[llama\]"):
        resolve_backend(f"gguf:{embedded_gguf()}@llama")


def test_resolving_llama_strings_imports_no_native_code() -> None:
    code = (
        "import sys\n"
        "from agentkit.backends import resolve_backend\n"
        "b = resolve_backend('local@llama')\n"
        "assert b.context_window == 8192, b.context_window\n"
        "heavy = [m for m in ('llama_cpp', 'torch', 'transformers', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- GGUF header checks ------------------------------------------------------------------------------


def _meta(**extra: Any) -> list[tuple[str, int, Any]]:
    rows: list[tuple[str, int, Any]] = [
        ("general.architecture", STRING, "llama"),
        ("llama.context_length", UINT32, 4096),
        ("llama.block_count", UINT32, 2),
        ("llama.embedding_length", UINT32, 64),
        ("llama.attention.head_count", UINT32, 4),
        ("llama.attention.head_count_kv", UINT32, 2),
    ]
    return rows + [(key, kind, value) for key, (kind, value) in extra.items()]


def test_header_reader_gives_metadata_sizes_and_kv_cache(tmp_path: Path) -> None:
    # one F32 tensor of 4x8 (128 bytes) and one Q4_0 tensor of 32x2 (2 blocks of 18 bytes), aligned
    tensors = [("a", [4, 8], 0, 0), ("b", [32, 2], 2, 128)]
    info = check_gguf(write_gguf(tmp_path / "m.gguf", _meta(), tensors, data=b"\0" * 164))
    assert (info.architecture, info.context_length, info.tensor_count) == ("llama", 4096, 2)
    assert info.data_bytes == 128 + 36
    # 2 layers x 2 KV heads x (16 + 16) values x 2 bytes, per token
    assert info.kv_cache_bytes(1000) == 1000 * 2 * 2 * 32 * 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 a zip file", "not a GGUF file"),
        (b"GGUF\x01\x00\x00\x00", "version 1 is not supported"),
        (b"GGUF\x03\x00\x00\x00" + b"\xff" * 16, "more than the file can hold"),
        (b"GGUF\x03\x00\x00\x00\x00", "ends inside its header"),
    ],
)
def test_damaged_headers_are_named_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=message) as caught:
        check_gguf(path)
    assert str(path) in str(caught.value)


def test_truncated_tensor_data_and_impossible_values_are_refused(tmp_path: Path) -> None:
    tensors = [("a", [4, 8], 0, 0)]
    short = write_gguf(tmp_path / "short.gguf", _meta(), tensors, data=b"\0" * 100)
    with pytest.raises(ConfigurationError, match=r"truncated: its tensors need 128 bytes .* only 100"):
        check_gguf(short)
    huge = write_gguf(tmp_path / "huge.gguf", [("general.name", STRING, "x")], [("a", [4, 8, 1, 1, 1], 0, 0)])
    with pytest.raises(ConfigurationError, match="5 dimensions"):
        check_gguf(huge)
    rows = _meta(
        **{"tokenizer.ggml.tokens": (9, (STRING, ["a", "b"])), "tokenizer.ggml.eos_token_id": (4, 7)}
    )
    with pytest.raises(ConfigurationError, match="eos_token_id is 7, not a token of its 2-token vocabulary"):
        check_gguf(write_gguf(tmp_path / "eos.gguf", rows))
    lying = tmp_path / "lying.gguf"
    lying.write_bytes(
        b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
    )
    with lying.open("ab") as out:
        out.write((10**12).to_bytes(8, "little") + b"key" + b"\0" * 32)
    with pytest.raises(ConfigurationError, match="past the end of the file"):
        check_gguf(lying)


def test_header_reading_is_linear_in_the_header(tmp_path: Path) -> None:
    def vocabulary(n: int) -> Path:
        rows = _meta(**{"tokenizer.ggml.tokens": (9, (STRING, [f"t{i}" for i in range(n)]))})
        return write_gguf(tmp_path / f"v{n}.gguf", rows)

    small, large = vocabulary(150_000), vocabulary(600_000)  # both past the CPU caches

    def seconds(path: Path) -> float:
        gguf_file._read_cached.cache_clear()  # measure the reading, not the memo
        started = time.perf_counter()
        check_gguf(path)
        return time.perf_counter() - started

    # interleaved, best of 5 each: the machine's load weighs on both sizes alike
    timings = [(seconds(small), seconds(large)) for _ in range(5)]
    best_small, best_large = min(t[0] for t in timings), min(t[1] for t in timings)
    assert check_gguf(large).array_lengths["tokenizer.ggml.tokens"] == 600_000
    assert best_large < 10 * best_small  # 4x the input: linear, with room for noise


# -- sampling ----------------------------------------------------------------------------------------


def test_numpy_sampler_greedy_topk_topp_and_seed() -> None:
    logits = np.array([0.1, 3.0, 2.9, -1.0], dtype=np.float32)
    assert sample(logits, Sampling(), None) == 1
    rng = np.random.default_rng
    assert sample(logits, Sampling(temperature=5.0, top_k=1), rng(0)) == 1
    assert sample(logits, Sampling(temperature=5.0, top_p=0.01), rng(0)) == 1
    hot = Sampling(temperature=50.0)
    first = [sample(logits, hot, g) for g in [rng(7)] * 30]
    again = [sample(logits, hot, g) for g in [rng(7)] * 30]
    assert first == again and len(set(first)) > 1  # seeded: reproducible, and really sampling
    assert {sample(logits, Sampling(temperature=50.0, top_k=2), rng(i)) for i in range(40)} == {1, 2}
    masked = np.array([0.0, -np.inf, 5.0, -np.inf], dtype=np.float32)
    assert {sample(masked, Sampling(temperature=1.0), rng(i)) for i in range(40)} <= {0, 2}


def test_numpy_top_p_keeps_the_smallest_set_reaching_p_over_a_large_vocabulary() -> None:
    logits = np.full(50_000, -10.0, dtype=np.float32)
    logits[[10, 20, 30]] = [5.0, 4.0, 3.0]
    seen = {
        sample(logits, Sampling(temperature=1.0, top_p=0.9), np.random.default_rng(i)) for i in range(200)
    }
    assert seen == {10, 20}  # 10 holds ~0.66 of the mass, 10 and 20 ~0.91


def test_log_softmax_is_stable_for_large_logits_and_keeps_masked_tokens_out() -> None:
    logits = np.array([1000.0, 999.0, -np.inf, -1000.0], dtype=np.float32)  # exp(1000) overflows
    logprobs = log_softmax(logits)
    assert np.isfinite(logprobs[[0, 1, 3]]).all() and logprobs[2] == -np.inf
    assert np.exp(logprobs).sum() == pytest.approx(1.0)
    assert logprobs[0] - logprobs[1] == pytest.approx(1.0)  # differences of logits are kept
    assert log_softmax(np.zeros(4, dtype=np.float32)) == pytest.approx(np.full(4, -np.log(4)))


# -- chat template -----------------------------------------------------------------------------------


def test_gguf_chat_template_renders_like_hugging_face() -> None:
    source = (
        "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}"
        "{% if tools %} {{ tools | tojson }}{% endif %}\n{% endfor %}"
        "{% generation %}{% if add_generation_prompt %}assistant:{% endif %}{% endgeneration %}"
    )
    chat = GGUFChatTemplate(source, {"bos_token": "<s>", "eos_token": "</s>"}, lambda text: [len(text)])
    text = chat.apply([{"role": "user", "content": "é <b>"}], [{"name": "f"}])
    # no ASCII or HTML escaping; trim_blocks ate the newline after {% endif %}, as transformers' does
    assert text == '<s>user: é <b> [{"name": "f"}]assistant:'
    assert chat.encode("abc") == [3]
    failing = GGUFChatTemplate("{{ raise_exception('no system role') }}", {}, lambda text: [])
    with pytest.raises(Exception, match="no system role"):
        failing.apply([], None)
    with pytest.raises(BackendError, match="does not compile"):
        GGUFChatTemplate("{% for %}", {}, lambda text: []).apply([], None)


# -- memory and threads ------------------------------------------------------------------------------


def test_a_context_window_larger_than_memory_is_refused_with_a_size_that_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = check_gguf(write_gguf(tmp_path / "m.gguf", _meta(), [], data=b""))
    per_token = info.kv_cache_bytes(1) or 0
    monkeypatch.setattr(machine, "available_memory", lambda: per_token * 10_000)
    check_memory(info.path, info, 8192)  # fits
    with pytest.raises(ConfigurationError) as caught:
        check_memory(info.path, info, 1_000_000)
    message = str(caught.value)
    assert str(info.path) in message and "1000000 tokens" in message and "context_window=8960" in message


def test_threads_follow_the_machine_or_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(machine.THREADS_VARIABLE, raising=False)
    decode, prefill = machine.default_threads()
    assert 1 <= decode <= prefill <= machine.usable_cores()
    monkeypatch.setattr(machine, "usable_cores", lambda: 16)
    monkeypatch.setattr(machine, "_threads_per_core", lambda: 2)
    monkeypatch.setattr(machine, "idle_cores", lambda cores: cores - 0.2)  # an idle 8-core SMT machine
    assert machine.default_threads() == (8, 16)
    monkeypatch.setattr(machine, "idle_cores", lambda cores: cores - 13.0)  # a busy one
    assert machine.default_threads() == (3, 3)
    monkeypatch.setattr(machine, "idle_cores", lambda cores: cores - 40.0)  # overloaded: still one
    assert machine.default_threads() == (1, 1)
    monkeypatch.setenv(machine.THREADS_VARIABLE, "3")
    assert machine.default_threads() == (3, 3)
    monkeypatch.setenv(machine.THREADS_VARIABLE, "lots")
    with pytest.raises(ConfigurationError, match="integer"):
        machine.default_threads()
    with pytest.raises(ConfigurationError, match="threads"):
        LlamaCppBackend(embedded_gguf(), threads=0)


# -- a failed check, explained -----------------------------------------------------------------------


def test_a_crashed_check_says_what_happened_and_what_to_do(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    illegal = probe.explain_failure(model, -signal.SIGILL, "")
    assert str(model) in illegal and "illegal instruction" in illegal and "GGML_AMX_INT8=OFF" in illegal
    aborted = probe.explain_failure(model, -signal.SIGABRT, "x.cpp:1: GGML_ASSERT(a == b) failed\n")
    assert "crashed (SIGABRT)" in aborted and "GGML_ASSERT(a == b) failed" in aborted
    assert "lack of memory" in probe.explain_failure(model, -signal.SIGKILL, "")
    unknown = "llama_model_load: error loading model: unknown model architecture: 'mamba9'\n"
    refused = probe.explain_failure(model, probe.REFUSED, unknown)
    assert "architecture 'mamba9' is not supported" in refused and "@transformers" in refused


# -- load feedback -----------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_slow_load_logs_and_draws_a_bar_on_a_terminal(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedback_module, "REFRESH", 0.02)
    terminal = _Terminal()
    with (
        caplog.at_level(logging.INFO, logger="agentkit.local"),
        load_feedback("model.gguf", stream=terminal, delay=0.05) as progress,
    ):
        progress.update(0.5, stage="converting")
        time.sleep(0.3)
    drawn = terminal.getvalue()
    assert "converting model.gguf [" in drawn and "50%" in drawn
    assert drawn.endswith("\r")  # the bar is wiped when the load ends
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("converting model.gguf") for m in messages)
    assert any(m.startswith("loaded model.gguf in") for m in messages)


def test_fast_loads_are_silent_and_pipes_and_the_cli_get_no_bar(caplog: pytest.LogCaptureFixture) -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    with caplog.at_level(logging.INFO, logger="agentkit.local"):
        with load_feedback("fast.gguf", stream=terminal, delay=5.0):
            pass
        assert terminal.getvalue() == "" and not caplog.records
        with load_feedback("piped.gguf", stream=pipe, delay=0.01):
            time.sleep(0.1)
        assert pipe.getvalue() == "" and any("piped.gguf" in r.getMessage() for r in caplog.records)
        with quiet_progress(), load_feedback("cli.gguf", stream=terminal, delay=0.01):
            time.sleep(0.1)
        assert terminal.getvalue() == "" and any("cli.gguf" in r.getMessage() for r in caplog.records)


def test_a_failed_load_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="agentkit.local"),
        pytest.raises(RuntimeError),
        load_feedback("bad.gguf", stream=None, delay=0.01),
    ):
        time.sleep(0.1)
        raise RuntimeError("boom")
    assert any(r.getMessage().startswith("loading bad.gguf failed after") for r in caplog.records)


async def test_the_cli_loads_a_model_under_its_spinner_without_a_second_bar() -> None:
    from agentkit import Agent
    from agentkit.cli.commands import preload
    from agentkit.cli.setup import RunSetup
    from agentkit.testing import ScriptedBackend

    terminal = _Terminal()

    class SlowToLoad(ScriptedBackend):
        async def aload(self) -> None:
            def load() -> None:
                with load_feedback("m.gguf", stream=terminal, delay=0.0):
                    time.sleep(0.2)

            await asyncio.to_thread(load)  # as the local engines load: on a worker thread

    backend = SlowToLoad(["ok"])
    await preload(RunSetup(agent=Agent(model=backend), observers=[], renderer=None))
    assert terminal.getvalue() == ""
    await backend.aload()  # the same load outside the CLI draws its bar
    assert "m.gguf" in terminal.getvalue()
