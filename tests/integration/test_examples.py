"""Every example in examples/ runs here, on the scripted backend, so none can rot.

Each example exposes ``main(..., model=...)``; the scripted backend stands in for the model and records
what the example sent it. Two examples also run as scripts (``python examples/X.py``) with the
``scripted:PATH`` model string, the way a user runs them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from agentkit import AssistantMessage, ToolMessage
from agentkit.testing import ScriptedBackend, call

from .chat_server import ChatServer, chat_server  # noqa: F401 - a fixture

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as for any import: pydantic resolves annotations through it
    spec.loader.exec_module(module)
    return module


def tool_messages(messages: list[Any]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def run_example_script(
    name: str, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **env},
    )


def test_every_example_is_run_by_some_test() -> None:
    """An example no test mentions could rot unnoticed (the local-model example is run by its own tests)."""
    tests = Path(__file__).resolve().parents[1]
    sources = "\n".join(p.read_text() for p in tests.rglob("*.py"))
    untested = [
        p.name for p in EXAMPLES.glob("*.py") if f'"{p.stem}"' not in sources and p.name not in sources
    ]
    assert not untested, f"examples no test runs: {untested}"


def test_custom_tools_validates_pydantic_arguments_and_awaits_the_async_tool() -> None:
    example = load_example("custom_tools")
    backend = ScriptedBackend(
        [
            call("weather", city="Lyon", day="2026-06-12"),
            call("book_table", booking={"name": "Ada", "guests": 40, "day": "2026-06-12"}),  # too many
            call(
                "book_table", booking={"name": "Ada", "guests": 4, "day": "2026-06-12", "seating": "terrace"}
            ),
            "Booked the terrace for 4 on 12 June: it will be sunny.",
        ]
    )
    result = example.main(model=backend)
    backend.assert_used_up()
    results = tool_messages(result.messages)
    assert results[0].content == "sunny, 24°C" and not results[0].is_error
    assert results[1].is_error and "guests" in results[1].content  # the model is told what to fix
    assert results[2].content == "Booked terrace for 4 (Ada) on 2026-06-12."
    assert [
        example.Booking(name="Ada", guests=4, day=date(2026, 6, 12), seating="terrace")
    ] == example.BOOKINGS
    tools = {spec.name: spec for spec in backend.requests[0].tools}
    booking_schema = json.dumps(tools["book_table"].parameters)
    assert '"maximum": 12' in booking_schema and "terrace" in booking_schema


def test_custom_tools_runs_as_a_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["Nothing to book."]))
    done = run_example_script("custom_tools", env={"AGENTKIT_MODEL": f"scripted:{script}"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Nothing to book."


def test_structured_output_retries_until_the_answer_validates() -> None:
    example = load_example("structured_output")
    backend = ScriptedBackend(
        [
            '{"name": "Grace Hopper", "email": "not an email"}',
            '{"name": "Grace Hopper", "email": "grace@navy.mil", "company": "US Navy"}',
        ]
    )
    result = example.main(model=backend)
    assert result.output == example.Contact(name="Grace Hopper", email="grace@navy.mil", company="US Navy")
    assert "email" in backend.requests[1].messages[-1].content  # the validation error went back
    assert backend.requests[0].output_schema is not None


def test_parallel_tools_overlap_and_keep_call_order() -> None:
    example = load_example("parallel_tools")
    symbols = ["AAPL", "MSFT", "NVDA", "XXXX"]
    backend = ScriptedBackend(
        [[call("stock_price", symbol=s) for s in symbols], "AAPL 231.5, MSFT 415.2, NVDA 121.9"]
    )
    result = example.main(model=backend)
    assert example.in_flight.peak == 4  # all four lookups were in flight at once
    results = tool_messages(result.messages)
    assert [r.content for r in results[:3]] == ["231.5", "415.2", "121.9"]
    assert results[3].is_error and "unknown symbol 'XXXX'" in results[3].content
    calls = next(m for m in result.messages if isinstance(m, AssistantMessage) and m.tool_calls).tool_calls
    assert [r.tool_call_id for r in results] == [c.id for c in calls]


class _FakeSearch:
    """Stands in for ddgs.DDGS (no internet in tests); records the queries."""

    queries: ClassVar[list[str]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.queries.append(query)
        return [{"title": "Python history", "href": PAGE_URL[0], "body": "Guido van Rossum, 1991"}]


PAGE_URL: list[str] = [""]


@pytest.fixture
def page_server() -> Iterator[str]:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                b"<html><body><h1>History</h1>"
                b"<p>Python was created by Guido van Rossum; first released in 1991.</p></body></html>"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/python-history"
    finally:
        server.shutdown()
        server.server_close()


def test_research_agent_searches_then_reads_a_page(page_server: str) -> None:
    from agentkit.tools import fetch_url_tool, web_search_tool

    example = load_example("research_agent")
    PAGE_URL[0] = page_server
    search = web_search_tool(client_factory=_FakeSearch)
    fetch = fetch_url_tool(allow_private=True)  # the page is served on 127.0.0.1 by this test
    backend = ScriptedBackend(
        [
            call("web_search", query="python creator first release"),
            call("fetch_url", url=page_server),
            f"Guido van Rossum designed Python; it was first released in 1991 ({page_server}).",
        ]
    )
    result = example.main("Who designed Python?", model=backend, tools=[search, fetch])
    backend.assert_used_up()
    found, page = tool_messages(result.messages)
    assert json.loads(found.content)[0]["url"] == page_server
    assert "first released in 1991" in page.content and "<p>" not in page.content
    assert _FakeSearch.queries == ["python creator first release"]


def test_research_agent_uses_the_safe_built_ins_by_default() -> None:
    example = load_example("research_agent")
    backend = ScriptedBackend([call("fetch_url", url="http://127.0.0.1:1/"), "cannot read it"])
    result = example.main("q", model=backend)
    refused = tool_messages(result.messages)[0]
    assert refused.is_error and "127.0.0.1" in refused.content
    assert {s.name for s in backend.requests[0].tools} == {"web_search", "fetch_url"}


def test_session_memory_continues_in_a_new_process(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(["Nice to meet you, Ada."]))
    second.write_text(json.dumps(["Your name is Ada and you like tea."]))
    db = str(tmp_path / "s.db")
    one = run_example_script(
        "session_memory",
        "My name is Ada and I like tea.",
        env={"AGENTKIT_MODEL": f"scripted:{first}", "AGENTKIT_SESSION_DB": db},
        cwd=tmp_path,
    )
    assert one.returncode == 0, one.stderr
    assert "(3 messages in the conversation so far)" in one.stdout
    two = run_example_script(
        "session_memory",
        "What is my name?",
        env={"AGENTKIT_MODEL": f"scripted:{second}", "AGENTKIT_SESSION_DB": db},
        cwd=tmp_path,
    )
    assert two.returncode == 0, two.stderr
    assert two.stdout.splitlines()[0] == "Your name is Ada and you like tea."
    assert "(5 messages in the conversation so far)" in two.stdout


def test_session_memory_sends_the_earlier_turns_to_the_model(tmp_path: Path) -> None:
    example = load_example("session_memory")
    db = str(tmp_path / "s.db")
    example.main("I like tea.", model=ScriptedBackend(["Noted."]), db=db)
    backend = ScriptedBackend(["Tea."])
    example.main("What do I like?", model=backend, db=db)
    sent = [m.content for m in backend.requests[0].messages[1:]]
    assert sent == ["I like tea.", "Noted.", "What do I like?"]


# -- openai_compatible: a real HTTP server on 127.0.0.1 speaking the chat-completions protocol ------------


def test_openai_compatible_model_string_from_argv_and_env() -> None:
    example = load_example("openai_compatible")
    assert (
        example.model_string(["llama3.2", "http://localhost:11434/v1"], {})
        == "openai:llama3.2@http://localhost:11434/v1"
    )
    assert (
        example.model_string([], {"AGENTKIT_OPENAI_MODEL": "m", "OPENAI_BASE_URL": "http://h/v1"})
        == "openai:m@http://h/v1"
    )
    assert example.model_string(["gpt-4o-mini"], {}) == "openai:gpt-4o-mini"
    with pytest.raises(SystemExit, match="usage"):
        example.model_string([], {})


def test_openai_compatible_against_a_local_server(
    chat_server: str,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test-key-000000")
    example = load_example("openai_compatible")
    result = example.main(["local-model", chat_server])
    assert result.output == "That is 70.7 °F."
    assert tool_messages(result.messages)[0].content == "70.7"
    assert ChatServer.requests[0]["model"] == "local-model"
    assert ChatServer.requests[0]["tools"][0]["function"]["name"] == "convert_temperature"


def test_eval_my_tools_scores_each_case_with_a_reason(tmp_path: Path) -> None:
    example = load_example("eval_my_tools")

    def model(request: Any) -> Any:
        prompt = str(request.messages[-1].content)
        if "Lyon" in prompt:
            return call("weather", city="lyon", day="2026-06-12")  # unit left out: it is optional
        if "Boston" in prompt:
            return call("weather", city="Boston", day="2026-01-03")  # the unit asked for is missing
        if "250 EUR" in prompt:
            return call("convert_currency", amount=250, source="EUR", target="USD")
        if "yen" in prompt:
            return call("convert_currency", amount=19.99, source="USD", target="JPY")
        return "Hello!" if "Hello" in prompt else call("weather", city="Sea", day="2026-01-01")

    report = example.main([ScriptedBackend(model)], out_dir=tmp_path)
    assert report.accuracy("scripted", "weather") == 0.5
    assert report.accuracy("scripted", "money") == 1.0
    assert report.accuracy("scripted", "no tool") == 0.5
    reasons = {r.case_id: r.reason for r in report.failures()}
    assert reasons == {
        "weather-fahrenheit": "missing argument 'unit': expected one of ['fahrenheit']",
        "chat-poem": "called weather(city='Sea', day='2026-01-01'); expected no tool call",
    }
    assert (tmp_path / "report.html").exists()
    assert len((tmp_path / "cases.jsonl").read_text().splitlines()) == 6


def test_multi_agent_hands_off_to_billing_which_asks_the_researcher(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load_example("multi_agent")
    models = {
        "triage": ScriptedBackend([call("transfer_to_billing", reason="a double charge")]),
        "billing": ScriptedBackend(
            [
                call("researcher", order_id="A-1002", question="Why two charges?"),
                "You were charged twice; a refund is on its way.",
            ]
        ),
        "researcher": ScriptedBackend([call("lookup_order", order_id="a-1002"), "A-1002 was charged twice."]),
    }
    result = example.main("Why was order A-1002 charged twice?", model=models)
    assert result.agent == "billing" and result.output == "You were charged twice; a refund is on its way."
    assert set(result.usage_by_agent) == {"triage", "billing", "billing/researcher"}
    # The researcher got the typed task and its tool's result; billing got the researcher's answer.
    task = models["researcher"].requests[0].messages[-1].content
    assert '"order_id":"A-1002"' in task.replace(" ", "")
    researcher_tools = tool_messages(models["researcher"].requests[-1].messages)
    assert "charged twice on 2026-11-28" in researcher_tools[0].content
    assert tool_messages(models["billing"].requests[-1].messages)[-1].content == "A-1002 was charged twice."
    out = capsys.readouterr().out
    assert "[triage] hands the conversation to billing" in out
    assert "[billing/researcher] calls lookup_order({'order_id': 'a-1002'})" in out
    assert "answered by billing: You were charged twice" in out
