"""``evaluate`` on the batch engine with the scripted backend: what is asked, what is scored, what a
rerun resumes, and how bad input is reported before any model time is spent."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from agentkit import AssistantMessage, ConfigurationError, ModelRequest, tool
from agentkit.errors import BackendError
from agentkit.eval import EvalSettings, ModelUnreachableError, evaluate, parse_cases
from agentkit.eval.run import PROBE_TEXT
from agentkit.testing import ScriptedBackend, call

RAN: list[str] = []


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city.

    Args:
        city: the city
        unit: celsius or fahrenheit
    """
    RAN.append(city)  # an eval must never get here
    return "sunny"


def _case(case_id: str, city: str | None, category: str = "weather", **extra: Any) -> str:
    expect: Any = [{"name": "get_weather", "arguments": {"city": city}}] if city else "no_call"
    row = {
        "id": case_id,
        "prompt": f"Weather in {city or 'nowhere'}?",
        "tools": ["get_weather"],
        "expect": expect,
        "category": category,
    }
    return json.dumps({**row, **extra})


def _model(request: ModelRequest) -> Any:
    """Calls get_weather with the city of the prompt (Rome it gets wrong), and answers 'nowhere' in text."""
    city = str(request.messages[-1].content).removeprefix("Weather in ").removesuffix("?")
    if city == "nowhere":
        return "I cannot tell."
    return call("get_weather", city="Milan" if city == "Rome" else city)


def _cases(*lines: str, source: str = "cases.jsonl") -> Any:
    return parse_cases(lines, source)


def _asked(backend: ScriptedBackend) -> list[str]:
    """The prompts of the case requests (the one-token reachability probe left out)."""
    prompts = [str(r.messages[-1].content) for r in backend.requests]
    assert prompts[:1] == [PROBE_TEXT], "every model is checked before its cases run"
    return prompts[1:]


def test_each_case_is_asked_once_with_its_tools_and_scored_and_no_tool_runs() -> None:
    backend = ScriptedBackend(_model)
    report = evaluate(
        _cases(_case("a", "Paris"), _case("b", "Rome"), _case("c", None, "chat")),
        backend,
        tools=[get_weather],
        settings=EvalSettings(max_tokens=64),
    )
    assert RAN == []
    assert sorted(_asked(backend)) == ["Weather in Paris?", "Weather in Rome?", "Weather in nowhere?"]
    request = next(r for r in backend.requests if "Paris" in str(r.messages[-1].content))
    assert [type(m).__name__ for m in request.messages] == ["UserMessage"]  # no system prompt added
    assert request.tools == [get_weather.spec()] and request.tool_choice == "auto"
    assert (request.settings.max_tokens, request.settings.temperature) == (64, 0.0)
    model = report.model("scripted")
    assert (model.passed, model.total) == (2, 3)
    assert report.accuracy("scripted", "weather") == 0.5 and report.accuracy("scripted", "chat") == 1.0
    (failure,) = report.failures()
    assert failure.case_id == "b" and failure.reason == "argument city: expected one of ['Rome'], got 'Milan'"
    assert "weather" in report.table() and "50.0% (1/2)" in report.table()


def test_a_rerun_asks_only_the_cases_without_a_result(tmp_path: Path) -> None:
    first = ScriptedBackend(_model)
    evaluate(_cases(_case("a", "Paris"), _case("b", "Rome")), first, tools=[get_weather], out_dir=tmp_path)
    assert len(_asked(first)) == 2
    second = ScriptedBackend(_model)
    report = evaluate(
        _cases(_case("a", "Paris"), _case("b", "Rome"), _case("c", "Oslo")),
        second,
        tools=[get_weather],
        out_dir=tmp_path,
    )
    assert _asked(second) == ["Weather in Oslo?"]
    assert [r.case_id for r in report.results] == ["a", "b", "c"]
    assert report.model("scripted").passed == 2
    lines = (tmp_path / "cases.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b", "c"]
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    third = ScriptedBackend(_model)
    again = evaluate(
        _cases(_case("a", "Paris"), _case("b", "Rome"), _case("c", "Oslo")),
        third,
        tools=[get_weather],
        out_dir=tmp_path,
    )
    assert _asked(third) == []
    throughput = again.model("scripted").calls_per_second  # summed over the runs that asked the cases
    assert throughput is not None and throughput > 0


def test_a_changed_expectation_is_rescored_without_asking_again_and_a_changed_prompt_is_asked(
    tmp_path: Path,
) -> None:
    evaluate(
        _cases(_case("a", "Paris"), _case("b", "Rome")),
        ScriptedBackend(_model),
        tools=[get_weather],
        out_dir=tmp_path,
    )
    relaxed = _case(
        "b", "Rome", expect=[{"name": "get_weather", "arguments": {"city": {"one_of": ["Rome", "Milan"]}}}]
    )
    again = ScriptedBackend(_model)
    report = evaluate(_cases(_case("a", "Paris"), relaxed), again, tools=[get_weather], out_dir=tmp_path)
    assert _asked(again) == [] and report.model("scripted").passed == 2
    reworded = _case("a", "Paris", prompt="Weather in Paris, please?")
    third = ScriptedBackend(lambda request: call("get_weather", city="Paris"))
    evaluate(_cases(reworded, relaxed), third, tools=[get_weather], out_dir=tmp_path)
    assert _asked(third) == ["Weather in Paris, please?"]


