"""The ``fetch_url`` tool: read a web page as text, refusing addresses on private networks.

Why it is careful: a model can be talked (by a page it read, or a user) into requesting internal
addresses: a router's admin page, a database on localhost, or a cloud metadata service that hands
out credentials. So before each request, including every redirect hop (redirects are followed by
hand), the host is resolved and *every* address it resolves to is checked; loopback, private,
link-local, shared, reserved and multicast addresses are refused unless ``allow_private`` is set,
and cloud metadata endpoints are refused even then (list them in ``allow_networks`` to reach them).
IPv6 forms that carry an IPv4 address (mapped, translated, compatible, 6to4, NAT64, Teredo) are
judged by the address they carry: ``2002:7f00:1::`` is loopback.

DNS rebinding: the connection goes to the very address that was checked (the host name is still
sent in the ``Host`` header and for TLS certificate checks), so a second, different DNS answer
cannot slip in between check and connect. Proxies are never used.

Limits: one deadline covers all hops (``timeout``), at most ``max_bytes`` of body are read
(larger pages are cut, and the reply says so), the text shown is cut to ``max_chars``. HTML is
turned into readable Markdown-like text by ``html2text``; other text types pass through; binary
content is refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

from agentkit.errors import ModelRetry
from agentkit.tool import Tool

from ._common import optional_import, truncate

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""Maps (host, port) to IP address strings; the default uses the system resolver."""

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
"""Cloud instance metadata endpoints (AWS, GCP and Azure, AWS IPv6, Alibaba, AWS ECS)."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-yaml")
_USER_AGENT = "agentkit-fetch/0.1 (+https://github.com/agentkit)"


class URLRefused(ModelRetry):
    """The URL or an address it resolves to is not allowed by the tool's configuration."""


class FetchError(ModelRetry):
    """The page could not be fetched: network error, timeout, HTTP error status, unreadable content."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one fetch."""

    timeout: float = 15.0
    max_bytes: int = 1_000_000
    max_chars: int = 20_000
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchedPage:
    """A fetched page: the final URL after redirects, status, content type and readable text."""

    url: str
    status: int
    content_type: str
    text: str
    truncated_bytes: bool = False
    redirects: list[str] = field(default_factory=list)

    def render(self, max_chars: int) -> str:
        head = f"URL: {self.url}\nStatus: {self.status}\nContent-Type: {self.content_type}\n"
        note = ""
        if self.truncated_bytes:
            note = "[the page is larger than the download limit; only its beginning was read]\n"
        return head + note + "\n" + truncate(self.text, max_chars, what="page")


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the system resolver gives for ``host``, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _classify(address: IPAddress) -> str | None:
    """Why ``address`` is not public, or None if it is."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if address.is_global else "non-public"


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def _rfc6052_ipv4(value: int, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address inside a NAT64 address whose prefix has ``prefix_length`` bits (RFC 6052
    section 2.2: the 32 bits follow the prefix, skipping bits 64-71)."""
    if prefix_length == 96:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    without_u = ((value >> 72) << 64) | (value & ((1 << 64) - 1))  # 120 bits
    return ipaddress.IPv4Address((without_u >> (120 - prefix_length - 32)) & 0xFFFFFFFF)


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, tuple[ipaddress.IPv4Address, ...]]:
    """The IPv4 addresses an IPv6 address carries, and the name of its form; ``("", ())`` if none.

    Packets to these forms reach (or are meant to reach) the IPv4 address inside, so an address is
    only as public as what it carries: ``2002:7f00:1::`` (6to4) is 127.0.0.1. For the local-use NAT64
    prefix the operator chooses where the IPv4 address sits, so every position RFC 6052 allows
    there counts. Teredo carries two: its server and its client (stored inverted).
    """
    value = int(address)
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", (address.ipv4_mapped,)
    if address in _IPV4_TRANSLATED:
        return "IPv4-translated", (ipaddress.IPv4Address(value & 0xFFFFFFFF),)
    if address in _IPV4_COMPATIBLE and value > 1:  # not :: nor ::1, which are IPv6's own
        return "IPv4-compatible", (ipaddress.IPv4Address(value),)
    if address.sixtofour is not None:
        return "6to4", (address.sixtofour,)
    if address in _NAT64_WELL_KNOWN:
        return "NAT64", (_rfc6052_ipv4(value, 96),)
    if address in _NAT64_LOCAL_USE:
        return "local-use NAT64", tuple(dict.fromkeys(_rfc6052_ipv4(value, n) for n in (96, 48, 56, 64)))
    if address.teredo is not None:
        return "Teredo", address.teredo
    return "", ()


