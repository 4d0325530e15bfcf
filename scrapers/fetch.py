"""Safe fetching of a source URL: public addresses only (checked on each connected socket), robots.txt on
every host reached, and caps on size, redirects and total time.

An importer once followed a 302 to `http://127.0.0.1:.../secret` and published the text in search results.
So every hop (the first URL and each redirect) is refused when the socket it connected is to a loopback,
private, link-local, metadata or otherwise non-global address, unless the site allowlists that hop's exact
origin (scheme, host, port). The address checked is the socket's peer address, not a DNS answer read
beforehand, so a name that resolves to a public address once and to 127.0.0.1 the next time gains nothing.
"""

from __future__ import annotations

import http.client
import ipaddress
import time
import urllib.parse
import urllib.robotparser
from dataclasses import dataclass, field

from .common import SourceError

USER_AGENT = "lead-directory-importer/1.0 (+https://github.com/lead-directory)"
MAX_BYTES = 5_000_000
MAX_SECONDS = 30.0
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)

Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin:
    """(scheme, host, port) of an http(s) URL, the port made explicit; SourceError for anything else."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{url}: only http and https URLs with a host are fetched")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise SourceError(f"{url}: the port is not a number") from exc
    return scheme, parts.hostname.lower(), port


def parse_origin(text: str) -> Origin:
    """An allowlist entry such as `http://127.0.0.1:8080` as an origin (it must not carry a path)."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise SourceError(f"allowlisted origin {text!r} must be scheme://host[:port] only")
    return origin_of(text.strip())


def origin_text(origin: Origin) -> str:
    """An origin written out: `http://127.0.0.1:8080`, `http://[::1]:80`."""
    scheme, host, port = origin
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def public_address(address: str) -> bool:
    """True for a globally routable address; False for loopback, private, link-local (169.254.169.254, the
    cloud metadata service), shared, reserved, multicast and unspecified ones, IPv4-mapped ones included."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass
class Fetcher:
    """One fetch session: its allowlist, limits, deadline and the robots.txt files read so far."""

    allow: frozenset[Origin] = frozenset()
    user_agent: str = USER_AGENT
    max_bytes: int = MAX_BYTES
    max_seconds: float = MAX_SECONDS
    max_redirects: int = MAX_REDIRECTS
    deadline: float = 0.0
    robots: dict[Origin, urllib.robotparser.RobotFileParser] = field(default_factory=dict)
    hops: list[str] = field(default_factory=list)  # every URL requested, robots.txt included

    def remaining(self) -> float:
        """Seconds left of the total time; SourceError once it is spent."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SourceError(f"fetching took longer than {self.max_seconds:g} s in all: stopped")
        return left

    def get(self, url: str) -> str:
        """The text at url, following redirects; every hop checked, robots.txt read on every host."""
        self.deadline = time.monotonic() + self.max_seconds
        for _ in range(self.max_redirects + 1):
            self.allowed_by_robots(url)
            status, location, body, charset = self.request(url)
            if status in REDIRECTS and location:
                url = urllib.parse.urljoin(url, location)
                continue
            if status >= 400:
                raise SourceError(f"{url} answered HTTP {status}")
            return body.decode(charset or "utf-8", errors="replace")
        raise SourceError(f"more than {self.max_redirects} redirects: stopped")

    def allowed_by_robots(self, url: str) -> None:
        """Read the host's robots.txt once (through the same checks) and refuse a disallowed URL."""
        origin = origin_of(url)
        if origin not in self.robots:
            robots = urllib.robotparser.RobotFileParser()
            robots_url = f"{origin[0]}://{urllib.parse.urlsplit(url).netloc}/robots.txt"
            status, _location, body, charset = self.request(robots_url)
            if status in (401, 403):
                raise SourceError(f"{robots_url} answered {status}: the site allows no robots")
            # A missing robots.txt (or one that redirects) allows everything, as robotparser reads it.
            robots.parse(
                body.decode(charset or "utf-8", errors="replace").splitlines() if status == 200 else []
            )
            self.robots[origin] = robots
        if not self.robots[origin].can_fetch(self.user_agent, url):
            raise SourceError(f"robots.txt of {origin[1]} disallows {url} for {self.user_agent}")

    def request(self, url: str) -> tuple[int, str | None, bytes, str | None]:
        """One GET, no redirect followed: (status, Location, body, charset). The peer address is checked
        after the socket connects and before a byte of the request is sent."""
        scheme, host, port = origin = origin_of(url)
        self.hops.append(url)
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = kind(host, port, timeout=self.remaining())
        try:
            connection.connect()
            sock = connection.sock
            peer = sock.getpeername()[0]
            if origin not in self.allow and not public_address(peer):
                raise SourceError(
                    f"{url}: {host} is at {peer}, a loopback, private, link-local or metadata address: "
                    "refused (allowlist its exact origin in the site file to fetch it)"
                )
            parts = urllib.parse.urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", target, headers={"User-Agent": self.user_agent, "Accept": "*/*"})
            response = connection.getresponse()
            body = self.read(response, sock, url)
            return (
                response.status,
                response.getheader("Location"),
                body,
                response.headers.get_content_charset(),
            )
        except (OSError, http.client.HTTPException) as exc:
            raise SourceError(f"cannot fetch {url}: {exc}") from exc
        finally:
            connection.close()

    def read(self, response, sock, url: str) -> bytes:
        """The body, refused past max_bytes or past the deadline (each read may wait only the time left, so
        a slow trickle cannot outlast it)."""
        chunks, size = [], 0
        while True:
            sock.settimeout(self.remaining())
            chunk = response.read1(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise SourceError(f"{url} is larger than {self.max_bytes} bytes: refused")
            chunks.append(chunk)
            self.remaining()


def fetch(url: str, allow=(), user_agent: str = USER_AGENT, timeout: float = MAX_SECONDS, **limits) -> str:
    """GET a page safely (see the module); allow: origins such as `http://127.0.0.1:8080` to let through."""
    origins = frozenset(parse_origin(o) if isinstance(o, str) else tuple(o) for o in allow)
    return Fetcher(origins, user_agent, max_seconds=timeout, **limits).get(url)
