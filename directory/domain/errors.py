"""Domain errors, mapped to HTTP statuses by the web layer."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a domain function raises for a client's request."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """Bad input: names the offending field."""

    status = 400
    code = "invalid"


class NotFound(DomainError):
    """The object does not exist (or is not visible to this actor)."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The actor may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The state changed: the request no longer applies."""

    status = 409
    code = "conflict"
