"""The file tools: confined to one root, bounded, atomic writes behind approval."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import Agent, ToolMessage
from agentkit.approval import approve_all
from agentkit.errors import ConfigurationError, ModelRetry
from agentkit.testing import ScriptedBackend, call
from agentkit.tools import FileLimits, Workspace, files_tools
from agentkit.tools.files import PathRefused


@pytest.fixture
def root(tmp_path: Path) -> Path:
    space = tmp_path / "space"
    (space / "docs").mkdir(parents=True)
    (space / "docs" / "a.txt").write_text("alpha\nBeta line\ngamma\n")
    (space / "notes.md").write_text("# Notes\nbeta again\n")
    (tmp_path / "secret.txt").write_text("top secret beta\n")
    return space


@pytest.fixture
def space(root: Path) -> Workspace:
    return Workspace(root)


def test_read_list_search_and_write(space: Workspace, root: Path) -> None:
    assert space.read_file("docs/a.txt") == "alpha\nBeta line\ngamma\n"
    assert space.list_files() == "docs/\nnotes.md (19 bytes)"
    assert space.list_files(recursive=True) == "docs/\ndocs/a.txt (22 bytes)\nnotes.md (19 bytes)"
    assert space.search_files("beta") == "docs/a.txt:2: Beta line\nnotes.md:2: beta again"
    assert space.search_files("beta", case_sensitive=True) == "notes.md:2: beta again"
    assert space.search_files("beta", glob="*.md") == "notes.md:2: beta again"
    assert space.write_file("out/new.txt", "héllo") == "Wrote 5 characters (6 bytes) to out/new.txt"
    assert (root / "out" / "new.txt").read_text(encoding="utf-8") == "héllo"
    space.write_file("out/new.txt", "!", append=True)
    assert (root / "out" / "new.txt").read_text(encoding="utf-8") == "héllo!"
    assert space.read_file(str(root / "notes.md")).startswith("# Notes")  # absolute but inside


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../secret.txt", "uses '..' to leave"),
        ("docs/../../secret.txt", "uses '..' to leave"),
        ("/etc/passwd", "is an absolute path outside"),
        ("bad\x00name", "NUL"),
    ],
)
def test_paths_that_escape_the_root_are_refused(space: Workspace, path: str, reason: str) -> None:
    for operation in (
        lambda: space.read_file(path),
        lambda: space.write_file(path, "x"),
        lambda: space.list_files(path),
        lambda: space.search_files("x", path=path),
    ):
        with pytest.raises(PathRefused, match=reason):
            operation()


def test_symlinks_pointing_outside_are_refused(space: Workspace, root: Path, tmp_path: Path) -> None:
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "outside").symlink_to(tmp_path)
    for operation in (
        lambda: space.read_file("leak.txt"),
        lambda: space.read_file("outside/secret.txt"),
        lambda: space.write_file("leak.txt", "overwritten"),
        lambda: space.write_file("outside/planted.txt", "x"),
        lambda: space.list_files("outside"),
    ):
        with pytest.raises(PathRefused, match="symbolic link that points outside"):
            operation()
    assert (tmp_path / "secret.txt").read_text() == "top secret beta\n"
    assert not (tmp_path / "planted.txt").exists()
    assert "secret" not in space.search_files("beta")  # search skips links leading out
    listing = space.list_files()
    assert "leak.txt -> link to outside the workspace (unusable)" in listing


def test_symlinks_inside_the_root_work(space: Workspace, root: Path) -> None:
    (root / "alias.txt").symlink_to(root / "docs" / "a.txt")
    assert space.read_file("alias.txt").startswith("alpha")
    assert "alias.txt:2: Beta line" in space.search_files("beta")


def test_large_files_are_paged_and_limits_enforced(root: Path) -> None:
    space = Workspace(root, FileLimits(max_read_chars=100, max_file_bytes=5000, max_write_bytes=50))
    (root / "long.txt").write_text("".join(f"line {i:03d}\n" for i in range(300)))  # 2700 bytes
    first = space.read_file("long.txt")
    assert first.startswith("line 000\n") and "call read_file with start_line=12 for more" in first
    assert space.read_file("long.txt", start_line=12).startswith("line 011\n")
    assert space.read_file("long.txt", start_line=300) == "line 299\n"
    with pytest.raises(PathRefused, match="start_line must be between 1 and 300"):
        space.read_file("long.txt", start_line=301)
    (root / "huge.txt").write_text("x" * 6000)
    with pytest.raises(PathRefused, match="6000 bytes, more than the 5000 allowed"):
        space.read_file("huge.txt")
    with pytest.raises(PathRefused, match="more than the 50 allowed per write"):
        space.write_file("big.txt", "y" * 51)
    assert not (root / "big.txt").exists()


def test_a_single_huge_line_is_cut_to_the_read_budget(root: Path) -> None:
    space = Workspace(root, FileLimits(max_read_chars=100))
    (root / "one.txt").write_text("z" * 1000)
    assert space.read_file("one.txt") == "z" * 100 + "\n"


def test_binary_and_missing_files_and_directories(space: Workspace, root: Path) -> None:
    (root / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(PathRefused, match="binary"):
        space.read_file("blob.bin")
    with pytest.raises(PathRefused, match="does not exist"):
        space.read_file("nope.txt")
    with pytest.raises(PathRefused, match="is a directory"):
        space.write_file("docs", "x")
    with pytest.raises(PathRefused, match="not a folder"):
        space.list_files("notes.md")
    with pytest.raises(PathRefused, match="give some text"):
        space.search_files("")


def test_a_failed_write_keeps_the_old_content(
    space: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PathRefused, match=r"'notes\.md' cannot be used: disk full"):
        space.write_file("notes.md", "new")  # the model is told; the run goes on
    assert (root / "notes.md").read_text() == "# Notes\nbeta again\n"
    assert [p.name for p in root.iterdir() if p.name.startswith(".tmp-")] == []


def test_listing_stops_at_the_entry_limit(root: Path) -> None:
    for i in range(10):
        (root / f"f{i}.txt").write_text("beta\n")
    space = Workspace(root, FileLimits(max_entries=3, max_matches=2, max_search_files=4))
    assert space.list_files().splitlines()[-1] == "[stopped after 3 entries]"
    assert space.search_files("beta").splitlines()[-1] == "[stopped after 2 matches]"
    assert space.search_files("zeta") == "[stopped after searching 4 files; narrow path or glob]"
    assert space.search_files("zeta", glob="f1.txt") == "no lines containing 'zeta' in 1 files"
    (root / "empty.txt").write_text("")
    assert space.read_file("empty.txt") == "(empty.txt is empty)"


def test_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not an existing directory"):
        files_tools(tmp_path / "missing")


def test_factory_marks_writes_for_approval(root: Path) -> None:
    tools = {t.name: t for t in files_tools(root)}
    assert set(tools) == {"read_file", "write_file", "list_files", "search_files"}
    assert tools["write_file"].requires_approval and not tools["read_file"].requires_approval
    assert "write_file" not in {t.name for t in files_tools(root, read_only=True)}
    assert "self" not in tools["read_file"].parameters["properties"]
    assert isinstance(PathRefused("x"), ModelRetry)


def test_agent_uses_the_file_tools(root: Path) -> None:
    backend = ScriptedBackend(
        [
            call("read_file", path="../secret.txt"),
            call("search_files", text="gamma"),
            call("write_file", path="summary.txt", content="gamma is in docs/a.txt"),
            "Saved.",
        ]
    )
    result = Agent(model=backend, tools=files_tools(root), approve=approve_all).run("Find gamma")
    escaped, found, wrote = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert escaped.is_error and "outside the workspace" in escaped.content
    assert found.content == "docs/a.txt:3: gamma"
    assert wrote.content.startswith("Wrote 22 characters")
    assert (root / "summary.txt").read_text() == "gamma is in docs/a.txt"
    backend.assert_used_up()


def test_hard_links_to_outside_files_are_read_but_never_written(
    space: Workspace, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    os.link(outside, root / "linked.txt")
    # a hard link is the file itself: reading it is reading a file in the root (documented)
    assert space.read_file("linked.txt") == "top secret beta\n"
    assert "linked.txt:1: top secret beta" in space.search_files("secret")
    assert "linked.txt (16 bytes; 2 hard links, so read-only here)" in space.list_files()
    for append in (True, False):
        with pytest.raises(PathRefused, match="has 2 hard links, so it may be the same file as one outside"):
            space.write_file("linked.txt", "planted\n", append=append)
    assert outside.read_text() == "top secret beta\n"
    assert os.stat(outside).st_nlink == 2  # the link was not replaced either


def _fifo(root: Path) -> Path:
    fifo = root / "pipe"
    os.mkfifo(fifo)
    return fifo


def _finishes(operation: Callable[[], object], seconds: float = 5.0) -> BaseException | None:
    """Run ``operation`` in a daemon thread; fail if it is still blocked after ``seconds``."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            operation()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the operation blocked"
    return outcome[0]


