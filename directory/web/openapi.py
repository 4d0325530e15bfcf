"""The OpenAPI 3.1 document of /api/v1, kept beside the views it describes."""

from __future__ import annotations

from ..domain.capacity import ACTIONS
from ..models import (
    DECLINE_REASONS,
    KEEP_BOTH_REASONS,
    LISTED_ATTRIBUTES,
    OBSERVED,
    PROVIDER_DECLINE_REASONS,
    REASON_CODES,
)

BOOL = {"type": "string", "enum": ["true", "false", "1", "0"]}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}


def _param(name: str, schema: dict, description: str, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


def _errors(*statuses: int) -> dict:
    return {
        str(s): {"description": "error", "content": {"application/json": {"schema": ERROR}}} for s in statuses
    }


SEARCH_PARAMS = [
    _param(
        "q",
        {"type": "string", "maxLength": 200},
        "keywords (at most 8 words, each matched as a prefix, all required) over the service's name, "
        "organization and description and its tags: medications, practices, populations, languages and "
        "categories; brand names and abbreviations through the synonym table (suboxone, detox, MAT, narcan)",
    ),
    _param("category", {"type": "string"}, "IIP domain or taxonomy term id (see /taxonomy)"),
    _param(
        "near", {"type": "string", "maxLength": 300}, "lat,lon, a US ZIP, an address or a site place name"
    ),
    _param("lat", {"type": "number", "minimum": -90, "maximum": 90}, "latitude (with lon)"),
    _param("lon", {"type": "number", "minimum": -180, "maximum": 180}, "longitude (with lat)"),
    _param("radius_km", {"type": "number", "exclusiveMinimum": 0, "maximum": 200}, "search radius"),
    _param(
        "radius_mi",
        {"type": "number", "exclusiveMinimum": 0, "maximum": 124.27},
        "search radius in miles (instead of radius_km)",
    ),
    _param("language", {"type": "string"}, "English name or ISO 639-1 code"),
    _param(
        "language_access",
        {"type": "string", "enum": ["staff", "any"], "default": "any"},
        "with language: staff (staff speak it) or any (staff, or an interpreter on request); each of a "
        "service's languages carries its access, staff or interpreter",
    ),
    _param("population", {"type": "string"}, "population code or name"),
    _param("low_barrier", BOOL, "low barrier / harm reduction"),
    _param("housing_first", BOOL, "Housing First"),
    _param(
        "availability", {"type": "string", "enum": ["lead_funded", "spare", "open", "any"]}, "capacity status"
    ),
    _param("open_now", BOOL, "open now in the site's time zone"),
    _param(
        "medication",
        {"type": "string", "enum": ["buprenorphine", "methadone", "naltrexone"]},
        "medication for opioid use disorder offered (any case; a brand name such as suboxone is accepted)",
    ),
    _param("page", {"type": "integer", "minimum": 1}, "page number"),
    _param("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "items per page"),
]


COUNT = {"type": "integer", "minimum": 0, "maximum": 100_000}
CAPACITY_UPDATE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "maximum": COUNT,
        "available": {"type": ["integer", "null"], "minimum": 0, "maximum": 100_000},
        "waitlist": {"type": ["integer", "null"], "minimum": 0, "maximum": 100_000},
        "lead_funded_maximum": COUNT,
        "lead_funded_available": COUNT,
    },
}
PARTICIPANT_NEW = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "needs": {
            "type": "object",
            "properties": {
                "languages": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
                "populations": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
            },
            "additionalProperties": {"type": "boolean"},
        },
        "place": {"type": "string", "maxLength": 100, "description": "place name, ZIP, or lat,lon"},
    },
}
GOAL_NEW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["domain", "text"],
    "properties": {"domain": {"type": "string"}, "text": {"type": "string", "minLength": 1}},
}
RELEASE_NEW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["organization_id", "purpose", "signed_on", "expires_on"],
    "properties": {
        "organization_id": {"type": "integer", "minimum": 1},
        "purpose": {
            "type": "string",
            "enum": ["referral_outcome", "care_coordination", "benefits_enrollment", "legal_advocacy"],
        },
        "signed_on": {"type": "string", "format": "date"},
        "expires_on": {"type": "string", "format": "date"},
    },
}
CHECK = {
    "type": "object",
    "required": ["service_id"],
    "properties": {
        "service_id": {"type": "integer", "minimum": 1},
        "participant_code": {"type": "string"},
        "near": {"type": "string", "maxLength": 300},
    },
}
REFERRAL_NEW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service_id", "participant_code", "action"],
    "properties": {
        "service_id": {"type": "integer", "minimum": 1},
        "participant_code": {"type": "string"},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "reason_code": {
            "type": "string",
            "enum": list(REASON_CODES),
        },
        "justification": {"type": "string", "minLength": 20},
        "goal_id": {"type": "integer", "minimum": 1},
        "expected_classification": {"type": "string"},
        "alternatives_rejected": {"type": "object", "additionalProperties": {"type": "string"}},
        # The participant's reason for declining the alternatives offered; absent, an override counts as
        # avoidable when a LEAD-funded or spare unit was among them (domain.md).
        "decline_reason": {"type": "string", "enum": list(DECLINE_REASONS)},
        # One hold per need: a second hold at the same level of care (taxonomy term) needs one of these, or
        # 409 `second_hold` answers with the fresh check (its participant_holds and second_hold).
        "release_referral_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 10},
        "keep_both_reason": {"type": "string", "enum": list(KEEP_BOTH_REASONS)},
    },
}
NOTE = {"type": "object", "additionalProperties": False, "properties": {"note": {"type": "string"}}}
DECLINE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reason"],
    "properties": {
        "reason": {"type": "string", "enum": list(PROVIDER_DECLINE_REASONS)},
        "rule": {"type": "string", "maxLength": 300, "description": "not_eligible: which eligibility rule"},
        "attribute": {
            "type": "string",
            "enum": list(LISTED_ATTRIBUTES),
            "description": "turned_away: which attribute the listing claims was not honoured",
        },
        "note": {"type": "string"},
    },
}
REPORT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["observed"],
    "properties": {
        "observed": {"type": "string", "enum": list(OBSERVED)},
        "correct_phone": {"type": "string", "maxLength": 40, "description": "required with wrong_phone"},
        "attribute": {"type": "string", "enum": list(LISTED_ATTRIBUTES), "description": "with turned_away"},
        "referral_id": {"type": "integer", "minimum": 1},
        "note": {"type": "string", "maxLength": 500},
    },
}


