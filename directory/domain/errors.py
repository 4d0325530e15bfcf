"""Domain errors, mapped to HTTP statuses by the web layer.

A message is a marked sentence with its values apart: `ValidationError(N_("%(field)s is too long"),
"goal", field="goal")`. `.message` is the English text (the API's error JSON and the logs); `.words` keeps
the sentence and values for a page to show in its reader's language. A plain f-string still works (shown
as written, untranslated)."""

from __future__ import annotations

from ..words import Words


class DomainError(Exception):
    """Base of the errors a domain function raises for a client's request."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | Words, field: str | None = None, **params):
        words = message if isinstance(message, Words) else Words(message, **params)
        english = words.render()
        super().__init__(english)
        self.message = english
        self.words = words
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
