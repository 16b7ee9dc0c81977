"""llama.cpp's own OpenAI-compatible server (``python -m llama_cpp.server``) on a GGUF file: started on
a free port, waited for, and always stopped. The peer column of ``benchmarks/local.py`` runs it with
agentkit's threads and context length; the OpenAI backend's tests run it against the embedded model."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server(
    model: Path,
    *,
    n_ctx: int,
    log: Path,
    threads: int | None = None,
    extra: Sequence[str] = (),
    ready_within: float = 300.0,
) -> Iterator[str]:
    """The server's base URL (``http://127.0.0.1:PORT/v1``) while it runs; its output goes to ``log``
    (a file, not a pipe: a full pipe would stall the server). ``extra``: more server arguments."""
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    if threads is not None:
        command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    command += list(extra)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}/v1"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        try:
            deadline = time.monotonic() + ready_within
            while True:
                if process.poll() is not None:
                    output = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: {output}")
                try:
                    with opener.open(f"{base_url}/models", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not become ready within {ready_within:.0f} s")
                time.sleep(0.5)
            yield base_url
        finally:
            process.kill()
            process.wait(timeout=30)