@pytest.mark.parametrize("reader", [False, True])
def test_fifos_are_refused_at_once_without_leaving_a_thread_behind(
    space: Workspace, root: Path, reader: bool
) -> None:
    fifo = _fifo(root)
    # with a reader on the other end, opening for writing succeeds: the fstat check must refuse it
    held = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK) if reader else None
    try:
        for operation in (
            lambda: space.write_file("pipe", "x", append=True),
            lambda: space.write_file("pipe", "x"),
            lambda: space.read_file("pipe"),
        ):
            error = _finishes(operation)
            assert isinstance(error, PathRefused) and "FIFO" in error.message, error
        if held is not None:
            assert os.read(held, 10) == b""  # nothing was written into the pipe
    finally:
        if held is not None:
            os.close(held)
    assert "pipe (a FIFO; unusable)" in space.list_files()
    assert space.search_files("beta", glob="pipe") == "no lines containing 'beta' in 0 files"
    assert fifo.exists()  # a replace did not swap the FIFO for a file either


def test_a_fifo_swapped_in_after_the_check_is_refused_by_fstat(
    space: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race: lstat saw a regular file (or nothing); by open time a FIFO stands there.
    fifo = _fifo(root)
    monkeypatch.setattr(os.path, "lexists", lambda path: False)
    error = _finishes(lambda: space.write_file("pipe", "x", append=True))
    assert isinstance(error, PathRefused), error
    error = _finishes(lambda: space.read_file("pipe"))
    assert isinstance(error, PathRefused) and "is a FIFO, not a regular file" in error.message
    assert fifo.exists()


def test_symlink_loops_are_refused_and_listed_as_unusable(space: Workspace, root: Path) -> None:
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    for operation in (
        lambda: space.read_file("a"),
        lambda: space.read_file("a/inner.txt"),
        lambda: space.write_file("a", "x"),
        lambda: space.write_file("a/inner.txt", "x", append=True),
        lambda: space.list_files("b"),
        lambda: space.search_files("x", path="a"),
    ):
        with pytest.raises(PathRefused, match="loop of symbolic links"):
            operation()
    assert "a -> link that cannot be followed (a loop; unusable)" in space.list_files()
    assert space.search_files("beta") == "docs/a.txt:2: Beta line\nnotes.md:2: beta again"


@pytest.mark.parametrize("path", ["x" * 300, "d/" * 3000 + "x.txt", "docs/" + "y" * 5000])
def test_names_too_long_are_refused(space: Workspace, path: str) -> None:
    for operation in (
        lambda: space.read_file(path),
        lambda: space.write_file(path, "x"),
        lambda: space.write_file(path, "x", append=True),
        lambda: space.list_files(path),
        lambda: space.search_files("x", path=path),
    ):
        with pytest.raises(PathRefused, match="is too long") as refused:
            operation()
        assert len(refused.value.message) < 400  # the path is cut in the message


PATH_PARTS = st.sampled_from(
    ["a", "b", "docs", "pipe", "hard.txt", "loop", "out", "..", ".", "", "x" * 256, "\x00", "notes.md", "up"]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(parts=st.lists(PATH_PARTS, max_size=6), absolute=st.booleans(), append=st.booleans())
def test_any_path_gives_a_result_or_path_refused_and_nothing_outside_changes(
    tmp_path: Path, parts: list[str], absolute: bool, append: bool
) -> None:
    root = tmp_path / "space"
    outside = tmp_path / "outside.txt"
    if not root.exists():
        (root / "docs").mkdir(parents=True)
        (root / "notes.md").write_text("beta\n")
        outside.write_text("original\n")
        os.link(outside, root / "hard.txt")
        (root / "loop").symlink_to(root / "loop")
        (root / "up").symlink_to(tmp_path)
        os.mkfifo(root / "pipe")
    space = Workspace(root)
    path = ("/" if absolute else "") + "/".join(parts)
    for operation in (
        lambda: space.read_file(path),
        lambda: space.list_files(path, recursive=True),
        lambda: space.search_files("beta", path=path),
        lambda: space.write_file(path, "new\n", append=append),
    ):
        error = _finishes(operation)
        assert error is None or isinstance(error, PathRefused), repr(error)
    assert outside.read_text() == "original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.txt", "space"]
