"""Trying a GGUF file on llama.cpp in a child process before this process loads it.

llama.cpp is native code: a file it mishandles, or a build that uses CPU instructions the machine
lists but does not execute (a VM that advertises AMX and faults on ``tileloadd``), ends the whole
interpreter with SIGABRT, SIGSEGV or SIGILL, with no Python exception to catch. So the first time a
file meets a given llama-cpp-python build, a child process loads it and runs a prompt of about a
hundred tokens (enough for the batched matrix kernels) and one decode step. A child that succeeds
leaves a verdict in the cache, keyed by the file (path, size, modification time) and the build (its
native library's path, size and time), and later loads skip the check. A child that fails becomes a
:class:`ConfigurationError` that names the file, what happened and what to do; the parent never
touched the file.

The child runs :mod:`.check_child`: exit status 0 when the file works, :data:`REFUSED` when llama.cpp
declined it with an error (its log, on stderr, says why).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from agentkit.backends.llamacpp.errors import llama_reason, refusal_message
from agentkit.backends.local.files import cache_root
from agentkit.errors import ConfigurationError

REFUSED = 3
"""The child's exit status when llama.cpp returned an error instead of a model."""
_CHILD = "import sys; from agentkit.backends.llamacpp.check_child import main; sys.exit(main(sys.argv[1]))"
MESSAGE = "agentkit-refusal: "
"""Marks the child's own explanation of a refusal on its stderr."""
TIMEOUT = 600.0
"""Seconds the check may take (a large model on a slow disk loads slowly)."""
PROMPT = (
    "A careful check of a language model file: the quick brown fox jumps over the lazy dog, "
    "and then the model reads this sentence again and again, "
)
PROMPT_TOKENS = 100
_REBUILD = (
    "CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF' pip install --force-reinstall "
    "--no-cache-dir --no-binary llama-cpp-python llama-cpp-python"
)


def _library_stamp() -> str:
    """The installed llama.cpp build: its native libraries' paths, sizes and modification times."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return "none"
    folder = Path(spec.origin).parent
    parts = []
    for library in sorted((folder / "lib").glob("*")) or [Path(spec.origin)]:
        stat = library.stat()
        parts.append(f"{library}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def verdict_path(model: Path) -> Path:
    """Where the verdict for ``model`` on the installed build is kept."""
    stat = model.stat()
    key = f"{model.resolve()}\x00{stat.st_size}\x00{stat.st_mtime_ns}\x00{_library_stamp()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_root() / "llama-checked" / f"{model.stem}-{digest}.json"


def is_checked(model: Path) -> bool:
    return verdict_path(model).is_file()


def _record(model: Path) -> None:
    target = verdict_path(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    staging.write_text(json.dumps({"file": str(model), "ok": True}))
    os.replace(staging, target)


def explain_failure(model: Path, returncode: int, log: str) -> str:
    """What a failed check means for the user, from the child's exit status and llama.cpp's log."""
    if returncode == REFUSED:
        for line in reversed(log.splitlines()):
            if line.startswith(MESSAGE):
                return line[len(MESSAGE) :]
        return refusal_message(model, log)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if name == "SIGILL":
            return (
                f"llama.cpp crashed with an illegal instruction (SIGILL) running {model}: the installed "
                "llama-cpp-python was built for CPU instructions this machine does not execute (a VM "
                "that lists AMX or AVX-512 but faults on them is a known case). Rebuild it for this "
                f"CPU without them: {_REBUILD}"
            )
        if name == "SIGKILL":
            return (
                f"llama.cpp was killed (SIGKILL) loading {model}, most likely for lack of memory; "
                "free memory or use a smaller model"
            )
        return (
            f"llama.cpp crashed ({name}) loading {model}: the file is damaged or uses a format this "
            f"llama-cpp-python does not handle ({llama_reason(log)})"
        )
    return f"checking {model} with llama.cpp failed (exit status {returncode}): {llama_reason(log)}"


def ensure_checked(model: Path, *, timeout: float = TIMEOUT) -> bool:
    """Check ``model`` in a child process unless a verdict says it was; ``True`` when it ran the
    check now. Raises :class:`ConfigurationError` when the file or the build does not work."""
    if is_checked(model):
        return False
    command = [sys.executable, "-c", _CHILD, str(model)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ConfigurationError(
            f"checking {model} with llama.cpp took more than {timeout:.0f} s; is the disk or machine "
            "overloaded?"
        ) from None
    if done.returncode != 0:
        raise ConfigurationError(explain_failure(model, done.returncode, done.stderr))
    _record(model)
    return True
