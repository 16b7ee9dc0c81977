"""File tools confined to one root directory: ``read_file``, ``write_file``, ``list_files``,
``search_files``.

Every path the model gives is resolved against the root (symbolic links followed) and refused if the
result lies outside it: ``..`` escapes, absolute paths elsewhere and links that point outside all get
a message saying which. Anything else the system refuses (a loop of links, a name too long, no
permission) is a :class:`PathRefused` too, never a bare ``OSError``.

Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` on the open descriptor,
so a link or a FIFO swapped in for the final component after the path check is neither followed nor
waited on: only regular files are read or written. A file with several hard links may be the same
file as one outside the root (a hard link is not a pointer the path check can see): it is read like
any file in the root, since whoever made the link could read the file, but never written, so nothing
outside changes. Limit: a directory *inside* the path replaced by a link between check and open (a
race by another local process) is not detected; the root should not be writable by untrusted
processes.

Reads are bounded (``max_read_chars`` per call, paged by line; files over ``max_file_bytes`` and
binary files are refused). Writes are bounded (``max_write_bytes``), atomic (temporary file plus
rename, so a failed write never leaves half a file) and need approval by default.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agentkit.errors import ConfigurationError, ModelRetry
from agentkit.tool import Tool


class PathRefused(ModelRetry):
    """A path that escapes the root, or cannot be used as asked."""


_OS_REASONS = {
    errno.ELOOP: "goes through a loop of symbolic links (or a link appeared while it was opened)",
    errno.ENAMETOOLONG: "is too long: a name in it, or the whole path, is over the system's limit",
    errno.EACCES: "cannot be used: permission denied",
    errno.EPERM: "cannot be used: operation not permitted",
    errno.ENOENT: "does not exist",
    errno.ENOTDIR: "uses a file as if it were a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENXIO: "is not a regular file (a FIFO, socket or device)",
    errno.ENOSPC: "cannot be written: no space left on the device",
    errno.EROFS: "cannot be written: the file system is read-only",
}


@contextlib.contextmanager
def _refusing_os_errors(path: str) -> Iterator[None]:
    """Turn what the system refuses about the model's ``path`` into :class:`PathRefused`."""
    shown = path if len(path) <= 200 else f"{path[:200]}... ({len(path)} characters)"
    try:
        yield
    except OSError as exc:
        reason = _OS_REASONS.get(exc.errno or 0) or f"cannot be used: {exc.strerror or exc}"
        raise PathRefused(f"{shown!r} {reason}") from exc
    except RuntimeError as exc:  # Python 3.11's Path.resolve() reports a loop of links this way
        if "loop" not in str(exc).lower():
            raise
        raise PathRefused(f"{shown!r} {_OS_REASONS[errno.ELOOP]}") from exc


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


@dataclass(frozen=True)
class FileLimits:
    """Bounds of the file tools."""

    max_read_chars: int = 20_000
    max_file_bytes: int = 10_000_000
    max_write_bytes: int = 1_000_000
    max_entries: int = 500
    max_matches: int = 100
    max_search_files: int = 10_000


