"""Record ids from URLs and forms: ASCII digits only, at most 12 of them (fits every database's integer)."""

from __future__ import annotations

from werkzeug.routing import BaseConverter

MAX_DIGITS = 12


def parse_id(raw: object) -> int | None:
    """The id written in raw, or None when raw is not 1-12 ASCII digits (so no lookup can overflow)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_DIGITS or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


class IdConverter(BaseConverter):
    """`<id:name>` in a route: 1-12 ASCII digits; anything else does not match (404)."""

    regex = r"[0-9]{1,12}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))
