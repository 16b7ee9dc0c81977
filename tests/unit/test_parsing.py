"""Tool-call parsing on realistic model outputs, malformed ones included; detection; tool instructions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit.backends.openai import to_openai
from agentkit.errors import ConfigurationError, ModelFixableError
from agentkit.messages import AssistantMessage, ToolCall
from agentkit.parsing import (
    FORMATS,
    ParsedReply,
    detect_format,
    parse_tool_calls,
    tool_instructions,
)
from agentkit.tool_spec import ToolSpec

Call = tuple[str, dict[str, Any]]


def calls_of(reply: ParsedReply) -> list[Call]:
    return [(call.name, call.arguments) for call in reply.tool_calls]


def assert_clean(reply: ParsedReply) -> None:
    """Every call parsed without an arguments error."""
    assert all(call.arguments_error is None and call.raw_arguments is None for call in reply.tool_calls)


# One realistic reply per format: (format, text, expected calls, expected content).
SAMPLES: list[tuple[str, str, list[Call], str | None]] = [
    (
        "hermes",
        "I'll look up both cities.\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo", "unit": "celsius"}}\n'
        "</tool_call>",
        [
            ("get_weather", {"city": "Paris", "unit": "celsius"}),
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
        ],
        "I'll look up both cities.",
    ),
    (
        "qwen3_xml",
        "<tool_call>\n<function=search_files>\n<parameter=pattern>\n*.py\n</parameter>\n"
        "<parameter=max_results>\n20\n</parameter>\n<parameter=recursive>\ntrue\n</parameter>\n"
        "</function>\n</tool_call>",
        [("search_files", {"pattern": "*.py", "max_results": 20, "recursive": True})],
        None,
    ),
    (
        "mistral",
        '[TOOL_CALLS][{"name": "get_current_weather", "arguments": {"location": "Paris, France", '
        '"format": "celsius"}}, {"name": "get_time", "arguments": {"timezone": "Europe/Paris"}}]',
        [
            ("get_current_weather", {"location": "Paris, France", "format": "celsius"}),
            ("get_time", {"timezone": "Europe/Paris"}),
        ],
        None,
    ),
    (
        "python_tag",
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "San Francisco"}}<|eom_id|>',
        [("get_weather", {"city": "San Francisco"})],
        None,
    ),
    (
        "react",
        "Thought: I need the population before I can compare.\nAction: wikipedia_search\n"
        'Action Input: {"query": "population of Lyon"}\n',
        [("wikipedia_search", {"query": "population of Lyon"})],
        "Thought: I need the population before I can compare.",
    ),
    (
        "llama3_json",
        '{"name": "get_stock_price", "parameters": {"symbol": "NVDA"}}; '
        '{"name": "get_stock_price", "parameters": {"symbol": "AMD"}}',
        [("get_stock_price", {"symbol": "NVDA"}), ("get_stock_price", {"symbol": "AMD"})],
        None,
    ),
    (
        "pythonic",
        '[get_weather(city="San Francisco", metric="celsius"), get_events(city="San Francisco", days=2)]',
        [
            ("get_weather", {"city": "San Francisco", "metric": "celsius"}),
            ("get_events", {"city": "San Francisco", "days": 2}),
        ],
        None,
    ),
    (
        "json",
        'To answer this I will call the calculator.\n```json\n{"name": "calculator", '
        '"arguments": {"expression": "17 * 23"}}\n```',
        [("calculator", {"expression": "17 * 23"})],
        "To answer this I will call the calculator.",
    ),
]


def test_every_format_has_a_sample() -> None:
    assert sorted(fmt for fmt, *_ in SAMPLES) == sorted(FORMATS)


@pytest.mark.parametrize(("fmt", "text", "expected", "content"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_format_parses_its_realistic_sample(
    fmt: str, text: str, expected: list[Call], content: str | None
) -> None:
    reply = parse_tool_calls(text)
    assert reply.format == fmt
    assert calls_of(reply) == expected
    assert reply.content == content
    assert reply.has_calls
    assert_clean(reply)


@pytest.mark.parametrize(("fmt", "text", "expected", "content"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_format_alone_parses_its_sample_and_others_do_not_claim_it(
    fmt: str, text: str, expected: list[Call], content: str | None
) -> None:
    assert calls_of(parse_tool_calls(text, formats=[fmt])) == expected
    others = [f for f in FORMATS if f != fmt]
    assert parse_tool_calls(text, formats=others).format != fmt


def test_unknown_format_is_a_configuration_error_raised_before_parsing() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown tool-call format.*'harmony'.*hermes") as info:
        parse_tool_calls(
            '<tool_call>{"name": "f", "arguments": {}}</tool_call>', formats=["hermes", "harmony"]
        )
    assert not isinstance(info.value, ModelFixableError)  # the caller's mistake, not the model's


def test_a_single_format_name_may_be_passed_as_a_string() -> None:
    reply = parse_tool_calls('<tool_call>{"name": "f", "arguments": {}}</tool_call>', formats="hermes")
    assert calls_of(reply) == [("f", {})]


def test_a_failing_parser_raises_nothing_keeps_the_text_and_tells_the_model(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import agentkit.parsing as parsing

    def broken(text: str) -> list[Any]:
        raise KeyError("bug")

    monkeypatch.setitem(parsing._PARSERS, "hermes", broken)
    text = ' Calling it. <tool_call>{"name": "f", "arguments": {}}</tool_call> '
    reply = parse_tool_calls(text)
    assert reply.content == text.strip() and reply.format == "hermes"
    (call,) = reply.tool_calls
    assert call.arguments == {} and call.arguments_error is not None
    assert "could not be read as hermes tool calls (KeyError)" in call.arguments_error
    assert "hermes tool-call parser failed" in caplog.text  # the bug is logged for the developer


# --- no call -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The capital of France is Paris.",
        "Use a list comprehension like [x * 2 for x in items] or call sorted(items, key=len).",
        "The Action plan: first, we gather data. Then we analyse it.",
        '{"name": "Alice", "age": 31, "city": "Lyon"}',
        'Here is the config:\n```json\n{"debug": true, "workers": 4}\n```',
        "Final Answer: 42",
    ],
)
def test_prose_and_plain_json_answers_are_the_no_call_result(text: str) -> None:
    reply = parse_tool_calls(text)
    assert reply == ParsedReply(content=text.strip(), tool_calls=[], format=None)
    assert not reply.has_calls


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_reply_has_no_content_and_no_calls(text: str) -> None:
    assert parse_tool_calls(text) == ParsedReply(content=None, tool_calls=[], format=None)


def test_json_answer_whose_name_is_not_a_tool_stays_content() -> None:
    text = '{"name": "summary", "arguments": {"points": 3}}'
    assert parse_tool_calls(text).has_calls  # without tool names it looks like a call
    reply = parse_tool_calls(text, tool_names={"search", "calculator"})
    assert reply == ParsedReply(content=text, tool_calls=[], format=None)
    assert calls_of(parse_tool_calls(text, tool_names={"summary"})) == [("summary", {"points": 3})]


def test_tool_names_filter_pythonic_and_llama3_json_but_not_tagged_formats() -> None:
    names = {"get_weather"}
    assert not parse_tool_calls("[sorted(key=1)]", tool_names=names).has_calls
    assert not parse_tool_calls('{"name": "x", "parameters": {}}', tool_names=names).has_calls
    tagged = '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>'
    reply = parse_tool_calls(tagged, tool_names=names)
    assert calls_of(reply) == [("delete_everything", {})]  # the registry reports the unknown tool


def test_a_group_naming_one_known_tool_keeps_its_unknown_siblings() -> None:
    reply = parse_tool_calls(
        '[get_weather(city="Oslo"), get_wether(city="Rome")]', tool_names={"get_weather"}
    )
    assert [c.name for c in reply.tool_calls] == ["get_weather", "get_wether"]


# --- Hermes / Qwen -------------------------------------------------------------------------------------


def test_hermes_repairs_trailing_commas_single_quotes_and_unclosed_brackets() -> None:
    text = (
        '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3,},}\n</tool_call>\n'
        "<tool_call>\n{'name': 'lookup', 'arguments': {'term': 'café'}}\n</tool_call>\n"
        '<tool_call>\n{"name": "plot", "arguments": {"xs": [1, 2, 3'
    )
    reply = parse_tool_calls(text)
    assert calls_of(reply) == [
        ("add", {"a": 2, "b": 3}),
        ("lookup", {"term": "café"}),
        ("plot", {"xs": [1, 2, 3]}),
    ]
    assert_clean(reply)
    assert reply.content is None


def test_hermes_unclosed_tag_ends_at_the_next_tag() -> None:
    text = (
        '<tool_call>{"name": "a", "arguments": {}}\n'
        '<tool_call>{"name": "b", "arguments": {"x": 1}}</tool_call>'
    )
    assert calls_of(parse_tool_calls(text)) == [("a", {}), ("b", {"x": 1})]


def test_hermes_arguments_as_a_json_string_are_decoded() -> None:
    text = '<tool_call>{"name": "f", "arguments": "{\\"q\\": \\"été\\", \\"n\\": 2}"}</tool_call>'
    reply = parse_tool_calls(text)
    assert calls_of(reply) == [("f", {"q": "été", "n": 2})]
    assert_clean(reply)


def test_hermes_unrepairable_arguments_keep_the_call_with_its_error() -> None:
    text = 'Checking.\n<tool_call>{"name": "get_weather", "arguments": "city=Paris"}</tool_call>'
    reply = parse_tool_calls(text)
    (call,) = reply.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {}
    assert call.raw_arguments == "city=Paris"
    assert call.arguments_error is not None and "not valid JSON" in call.arguments_error
    assert reply.content == "Checking."
    # the raw text goes back to the model unchanged, paired with the call id
    sent = to_openai(AssistantMessage(tool_calls=reply.tool_calls))
    assert sent["tool_calls"][0]["function"]["arguments"] == "city=Paris"


def test_hermes_arguments_that_are_not_an_object_are_an_error() -> None:
    (call,) = parse_tool_calls('<tool_call>{"name": "f", "arguments": [1, 2]}</tool_call>').tool_calls
    assert call.arguments_error is not None and "must be a JSON object, got list" in call.arguments_error
    assert call.raw_arguments == "[1, 2]"


def test_hermes_body_that_is_not_json_keeps_name_and_raw_text() -> None:
    body = '"name": "get_weather", arguments: city is Paris'
    (call,) = parse_tool_calls(f"<tool_call>{body}</tool_call>").tool_calls
    assert call.name == "get_weather"
    assert call.raw_arguments == body
    assert call.arguments_error is not None and "could not be read" in call.arguments_error


def test_hermes_garbage_and_empty_tags_still_yield_a_call_the_model_hears_about() -> None:
    garbage, empty = parse_tool_calls(
        "<tool_call>I want the weather</tool_call><tool_call> </tool_call>"
    ).tool_calls
    assert garbage.name == "" and garbage.raw_arguments == "I want the weather"
    assert garbage.arguments_error is not None
    assert empty.name == "" and empty.arguments_error is not None and "empty" in empty.arguments_error


def test_hermes_body_in_python_call_syntax_or_a_code_fence() -> None:
    text = (
        '<tool_call>get_weather(city="Paris")</tool_call>\n'
        '<tool_call>\n```json\n{"name": "get_time", "arguments": {"tz": "UTC"}}\n```\n</tool_call>'
    )
    assert calls_of(parse_tool_calls(text)) == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"tz": "UTC"}),
    ]


def test_hermes_nested_and_unicode_arguments_survive() -> None:
    arguments = {
        "title": "日本語のメモ ✓",
        "meta": {"tags": ["naïve", "emoji 🎉"], "priority": {"level": 2, "urgent": False}},
        "note": None,
        "ratio": -0.25,
    }
    body = json.dumps({"name": "save_note", "arguments": arguments}, ensure_ascii=False)
    text = f"<tool_call>{body}</tool_call>"
    assert calls_of(parse_tool_calls(text)) == [("save_note", arguments)]


def test_hermes_openai_wrapper_inside_the_tag() -> None:
    text = '<tool_call>{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}</tool_call>'
    assert calls_of(parse_tool_calls(text)) == [("f", {"x": 1})]


def test_every_call_gets_a_fresh_id() -> None:
    text = '<tool_call>{"name": "f", "arguments": {}}</tool_call>' * 3
    first, second = parse_tool_calls(text), parse_tool_calls(text)
    ids = [c.id for c in first.tool_calls + second.tool_calls]
    assert len(set(ids)) == 6
    assert all(i.startswith("call_") for i in ids)


def test_parsed_reply_is_frozen() -> None:
    reply = parse_tool_calls("hello")
    with pytest.raises(AttributeError):
        reply.content = "x"  # type: ignore[misc]


# --- Qwen3-Coder XML -----------------------------------------------------------------------------------


def test_qwen3_xml_values_decode_as_json_where_possible_else_stay_strings() -> None:
    text = (
        "Let me write the file.\n<tool_call>\n<function=write_file>\n"
        "<parameter=path>\nsrc/main.py\n</parameter>\n"
        '<parameter=content>\ndef main():\n    print("hi")\n</parameter>\n'
        "<parameter=mode>\n0644\n</parameter>\n"
        '<parameter=options>\n{"overwrite": true, "backup": null}\n</parameter>\n'
        "<parameter=lines>\n[1, 2]\n</parameter>\n"
        '<parameter=quoted>\n"42"\n</parameter>\n'
        "<parameter=ratio>\nNaN\n</parameter>\n"
        "</function>\n</tool_call>"
    )
    reply = parse_tool_calls(text)
    assert reply.format == "qwen3_xml"
    assert calls_of(reply) == [
        (
            "write_file",
            {
                "path": "src/main.py",
                "content": 'def main():\n    print("hi")',
                "mode": "0644",
                "options": {"overwrite": True, "backup": None},
                "lines": [1, 2],
                "quoted": "42",
                "ratio": "NaN",
            },
        )
    ]
    assert reply.content == "Let me write the file."


def test_qwen3_xml_several_functions_unclosed_tags_and_no_wrapper() -> None:
    text = (
        "<tool_call>\n<function=ls>\n<parameter=path>\n/tmp\n</parameter>\n</function>\n"
        "<function=cat>\n<parameter=path>\n/etc/hosts\n</function>\n</tool_call>\n"
        "<function=grep>\n<parameter=pattern>\nTODO\n<parameter=count>\n3"
    )
    assert calls_of(parse_tool_calls(text)) == [
        ("ls", {"path": "/tmp"}),
        ("cat", {"path": "/etc/hosts"}),
        ("grep", {"pattern": "TODO", "count": 3}),
    ]


def test_qwen3_xml_function_without_parameters() -> None:
    reply = parse_tool_calls("<tool_call>\n<function=list_tools>\n</function>\n</tool_call>")
    assert calls_of(reply) == [("list_tools", {})] and reply.format == "qwen3_xml"


# --- Mistral -------------------------------------------------------------------------------------------


def test_mistral_v11_named_calls_with_and_without_call_ids() -> None:
    text = (
        'Sure.[TOOL_CALLS]get_weather[ARGS]{"city": "Lyon"}'
        '[TOOL_CALLS]get_time[CALL_ID]a1B2c3D4e[ARGS]{"tz": "Europe/Paris"}</s>'
    )
    reply = parse_tool_calls(text)
    assert reply.format == "mistral"
    assert calls_of(reply) == [("get_weather", {"city": "Lyon"}), ("get_time", {"tz": "Europe/Paris"})]
    assert reply.content == "Sure.</s>"


def test_mistral_repairs_and_reports_broken_arguments() -> None:
    reply = parse_tool_calls(
        "[TOOL_CALLS]add[ARGS]{'a': 1, 'b': 2,}[TOOL_CALLS]search[ARGS]query=cats[TOOL_CALLS]"
    )
    add, search, empty = reply.tool_calls
    assert (add.name, add.arguments, add.arguments_error) == ("add", {"a": 1, "b": 2}, None)
    assert search.name == "search" and search.raw_arguments == "query=cats"
    assert search.arguments_error is not None
    assert empty.name == "" and empty.arguments_error is not None


def test_mistral_v3_unclosed_list_is_repaired() -> None:
    reply = parse_tool_calls(
        '[TOOL_CALLS] [{"name": "f", "arguments": {"x": [1, 2]}}, {"name": "g", "arguments": {'
    )
    assert calls_of(reply) == [("f", {"x": [1, 2]}), ("g", {})]


# --- Llama 3 -------------------------------------------------------------------------------------------


def test_python_tag_builtin_call_and_code_interpreter() -> None:
    builtin = parse_tool_calls(
        '<|python_tag|>brave_search.call(query="current weather in Menlo Park")<|eom_id|>'
    )
    assert calls_of(builtin) == [("brave_search", {"query": "current weather in Menlo Park"})]
    code = parse_tool_calls("<|python_tag|>import math\nprint(math.sqrt(2))<|eom_id|>")
    assert calls_of(code) == [("code_interpreter", {"code": "import math\nprint(math.sqrt(2))"})]
    assert code.format == builtin.format == "python_tag"


def test_python_tag_several_json_calls_and_prose_before() -> None:
    text = (
        'Let me check.<|python_tag|>{"name": "a", "parameters": {"x": 1}}; '
        '{"name": "b", "parameters": {"y": "two"}}<|eot_id|>'
    )
    reply = parse_tool_calls(text)
    assert calls_of(reply) == [("a", {"x": 1}), ("b", {"y": "two"})]
    assert reply.content == "Let me check."


def test_llama3_json_with_type_key_and_trailing_end_token() -> None:
    text = '{"type": "function", "name": "get_weather", "parameters": {"location": "Boston, MA"}}<|eot_id|>'
    reply = parse_tool_calls(text)
    assert reply.format == "llama3_json" and calls_of(reply) == [("get_weather", {"location": "Boston, MA"})]


def test_llama3_json_broken_parameters_are_repaired() -> None:
    reply = parse_tool_calls('{"name": "get_weather", "parameters": {"location": "Boston, MA",}')
    assert calls_of(reply) == [("get_weather", {"location": "Boston, MA"})]
    assert reply.format == "llama3_json"


def test_llama3_shaped_call_inside_prose_is_found_by_the_json_format() -> None:
    text = 'I will call it now: {"name": "get_weather", "parameters": {"location": "Oslo"}} and report back.'
    reply = parse_tool_calls(text)
    assert reply.format == "json"
    assert calls_of(reply) == [("get_weather", {"location": "Oslo"})]
    assert reply.content == "I will call it now:  and report back."


# --- pythonic ------------------------------------------------------------------------------------------


def test_pythonic_json_literals_nesting_and_llama4_tags() -> None:
    text = (
        'I\'ll do both.\n<|python_start|>[set_alarm(time="07:30", repeat=true, label=null, '
        'days=["mon", "tue"], volume=-3, extra={"snooze": 5})]<|python_end|>'
    )
    reply = parse_tool_calls(text)
    assert reply.format == "pythonic"
    assert calls_of(reply) == [
        (
            "set_alarm",
            {
                "time": "07:30",
                "repeat": True,
                "label": None,
                "days": ["mon", "tue"],
                "volume": -3,
                "extra": {"snooze": 5},
            },
        )
    ]
    assert reply.content == "I'll do both."


def test_pythonic_never_evaluates_and_reports_non_literals() -> None:
    reply = parse_tool_calls('[run(cmd=__import__("os").system("echo pwned")), run("ls")]')
    first, second = reply.tool_calls
    assert first.name == "run" and first.arguments == {}
    assert first.arguments_error is not None and "not a literal" in first.arguments_error
    assert first.raw_arguments == 'run(cmd=__import__("os").system("echo pwned"))'
    assert second.arguments_error is not None and "positional" in second.arguments_error


def test_pythonic_in_a_python_fence_and_dotted_names() -> None:
    reply = parse_tool_calls('```python\n[math.sqrt(x=2.0), files.read(path="a.txt")]\n```')
    assert calls_of(reply) == [("math.sqrt", {"x": 2.0}), ("files.read", {"path": "a.txt"})]
    assert reply.content is None


def test_pythonic_list_inside_a_sentence_is_not_a_call() -> None:
    assert not parse_tool_calls('You could write [get_weather(city="Paris")] in your script.').has_calls


# --- fenced / bare JSON --------------------------------------------------------------------------------


def test_json_array_of_calls_and_openai_shapes() -> None:
    text = (
        '[{"type": "function", "function": {"name": "a", "arguments": "{\\"x\\": 1}"}}, '
        '{"name": "b", "parameters": {"y": 2}}]'
    )
    reply = parse_tool_calls(text)
    assert reply.format == "json" and calls_of(reply) == [("a", {"x": 1}), ("b", {"y": 2})]
    assert reply.content is None


def test_json_several_fences_broken_json_and_langchain_action_keys() -> None:
    text = (
        'First:\n```json\n{"name": "search", "arguments": {"q": "rust",}}\n```\n'
        'Then:\n```\n{"action": "calculator", "action_input": {"expression": "2+2"}}\n```\n'
        'Finally:\n```json\n{"name": "notify", "arguments": {"msg": "done"'
    )
    reply = parse_tool_calls(text)
    assert calls_of(reply) == [
        ("search", {"q": "rust"}),
        ("calculator", {"expression": "2+2"}),
        ("notify", {"msg": "done"}),
    ]
    assert reply.content == "First:\n\nThen:\n\nFinally:"


def test_json_with_unrepairable_string_arguments_keeps_the_error() -> None:
    (call,) = parse_tool_calls('```json\n{"name": "f", "arguments": "a=1, b=2"}\n```').tool_calls
    assert call.name == "f" and call.raw_arguments == "a=1, b=2" and call.arguments_error is not None


# --- ReAct ---------------------------------------------------------------------------------------------


def test_react_several_actions_and_invented_observation_is_dropped() -> None:
    text = (
        "Thought: I should search for both.\n"
        'Action: `search`\nAction Input: {"query": "tallest building"}\n'
        'Action: lookup\nAction Input:\n```json\n{"term": "Burj Khalifa"}\n```\n'
        "Observation: The Burj Khalifa is 828 m tall.\nThought: I now know the answer."
    )
    reply = parse_tool_calls(text)
    assert reply.format == "react"
    assert calls_of(reply) == [
        ("search", {"query": "tallest building"}),
        ("lookup", {"term": "Burj Khalifa"}),
    ]
    assert reply.content == "Thought: I should search for both."


def test_react_non_json_input_is_an_error_the_model_sees() -> None:
    (call,) = parse_tool_calls("Action: search\nAction Input: weather in Paris").tool_calls
    assert call.name == "search" and call.raw_arguments == "weather in Paris"
    assert call.arguments_error is not None and "JSON object" in call.arguments_error


def test_react_repairs_broken_input_and_accepts_empty_input() -> None:
    reply = parse_tool_calls("Action: search\nAction Input: {'query': 'cats',\nAction: now\nAction Input:\n")
    assert calls_of(reply) == [("search", {"query": "cats"}), ("now", {})]
    assert_clean(reply)


# --- robustness ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "f(x=1)" + "]" * 5000,
        "<tool_call>" + "{" * 5000,
        '{"name": "f", "arguments": ' + "[" * 5000,
        "[TOOL_CALLS]" + "[" * 5000,
        "<|python_tag|>" + "(" * 5000,
        "Action: f\nAction Input: " + "{" * 5000,
    ],
)
def test_pathologically_nested_input_never_crashes(text: str) -> None:
    assert isinstance(parse_tool_calls(text), ParsedReply)


# --- detect_format -------------------------------------------------------------------------------------

QWEN25 = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{{- \"\\n\\n# Tools\\n\\n<tools>\" }}"
    "{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}"
    '{{- "\\n</tools>\\n\\nFor each function call, return a json object within <tool_call></tool_call> '
    'XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n'
    '</tool_call><|im_end|>\\n" }}{%- endif %}'
)
QWEN3_CODER = (
    "{%- for tool_call in message.tool_calls %}{{- '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}"
    "{%- for args_name, args_value in tool_call.arguments|items %}"
    "{{- '<parameter=' + args_name + '>\\n' }}{{- args_value }}{{- '\\n</parameter>\\n' }}{%- endfor %}"
    "{{- '</function>\\n</tool_call>' }}{%- endfor %}"
)
LLAMA31 = (
    "{%- if builtin_tools is defined or tool_call.name in builtin_tools %}"
    "{{- '<|python_tag|>' + tool_call.name + '.call(' }}{%- else %}"
    "{{- '{\"name\": \"' + tool_call.name + '\", ' }}{{- '\"parameters\": ' }}"
    "{{- tool_call.arguments | tojson }}"
    "{%- endif %}{{- '<|eot_id|>' }}"
)
LLAMA32 = (
    "{{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}"
    '{{- "Given the following functions, please respond with a JSON for a function call " }}'
    '{{- \'Respond in the format {"name": function name, "parameters": dictionary of argument name and '
    "its value}.' }}"
)
MISTRAL = (
    "{%- elif message.tool_calls is defined %}{{- '[TOOL_CALLS]' }}"
    "{%- for tool_call in message.tool_calls %}{{- tool_call.function.name + '[ARGS]' + "
    "tool_call.function.arguments|tojson }}{%- endfor %}"
)
LLAMA4 = (
    "{%- if message.tool_calls %}{{- '<|python_start|>' }}[{{ calls }}]{{- '<|python_end|>' }}{%- endif %}"
)
SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, "
    "trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (QWEN25, "hermes"),
        (QWEN3_CODER, "qwen3_xml"),
        (LLAMA31, "llama3_json"),
        (LLAMA32, "llama3_json"),
        (MISTRAL, "mistral"),
        (LLAMA4, "pythonic"),
        (SMOLLM2, None),
        ("", None),
        (None, None),
    ],
    ids=["qwen2.5", "qwen3-coder", "llama3.1", "llama3.2", "mistral", "llama4", "smollm2", "empty", "none"],
)
def test_detect_format_from_chat_templates(template: str | None, expected: str | None) -> None:
    assert detect_format(template) == expected


def test_detected_formats_are_known_formats() -> None:
    for template in (QWEN25, QWEN3_CODER, LLAMA31, MISTRAL, LLAMA4):
        assert detect_format(template) in FORMATS


# --- tool_instructions ---------------------------------------------------------------------------------

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city (°C) — use <city, country>",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "days", "unit"],
    },
)
CLOCK = ToolSpec("now", "The current time.", {"type": "object", "properties": {}})


def test_tool_instructions_describe_every_tool_and_the_call_syntax() -> None:
    text = tool_instructions([WEATHER, CLOCK])
    assert json.dumps(WEATHER.as_dict(), ensure_ascii=False) in text  # not HTML-escaped, not re-ordered
    assert json.dumps(CLOCK.as_dict(), ensure_ascii=False) in text
    assert "<tools>" in text and "</tools>" in text
    assert '<tool_call> block that holds a single JSON object with two keys: "name"' in text
    assert "get_weather, now" in text
    assert "answer the user directly" in text


def test_tool_instructions_give_no_example_values_to_copy() -> None:
    """Small models copy an example's placeholder values into their calls; the text has none."""
    text = tool_instructions([WEATHER, CLOCK])
    assert '"arguments": {' not in text  # no example call, only the tools' own schemas
    assert "placeholder" not in text


