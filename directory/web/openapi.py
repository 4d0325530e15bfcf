"""The OpenAPI 3.1 document of /api/v1, kept beside the views it describes."""

from __future__ import annotations

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
    _param("q", {"type": "string", "maxLength": 200}, "keywords over service, organization and description"),
    _param("category", {"type": "string"}, "IIP domain or taxonomy term id (see /taxonomy)"),
    _param(
        "near", {"type": "string", "maxLength": 300}, "lat,lon, a US ZIP, an address or a site place name"
    ),
    _param("lat", {"type": "number", "minimum": -90, "maximum": 90}, "latitude (with lon)"),
    _param("lon", {"type": "number", "minimum": -180, "maximum": 180}, "longitude (with lat)"),
    _param("radius_km", {"type": "number", "exclusiveMinimum": 0, "maximum": 200}, "search radius"),
    _param("language", {"type": "string"}, "English name or ISO 639-1 code"),
    _param("population", {"type": "string"}, "population code or name"),
    _param("low_barrier", BOOL, "low barrier / harm reduction"),
    _param("housing_first", BOOL, "Housing First"),
    _param(
        "availability", {"type": "string", "enum": ["lead_funded", "spare", "open", "any"]}, "capacity status"
    ),
    _param("open_now", BOOL, "open now in the site's time zone"),
    _param("page", {"type": "integer", "minimum": 1}, "page number"),
    _param("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "items per page"),
]


def openapi_document() -> dict:
    """Return the OpenAPI document."""
    service_id = _param("service_id", {"type": "integer", "minimum": 1}, "service id", "path", True)
    return {
        "openapi": "3.1.0",
        "info": {"title": "LEAD resource directory API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR},
        },
        "paths": {
            "/services": {
                "get": {
                    "summary": "Search services",
                    "parameters": SEARCH_PARAMS,
                    "responses": {"200": {"description": "a page of services"}, **_errors(400, 503)},
                }
            },
            "/services/{service_id}": {
                "get": {
                    "summary": "One service",
                    "parameters": [service_id],
                    "responses": {"200": {"description": "the service"}, **_errors(404)},
                }
            },
            "/taxonomy": {
                "get": {
                    "summary": "IIP domains and vocabularies",
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
    }
