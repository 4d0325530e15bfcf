"""Fast on a weak signal: fingerprinted assets, gzip, cache headers, and the offline app's own URLs.

- `asset_url('css/app.css')` (a template global) names a static file by its content hash
  (`/static/css/app.3f2a9c1b0d.css`); vendored files (Leaflet from the xstatic packages) the same way under
  `/vendor/`. A URL whose hash is the file's is cached for a year, `immutable`; an unfingerprinted or
  outdated one still answers, with a short cache.
- Responses of text types are gzipped when the client accepts it (HTML, JSON, CSS, JS, SVG), dynamic ones
  after the view, static ones once per file version and kept in memory.
- Public pages answered to an anonymous viewer carry `X-Directory-Public: 1` (the only responses the
  service worker keeps); every answer to a signed-in browser is `Cache-Control: no-store` with
  `X-Signed-In: 1`, so the worker and the browser's cache never keep staff pages or participant data.
- `/sw.js` (the service worker, uncached, at the root so its scope is the whole site),
  `/manifest.webmanifest`, `/icons/icon-<size>.png` (drawn here) and `/offline` (the page the worker shows
  for a page it has not kept).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import struct
import zlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.security import safe_join

from ..config import PROJECT_ROOT
from .mapbase import VENDOR, VENDOR_SUFFIXES

STATIC = PROJECT_ROOT / "static"
YEAR = 365 * 24 * 3600
SHORT = 300  # seconds an unfingerprinted asset may be reused before asking again
IMMUTABLE = f"public, max-age={YEAR}, immutable"
SHORT_CACHE = f"public, max-age={SHORT}"
COMPRESSIBLE = {
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "application/geo+json",
    "image/svg+xml",
}
MIN_COMPRESS = 512  # bytes: below this gzip's header costs more than it saves
FINGERPRINT = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<ext>\.[A-Za-z0-9]+)$")
# Pages the worker may keep when answered to an anonymous viewer (the public directory reads).
PUBLIC_PAGES = {"public.search", "public.service_page", "assets.offline"}
# What the worker keeps at install: small, and needed to open a kept page with no connection.
SHELL = ("js/offline.js", "js/search.js", "js/print.js", "js/lazymap.js")  # public pages inline their CSS
ICON_SIZES = (192, 512)

bp = Blueprint("assets", __name__)


@lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """The first 10 hex digits of the file's SHA-256 (cached per version of the file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def digest(path: Path) -> str:
    """The content hash of a file, as it is now."""
    stat = path.stat()
    return _digest(str(path), stat.st_mtime_ns, stat.st_size)


def fingerprinted(filename: str, file: Path) -> str:
    """`css/app.css` -> `css/app.<hash>.css`."""
    stem, dot, ext = filename.rpartition(".")
    return f"{stem}.{digest(file)}.{ext}" if dot else f"{filename}.{digest(file)}"


def asset_url(filename: str) -> str:
    """The fingerprinted URL of a file under static/ (cached for a year: the URL changes with the file)."""
    return url_for("static", filename=fingerprinted(filename, STATIC / filename))


def vendor_asset_url(name: str, filename: str) -> str:
    """The fingerprinted URL of a vendored library file (xstatic package)."""
    base, version = VENDOR[name]
    name_now = fingerprinted(filename, Path(base) / filename)
    return url_for("vendor.asset", name=name, version=version, filename=name_now)


@lru_cache(maxsize=8)
def _inline_css(path: str, mtime_ns: int) -> Markup:
    text = Path(path).read_text(encoding="utf-8")
    return Markup(text.replace("</", "<\\/"))  # noqa: S704 - our own stylesheet, never user text


def inline_css(filename: str) -> Markup:
    """A stylesheet of ours, for a <style> element: the page then renders without waiting for a request."""
    path = STATIC / filename
    return _inline_css(str(path), path.stat().st_mtime_ns)


def resolve(root: Path, filename: str) -> tuple[Path, bool]:
    """The file a (maybe fingerprinted) name points to, and whether the name carried its current hash.
    404 for anything outside the root or missing."""
    joined = safe_join(str(root), filename)
    if joined is None:
        abort(404)
    path = Path(joined)
    if path.is_file():
        return path, False
    match = FINGERPRINT.match(path.name)
    if match is None:
        abort(404)
    real = path.with_name(match["stem"] + match["ext"])
    if not real.is_file():
        abort(404)
    return real, digest(real) == match["digest"]


