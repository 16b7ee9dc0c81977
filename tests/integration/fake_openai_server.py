"""An OpenAI-compatible chat-completions server of the tests' own, on 127.0.0.1, with fault injection.

Real HTTP/1.1 over real sockets (asyncio streams, keep-alive, chunked SSE streaming), so the client
under test goes through its whole network stack. Each request takes the next scripted action:

- ``Reply``: a status, JSON (or raw bytes) body, headers, after an optional delay;
- ``Stream``: SSE chunks, optionally dropping the connection after some of them;
- when the script is used up, ``default`` (a plain text completion unless changed).

Every request is recorded with its arrival time, so tests assert attempts and the waits between them.
Run as a script (``python fake_openai_server.py --delay 0.05``) it serves the default reply after a
fixed delay, for benchmarks, and prints its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Stream:
    chunks: list[dict[str, Any]]
    drop_after: int | None = None  # close the socket abruptly after this many chunks
    delay: float = 0.0  # before each chunk
    done: bool = True  # send "data: [DONE]"


@dataclass
class Drop:
    """Close the connection without a reply (after ``delay``)."""

    delay: float = 0.0


@dataclass
class Recorded:
    time: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    peer_port: int


Action = Reply | Stream | Drop
Handler = Callable[[dict[str, Any], int], Action]


def completion(content: str | None = "ok", tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A chat-completions response body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def error(status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Reply:
    """An error reply in the OpenAI error format."""
    return Reply(status=status, body={"error": {"message": message, "type": "x"}}, headers=headers or {})


def tool_call(call_id: str, name: str, arguments: str | dict[str, Any]) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def chunk(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    """One chat-completions stream chunk."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def text_stream(text: str, *, pieces: int = 4, usage: bool = True) -> list[dict[str, Any]]:
    """Chunks that stream ``text`` in ``pieces`` parts, then finish (and report usage)."""
    size = max(1, -(-len(text) // pieces))
    out = [chunk(text[i : i + size]) for i in range(0, len(text), size)]
    out.append(chunk(finish="stop"))
    if usage:
        out.append(
            chunk(choices=False, usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
        )
    return out


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(
        self, script: list[Action] | Handler | None = None, *, default: Action | None = None
    ) -> None:
        self.script: list[Action] = [] if script is None or callable(script) else list(script)
        self.handler: Handler | None = script if callable(script) else None
        self.default = default or Reply(body=completion("ok"))
        self.requests: list[Recorded] = []
        self.disconnects = 0  # clients that closed a connection while a reply was being written
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def gaps(self) -> list[float]:
        """Seconds between consecutive chat requests (the client's waits plus request time)."""
        times = [r.time for r in self.chat_requests]
        return [b - a for a, b in itertools.pairwise(times)]

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def serve_forever(self, port: int = 0) -> None:
        """Serve on the current loop (for the script entry point)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        print(self.port, flush=True)
        async with self._server:
            await self._server.serve_forever()

    # -- HTTP --------------------------------------------------------------------------------

    def _next_action(self, body: dict[str, Any]) -> Action:
        index = len(self.chat_requests) - 1
        if self.handler is not None:
            return self.handler(body, index)
        if self.script:
            return self.script.pop(0)
        return self.default

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                body = json.loads(raw) if raw else None
                peer_port = writer.get_extra_info("peername")[1]
                self.requests.append(Recorded(time.monotonic(), path, headers, body, peer_port))
                if path.endswith("/stats"):  # how many chat requests arrived (for benchmarks' checks)
                    await self._write(writer, Reply(body={"chat_requests": len(self.chat_requests)}))
                    continue
                if not path.endswith("/chat/completions"):
                    await self._write(writer, Reply(status=404, body={"error": {"message": "not found"}}))
                    continue
                action = self._next_action(body or {})
                if isinstance(action, Drop):
                    await asyncio.sleep(action.delay)
                    writer.transport.abort()
                    return
                if isinstance(action, Stream):
                    if not await self._stream(writer, action):
                        return
                else:
                    await self._write(writer, action)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.disconnects += 1
        except asyncio.CancelledError:
            pass  # the server is shutting down
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _write(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply.body, bytes):
            payload, ctype = reply.body, "text/html"
        else:
            payload, ctype = json.dumps(reply.body or {}).encode(), "application/json"
        headers = {"Content-Type": ctype, "Content-Length": str(len(payload)), **reply.headers}
        writer.write(_head(reply.status, headers) + payload)
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, stream: Stream) -> bool:
        headers = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
        writer.write(_head(200, headers))
        for i, item in enumerate(stream.chunks):
            if stream.drop_after is not None and i >= stream.drop_after:
                writer.transport.abort()  # mid-stream: no terminating chunk, the socket just goes
                return False
            if stream.delay:
                await asyncio.sleep(stream.delay)
            writer.write(_chunked(f"data: {json.dumps(item)}\n\n".encode()))
            await writer.drain()
        if stream.done:
            writer.write(_chunked(b"data: [DONE]\n\n"))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@contextlib.contextmanager
def serving(script: list[Action] | Handler | None = None, **kwargs: Any) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(script, **kwargs) as server:
        yield server


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds before each reply")
    parser.add_argument(
        "--tool", help="first call this tool (argument x=1) in each conversation, then answer"
    )
    args = parser.parse_args()

    def handler(body: dict[str, Any], index: int) -> Action:
        called = any(m.get("role") == "tool" for m in body.get("messages", []))
        offered = any(t.get("function", {}).get("name") == args.tool for t in body.get("tools", []))
        if offered and not called:
            return Reply(
                body=completion(None, [tool_call(f"call_{index}", args.tool, {"x": 1})]), delay=args.delay
            )
        return Reply(body=completion("done"), delay=args.delay)

    server = FakeOpenAIServer(handler)
    asyncio.run(server.serve_forever(args.port))


if __name__ == "__main__":
    main()