def test_tool_instructions_from_real_tool_specs() -> None:
    from agentkit.tool import tool

    @tool
    def convert(amount: float, currency: str) -> str:
        """Convert an amount of euros.

        Args:
            amount: How many euros.
            currency: The ISO code to convert to.
        """
        return f"{amount} {currency}"

    from agentkit.registry import ToolRegistry

    registry = ToolRegistry()
    registry.register(convert)
    text = tool_instructions(registry.specs())
    assert '"name": "convert"' in text and "How many euros." in text
    # a call written the way the instructions describe parses and validates against the same registry
    written = '<tool_call>{"name": "convert", "arguments": {"amount": 12.5, "currency": "USD"}}</tool_call>'
    (call,) = parse_tool_calls(written, formats=["hermes"]).tool_calls
    assert registry.validate(call) == {"amount": 12.5, "currency": "USD"}


def test_tool_listing_says_each_parameter_in_words() -> None:
    from agentkit.parsing.listing import describe_function

    booking = {
        "name": "book",
        "description": "Book a room.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "Where."},
                "nights": {"type": "integer", "default": 1},
                "view": {"type": "string", "enum": ["sea", "city"], "description": "Which view."},
                "guests": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                    },
                },
                "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "when": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "required": ["city", "guests"],
        },
    }
    assert describe_function(booking).splitlines() == [
        "book: Book a room.",
        "Parameters:",
        "- city (string, required): Where.",
        "- nights (integer, optional): (default 1)",
        '- view (string, optional): Which view. (one of "sea", "city")',
        "- guests (array of object, required)",
        "  - name (string, required)",
        '- code (string, optional): (schema {"pattern": "^[A-Z]{3}$"})',
        '- when (any, optional): (schema {"anyOf": [{"type": "string"}, {"type": "integer"}]})',
    ]
    assert describe_function(CLOCK.as_dict()) == "now: The current time.\nParameters: none"


def test_tool_instructions_as_a_listing_leave_no_schema_to_copy() -> None:
    text = tool_instructions([WEATHER, CLOCK], listing=True)
    assert "- city (string, required): City name" in text
    assert '- unit (string, required): (one of "celsius", "fahrenheit")' in text
    assert '"type"' not in text and '"properties"' not in text
    assert "now: The current time." in text and "get_weather, now" in text
    assert "optional parameter whose value the user's request states" in text


def test_tool_instructions_without_tools_is_empty() -> None:
    assert tool_instructions([]) == ""


def test_tool_call_is_still_a_plain_pydantic_model() -> None:
    (call,) = parse_tool_calls('<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>').tool_calls
    assert isinstance(call, ToolCall)
    assert ToolCall.model_validate_json(call.model_dump_json()) == call
