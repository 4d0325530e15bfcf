"""Signed one-tap links (reminder emails): the token names a stored, single-use nonce and is signed."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "confirm-capacity"


def make_confirm_token(secret_key: str, nonce: str) -> str:
    """Sign a confirm link's nonce."""
    return URLSafeSerializer(secret_key, salt=SALT).dumps({"n": nonce})


def read_confirm_token(secret_key: str, token: str) -> str | None:
    """The nonce of a well-signed token, or None (expiry and single use are checked against the database)."""
    if not token or len(token) > 300:
        return None
    try:
        data = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        return None
    nonce = data.get("n") if isinstance(data, dict) else None
    return nonce if isinstance(nonce, str) else None