def test_results_asked_with_other_settings_are_refused_or_discarded_with_force(tmp_path: Path) -> None:
    cases = _cases(_case("a", "Paris"), _case("b", "Rome"))
    evaluate(cases, ScriptedBackend(_model), tools=[get_weather], out_dir=tmp_path)
    with pytest.raises(ConfigurationError, match=r"other settings \(max_tokens: 256 there, 100 now\)"):
        evaluate(
            cases,
            ScriptedBackend(_model),
            tools=[get_weather],
            out_dir=tmp_path,
            settings=EvalSettings(max_tokens=100),
        )
    again = ScriptedBackend(_model)
    evaluate(
        cases, again, tools=[get_weather], out_dir=tmp_path, settings=EvalSettings(max_tokens=100), force=True
    )
    assert sorted(_asked(again)) == ["Weather in Paris?", "Weather in Rome?"]


def test_a_failed_model_call_is_a_result_with_the_error_and_a_rerun_asks_it_again(tmp_path: Path) -> None:
    def flaky(request: ModelRequest) -> Any:
        if "Rome" in str(request.messages[-1].content):
            return BackendError("the server said no")
        return _model(request)

    report = evaluate(
        _cases(_case("a", "Paris"), _case("b", "Rome")), ScriptedBackend(flaky), tools=[get_weather]
    )
    failed = report.results[1]
    assert (failed.passed, failed.error) == (False, "BackendError: the server said no")
    assert failed.reason == "model error: BackendError: the server said no"
    assert report.model("scripted").errors == 1


def test_bad_cases_are_named_with_line_and_field_and_the_others_run() -> None:
    problems: list[str] = []
    backend = ScriptedBackend(_model)
    report = evaluate(
        _cases(
            _case("a", "Paris"),
            "{broken",
            _case("b", "Rome", tools=["get_time"]),
            _case("c", None, expect=[{"name": "get_weather", "arguments": {"town": "Rome"}}]),
            _case("d", None, expect=[{"name": "get_time", "arguments": {}}]),
        ),
        backend,
        tools=[get_weather],
        on_problem=lambda p: problems.append(str(p)),
    )
    assert problems == [
        "cases.jsonl:2: not JSON: Expecting property name enclosed in double quotes at column 2",
        "cases.jsonl:3: field 'tools[0]': case 'b': tool 'get_time' is not given (given: get_weather)",
        "cases.jsonl:4: field 'expect[0].arguments.town': case 'c': expected argument 'town' is not a "
        "parameter of get_weather (it has: city, unit)",
        "cases.jsonl:5: field 'expect[0].name': case 'd': expects a call of 'get_time', which the case does "
        "not offer (tools: get_weather)",
    ]
    assert _asked(backend) == ["Weather in Paris?"] and [r.case_id for r in report.results] == ["a"]
    assert len(report.problems) == 4


def test_no_runnable_case_and_a_bad_schema_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="no case can run"):
        evaluate(_cases(_case("a", "Paris")), ScriptedBackend(_model))  # get_weather not given
    bad_schema = _case("a", None, tools=[{"name": "bad name!", "parameters": {"type": "object"}}])
    problems: list[str] = []
    with pytest.raises(ConfigurationError):
        evaluate(_cases(bad_schema), ScriptedBackend(_model), on_problem=lambda p: problems.append(str(p)))
    assert "not a usable tool schema" in problems[0] and "invalid tool name" in problems[0]


def test_an_unreachable_model_is_named_before_any_case_runs() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    asked = ScriptedBackend(_model)
    with pytest.raises(
        ModelUnreachableError, match=rf"model openai:m@http://127.0.0.1:{port}/v1 cannot be used: "
    ):
        evaluate(
            _cases(_case("a", "Paris")), [asked, f"openai:m@http://127.0.0.1:{port}/v1"], tools=[get_weather]
        )
    assert _asked(asked) == []  # the reachable model was not run either


def test_the_same_model_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="model scripted is given twice"):
        evaluate(
            _cases(_case("a", "Paris")),
            [ScriptedBackend(_model), ScriptedBackend(_model)],
            tools=[get_weather],
        )


def test_tool_schemas_in_cases_need_no_python_tool() -> None:
    schema = {"name": "get_weather", "description": "Weather.", "parameters": get_weather.parameters}
    backend = ScriptedBackend(["OK", AssistantMessage(tool_calls=[call("get_weather", city="Paris")])])
    report = evaluate(_cases(_case("a", "Paris", tools=[schema])), backend)
    assert report.model("scripted").passed == 1
    assert backend.requests[1].tools[0].name == "get_weather"


def test_in_process_models_run_one_case_at_a_time_servers_eight() -> None:
    from agentkit.backends.transformers import local_backend
    from agentkit.eval.run import default_concurrency

    assert default_concurrency("local") == 1 and default_concurrency("gguf:/m.gguf") == 1
    assert default_concurrency(local_backend()) == 1  # built lazily: nothing loads here
    assert default_concurrency("openai:gpt-4o-mini") == 8
    assert default_concurrency(ScriptedBackend(_model)) == 8
