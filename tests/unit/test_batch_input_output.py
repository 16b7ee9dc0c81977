"""The batch's task file and results file: untrusted lines become tasks or numbered problems; the results
file knows its owner, survives a cut last line, and round-trips results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.batch import BatchResult, OutputOwnedError, Task, TaskError, read_results, read_tasks
from agentkit.batch.output import BatchIdentity, ResultsWriter, belongs_to, check_owner, scan_output
from agentkit.batch.taskfile import MAX_LINE_BYTES, TaskProblem, count_lines, tasks_from
from agentkit.errors import ConfigurationError
from agentkit.messages import Usage


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def test_task_file_yields_tasks_and_numbered_problems_and_goes_on(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "tasks.jsonl",
        [
            '{"id": "a", "prompt": "one", "metadata": {"k": [1, 2]}}',
            "",
            "{not json",
            '{"id": 7, "prompt": "int id", "session": "s1"}',
            '["a list"]',
            '{"id": "b"}',
            '{"id": "c", "prompt": "x", "promt": "typo"}',
            b'{"id": "d", "prompt": "\xff\xfe"}',
            '{"id": "a", "prompt": "again"}',
            '{"id": "e", "prompt": "same session", "session": "s1"}',
            '{"id": true, "prompt": "bool id"}',
            '{"id": "f", "prompt": "ok", "metadata": "not an object"}',
            '{"id": "g", "prompt": "last"}',
        ],
    )
    items = list(read_tasks(path))
    tasks = [i for i in items if isinstance(i, Task)]
    problems = {p.line: p for p in items if isinstance(p, TaskProblem)}
    assert [t.id for t in tasks] == ["a", "7", "g"]
    assert tasks[0].metadata == {"k": [1, 2]} and tasks[1].session == "s1"
    assert sorted(problems) == [3, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "not valid JSON" in problems[3].message
    assert "expected a JSON object" in problems[5].message
    assert '"prompt" is required' in problems[6].message
    assert "'promt'" in problems[7].message and "metadata" in problems[7].message
    assert "UTF-8" in problems[8].message
    assert problems[9].kind == "duplicate" and "first on line 1" in problems[9].message
    assert problems[10].kind == "duplicate" and "session 's1'" in problems[10].message
    assert '"id" is required' in problems[11].message
    assert '"metadata" must be an object' in problems[12].message
    assert str(problems[9]).startswith("line 9: ")
    assert count_lines(path) == 12  # the blank line is not a task


def test_an_oversized_line_is_skipped_without_losing_the_next(tmp_path: Path) -> None:
    huge = '{"id": "big", "prompt": "' + "x" * (MAX_LINE_BYTES + 10) + '"}'
    path = write_lines(tmp_path / "t.jsonl", [huge, '{"id": "after", "prompt": "fine"}'])
    items = list(read_tasks(path))
    assert isinstance(items[0], TaskProblem) and items[0].line == 1 and "longer than" in items[0].message
    assert items[1] == Task("after", "fine")


def test_deeply_nested_json_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", ["[" * 100_000 + "]" * 100_000])
    (problem,) = list(read_tasks(path))
    assert isinstance(problem, TaskProblem) and problem.kind == "malformed"


def test_missing_task_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read task file"):
        read_tasks(tmp_path / "nope.jsonl")


def test_python_values_become_tasks_with_the_same_checks() -> None:
    items = list(tasks_from(["first", Task("t", "p"), {"id": "t", "prompt": "dup"}, {"prompt": "no id"}]))
    assert items[0] == Task("0", "first") and items[1] == Task("t", "p")
    assert isinstance(items[2], TaskProblem) and items[2].kind == "duplicate" and items[2].line == 3
    assert isinstance(items[3], TaskProblem) and items[3].kind == "malformed"


def result(task_id: str, **changes: object) -> BatchResult:
    return BatchResult(task_id, output="ok", text="ok", stop_reason="final_answer", steps=2).replace(
        **changes
    )


def test_results_round_trip_through_json() -> None:
    original = BatchResult(
        "t1",
        output={"answer": 3},
        text='{"answer": 3}',
        stop_reason="final_answer",
        steps=3,
        usage=Usage(input_tokens=10, output_tokens=4, requests=3),
        duration=1.25,
        metadata={"label": "x"},
        session="batch:b:t1",
        attempts=2,
        resumed=True,
    )
    again = BatchResult.from_json(json.loads(json.dumps(original.to_json())))
    assert again == original
    failed = BatchResult("t2", stop_reason="error", error=TaskError("BackendError", "boom", resumable=True))
    assert BatchResult.from_json(failed.to_json()) == failed
    assert not failed.ok and not failed.final and result("t3").ok and result("t3").final


def test_results_file_has_its_owner_in_a_header_and_refuses_another_batch(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    mine = BatchIdentity("batch-1", {"tasks": "/a/tasks.jsonl", "model": "m1"})
    with ResultsWriter(out, mine, scan_output(out)) as writer:
        writer.write(result("a"))
    header = json.loads(out.read_text().splitlines()[0])["agentkit_batch"]
    assert header["batch_id"] == "batch-1" and header["model"] == "m1"
    scan = scan_output(out)
    assert scan.done == {"a"} and belongs_to(scan, mine)
    other = BatchIdentity("batch-2", {"tasks": "/a/tasks.jsonl", "model": "m2"})
    with pytest.raises(OutputOwnedError, match=r"model: 'm1' there, 'm2' now.*--force"):
        check_owner(out, scan, other)
    (tmp_path / "foreign.jsonl").write_text('{"some": "data"}\n')
    with pytest.raises(OutputOwnedError, match="not an agentkit batch results file"):
        check_owner(tmp_path / "foreign.jsonl", scan_output(tmp_path / "foreign.jsonl"), mine)
    (tmp_path / "empty.jsonl").write_text("")
    check_owner(tmp_path / "empty.jsonl", scan_output(tmp_path / "empty.jsonl"), mine)


def test_replacing_another_batchs_file_starts_it_anew(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with ResultsWriter(out, BatchIdentity("old"), scan_output(out)) as writer:
        writer.write(result("a"))
    with ResultsWriter(out, BatchIdentity("new"), scan_output(out), replace=True) as writer:
        writer.write(result("b"))
    assert [r.task_id for r in read_results(out)] == ["b"]
    assert scan_output(out).header["batch_id"] == "new"  # type: ignore[index]


def test_a_cut_last_line_is_not_a_result_and_is_dropped_before_appending(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    identity = BatchIdentity("b")
    with ResultsWriter(out, identity, scan_output(out)) as writer:
        writer.write(result("a"))
        writer.write(result("b"))
    whole = out.read_bytes()
    out.write_bytes(whole[:-7])  # killed in the middle of writing b's line
    scan = scan_output(out)
    assert scan.done == {"a"} and scan.cut_tail
    with ResultsWriter(out, identity, scan) as writer:
        writer.write(result("c"))
    lines = out.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # no line glued onto half of another
    assert [r.task_id for r in read_results(out)] == ["a", "c"]


def test_results_file_in_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "results.jsonl"
    with pytest.raises(ConfigurationError, match="cannot write output"):
        ResultsWriter(out, BatchIdentity("b"), scan_output(out))


def test_two_writers_of_one_results_file_are_refused(tmp_path: Path) -> None:
    from agentkit.batch.output import OutputBusyError

    out = tmp_path / "results.jsonl"
    with (
        ResultsWriter(out, BatchIdentity("b"), scan_output(out)),
        pytest.raises(OutputBusyError, match="another running agentkit batch"),
    ):
        ResultsWriter(out, BatchIdentity("b"), scan_output(out))
    ResultsWriter(out, BatchIdentity("b"), scan_output(out)).close()  # free again once the first closed
