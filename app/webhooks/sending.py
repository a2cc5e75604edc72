"""One POST to a receiver, safely: the address checked where it is used, no redirects, a bounded answer.

Against server-side request forgery, the host is resolved once, every address it resolves to is checked,
and the connection goes to a checked address (with the original Host header and TLS server name), so a
DNS answer that changes between the check and the connection (rebinding) cannot reach an inside address.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

RESPONSE_KEPT = 1024  # bytes of the receiver's answer kept in the delivery log
MAX_URL_LENGTH = 2000
USER_AGENT = "FlowerCRM-Webhooks/1"


class Refused(Exception):
    """The URL may not be called (a private address, plain http in production ...)."""


@dataclass
class Outcome:
    status: int | None
    elapsed_ms: int
    body: str | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def url_problems(url: str, *, allow_private: bool) -> list[str]:
    """What makes `url` unfit to register (in English, for the 422's `errors`); empty when it is fine."""
    if len(url) > MAX_URL_LENGTH:
        return [f"At most {MAX_URL_LENGTH} characters."]
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ["No spaces or control characters."]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ["Not a valid URL."]
    problems = []
    if parts.scheme not in ("https", "http"):
        problems.append("Use an https:// URL.")
    elif parts.scheme == "http" and not allow_private:
        problems.append("Use https://; plain http is allowed only where the operator allows private receivers.")
    if not parts.hostname:
        problems.append("The URL needs a host.")
    if parts.username is not None or parts.password is not None:
        problems.append("No credentials in the URL; check the signature instead.")
    if parts.fragment:
        problems.append("No #fragment in the URL.")
    if port == 0:
        problems.append("Not a valid port.")
    if parts.hostname and not allow_private:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        if address is not None and not _public(address):
            problems.append("The address is private, loopback or link-local; receivers must be on the internet.")
    return problems


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to, every one checked; Refused when any is inside (one bad answer is enough)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve the host ({exc.strerror})") from None
    except (UnicodeError, ValueError):
        raise ConnectionError("the host name is not valid") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        for address in addresses:
            if not _public(ipaddress.ip_address(address.split("%")[0])):
                raise Refused("the host resolves to a private, loopback or link-local address")
    return addresses


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((address, port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as http.client does: no wait for a delayed ACK
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # SNI and the certificate: the name


class Connections:
    """One job's open keep-alive connections, by receiver: the next POST to the same one reuses its connection
    (no new TCP and TLS handshake), to the address checked when it was opened. `close()` at the job's end."""

    def __init__(self) -> None:
        self._open: dict[tuple, http.client.HTTPConnection] = {}

    def take(self, key: tuple) -> http.client.HTTPConnection | None:
        return self._open.pop(key, None)

    def keep(self, key: tuple, connection: http.client.HTTPConnection) -> None:
        self._open[key] = connection

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
    connections: Connections | None = None,
) -> Outcome:
    """POST `body` to `url` once; never raises for the receiver's faults (they are the outcome)."""
    started = time.monotonic()
    deadline = started + timeout

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    if parts.scheme != "https" and not allow_private:
        return Outcome(None, 0, None, "refused: plain http is not allowed (WEBHOOK_ALLOW_PRIVATE is off)")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    key = (parts.scheme, host, port, allow_private)
    reused = connections.take(key) if connections is not None else None
    if reused is not None and reused.sock is not None:
        reused.sock.settimeout(timeout)
        try:
            status, kept = _exchange(reused, target, body, headers, deadline, connections, key)
            return Outcome(status, elapsed(), kept, None)
        except TimeoutError:
            reused.close()
            return Outcome(None, elapsed(), None, f"timed out after {timeout:g} s")
        except (OSError, http.client.HTTPException):
            reused.close()  # the receiver closed the idle connection: a new one below
    try:
        addresses = _resolve(host, port, allow_private=allow_private)
    except Refused as exc:
        return Outcome(None, elapsed(), None, f"refused: {exc}")
    except ConnectionError as exc:
        return Outcome(None, elapsed(), None, str(exc))
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    last_error = "no address to connect to"
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            return Outcome(None, elapsed(), None, f"timed out after {timeout:g} s")
        connection = connection_class(host, port, address, left)
        try:
            status, kept = _exchange(connection, target, body, headers, deadline, connections, key)
            return Outcome(status, elapsed(), kept, None)
        except TimeoutError:
            connection.close()
            return Outcome(None, elapsed(), None, f"timed out after {timeout:g} s")
        except (OSError, ValueError, http.client.HTTPException) as exc:  # InvalidURL is a ValueError
            connection.close()
            last_error = f"{type(exc).__name__}: {exc}"[:200]
    return Outcome(None, elapsed(), None, last_error)


def _exchange(
    connection: http.client.HTTPConnection,
    target: str,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    connections: Connections | None,
    key: tuple,
) -> tuple[int, str]:
    """One request and its answer's first 1 KB; the connection is kept for the next when the answer was read to
    its end and the receiver keeps it open, else closed."""
    connection.request("POST", target, body=body, headers=headers)
    response = connection.getresponse()
    kept = _read_some(response, deadline)  # a redirect is an answer like any other: never followed
    if response.length == 0:
        response.read()  # the answer was read to its end: this marks it done, so the connection can be reused
    if connections is not None and response.isclosed() and not response.will_close:
        connections.keep(key, connection)
    else:
        connection.close()
    return response.status, kept.decode("utf-8", errors="replace")


def _read_some(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The first RESPONSE_KEPT bytes of the answer; the rest is never read (then the connection is closed)."""
    chunks, size = [], 0
    while size < RESPONSE_KEPT:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        chunk = response.read1(RESPONSE_KEPT - size)  # each read waits at most the socket's timeout
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:RESPONSE_KEPT]
