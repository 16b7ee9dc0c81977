"""The CLI's parts in-process: the scripted-file model, tool loading, the renderers, exit codes."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentkit import Agent, BackendError, ConfigurationError, MaxStepsExceeded, ToolDefinitionError
from agentkit.cli.commands import preload
from agentkit.cli.console import PlainRenderer, RichRenderer, shorten
from agentkit.cli.exit_codes import ExitCode, exit_code_for
from agentkit.cli.setup import RunSetup
from agentkit.cli.tool_loading import BUILTIN_TOOLS, load_tool_spec
from agentkit.testing import ScriptedBackend, call, scripted_from_file
from agentkit.tracing import arun_observed


def _script(tmp_path: Path, content: object) -> str:
    path = tmp_path / "s.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


async def test_scripted_file_replies_with_usage_calls_and_errors(tmp_path: Path) -> None:
    path = _script(
        tmp_path,
        [
            {
                "tool_calls": [{"name": "echo", "arguments": {"x": 1}, "id": "c1"}],
                "usage": {"input_tokens": 7},
            },
            {"error": "down"},
        ],
    )

    def echo(x: int) -> int:
        """Echo."""
        return x

    agent = Agent(f"scripted:{path}", tools=[echo])
    events = []
    with pytest.raises(BackendError, match="down"):
        async for event in agent.run_stream("go"):
            events.append(event)
    failed = events[-1]
    assert failed.result is not None and failed.result.usage.input_tokens == 7
    assert failed.result.messages[-1].tool_call_id == "c1" and failed.result.messages[-1].content == "1"
    assert isinstance(scripted_from_file(path), ScriptedBackend)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ({"a": 1}, "must hold a JSON list"),
        ([3], r"\[0\]: expected a string or an object"),
        ([{"contents": "typo"}], "unknown field"),
        ([{"tool_calls": [{"arguments": {}}]}], "malformed tool call"),
    ],
)
def test_scripted_file_errors_are_configuration_errors(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        scripted_from_file(_script(tmp_path, content))
    with pytest.raises(ConfigurationError, match="needs a file"):
        scripted_from_file("")


async def test_scripted_file_runs_out_with_a_clear_error(tmp_path: Path) -> None:
    agent = Agent(f"scripted:{_script(tmp_path, [])}")
    with pytest.raises(BackendError, match="has only 0 replies"):
        await agent.arun("go")


def test_tool_specs_from_modules_and_built_ins() -> None:
    (tool,) = load_tool_spec("textwrap:dedent")  # package.module:function
    assert tool.name == "dedent" and tool.parameters["required"] == ["text"]
    assert [t.name for t in load_tool_spec("calculator")] == ["calculator"]
    assert set(BUILTIN_TOOLS) == {"calculator", "web_search", "fetch_url", "python", "files"}
    with pytest.raises(ConfigurationError, match="cannot import tool module 'no_such_module_x'"):
        load_tool_spec("no_such_module_x:f")


def test_tool_file_whose_function_cannot_be_a_tool(tmp_path: Path) -> None:
    path = tmp_path / "t.py"
    path.write_text("def bad(*args):\n    return args\n")
    with pytest.raises(ToolDefinitionError, match="args"):
        load_tool_spec(f"{path}:bad")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (MaxStepsExceeded("m", result=None), ExitCode.RUN_FAILED),  # type: ignore[arg-type]
        (ConfigurationError("c"), ExitCode.CONFIGURATION),
        (ToolDefinitionError("t"), ExitCode.CONFIGURATION),
        (BackendError("b"), ExitCode.BACKEND),
        (ConnectionRefusedError("r"), ExitCode.BACKEND),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (ZeroDivisionError(), ExitCode.INTERNAL),
    ],
)
def test_exit_codes(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) == code


def test_shorten_keeps_one_line() -> None:
    assert shorten("a\n  b\tc", 10) == "a b c"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"


class City(BaseModel):
    name: str
    population: int


async def test_renderers_show_rejections_and_structured_answers() -> None:
    from rich.console import Console

    backend = ScriptedBackend(['{"name": "Oslo"}', '{"name": "Oslo", "population": 709000}'])
    agent = Agent(backend, output_type=City)
    plain = io.StringIO()
    console = Console(file=io.StringIO(), force_terminal=True, width=100, record=True)
    rich_renderer = RichRenderer(console)
    await arun_observed(agent, "capital of Norway?", [PlainRenderer(plain), rich_renderer])
    lines = plain.getvalue()
    assert "[step 1] answer rejected:" in lines and "population" in lines
    assert "[done] final_answer: 2 steps" in lines
    shown = console.export_text()
    assert "answer rejected" in shown and '"population": 709000' in shown and "✓ final_answer" in shown
    assert rich_renderer.answer_shown


async def test_plain_renderer_reports_failures_and_tool_errors() -> None:
    backend = ScriptedBackend([call("nope"), call("nope")])
    out = io.StringIO()
    with pytest.raises(MaxStepsExceeded):
        await arun_observed(Agent(backend, max_steps=2), "x", [PlainRenderer(out)])
    text = out.getvalue()
    assert "[step 1] error nope" in text and "[failed] MaxStepsExceeded after 2 steps" in text


class _LoadingBackend(ScriptedBackend):
    """A backend that, like the local transformers one, loads its model in ``aload``."""

    def __init__(self, fail: bool = False, seconds: float = 0.6) -> None:
        super().__init__(["hi"])
        self.loads = 0
        self.fail = fail
        self.seconds = seconds

    async def aload(self) -> None:
        self.loads += 1
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise ConfigurationError("model file /models/missing.gguf not found")


def _setup(backend: ScriptedBackend, out: io.StringIO) -> RunSetup:
    renderer = PlainRenderer(out)
    return RunSetup(Agent(backend), [renderer], renderer)


async def test_preload_shows_the_model_loading_and_fails_before_the_run() -> None:
    out = io.StringIO()
    backend = _LoadingBackend()
    await preload(_setup(backend, out))
    assert backend.loads == 1
    assert "[run] loading model scripted" in out.getvalue()
    assert "[run] model scripted loaded in" in out.getvalue()
    failing = _LoadingBackend(fail=True)
    out = io.StringIO()
    with pytest.raises(ConfigurationError, match=r"missing\.gguf"):
        await preload(_setup(failing, out))
    assert "loaded in" not in out.getvalue() and failing.requests == []


async def test_preload_says_nothing_of_a_backend_that_is_ready_at_once() -> None:
    out = io.StringIO()
    backend = _LoadingBackend(seconds=0)
    await preload(_setup(backend, out))
    assert backend.loads == 1 and "loading model" not in out.getvalue() and "loaded in" not in out.getvalue()