# The contract since issue 16: the API never says whether a code exists.
PARTICIPANT_NOT_FOUND = (
    "404 `not_found` answers both a code that does not exist and a code that belongs to another case "
    "manager, with the same body, so that the API does not tell a guesser which codes are real. 403 is "
    "kept for a role that cannot use participants at all."
)


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


# The transparency report (contract.md, GET /transparency): stored figures of closed periods only.
_COUNT = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "description": "0, or at least 5"},
        {"type": "string", "enum": ["fewer than 5"]},
    ]
}
_BREAKDOWN = {
    "type": "object",
    "required": ["shown", "cells"],
    "properties": {
        "shown": {
            "type": "boolean",
            "description": "false: not shown (its hidden counts could be worked out)",
        },
        "cells": {
            "type": ["object", "null"],
            "description": "every category, zeros included; every cell below 5 hidden together",
            "additionalProperties": _COUNT,
        },
    },
}
AUDIT_HEAD = {
    "type": "object",
    "required": ["sequence", "hash", "at"],
    "description": "the audit chain's head when the period was published (its publication event)",
    "properties": {
        "sequence": {"type": "integer", "minimum": 1, "description": "audit event id (not a count)"},
        "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "at": {"type": "string", "format": "date-time"},
    },
}
TRANSPARENCY = {
    "type": "object",
    "required": ["period_kind", "suppression", "periods"],
    "properties": {
        "period_kind": {"type": "string", "enum": ["month", "quarter"]},
        "suppression": {"type": "string"},
        "periods": {
            "type": "array",
            "description": "closed periods, newest first, each at its latest revision",
            "items": {
                "type": "object",
                "required": [
                    "period",
                    "start",
                    "end",
                    "total",
                    "referrals_by_classification",
                    "referrals_by_domain",
                    "displacement_rate",
                    "published_at",
                    "audit_head",
                    "revisions",
                ],
                "properties": {
                    "period": {"type": "string", "examples": ["2026-10", "2026-Q4"]},
                    "start": {
                        "type": "string",
                        "format": "date",
                        "description": "first day (site time zone)",
                    },
                    "end": {"type": "string", "format": "date", "description": "the day after the last"},
                    "total": {**_COUNT, "description": "the one total of every breakdown"},
                    "referrals_by_classification": _BREAKDOWN,
                    "referrals_by_domain": _BREAKDOWN,
                    "displacement_rate": {
                        "type": "string",
                        "description": "overrides / referrals as a percentage, 'not shown' or 'no referrals'",
                    },
                    "published_at": {"type": "string", "format": "date-time"},
                    "audit_head": AUDIT_HEAD,
                    "revisions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "published_at": {"type": "string", "format": "date-time"},
                                "reason": {"type": ["string", "null"], "description": "null for the first"},
                                "audit_head": AUDIT_HEAD,
                            },
                        },
                    },
                },
            },
        },
    },
}


def _operation(summary: str, ok: str, errors: tuple[int, ...], **extra) -> dict:
    status = extra.pop("status", "200")
    return {"summary": summary, "responses": {status: {"description": ok}, **_errors(*errors)}, **extra}


