"""What this machine offers a llama.cpp model: CPU threads and free memory.

Threads: llama.cpp's decode is memory-bound and its worker threads spin at barriers, so more threads
than physical cores (or than the CPU quota of a container) make it slower, not faster. Prompt
processing (prefill) is compute-bound and may use every usable core. Memory: the KV cache is allocated
(and zeroed) whole when the model loads, so a context window too big for the free memory must be
refused before llama.cpp touches it, or the kernel's OOM killer ends the process.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentkit.errors import ConfigurationError

THREADS_VARIABLE = "AGENTKIT_LLAMA_THREADS"
MAX_DECODE_THREADS = 8
"""Beyond this, decode of the models agentkit targets stops getting faster."""


def _cgroup_cpus() -> float | None:
    """The CPU quota of this cgroup (v2 ``cpu.max``), in cores, or ``None`` when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(int(quota) / int(period), 1.0)
    except (ValueError, ZeroDivisionError):
        return None


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None:
        cores = min(cores, int(quota))
    return max(cores, 1)


def _threads_per_core() -> int:
    """Hardware threads per physical core (2 with SMT/hyper-threading), from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 1
    fields: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("siblings", "cpu cores") and key not in fields:
            try:
                fields[key] = int(value)
            except ValueError:
                return 1
    if fields.get("siblings") and fields.get("cpu cores"):
        return max(fields["siblings"] // fields["cpu cores"], 1)
    return 1


def idle_cores(cores: int) -> float:
    """Usable cores other processes leave free: ``cores`` less the 1-minute load average (all of
    them where the load average cannot be read)."""
    try:
        return cores - os.getloadavg()[0]
    except (AttributeError, OSError):
        return float(cores)


def default_threads() -> tuple[int, int]:
    """``(decode, prefill)`` threads: ``$AGENTKIT_LLAMA_THREADS`` for both when set; else the physical
    usable cores for decode (at most :data:`MAX_DECODE_THREADS`) and every usable core for prefill,
    each capped by the cores other processes leave idle (at least one). On a machine already busy,
    extra llama.cpp threads only wait for each other: with 2 cores under a load of 9, decode ran at
    1-4 tokens/s on 2 threads and at 10 on one."""
    explicit = os.environ.get(THREADS_VARIABLE)
    if explicit:
        try:
            value = int(explicit)
        except ValueError:
            raise ConfigurationError(f"${THREADS_VARIABLE} must be an integer, got {explicit!r}") from None
        if value < 1:
            raise ConfigurationError(f"${THREADS_VARIABLE} must be >= 1, got {value}")
        return value, value
    cores = usable_cores()
    idle = max(1, int(idle_cores(cores) + 0.5))
    decode = max(1, min(cores // _threads_per_core(), MAX_DECODE_THREADS, idle))
    return decode, max(1, min(cores, idle))


def available_memory() -> int | None:
    """Bytes this process can still allocate: ``MemAvailable``, capped by a cgroup v2 memory limit;
    ``None`` when neither is readable."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None