class AddressPolicy:
    """Decides which IP addresses may be contacted."""

    def __init__(self, allow_private: bool = False, allow_networks: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.allow_networks: list[IPNetwork] = [ipaddress.ip_network(n, strict=False) for n in allow_networks]

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused, or None if it may be contacted.

        An IPv6 form that carries IPv4 addresses (:func:`embedded_ipv4`) is refused if any of them
        is. The translation forms are then judged by their IPv4 addresses alone (so NAT64 works on
        IPv6-only networks); a Teredo address must also pass as itself (it never does by default).
        """
        if self._listed(address):
            return None
        form, carried = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else ("", ())
        for inner in carried:
            reason = self._judge(inner)
            if reason is not None:
                return f"{reason} (the {form} form of {inner})"
        if carried and form != "Teredo":
            return None
        return self._judge(address)

    def _listed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allow_networks)

    def _judge(self, address: IPAddress) -> str | None:
        if self._listed(address):
            return None
        if address in METADATA_ADDRESSES:
            return "a cloud metadata endpoint"
        kind = _classify(address)
        if kind is None or self.allow_private:
            return None
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Sends ``Host: host`` but connects to the address that was checked."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the certificate verified for ``host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.pinned_address = address
        self.tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self.tls_context.wrap_socket(raw, server_hostname=self.host)


@dataclass
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    url: str


class Fetcher:
    """Fetches pages under an :class:`AddressPolicy` and :class:`FetchLimits`."""

    def __init__(
        self,
        policy: AddressPolicy | None = None,
        limits: FetchLimits | None = None,
        *,
        resolver: Resolver = system_resolver,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy or AddressPolicy()
        self.limits = limits or FetchLimits()
        self.resolver = resolver
        self._tls_context = tls_context

    @property
    def tls_context(self) -> ssl.SSLContext:
        """The context for https, made on first use (loading the CA store takes a moment)."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def fetch(self, url: str) -> FetchedPage:
        """Fetch ``url``, following redirects (each re-checked); raises :class:`URLRefused` or
        :class:`FetchError` with a message for the model."""
        deadline = time.monotonic() + self.limits.timeout
        redirects: list[str] = []
        current = url.strip()
        while True:
            try:
                target = self._parse(current)
                address = self._checked_address(target)
            except URLRefused as exc:
                if not redirects:
                    raise
                raise URLRefused(f"{exc.message} (redirected there from {redirects[-1]})") from None
            try:
                status, reason, headers, body, cut = self._request(target, address, deadline)
            except TimeoutError:
                raise FetchError(
                    f"fetching {target.url} timed out (limit {self.limits.timeout:g} s)"
                ) from None
            except ssl.SSLError as exc:
                raise FetchError(f"TLS error talking to {target.host}: {exc.reason or exc}") from None
            except http.client.HTTPException as exc:
                raise FetchError(
                    f"{target.host} sent an invalid HTTP response ({type(exc).__name__})"
                ) from None
            except OSError as exc:
                raise FetchError(f"could not connect to {target.host}: {exc.strerror or exc}") from None
            body, cut = self._decompress(body, cut, headers.get("Content-Encoding"), target.url)
            location = headers.get("Location")
            if status in _REDIRECTS and location:
                if len(redirects) >= self.limits.max_redirects:
                    raise FetchError(f"too many redirects (more than {self.limits.max_redirects}) from {url}")
                redirects.append(target.url)
                current = urljoin(target.url, location)
                continue
            content_type = headers.get_content_type() if headers.get("Content-Type") else ""
            charset = headers.get_content_charset()
            if status >= 400:
                try:
                    snippet = " ".join(self._decode(body, content_type, charset, target.url).split())[:300]
                except FetchError:  # a binary error page: the status says enough
                    snippet = ""
                raise FetchError(
                    f"HTTP {status} {reason} from {target.url}" + (f": {snippet}" if snippet else "")
                )
            text = self._decode(body, content_type, charset, target.url)
            return FetchedPage(target.url, status, content_type or "unknown", text, cut, redirects)

    def _parse(self, url: str) -> _Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise URLRefused(f"{url!r} is not a valid URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise URLRefused(
                f"only http and https URLs can be fetched, not {scheme or 'a URL without scheme'}: {url!r}"
            )
        if not parts.hostname:
            raise URLRefused(f"{url!r} has no host name")
        if parts.username is not None or parts.password is not None:
            raise URLRefused("URLs with a user name or password are not fetched")
        try:
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLRefused(f"{parts.hostname!r} is not a valid host name") from None
        path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
        if parts.query:
            path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
        return _Target(
            scheme,
            host,
            port or (443 if scheme == "https" else 80),
            path,
            parts._replace(fragment="").geturl(),
        )

    def _checked_address(self, target: _Target) -> str:
        """The address to connect to, after checking every address the host resolves to."""
        try:
            literal: IPAddress | None = ipaddress.ip_address(target.host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(self.resolver(target.host, target.port))
            except OSError as exc:
                raise FetchError(f"cannot resolve host {target.host!r}: {exc.strerror or exc}") from None
            if not addresses:
                raise FetchError(f"host {target.host!r} has no addresses")
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise FetchError(f"the resolver gave an invalid address {text!r} for {target.host}") from None
            reason = self.policy.refusal(address)
            if reason is not None:
                shown = target.host if literal is not None else f"{target.host} (resolves to {text})"
                raise URLRefused(
                    f"refused to fetch {target.url}: {shown} is {reason}; "
                    "this tool only reads public web addresses"
                )
        return addresses[0]

    def _request(
        self, target: _Target, address: str, deadline: float
    ) -> tuple[int, str, http.client.HTTPMessage, bytes, bool]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(
                target.host, target.port, address, remaining, self.tls_context
            )
        else:
            connection = _PinnedHTTPConnection(target.host, target.port, address, remaining)
        try:
            connection.request(
                "GET",
                target.path,
                headers={
                    "User-Agent": _USER_AGENT,
                    "Accept": "text/html,text/plain,application/json,application/xml;q=0.9,*/*;q=0.5",
                    "Accept-Encoding": "identity",
                },
            )
            response = connection.getresponse()
            chunks: list[bytes] = []
            received = 0
            cut = False
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                if connection.sock is not None:
                    connection.sock.settimeout(remaining)
                chunk = response.read1(min(65536, self.limits.max_bytes - received + 1))
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
                if received > self.limits.max_bytes:
                    cut = True
                    break
            body = b"".join(chunks)[: self.limits.max_bytes]
            return response.status, response.reason, response.headers, body, cut
        finally:
            connection.close()

    def _decompress(self, body: bytes, cut: bool, encoding: str | None, url: str) -> tuple[bytes, bool]:
        """Undo gzip/deflate (sent by some servers despite ``Accept-Encoding: identity``), never
        producing more than ``max_bytes``: a small compressed bomb stays small."""
        encoding = (encoding or "identity").strip().lower()
        if encoding in ("identity", ""):
            return body, cut
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise FetchError(f"{url} uses the unsupported content encoding {encoding!r}")
        try:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
            data = inflater.decompress(body, self.limits.max_bytes)
        except zlib.error:
            try:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
                data = inflater.decompress(body, self.limits.max_bytes)
            except zlib.error:
                raise FetchError(f"{url} sent {encoding} data that cannot be decompressed") from None
        return data, cut or bool(inflater.unconsumed_tail)

    @staticmethod
    def _decode(body: bytes, content_type: str, charset: str | None, url: str) -> str:
        try:
            text = body.decode(charset or "utf-8", errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        is_html = content_type in ("text/html", "application/xhtml+xml") or (
            not content_type and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))
        )
        if is_html:
            return html_to_text(text)
        textual = (
            content_type.startswith("text/")
            or content_type in _TEXT_TYPES
            or content_type.endswith(("+json", "+xml"))
            or (not content_type and b"\x00" not in body[:4096])
        )
        if not textual:
            raise FetchError(
                f"{url} is {content_type or 'binary data'}, not text; fetch_url only reads text pages"
            )
        return text


def html_to_text(html: str) -> str:
    """Readable Markdown-like text of an HTML page (links kept, images and layout dropped)."""
    html2text = optional_import("html2text")
    converter = html2text.HTML2Text()
    converter.ignore_images = True
    converter.body_width = 0
    converter.unicode_snob = True
    text: str = converter.handle(html)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def fetch_url_tool(
    *,
    allow_private: bool = False,
    allow_networks: Iterable[str] = (),
    limits: FetchLimits | None = None,
    resolver: Resolver = system_resolver,
    tls_context: ssl.SSLContext | None = None,
    name: str = "fetch_url",
) -> Tool:
    """Build a ``fetch_url`` tool.

    Args:
        allow_private: also allow loopback, private and link-local addresses (not metadata endpoints).
        allow_networks: networks (CIDR, e.g. "10.1.0.0/16") allowed whatever their kind.
        limits: time and size bounds.
        resolver: host name to addresses; the default is the system resolver.
        tls_context: certificate settings for https (default: the system's trusted CAs).
        name: the tool name the model sees.
    """
    fetcher = Fetcher(
        AddressPolicy(allow_private, allow_networks), limits, resolver=resolver, tls_context=tls_context
    )
    max_chars = fetcher.limits.max_chars

    def fetch_url(url: str) -> str:
        """Download a web page and return its text (HTML is converted to readable text).

        Only public http:// and https:// addresses can be read. Long pages are cut.

        Args:
            url: The full address, e.g. "https://example.com/page".
        """
        return fetcher.fetch(url).render(max_chars)

    return Tool.from_function(fetch_url, name=name, timeout=fetcher.limits.timeout + 15)


fetch_url = fetch_url_tool()
"""``fetch_url`` with the safe defaults: public addresses only."""