class Workspace:
    """One root directory and the four operations on it; the tools are its bound methods."""

    def __init__(self, root: str | os.PathLike[str], limits: FileLimits | None = None) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise ConfigurationError(f"files root {str(path)!r} is not an existing directory")
        self.root = path.resolve()
        self.limits = limits or FileLimits()

    # --- paths -------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The absolute, link-free path for ``path``, or :class:`PathRefused` saying why not."""
        if "\x00" in path:
            raise PathRefused("the path contains a NUL character")
        given = Path(path.strip() or ".")
        candidate = given if given.is_absolute() else self.root / given
        lexical = Path(os.path.normpath(candidate))
        if not lexical.is_relative_to(self.root):
            how = "is an absolute path" if given.is_absolute() else "uses '..' to leave"
            raise PathRefused(
                f"{path!r} {how} outside the workspace; use a path relative to the workspace root"
            )
        with _refusing_os_errors(path):
            resolved = candidate.resolve()
        if not resolved.is_relative_to(self.root):
            raise PathRefused(f"{path!r} goes through a symbolic link that points outside the workspace")
        return resolved

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    # --- operations --------------------------------------------------------------------------

    def read_file(self, path: str, start_line: int = 1) -> str:
        """Read a text file in the workspace.

        Long files come in pages: the reply ends with the start_line to ask for next.

        Args:
            path: The file's path relative to the workspace root, e.g. "notes/todo.txt".
            start_line: The first line to return (1 = the beginning of the file).
        """
        with _refusing_os_errors(path):
            target = self.resolve(path)
            if target.is_dir():
                raise PathRefused(f"{path!r} is not a file (it is a folder)")
            data = self._read_bytes(target, path)
        if b"\x00" in data[:8192]:
            raise PathRefused(f"{path!r} is a binary file, not text")
        return self._page(data, path, self.relative(target), start_line)

    def write_file(self, path: str, content: str, append: bool = False) -> str:
        """Write a text file in the workspace, creating folders as needed.

        Args:
            path: The file's path relative to the workspace root, e.g. "out/report.md".
            content: The full text to write (UTF-8).
            append: Add to the end of the file instead of replacing it.
        """
        data = content.encode("utf-8")
        if len(data) > self.limits.max_write_bytes:
            raise PathRefused(
                f"the content has {len(data)} bytes, more than the "
                f"{self.limits.max_write_bytes} allowed per write"
            )
        with _refusing_os_errors(path):
            target = self.resolve(path)
            if target == self.root or target.is_dir():
                raise PathRefused(f"{path!r} is a directory; give a file name")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.resolve(self.relative(target.parent))  # a folder created concurrently as a link
            if append:
                self._append(target, data, path)
            else:
                self._check_writable(os.lstat(target) if os.path.lexists(target) else None, path)
                self._replace(target, data)
        verb = "Appended" if append else "Wrote"
        return f"{verb} {len(content)} characters ({len(data)} bytes) to {self.relative(target)}"

    def list_files(self, path: str = ".", recursive: bool = False) -> str:
        """List the files and folders in a workspace folder (folders end with '/').

        Args:
            path: The folder relative to the workspace root ("." is the root itself).
            recursive: Also list everything inside sub-folders.
        """
        with _refusing_os_errors(path):
            folder = self.resolve(path)
            if not folder.is_dir():
                raise PathRefused(f"{path!r} is not a folder")
            lines: list[str] = []
            for entry in self._walk(folder, recursive):
                if len(lines) >= self.limits.max_entries:
                    lines.append(f"[stopped after {self.limits.max_entries} entries]")
                    break
                lines.append(self._describe(entry))
        return "\n".join(lines) if lines else f"{self.relative(folder)} is empty"

    def search_files(self, text: str, path: str = ".", glob: str = "*", case_sensitive: bool = False) -> str:
        """Find lines containing some text in the workspace's text files.

        Returns one "file:line: text" row per match.

        Args:
            text: The text to look for (plain text, not a regular expression).
            path: The folder to search, relative to the workspace root.
            glob: Only search files whose name matches this pattern, e.g. "*.py".
            case_sensitive: Match upper and lower case exactly.
        """
        if not text:
            raise PathRefused("give some text to search for")
        with _refusing_os_errors(path):
            folder = self.resolve(path)
            if not folder.is_dir():
                raise PathRefused(f"{path!r} is not a folder")
            return self._search(folder, text, glob, case_sensitive)

    # --- helpers -----------------------------------------------------------------------------

    def _page(self, data: bytes, path: str, name: str, start_line: int) -> str:
        """One page of the file's lines from ``start_line``, with the next start_line if cut."""
        lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
        if not lines:
            return f"({name} is empty)"
        if not 1 <= start_line <= len(lines):
            raise PathRefused(f"start_line must be between 1 and {max(len(lines), 1)} for {path!r}")
        shown: list[str] = []
        used = 0
        index = start_line - 1
        while index < len(lines) and used + len(lines[index]) <= self.limits.max_read_chars:
            shown.append(lines[index])
            used += len(lines[index])
            index += 1
        if not shown and index < len(lines):  # one line longer than the whole budget
            shown.append(lines[index][: self.limits.max_read_chars] + "\n")
            index += 1
        text = "".join(shown)
        if index < len(lines):
            text += (
                f"\n[showing lines {start_line}-{index} of {len(lines)}; "
                f"call read_file with start_line={index + 1} for more]"
            )
        return text

    def _search(self, folder: Path, text: str, glob: str, case_sensitive: bool) -> str:
        needle = text if case_sensitive else text.lower()
        matches: list[str] = []
        searched = 0
        for entry in self._walk(folder, recursive=True):
            if not fnmatch.fnmatch(entry.name, glob) or not self._searchable(entry):
                continue
            if searched >= self.limits.max_search_files:
                matches.append(f"[stopped after searching {searched} files; narrow path or glob]")
                break
            searched += 1
            try:
                data = self._read_bytes(entry.resolve(), self.relative(entry))
            except (PathRefused, OSError):  # changed since it was listed: skip it like a binary file
                continue
            if b"\x00" in data[:8192]:
                continue
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
                if needle in (line if case_sensitive else line.lower()):
                    if len(matches) >= self.limits.max_matches:
                        matches.append(f"[stopped after {self.limits.max_matches} matches]")
                        return "\n".join(matches)
                    matches.append(f"{self.relative(entry)}:{number}: {line.strip()[:200]}")
        return "\n".join(matches) if matches else f"no lines containing {text!r} in {searched} files"

    def _walk(self, folder: Path, recursive: bool) -> Iterator[Path]:
        """Entries in name order; links are listed but never descended into."""
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            yield entry
            if recursive and entry.is_dir() and not entry.is_symlink():
                yield from self._walk(entry, recursive)

    def _link_target(self, link: Path) -> Path | None:
        """Where ``link`` leads, or None if it cannot be followed (a loop, a name too long)."""
        try:
            return link.resolve()
        except (OSError, RuntimeError):
            return None

    def _describe(self, entry: Path) -> str:
        name = entry.relative_to(self.root).as_posix()
        if entry.is_symlink():
            target = self._link_target(entry)
            if target is None:
                return f"{name} -> link that cannot be followed (a loop; unusable)"
            inside = target.is_relative_to(self.root)
            return f"{name} -> {'link' if inside else 'link to outside the workspace (unusable)'}"
        info = entry.lstat()
        if stat.S_ISDIR(info.st_mode):
            return name + "/"
        if not stat.S_ISREG(info.st_mode):
            return f"{name} ({_kind(info.st_mode)}; unusable)"
        if info.st_nlink > 1:
            return f"{name} ({info.st_size} bytes; {info.st_nlink} hard links, so read-only here)"
        return f"{name} ({info.st_size} bytes)"

    def _searchable(self, entry: Path) -> bool:
        if entry.is_symlink():
            target = self._link_target(entry)
            if target is None or not target.is_relative_to(self.root):
                return False
        return entry.is_file() and entry.stat().st_size <= self.limits.max_file_bytes

    def _open_regular(self, target: Path, flags: int, path: str) -> tuple[int, os.stat_result]:
        """Open ``target`` without following a final link or waiting on a FIFO, and only if the
        descriptor is a regular file (checked with ``fstat`` on it: nothing can be swapped in after).
        """
        if os.path.lexists(target):  # refuse devices and FIFOs before opening them at all
            kind = os.lstat(target).st_mode
            if not stat.S_ISREG(kind) and not stat.S_ISLNK(kind):
                raise PathRefused(f"{path!r} is {_kind(kind)}, not a regular file")
        fd = os.open(target, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise PathRefused(f"{path!r} is {_kind(info.st_mode)}, not a regular file")
        except BaseException:
            os.close(fd)
            raise
        return fd, info

    def _read_bytes(self, target: Path, path: str) -> bytes:
        fd, info = self._open_regular(target, os.O_RDONLY, path)
        with os.fdopen(fd, "rb") as handle:
            if info.st_size > self.limits.max_file_bytes:
                raise PathRefused(
                    f"{path!r} has {info.st_size} bytes, more than the {self.limits.max_file_bytes} allowed"
                )
            return handle.read(self.limits.max_file_bytes + 1)

    def _check_writable(self, info: os.stat_result | None, path: str) -> None:
        """Writes go to regular files with one link only: another link may lie outside the root."""
        if info is None:
            return
        if not stat.S_ISREG(info.st_mode):
            raise PathRefused(f"{path!r} is {_kind(info.st_mode)}, not a regular file; it is not written")
        if info.st_nlink > 1:
            raise PathRefused(
                f"{path!r} has {info.st_nlink} hard links, so it may be the same file as one outside "
                "the workspace; it is not written (write to a new file name instead)"
            )

    def _append(self, target: Path, data: bytes, path: str) -> None:
        fd, info = self._open_regular(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, path)
        with os.fdopen(fd, "wb") as handle:
            self._check_writable(info, path)
            if info.st_size + len(data) > self.limits.max_file_bytes:
                raise PathRefused(
                    f"appending would make {path!r} larger than {self.limits.max_file_bytes} bytes"
                )
            handle.write(data)

    @staticmethod
    def _replace(target: Path, data: bytes) -> None:
        """Write a new file beside ``target`` and rename it over: never half a file, and never a
        write through the old file's inode (a hard link that slipped past the check stays intact)."""
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def files_tools(
    root: str | os.PathLike[str],
    *,
    limits: FileLimits | None = None,
    read_only: bool = False,
    write_requires_approval: bool = True,
) -> list[Tool]:
    """The file tools for one root directory.

    Args:
        root: the directory the tools may use; nothing outside it can be read or written.
        limits: size and count bounds.
        read_only: leave out ``write_file``.
        write_requires_approval: ask the agent's approval callback before each write (default yes).
    """
    space = Workspace(root, limits)
    tools = [
        Tool.from_function(space.read_file),
        Tool.from_function(space.list_files),
        Tool.from_function(space.search_files),
    ]
    if not read_only:
        tools.append(Tool.from_function(space.write_file, requires_approval=write_requires_approval))
    return tools
