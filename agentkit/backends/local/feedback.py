"""Load feedback: a local model that takes more than about a second to load says so.

A first ``Agent("local").run`` may convert a GGUF for tens of seconds before the first token; without a
word that looks like a hang. After :data:`DELAY` seconds a load logs what it is doing on the
``agentkit.local`` logger (and again when done, with the time it took) and, when stderr is a terminal,
draws a progress bar there: a real fraction where the engine reports one (transformers converting a
GGUF tensor by tensor), an elapsed-time bar otherwise. Loads faster than that stay silent. The CLI,
which draws its own spinner, turns the bar off with :func:`quiet_progress`; the log lines remain.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TextIO

logger = logging.getLogger("agentkit.local")

DELAY = 1.0
"""Seconds a load may take before it says so."""
REFRESH = 0.1
"""Seconds between redraws of the bar."""
BAR_WIDTH = 24

_quiet: ContextVar[bool] = ContextVar("agentkit_quiet_load_progress", default=False)


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """No progress bar for loads started inside (the log lines remain). Worker threads started with
    ``asyncio.to_thread`` inherit it."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


class LoadProgress:
    """What a loading engine reports: the stage it is in and, when it knows, how far along it is."""

    def __init__(self, what: str, stream: TextIO | None, delay: float) -> None:
        self.what = what
        self.stage = "loading"
        self.fraction: float | None = None
        self.announced = False
        self._stream = stream
        self._delay = delay
        self._started = time.monotonic()
        self._done = threading.Event()
        self._drawn = 0
        self._thread = threading.Thread(target=self._watch, name="agentkit-load-feedback", daemon=True)

    def update(self, fraction: float | None = None, stage: str | None = None) -> None:
        """Report progress (``fraction`` in 0..1) and, optionally, a new stage ("converting", ...)."""
        if stage is not None:
            self.stage = stage
        self.fraction = None if fraction is None else min(max(fraction, 0.0), 1.0)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _watch(self) -> None:
        if self._done.wait(self._delay):
            return
        self.announced = True
        logger.info("%s %s (this takes a while the first time)", self.stage, self.what)
        while self._stream is not None and not self._done.is_set():
            self._draw()
            self._done.wait(REFRESH)

    def _draw(self) -> None:
        assert self._stream is not None
        elapsed = self.elapsed
        if self.fraction is None:
            at = int(elapsed / REFRESH) % (2 * BAR_WIDTH - 2)
            at = at if at < BAR_WIDTH else 2 * BAR_WIDTH - 2 - at
            bar = " " * at + "=" + " " * (BAR_WIDTH - 1 - at)
            line = f"{self.stage} {self.what} [{bar}] {elapsed:.0f} s"
        else:
            filled = int(self.fraction * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            line = f"{self.stage} {self.what} [{bar}] {self.fraction:4.0%} {elapsed:.0f} s"
        padding = " " * max(self._drawn - len(line), 0)
        self._write("\r" + line + padding)
        self._drawn = len(line)

    def _write(self, text: str) -> None:
        assert self._stream is not None
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken terminal must not break the load
            self._stream = None

    def _finish(self, failed: bool) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._drawn and self._stream is not None:
            self._write("\r" + " " * self._drawn + "\r")
        if self.announced:
            if failed:
                logger.info("loading %s failed after %.1f s", self.what, self.elapsed)
            else:
                logger.info("loaded %s in %.1f s", self.what, self.elapsed)


def _terminal(stream: TextIO | None) -> TextIO | None:
    if stream is None or _quiet.get():
        return None
    try:
        return stream if stream.isatty() else None
    except (AttributeError, ValueError):
        return None


@contextlib.contextmanager
def load_feedback(
    what: str, *, stream: TextIO | None = None, delay: float | None = None
) -> Iterator[LoadProgress]:
    """Around a load: silent if it ends within ``delay`` seconds (default :data:`DELAY`), else a log
    line and, on a terminal (``stream``, default stderr), a progress bar until it ends."""
    progress = LoadProgress(
        what, _terminal(sys.stderr if stream is None else stream), DELAY if delay is None else delay
    )
    progress._thread.start()
    failed = True
    try:
        yield progress
        failed = False
    finally:
        progress._finish(failed)
