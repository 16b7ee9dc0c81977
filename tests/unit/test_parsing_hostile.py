"""Replies that once broke the parser or lost what the model wrote (issue 12), and the rules that
replaced the mechanisms behind them: name recovery, quiet ``ast``, bounded work per candidate."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings

import pytest

from agentkit import ToolRegistry, tool
from agentkit.errors import ToolArgumentsError
from agentkit.parsing import ParsedReply, parse_tool_calls

# --- the name of a call whose body is not JSON -------------------------------------------------------


def test_a_plain_text_body_keeps_the_tool_name_and_says_what_was_wrong() -> None:
    (call,) = parse_tool_calls("<tool_call>add a=1 b=two</tool_call>").tool_calls
    assert call.name == "add"
    assert call.arguments == {} and call.raw_arguments == "a=1 b=two"
    assert call.arguments_error is not None
    assert "after the tool name 'add' came 'a=1 b=two'" in call.arguments_error
    assert '{"name": "add", "arguments": {...}}' in call.arguments_error


@pytest.mark.parametrize(
    ("text", "name", "raw"),
    [
        ("<tool_call>get_time</tool_call>", "get_time", ""),
        ("<tool_call>add(a=1 b=2)</tool_call>", "add", "(a=1 b=2)"),
        ("<tool_call>files.read path: a.txt</tool_call>", "files.read", "path: a.txt"),
        ("<tool_call>search {query: cats</tool_call>", "search", "{query: cats"),
        ("[TOOL_CALLS]search query=cats", "search", "query=cats"),
    ],
)
def test_a_leading_tool_name_is_recovered_in_every_tagged_format(text: str, name: str, raw: str) -> None:
    (call,) = parse_tool_calls(text).tool_calls
    assert (call.name, call.raw_arguments, call.arguments) == (name, raw, {})
    assert call.arguments_error is not None and "is not JSON" in call.arguments_error


def test_a_broken_llama_builtin_call_keeps_the_builtin_name() -> None:
    (call,) = parse_tool_calls('<|python_tag|>brave_search.call(query="a" "b" =)<|eom_id|>').tool_calls
    assert call.name == "brave_search" and call.raw_arguments == 'brave_search.call(query="a" "b" =)'
    assert call.arguments_error is not None and "not a call of brave_search" in call.arguments_error


@pytest.mark.parametrize(
    "body",
    ["I want the weather", "Let me check: the weather", "3 apples", "", "name_that_is_far_too_long" * 10],
)
def test_prose_bodies_get_no_invented_name(body: str) -> None:
    (call,) = parse_tool_calls(f"<tool_call>{body}</tool_call>").tool_calls
    assert call.name == "" and call.arguments_error is not None


def test_the_model_hears_which_tool_it_named_and_how_to_write_the_call() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    (call,) = parse_tool_calls("<tool_call>add a=1 b=two</tool_call>").tool_calls
    with pytest.raises(ToolArgumentsError, match=r"Invalid arguments for tool 'add': .*'a=1 b=two'"):
        ToolRegistry([add]).validate(call)


# --- compiler warnings about model text --------------------------------------------------------------

ODD_LITERALS = '[f(a=1if 1 else 2, b=[0x1for x in y], c="\\d")]'


def test_odd_literals_in_a_reply_print_nothing_to_stderr() -> None:
    script = f"import agentkit.parsing as p; print(p.parse_tool_calls({ODD_LITERALS!r}).format)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "pythonic"
    assert done.stderr == ""


def test_odd_literals_still_parse_when_warnings_are_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reply = parse_tool_calls(ODD_LITERALS)
    assert reply.format == "pythonic" and [c.name for c in reply.tool_calls] == ["f"]


def test_only_warnings_about_model_text_are_silenced() -> None:
    parse_tool_calls(ODD_LITERALS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_tool_calls(ODD_LITERALS)
        ast.parse("x = 1if 1 else 2")  # the user's own code still warns
    assert [type(w.message) for w in caught] == [SyntaxWarning]


# --- hostile values -------------------------------------------------------------------------------------


def test_an_integer_too_long_for_python_is_an_arguments_error_not_a_crash() -> None:
    digits = "1" * 5000
    reply = parse_tool_calls(f'<tool_call>{{"name": "f", "arguments": "{digits}"}}</tool_call>')
    (call,) = reply.tool_calls
    assert call.name == "f" and call.arguments == {}
    assert call.arguments_error is not None and "not valid JSON" in call.arguments_error
    broken = parse_tool_calls('<tool_call>{"name": "f", "arguments": {"n": ' + digits + ",}}</tool_call>")
    assert broken.tool_calls[0].arguments == {"n": digits}  # kept as written, for the schema to judge


def test_each_non_call_in_a_list_shows_its_own_text() -> None:
    n = 2000
    text = "<tool_call>[" + ", ".join(["1"] * n) + "]</tool_call>"
    calls = parse_tool_calls(text).tool_calls
    assert len(calls) == n and all(c.raw_arguments == "1" and c.arguments_error for c in calls)
    assert sum(len(c.raw_arguments or "") for c in calls) < len(text)  # not n copies of the list


def test_a_lone_non_call_still_shows_the_text_as_written() -> None:
    (call,) = parse_tool_calls("<tool_call>[5]</tool_call>").tool_calls
    assert call.raw_arguments == "[5]"


# --- pythonic candidates ---------------------------------------------------------------------------------


def test_an_unclosed_pythonic_list_does_not_hide_a_later_one() -> None:
    reply = parse_tool_calls('[f(a="unterminated)\n[g(b=1)]\n')
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("g", {"b": 1})]
    assert reply.content == '[f(a="unterminated)'


def test_lines_inside_a_broken_pythonic_list_belong_to_it() -> None:
    text = "[f(x=?,\n[g(a=1)]\n)]"
    assert parse_tool_calls(text) == ParsedReply(content=text, tool_calls=[], format=None)


def test_pythonic_list_ends_where_python_says_despite_quotes_and_comments() -> None:
    reply = parse_tool_calls('[f(code="""say "hi" now"""), g(n=1)]  # it\'s done\nThanks.')
    assert reply.format is None  # a comment after the list is not "a line of its own"
    reply = parse_tool_calls('[f(code="""a"b"""),\n g(s="]")]\nThanks.')
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("f", {"code": 'a"b'}), ("g", {"s": "]"})]
    assert reply.content == "Thanks."


# --- bare JSON candidates ----------------------------------------------------------------------------


def _wrapped(levels: int) -> str:
    call = '{"name": "f", "arguments": {}}'
    return '{"type": "x", "data": ' * levels + call + "}" * levels


def test_a_call_inside_a_json_answer_is_found_a_few_levels_deep() -> None:
    from agentkit.parsing._untagged import MAX_NESTED_TRIES

    reply = parse_tool_calls(_wrapped(MAX_NESTED_TRIES - 1))
    assert [c.name for c in reply.tool_calls] == ["f"] and reply.format == "json"


def test_a_call_nested_deeper_than_the_bound_stays_content() -> None:
    from agentkit.parsing._untagged import MAX_NESTED_TRIES

    text = _wrapped(MAX_NESTED_TRIES)
    assert parse_tool_calls(text) == ParsedReply(content=text, tool_calls=[], format=None)
