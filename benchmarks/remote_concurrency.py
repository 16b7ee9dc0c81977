"""Many agent runs at once against an OpenAI-compatible server that answers each request after 50 ms.

Compares the wall time of N concurrent runs (one event loop, one Agent, one OpenAIBackend) with the
ideal: requests x 50 ms / concurrency, i.e. what a client with zero overhead would take. A ratio near 1
means the client adds little beyond the server's latency; the target is within 1.5x.

The server (tests/integration/fake_openai_server.py) runs in its own process, so its work does not
share this process's GIL. Rows:

- ``floor: raw sockets``: the same requests written by hand over asyncio streams, one keep-alive
  connection per run: what this machine and this server allow at all, with no HTTP library;
- ``sdk only``: the same number of bare ``chat.completions.create`` calls (the SDK's own cost);
- ``agent, 1 step``: runs that get a text answer at once (1 request each);
- ``agent, 2 steps``: runs that call a tool, then answer (2 requests each, the second carries the
  tool result);
- ``agent, 1 step, httpx``: as ``agent, 1 step`` with httpx instead of aiohttp under the SDK.

Each row is run ``--repeat`` times after one warm-up (which opens the connections); the median is shown.
Usage: python benchmarks/remote_concurrency.py [--runs 200] [--delay 0.05] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentkit import Agent, tool  # noqa: E402
from agentkit.backends.openai import OpenAIBackend  # noqa: E402


@tool
def lookup(x: int) -> int:
    """Return x plus one."""
    return x + 1


def start_server(delay: float) -> tuple[subprocess.Popen[str], str]:
    script = ROOT / "tests" / "integration" / "fake_openai_server.py"
    process = subprocess.Popen(
        [sys.executable, str(script), "--delay", str(delay), "--tool", "lookup"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def request_count(base_url: str) -> int:
    import json
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base_url}/stats", timeout=10) as response:
        return int(json.load(response)["chat_requests"])


async def timed(make: Callable[[], Awaitable[object]], runs: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(make() for _ in range(runs)))
    return time.perf_counter() - started


async def raw_floor(base_url: str, runs: int) -> Callable[[], Awaitable[object]]:
    """One hand-written keep-alive HTTP/1.1 connection per concurrent run."""
    import json

    host, port = base_url.split("//")[1].split("/")[0].split(":")
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]}).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n\r\n"
    request = head.encode() + body
    idle = [await asyncio.open_connection(host, int(port)) for _ in range(runs)]

    async def one() -> object:
        reader, writer = idle.pop()
        writer.write(request)
        header = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        data = await reader.readexactly(length)
        idle.append((reader, writer))
        return data

    return one


async def measure(base_url: str, runs: int, delay: float, repeat: int) -> list[tuple[str, int, float, float]]:
    backend = OpenAIBackend("bench", base_url=base_url, timeout=30)  # aiohttp under the SDK
    plain = Agent(model=backend)
    with_tool = Agent(model=backend, tools=[lookup])
    plain_httpx = Agent(model=OpenAIBackend("bench", base_url=base_url, timeout=30, http_transport="httpx"))
    client = await backend._client()

    async def sdk_call() -> object:
        return await client.chat.completions.create(
            model="bench", messages=[{"role": "user", "content": "hi"}]
        )

    rows = []
    cases: list[tuple[str, int, Callable[[], Awaitable[object]]]] = [
        ("floor: raw sockets", 1, await raw_floor(base_url, runs)),
        ("sdk only", 1, sdk_call),
        ("agent, 1 step", 1, lambda: plain.arun("hi")),
        ("agent, 2 steps", 2, lambda: with_tool.arun("hi")),
        ("agent, 1 step, httpx", 1, lambda: plain_httpx.arun("hi")),
    ]
    for name, requests_per_run, make in cases:
        await timed(make, runs)  # warm-up: connections opened, caches filled
        before = request_count(base_url)
        walls = [await timed(make, runs) for _ in range(repeat)]
        sent = request_count(base_url) - before
        if sent != repeat * runs * requests_per_run:
            raise SystemExit(
                f"{name}: expected {repeat * runs * requests_per_run} requests, the server got {sent}"
            )
        wall = statistics.median(walls)
        ideal = runs * requests_per_run * delay / runs  # requests x delay / concurrency
        rows.append((name, runs * requests_per_run, wall, ideal))
    await backend.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="concurrent agent runs")
    parser.add_argument("--delay", type=float, default=0.05, help="server latency per request (s)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    process, base_url = start_server(args.delay)
    try:
        rows = asyncio.run(measure(base_url, args.runs, args.delay, args.repeat))
    finally:
        process.kill()
        process.wait()
    print(f"{args.runs} concurrent runs, server latency {args.delay * 1000:.0f} ms, median of {args.repeat}")
    print(f"{'case':<22} {'requests':>8} {'wall s':>8} {'ideal s':>8} {'ratio':>6} {'target':>7}")
    for name, requests, wall, ideal in rows:
        ratio = wall / ideal
        verdict = "ok" if ratio <= 1.5 else "MISSED"
        print(f"{name:<22} {requests:>8} {wall:>8.3f} {ideal:>8.3f} {ratio:>6.2f} {verdict:>7}")


if __name__ == "__main__":
    main()
