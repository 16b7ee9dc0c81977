"""fetch_url against real HTTP(S) servers on 127.0.0.1: address policy, redirects, limits, text."""

from __future__ import annotations

import gzip
import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from agentkit import Agent, ToolMessage
from agentkit.errors import ModelRetry
from agentkit.testing import ScriptedBackend, call
from agentkit.tools import FetchLimits, fetch_url, fetch_url_tool
from agentkit.tools.fetch_url import AddressPolicy, Fetcher, FetchError, URLRefused

PAGE = b"""<!doctype html><html><head><title>T</title><style>body{color:red}</style></head>
<body><h1>Hello agents</h1><p>Read <a href="/plain">the plain page</a>.</p><img src="x.png" alt="pic">
<script>var hidden = 1;</script></body></html>"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        route = parts.path
        try:
            if route == "/page":
                self._send(200, PAGE, "text/html; charset=utf-8")
            elif route == "/plain":
                self._send(200, "plain text, caf\u00e9".encode("latin-1"), "text/plain; charset=latin-1")
            elif route == "/json":
                self._send(200, b'{"a": 1}', "application/json")
            elif route == "/binary":
                self._send(200, b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")
            elif route == "/missing":
                self._send(404, b"<h1>Nothing here</h1>", "text/html")
            elif route == "/gone":
                self._send(410, b"\x89PNG\r\n\x1a\n\x00", "image/png")
            elif route == "/host":
                self._send(200, self.headers["Host"].encode(), "text/plain")
            elif route == "/redirect":
                self._send(302, b"", "text/plain", Location=query["to"][0])
            elif route == "/loop":
                self._send(301, b"", "text/plain", Location="/loop")
            elif route == "/gzip":
                self._send(200, gzip.compress(b"<p>zipped words</p>"), "text/html", Content_Encoding="gzip")
            elif route == "/bomb":
                self._send(200, gzip.compress(b"0" * 50_000_000), "text/plain", Content_Encoding="gzip")
            elif route == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()  # no length: read until the server closes, which it never does early
                for _ in range(5000):
                    self.wfile.write(b"y" * 10_000 + b"\n")
            elif route == "/slow":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    self.wfile.write(b"s")
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self._send(404, b"unknown route", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass


def _serve(server: http.server.ThreadingHTTPServer) -> Iterator[str]:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """host:port of a plain HTTP server on 127.0.0.1."""
    yield from _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))


LOCAL_ONLY = ["127.0.0.1/32"]  # the test server's address, and nothing else private


def test_reads_html_as_readable_text(site: str) -> None:
    page = Fetcher(AddressPolicy(allow_networks=LOCAL_ONLY)).fetch(f"http://{site}/page")
    assert page.status == 200 and page.content_type == "text/html"
    assert "# Hello agents" in page.text
    assert "[the plain page](/plain)" in page.text
    assert "color:red" not in page.text and "hidden" not in page.text and "x.png" not in page.text


def test_text_types_pass_through_with_their_charset(site: str) -> None:
    fetcher = Fetcher(AddressPolicy(allow_networks=LOCAL_ONLY))
    assert fetcher.fetch(f"http://{site}/plain").text == "plain text, caf\u00e9"
    assert fetcher.fetch(f"http://{site}/json").text == '{"a": 1}'


def test_the_tool_renders_url_status_and_type(site: str) -> None:
    tool = fetch_url_tool(allow_networks=LOCAL_ONLY)
    assert tool(f"http://{site}/json#frag") == (
        f"URL: http://{site}/json\nStatus: 200\nContent-Type: application/json\n\n" + '{"a": 1}'
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8080/x", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/admin", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://100.64.0.1/", "non-public"),
        ("http://224.0.0.1/", "multicast"),
    ],
)
def test_non_public_addresses_are_refused_by_default(url: str, kind: str) -> None:
    with pytest.raises(URLRefused, match=f"is an? {kind}"):
        fetch_url(url)


def test_allow_private_opens_private_ranges_but_not_metadata(site: str) -> None:
    tool = fetch_url_tool(allow_private=True)
    assert "plain text" in tool(f"http://{site}/plain")
    with pytest.raises(URLRefused, match="cloud metadata"):
        tool("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(URLRefused, match="cloud metadata"):
        tool("http://[::ffff:169.254.169.254]/")


def test_host_names_are_checked_by_every_address_they_resolve_to() -> None:
    answers = {"intranet.example": ["10.1.2.3"], "mixed.example": ["93.184.216.34", "127.0.0.1"]}
    tool = fetch_url_tool(resolver=lambda host, port: answers[host])
    with pytest.raises(URLRefused, match=r"intranet.example \(resolves to 10.1.2.3\) is a private"):
        tool("http://intranet.example/")
    with pytest.raises(URLRefused, match=r"resolves to 127.0.0.1\) is a loopback"):
        tool("https://mixed.example/")


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "cloud metadata"),
        ("http://[::1]:{port}/page", "loopback"),
        ("http://127.0.0.2:{port}/page", "loopback"),
        ("http://internal.test/", "private"),
    ],
)
def test_redirects_are_rechecked_at_every_hop(site: str, target: str, kind: str) -> None:
    port = site.split(":")[1]
    resolver = {"internal.test": ["192.168.7.7"]}
    tool = fetch_url_tool(allow_networks=LOCAL_ONLY, resolver=lambda host, p: resolver[host])
    with pytest.raises(URLRefused, match=f"is an? {kind}.*redirected there from http://{site}/redirect"):
        tool(f"http://{site}/redirect?to={target.format(port=port)}")


def test_allowed_redirects_are_followed_and_recorded(site: str) -> None:
    fetcher = Fetcher(AddressPolicy(allow_networks=LOCAL_ONLY))
    page = fetcher.fetch(f"http://{site}/redirect?to=/plain")
    assert page.url == f"http://{site}/plain" and page.redirects == [f"http://{site}/redirect?to=/plain"]
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.fetch(f"http://{site}/loop")


def test_connects_to_the_checked_address_and_sends_the_host_name(site: str) -> None:
    """A second DNS answer (rebinding) cannot change where the request goes: it is resolved once."""
    port = site.split(":")[1]
    lookups: list[str] = []

    def rebinding_resolver(host: str, p: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.66.66.66"]

    tool = fetch_url_tool(allow_networks=LOCAL_ONLY, resolver=rebinding_resolver)
    assert tool(f"http://site.test:{port}/host").endswith(f"\n\nsite.test:{port}")
    assert lookups == ["site.test"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/x", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.com/page", "only http and https"),
        ("http:///nohost", "no host name"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://[::1/", "not a valid URL"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_malformed_and_non_http_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(URLRefused, match=reason):
        fetch_url(url)


def test_huge_responses_are_cut_at_the_byte_limit(site: str) -> None:
    limits = FetchLimits(max_bytes=100_000, max_chars=1000)
    fetcher = Fetcher(AddressPolicy(allow_networks=LOCAL_ONLY), limits)
    started = time.monotonic()
    page = fetcher.fetch(f"http://{site}/huge")
    assert time.monotonic() - started < 5
    assert page.truncated_bytes and len(page.text) == 100_000
    rendered = page.render(limits.max_chars)
    assert "only its beginning was read" in rendered
    assert "[page truncated: showing the first 1000 of 100000 characters]" in rendered


def test_compressed_responses_are_inflated_within_the_byte_limit(site: str) -> None:
    fetcher = Fetcher(AddressPolicy(allow_networks=LOCAL_ONLY), FetchLimits(max_bytes=100_000))
    assert fetcher.fetch(f"http://{site}/gzip").text == "zipped words"
    bomb = fetcher.fetch(f"http://{site}/bomb")  # 50 MB of zeros in about 50 kB of gzip
    assert bomb.truncated_bytes and bomb.text == "0" * 100_000


def test_slow_servers_hit_the_overall_deadline(site: str) -> None:
    fetcher = Fetcher(AddressPolicy(allow_networks=LOCAL_ONLY), FetchLimits(timeout=1.0))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out \(limit 1 s\)"):
        fetcher.fetch(f"http://{site}/slow")  # drips a byte every 0.1 s: no single read times out
    assert time.monotonic() - started < 3


def test_errors_statuses_and_binary_content_become_messages(site: str) -> None:
    tool = fetch_url_tool(allow_networks=LOCAL_ONLY)
    with pytest.raises(FetchError, match=r"HTTP 404 Not Found .*: # Nothing here"):
        tool(f"http://{site}/missing")
    with pytest.raises(FetchError, match=r"^HTTP 410 Gone from http://\S+/gone$"):
        tool(f"http://{site}/gone")  # a binary error page: the status alone
    with pytest.raises(FetchError, match="image/png, not text"):
        tool(f"http://{site}/binary")
    closed = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(FetchError, match="could not connect"):
        tool(f"http://127.0.0.1:{port}/")
    assert issubclass(FetchError, ModelRetry) and issubclass(URLRefused, ModelRetry)


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ssl.SSLContext]]:
    """An HTTPS server on 127.0.0.1 with a certificate for "site.test", and a client context trusting it."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=site.test",
         "-addext", "subjectAltName=DNS:site.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    client_context = ssl.create_default_context(cafile=str(cert))
    for address in _serve(server):
        yield address.split(":")[1], client_context


def test_https_verifies_the_certificate_for_the_host_name_not_the_address(
    tls_site: tuple[str, ssl.SSLContext],
) -> None:
    port, context = tls_site
    tool = fetch_url_tool(allow_networks=LOCAL_ONLY, tls_context=context, resolver=lambda h, p: ["127.0.0.1"])
    assert tool(f"https://site.test:{port}/host").endswith(f"\n\nsite.test:{port}")
    with pytest.raises(FetchError, match="TLS error"):
        tool(f"https://other.test:{port}/host")  # same address, but the certificate is not for this name


def test_agent_fetches_a_page_and_is_told_about_refusals(site: str) -> None:
    backend = ScriptedBackend(
        [
            call("fetch_url", url="http://169.254.169.254/latest/meta-data/"),
            call("fetch_url", url=f"http://{site}/page"),
            "The page says hello.",
        ]
    )
    result = Agent(model=backend, tools=[fetch_url_tool(allow_networks=LOCAL_ONLY)]).run("Read it")
    refused, page = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert refused.is_error and "cloud metadata endpoint" in refused.content
    assert not page.is_error and "# Hello agents" in page.content
    backend.assert_used_up()