def openapi_document() -> dict:
    """Return the OpenAPI document: every /api/v1 endpoint with its parameters, bodies and errors."""
    service_id = _param("service_id", {"type": "integer", "minimum": 1}, "service id", "path", True)
    referral_id = _param("referral_id", {"type": "integer", "minimum": 1}, "referral id", "path", True)
    code = _param("code", {"type": "string"}, "participant code", "path", True)
    release_id = _param("release_id", {"type": "integer", "minimum": 1}, "release id", "path", True)
    key = _param("Idempotency-Key", {"type": "string", "maxLength": 200}, "retry key", "header")
    bearer = [{"bearer": []}]
    writes = (400, 401, 403, 404, 409, 413, 503)
    transitions = {
        name: {
            "post": _operation(
                f"{name.capitalize()} a referral",
                "the referral",
                writes,
                parameters=[referral_id],
                requestBody=_body(DECLINE) if name == "decline" else {**_body(NOTE), "required": False},
                security=bearer,
            )
        }
        for name in ("accept", "decline", "cancel")
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "LEAD resource directory API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "Transparency": TRANSPARENCY},
        },
        "paths": {
            "/services": {
                "get": _operation(
                    "Search services",
                    "a page of services. With a location (near, or lat and lon) the items within the radius "
                    "come nearest first with distance_km, then the confidential services that match the "
                    "other filters, by name, whatever the location, with distance_km null",
                    (400, 401, 503),
                    parameters=SEARCH_PARAMS,
                )
            },
            "/services/{service_id}": {
                "get": _operation("One service", "the service", (401, 404), parameters=[service_id])
            },
            "/taxonomy": {"get": _operation("IIP domains and vocabularies", "ok", (401,))},
            "/transparency": {
                "get": {
                    **_operation(
                        "Public aggregates of closed periods (stored; small counts suppressed)", "ok", (503,)
                    ),
                    "responses": {
                        "200": {
                            "description": "the stored figures",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Transparency"}}
                            },
                        },
                        **_errors(503),
                    },
                }
            },
            "/services/{service_id}/capacity": {
                "put": _operation(
                    "Update a service's numbers (provider of the organization, or admin)",
                    "the new capacity and holds_at_risk",
                    writes,
                    parameters=[service_id],
                    requestBody=_body(CAPACITY_UPDATE),
                    security=bearer,
                )
            },
            "/services/{service_id}/capacity/confirm": {
                "post": _operation(
                    "Confirm the numbers are still correct",
                    "the capacity with a fresh confirmed_at",
                    writes,
                    parameters=[service_id],
                    security=bearer,
                )
            },
            "/services/{service_id}/capacity/reports": {
                "post": _operation(
                    "Report what you found in the field (case managers, peer outreach); full or fewer_free "
                    "against numbers that said free makes the service unverified until its provider confirms",
                    "the report",
                    writes,
                    status="201",
                    parameters=[service_id],
                    requestBody=_body(REPORT),
                    security=bearer,
                )
            },
            "/participants": {
                "post": _operation(
                    "Create a participant (a generated code; nothing identifying)",
                    "the participant",
                    writes,
                    status="201",
                    requestBody={**_body(PARTICIPANT_NEW), "required": False},
                    security=bearer,
                )
            },
            "/participants/{code}": {
                "get": _operation(
                    "A participant's plan",
                    "the participant",
                    (401, 403, 404),
                    parameters=[code],
                    security=bearer,
                    description=PARTICIPANT_NOT_FOUND,
                )
            },
            "/participants/{code}/goals": {
                "post": _operation(
                    "Add a goal in the participant's words",
                    "the goal",
                    writes,
                    status="201",
                    parameters=[code],
                    requestBody=_body(GOAL_NEW),
                    security=bearer,
                    description=PARTICIPANT_NOT_FOUND,
                )
            },
            "/participants/{code}/releases": {
                "get": _operation(
                    "The participant's releases of information (each read is audited)",
                    '{"items": [release]}, each with its state today (current, expired, revoked)',
                    (401, 403, 404),
                    parameters=[code],
                    security=bearer,
                    description=PARTICIPANT_NOT_FOUND,
                ),
                "post": _operation(
                    "Record that a signed release exists (the paper stays on paper; audited)",
                    "the release",
                    writes,
                    status="201",
                    parameters=[code],
                    requestBody=_body(RELEASE_NEW),
                    security=bearer,
                    description=PARTICIPANT_NOT_FOUND,
                ),
            },
            "/participants/{code}/releases/{release_id}/revoke": {
                "post": _operation(
                    "The participant revoked a release (audited; 409 when already revoked)",
                    "the release",
                    writes,
                    parameters=[code, release_id],
                    security=bearer,
                    description=PARTICIPANT_NOT_FOUND,
                )
            },
            "/referrals/check": {
                "post": _operation(
                    "The non-displacement check (claims nothing; recorded)",
                    "the check",
                    writes,
                    requestBody=_body(CHECK),
                    security=bearer,
                )
            },
            "/referrals": {
                "post": _operation(
                    "Refer: atomic check and act",
                    "the referral",
                    writes,
                    status="201",
                    parameters=[key],
                    requestBody=_body(REFERRAL_NEW),
                    security=bearer,
                )
            },
            "/referrals/{referral_id}": {
                "get": _operation(
                    "One referral", "the referral", (401, 403, 404), parameters=[referral_id], security=bearer
                )
            },
            **{f"/referrals/{{referral_id}}/{name}": path for name, path in transitions.items()},
        },
    }
