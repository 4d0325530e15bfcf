"""Security headers on every response: a Content-Security-Policy with a per-request nonce, and friends."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix


def csp_nonce() -> str:
    """The nonce that inline scripts of this response must carry (one per request)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def tile_origin(template: str | None) -> str | None:
    """The origin of the map tile URL template, for img-src (None when tiles are off)."""
    if not template or template == "none":
        return None
    parts = urlsplit(template.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return None
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in template else parts.netloc
    return f"{parts.scheme}://{host}"


def trusted_proxies(app: Flask) -> int:
    """How many proxies in front of the app to believe (TRUSTED_PROXIES, default 0: believe none)."""
    raw = app.config.get("TRUSTED_PROXIES") or 0
    try:
        count = int(raw)
    except (TypeError, ValueError):
        count = -1
    if not 0 <= count <= 10:
        from ..config import ConfigError

        raise ConfigError(f"TRUSTED_PROXIES must be a whole number from 0 to 10, not {raw!r}")
    return count


def install(app: Flask) -> None:
    """Add the headers after every request; believe forwarded headers from the trusted proxies only."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    proxies = trusted_proxies(app)
    if proxies:
        # Without this, every client behind a proxy shares the proxy's address (one throttling bucket);
        # with more than the real count, any client could name its own address in X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.after_request
    def security_headers(response):
        tiles = tile_origin(app.config.get("MAP_TILES"))
        img = "'self' data:" + (f" {tiles}" if tiles else "")
        policy = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{csp_nonce()}'; "
            # Leaflet positions tiles and markers with style attributes: styles may be inline, scripts not.
            "style-src 'self' 'unsafe-inline'; "
            f"img-src {img}; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'"
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