def content_type(path: Path) -> str:
    """The Content-Type of an asset file."""
    import mimetypes

    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind == "application/javascript":
        kind = "text/javascript"
    return kind + ("; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else "")


@lru_cache(maxsize=128)
def _gzipped(path: str, mtime_ns: int) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def accepts_gzip() -> bool:
    """Whether the client takes gzip."""
    return "gzip" in (request.headers.get("Accept-Encoding") or "").lower()


def send_asset(path: Path, immutable: bool) -> Response:
    """An asset file: gzipped from memory when it is text and the client takes it, with its cache policy."""
    kind = content_type(path)
    stat = path.stat()
    compress = kind.split(";")[0] in COMPRESSIBLE and stat.st_size >= MIN_COMPRESS
    etag = f"{digest(path)}-{'gz' if compress and accepts_gzip() else 'id'}"
    if request.if_none_match and etag in request.if_none_match:
        response = Response(status=304)
    elif compress and accepts_gzip():
        response = Response(_gzipped(str(path), stat.st_mtime_ns), content_type=kind)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(path.read_bytes(), content_type=kind)
    response.set_etag(etag)
    if compress:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = IMMUTABLE if immutable else SHORT_CACHE
    return response


def static_view(filename: str):
    """/static/<file>: fingerprinted names for a year, plain names for a few minutes."""
    path, immutable = resolve(STATIC, filename)
    return send_asset(path, immutable)


def vendor_view(name: str, version: str, filename: str):
    """/vendor/<library>/<version>/<file>: a file of a packaged JavaScript library (xstatic)."""
    package = VENDOR.get(name)
    if package is None or version != package[1] or not filename.endswith(VENDOR_SUFFIXES):
        abort(404)
    path, immutable = resolve(Path(package[0]), filename)
    return send_asset(path, immutable)


def compress(response: Response) -> Response:
    """Gzip a dynamic text response when the client takes it (assets come compressed already)."""
    if (
        response.direct_passthrough
        or response.is_streamed
        or response.status_code < 200
        or response.status_code in (204, 304)
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSIBLE
        or request.method == "HEAD"
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    body = response.get_data()
    if len(body) < MIN_COMPRESS:
        return response
    # Level 6: within a few percent of 9's size for a page, at half its CPU.
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def signed_in() -> bool:
    """Whether this request comes from a signed-in browser session or token."""
    return bool(getattr(current_user, "is_authenticated", False))


def cache_policy(response: Response) -> Response:
    """Mark public pages for the worker; keep every signed-in answer out of every cache."""
    if request.endpoint in ("static", "vendor.asset"):
        return response
    if signed_in():
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Signed-In"] = "1"
    elif (
        request.method == "GET"
        and request.endpoint in PUBLIC_PAGES
        and response.status_code == 200
        and response.mimetype == "text/html"
    ):
        response.headers["X-Directory-Public"] = "1"
        response.headers.setdefault("Cache-Control", "no-cache")
    return response


def rendered_at() -> str:
    """When this page was made (ISO UTC): its age if it is read later from the worker's cache."""
    from . import context, serializers

    return serializers.iso(context.now()) or ""


def provider_phone(service) -> tuple[str, str] | None:
    """(tel: URL, number) a page offers when a write needs a connection it does not have (offline.js)."""
    from .results import tel_link

    return tel_link(service.phones)


def install(app: Flask) -> None:
    """Serve static and vendored files by content hash, compress text, set the cache policy, add the
    offline app's routes. Registered before the other hooks, so its after_request runs last."""
    app.view_functions["static"] = static_view
    app.jinja_env.globals.update(
        asset_url=asset_url,
        vendor_asset_url=vendor_asset_url,
        inline_css=inline_css,
        rendered_at=rendered_at,
        provider_phone=provider_phone,
    )
    app.after_request(compress)
    app.after_request(cache_policy)
    app.register_blueprint(bp)


def shell_urls() -> list[str]:
    """What the worker keeps at install: the offline page, our scripts, the manifest and icons."""
    urls = [url_for("assets.offline"), url_for("assets.manifest")]
    urls += [asset_url(name) for name in SHELL]
    urls += [url_for("assets.icon", size=size) for size in ICON_SIZES]
    return urls


@bp.get("/sw.js")
def service_worker():
    """The service worker: never cached and never fingerprinted (the browser checks it for updates), with
    the shell's URLs written in, so a new asset makes a new worker."""
    shell = shell_urls()
    source = (STATIC / "js" / "sw.js").read_text(encoding="utf-8")
    version = hashlib.sha256((json.dumps(shell) + source).encode()).hexdigest()[:10]
    head = f"self.SHELL = {json.dumps(shell)};\nself.VERSION = {json.dumps(version)};\n"
    response = Response(head + source, content_type="text/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: the search page is the start, the site's name, our icons."""
    name = current_app.config["SITE"].name
    body = {
        "name": name,
        "short_name": name if len(name) <= 12 else "Directory",
        "start_url": url_for("public.search"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": url_for("assets.icon", size=size), "sizes": f"{size}x{size}", "type": "image/png"}
            for size in ICON_SIZES
        ]
        + [{"src": asset_url("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = Response(json.dumps(body), content_type="application/manifest+json")
    response.headers["Cache-Control"] = SHORT_CACHE
    return response


@bp.get("/icons/icon-<int:size>.png")
def icon(size: int):
    """The app icon as a PNG, drawn here (a white pin on the site's blue), in the manifest's sizes."""
    if size not in ICON_SIZES:
        abort(404)
    response = Response(icon_png(size), content_type="image/png")
    response.headers["Cache-Control"] = SHORT_CACHE
    return response


@bp.get("/offline")
def offline():
    """What the worker shows for a page it has not kept while there is no connection."""
    return render_template("public/offline.html")


@lru_cache(maxsize=4)
def icon_png(size: int) -> bytes:
    """A square icon: the blue of the site, a white map pin with a blue dot (the same shape as icon.svg)."""
    blue, white = (11, 92, 173), (255, 255, 255)
    rows = []
    cx, cy, r = size * 0.5, size * 0.42, size * 0.22  # the pin's head
    tip = size * 0.80  # the pin's point
    for y in range(size):
        row = bytearray(b"\x00")  # filter: none
        for x in range(size):
            dx, dy = x + 0.5 - cx, y + 0.5 - cy
            inside_head = dx * dx + dy * dy <= r * r
            # The point: a triangle from the head's sides down to the tip.
            below = cy <= y + 0.5 <= tip
            half = r * (tip - (y + 0.5)) / (tip - cy) if below else 0
            inside_tail = below and abs(dx) <= half
            dot = dx * dx + dy * dy <= (r * 0.42) ** 2
            row += bytes(blue if dot or not (inside_head or inside_tail) else white)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
