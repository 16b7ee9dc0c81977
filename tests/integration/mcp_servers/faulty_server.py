"""A deliberately faulty MCP stdio server, for faults the reference servers cannot produce on demand.

It speaks newline-delimited JSON-RPC by hand (no SDK), so it can write what a real SDK never would:

- ``--garbage-at-start``: a line of invalid UTF-8 before the ``initialize`` answer, and raw invalid
  bytes inside that answer's server name;
- ``--bad-schemas``: besides ``echo``, tools whose ``inputSchema`` is ``{}``, missing, or of type
  ``array`` (the MCP spec requires an object schema), and one without a name.

Tools: ``echo`` (returns its text), ``garbled`` (a result with raw invalid UTF-8 inside a JSON string),
``go_silent`` (stops reading and answering for good while the process lives on: to the client, a
connection whose reader is dead), ``pid``.

Run: ``python faulty_server.py [--garbage-at-start] [--bad-schemas]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

PROTOCOL_VERSION = "2025-06-18"
BAD_BYTES = b"\xff\xfe\xc3\x28"  # never valid UTF-8
MARK = "@BAD@"  # replaced by BAD_BYTES after JSON encoding

OBJECT = {"type": "object", "properties": {}}
TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
TOOLS: list[dict[str, Any]] = [
    {"name": "echo", "description": "Return the text.", "inputSchema": TEXT},
    {"name": "garbled", "description": "A result with invalid UTF-8 in it.", "inputSchema": OBJECT},
    {"name": "go_silent", "description": "Stop answering.", "inputSchema": OBJECT},
    {"name": "pid", "description": "The server's process id.", "inputSchema": OBJECT},
]
BAD_TOOLS: list[dict[str, Any]] = [
    {"name": "empty_schema", "description": "inputSchema is {}.", "inputSchema": {}},
    {"name": "no_schema", "description": "inputSchema is missing."},
    {"name": "array_schema", "inputSchema": {"type": "array", "items": {"type": "string"}}},
    {"description": "A tool without a name.", "inputSchema": OBJECT},
]


def send(message: dict[str, Any]) -> None:
    data = json.dumps(message).encode().replace(MARK.encode(), BAD_BYTES)
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def text_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


def answer(method: str, params: dict[str, Any], options: set[str]) -> dict[str, Any] | None:
    if method == "initialize":
        garbage = "--garbage-at-start" in options
        if garbage:
            sys.stdout.buffer.write(b"starting " + BAD_BYTES + b" up\n")
            sys.stdout.buffer.flush()
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": f"faulty{MARK if garbage else ''}", "version": "1.0"},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS + (BAD_TOOLS if "--bad-schemas" in options else [])}
    if method == "tools/call":
        name = params.get("name")
        arguments = params.get("arguments") or {}
        if name == "echo":
            return text_result(str(arguments.get("text", "")))
        if name == "garbled":
            return text_result(f"caf{MARK} ok")
        if name == "pid":
            return text_result(str(os.getpid()))
        if name == "go_silent":
            time.sleep(3600)
    return None


def main() -> None:
    options = set(sys.argv[1:])
    for line in sys.stdin.buffer:
        message = json.loads(line)
        if "id" not in message:
            continue  # a notification
        result = answer(message.get("method", ""), message.get("params") or {}, options)
        if result is None:
            error = {"code": -32601, "message": f"unknown: {message.get('method')}"}
            send({"jsonrpc": "2.0", "id": message["id"], "error": error})
        else:
            send({"jsonrpc": "2.0", "id": message["id"], "result": result})


if __name__ == "__main__":
    main()
