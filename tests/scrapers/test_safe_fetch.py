"""Safe fetching: non-public addresses refused on every hop (on the connected socket's peer), unless an exact
origin is allowlisted; robots.txt read on every host reached; caps on size and total time."""

from __future__ import annotations

import contextlib
import socket
import threading
import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scrapers import html
from scrapers.common import SourceError
from scrapers.fetch import fetch, parse_origin, public_address

from .helpers import FIXTURES


def make_handler(routes: dict, log: list):
    """A handler answering path -> (status, headers, body); every request path is logged."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            log.append(self.path)
            status, headers, body = routes.get(self.path, (404, {}, b"not here"))
            if callable(body):
                body = body()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@contextlib.contextmanager
def serve(routes: dict):
    log: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(routes, log))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


PAGE = (200, {"Content-Type": "text/html; charset=utf-8"}, b"<p>secret staff text</p>")
ROBOTS_ALL = (200, {}, b"User-agent: *\nAllow: /\n")


def test_an_allowlisted_origin_is_fetched():
    with serve({"/robots.txt": ROBOTS_ALL, "/page": PAGE}) as (origin, log):
        assert "secret staff text" in fetch(f"{origin}/page", allow=[origin])
        assert log == ["/robots.txt", "/page"]


def test_loopback_is_refused_without_the_allowlist_and_nothing_is_requested():
    with serve({"/robots.txt": ROBOTS_ALL, "/page": PAGE}) as (origin, log):
        with pytest.raises(SourceError, match="127.0.0.1.*refused"):
            fetch(f"{origin}/page")
        assert log == []  # refused after connecting, before a byte of the request was sent


def test_the_allowlist_is_an_exact_origin():
    with serve({"/robots.txt": ROBOTS_ALL, "/page": PAGE}) as (origin, log):
        port = int(origin.rsplit(":", 1)[1])
        for near in (f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}", f"http://localhost:{port}"):
            with pytest.raises(SourceError, match="refused"):
                fetch(f"{origin}/page", allow=[near])
        # The same host by another name is another origin, though its socket reaches the same place.
        with pytest.raises(SourceError, match="refused"):
            fetch(f"http://localhost:{port}/page", allow=[origin])
        assert log == []


def test_a_redirect_from_an_allowlisted_origin_to_another_loopback_port_is_refused():
    with serve({"/robots.txt": ROBOTS_ALL, "/secret": PAGE}) as (inner, inner_log):
        moved = (302, {"Location": f"{inner}/secret"}, b"")
        with serve({"/robots.txt": ROBOTS_ALL, "/beds": moved}) as (outer, outer_log):
            with pytest.raises(SourceError, match="refused"):
                fetch(f"{outer}/beds", allow=[outer])
            assert outer_log == ["/robots.txt", "/beds"]
            assert inner_log == []  # the secret server was never asked anything
            # Allowlisting the second origin too lets the redirect through (its robots.txt read first).
            assert "secret staff text" in fetch(f"{outer}/beds", allow=[outer, inner])
            assert inner_log == ["/robots.txt", "/secret"]


def test_the_html_importer_never_publishes_a_redirected_secret():
    with serve({"/robots.txt": ROBOTS_ALL, "/secret": PAGE}) as (inner, _):
        moved = (302, {"Location": f"{inner}/secret"}, b"")
        with (
            serve({"/robots.txt": ROBOTS_ALL, "/beds": moved}) as (outer, _),
            pytest.raises(SourceError, match="refused"),
        ):
            html.parse(f"{outer}/beds", FIXTURES / "provider_page.yaml", [outer])


def test_robots_txt_is_read_on_every_host_reached():
    with serve({"/robots.txt": (200, {}, b"User-agent: *\nDisallow: /secret\n"), "/secret": PAGE}) as (
        inner,
        inner_log,
    ):
        moved = (302, {"Location": f"{inner}/secret"}, b"")
        with serve({"/robots.txt": ROBOTS_ALL, "/beds": moved}) as (outer, _):
            with pytest.raises(SourceError, match="robots.txt"):
                fetch(f"{outer}/beds", allow=[outer, inner])
            assert inner_log == ["/robots.txt"]


def test_dns_rebinding_gains_nothing(monkeypatch):
    """A name that resolves to loopback is refused on the socket's peer address, whatever DNS said before."""
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        return real("127.0.0.1" if host == "public.example.org" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with serve({"/robots.txt": ROBOTS_ALL, "/page": PAGE}) as (origin, log):
        port = origin.rsplit(":", 1)[1]
        with pytest.raises(SourceError, match="public.example.org is at 127.0.0.1"):
            fetch(f"http://public.example.org:{port}/page")
        assert log == []


def test_size_and_total_time_caps():
    def slow():
        clock.sleep(1.5)
        return b"late"

    big = (200, {}, b"x" * 50_000)
    with serve({"/robots.txt": ROBOTS_ALL, "/big": big, "/slow": (200, {}, slow)}) as (origin, _):
        with pytest.raises(SourceError, match="larger than 10000 bytes"):
            fetch(f"{origin}/big", allow=[origin], max_bytes=10_000)
        assert len(fetch(f"{origin}/big", allow=[origin])) == 50_000
        with pytest.raises(SourceError, match="cannot fetch|longer than"):
            fetch(f"{origin}/slow", allow=[origin], timeout=0.5)


def test_too_many_redirects():
    loop = (302, {"Location": "/loop"}, b"")
    with serve({"/robots.txt": ROBOTS_ALL, "/loop": loop}) as (origin, log):
        with pytest.raises(SourceError, match="redirects"):
            fetch(f"{origin}/loop", allow=[origin])
        assert log.count("/loop") == 6  # the first request and five redirects


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # shared (carrier-grade NAT)
        ("0.0.0.0", False),  # noqa: S104 - an address checked, not bound
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # a metadata service over IPv6
        ("224.0.0.1", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_address(address, public):
    assert public_address(address) is public


def test_an_allowlist_entry_is_an_origin_only():
    assert parse_origin("http://127.0.0.1:8080") == ("http", "127.0.0.1", 8080)
    assert parse_origin("https://Example.org") == ("https", "example.org", 443)
    for bad in ("http://127.0.0.1:8080/admin", "ftp://example.org", "127.0.0.1:8080", "http://u@h:1"):
        with pytest.raises(SourceError):
            parse_origin(bad)
    with pytest.raises(SourceError, match="only http"):
        fetch("file:///etc/passwd")


def test_the_site_file_allowlist(tmp_path):
    from pathlib import Path

    from directory.config import ConfigError, load_site

    site_file = Path(__file__).resolve().parents[2] / "data" / "site.toml"
    assert load_site(site_file).fetch_allow == ()  # nothing let through by default
    site = tmp_path / "site.toml"
    site.write_text(
        site_file.read_text() + '\n[imports]\nfetch_allow = ["HTTP://127.0.0.1:8080", "https://x.org"]\n'
    )
    assert load_site(site).fetch_allow == ("http://127.0.0.1:8080", "https://x.org:443")
    site.write_text(site_file.read_text() + '\n[imports]\nfetch_allow = ["http://127.0.0.1:8080/admin"]\n')
    with pytest.raises(ConfigError, match="scheme://host"):
        load_site(site)
