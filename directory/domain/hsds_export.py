"""HSDS 3.x export of our own directory: nested JSON or a CSV datapackage, LEAD extensions as attributes.

Every LEAD extension HSDS has no field for (the low-barrier attributes, populations, capacity's waitlist and
LEAD-funded units, who confirmed the numbers when, a location's precision) is an HSDS `attribute` whose
taxonomy term id starts with `lead:` (`lead:flags` lists the true LEAD flags; `lead:capacity` holds
`waitlist=..;lead_funded_maximum=..;lead_funded_available=..;confirmed_at=..`); our IIP categories are
taxonomy terms of the `lead-iip` taxonomy.
Importing the export (`scrape run hsds`) reproduces the directory.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections import defaultdict
from datetime import datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from scrapers.hsds import IIP_TAXONOMY, LEAD
from scrapers.languages import access_of
from scrapers.records import LEAD_FLAGS, OPTIONAL_FLAGS

from ..models import (
    Address,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceCapacity,
    SitePlace,
    TaxonomyTerm,
    Unit,
    service_area,
    service_at_location,
    service_population,
    service_practice,
    service_taxonomy,
)

NAMESPACE = uuid.UUID("6f1c1d0e-6a43-4c5b-9d0e-4c1ead000001")
SERVICE_EXTRA = ("intake_mode", "intake_times", "curfew", "insurance")
COLUMNS = {
    "organizations": ["id", "name", "alternate_name", "description", "email", "website"],
    "services": [
        "id",
        "organization_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "application_process",
        "fees_description",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "alert",
        "last_modified",
    ],
    "locations": [
        "id",
        "location_type",
        "organization_id",
        "name",
        "description",
        "transportation",
        "latitude",
        "longitude",
    ],
    "addresses": [
        "id",
        "location_id",
        "address_1",
        "address_2",
        "city",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    ],
    "service_at_location": ["id", "service_id", "location_id"],
    "phones": ["id", "service_id", "location_id", "number", "extension", "type", "description"],
    "schedules": ["id", "service_id", "freq", "byday", "opens_at", "closes_at", "description"],
    "languages": ["id", "service_id", "name", "code", "note"],
    "required_documents": ["id", "service_id", "document", "uri"],
    "service_capacity": ["id", "service_id", "unit_id", "available", "maximum", "description", "updated"],
    "unit": ["id", "name", "scheme"],
    "taxonomies": ["id", "name", "description", "version"],
    "taxonomy_terms": ["id", "code", "name", "description", "parent_id", "taxonomy", "taxonomy_id"],
    "attributes": ["id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value"],
}


def uid(kind: str, key) -> str:
    """A stable UUID for one of our rows (HSDS 3 ids are UUIDs)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


class _Tables:
    def __init__(self, include_confidential: bool = False):
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.counter = 0
        self.include_confidential = include_confidential
        self.withheld = 0  # confidential locations written without their address and coordinates

    def attribute(self, link_id: str, entity: str, name: str, value) -> None:
        self.counter += 1
        self.rows["attributes"].append(
            {
                "id": uid("attribute", f"{link_id}:{name}:{self.counter}"),
                "link_id": link_id,
                "taxonomy_term_id": LEAD + name,
                "link_type": "lead_extension",
                "link_entity": entity,
                "value": _value(value),
            }
        )


BATCH = 5000  # ids per IN list


def collect(session: Session, include_inactive: bool = False, include_confidential: bool = False) -> _Tables:
    """Every table of the export, as rows of strings.

    A confidential (domestic-violence) location is written as a location flagged confidential with no
    address and no coordinates, unless include_confidential asks for them. The order of the steps is part
    of the output: attribute ids number the attributes in the order they are made.
    """
    t = _Tables(include_confidential)
    places = dict(session.execute(select(SitePlace.id, SitePlace.name)).all())
    _taxonomy(session, t)
    _units(session, t)
    service_ids, org_ids = _services(session, t, include_inactive)
    _service_terms(session, t, service_ids, places)
    location_ids = _service_at_location(session, t, service_ids)
    _service_contacts(session, t, service_ids)
    _capacities(session, t, service_ids)
    _locations(session, t, sorted(location_ids), places, org_ids)
    _organizations(session, t, sorted(org_ids))
    return t


def _in_batches(session: Session, statement, column, ids: list[int]):
    """The statement's rows where `column` is one of `ids`, one query per BATCH ids."""
    for start in range(0, len(ids), BATCH):
        yield from session.execute(statement.where(column.in_(ids[start : start + BATCH]))).all()


def _per_service(session: Session, statement, service_ids: list[int]):
    """The statement's rows for the exported services (its first column is the service id)."""
    return _in_batches(session, statement, statement.selected_columns[0], service_ids)


def _taxonomy(session: Session, t: _Tables) -> None:
    t.rows["taxonomies"].append(
        {
            "id": IIP_TAXONOMY,
            "name": "LEAD IIP domains",
            "description": "LEAD directory categories",
            "version": "1",
        }
    )
    for term in session.scalars(select(TaxonomyTerm).order_by(TaxonomyTerm.id)):
        t.rows["taxonomy_terms"].append(
            {
                "id": term.id,
                "code": term.id,
                "name": term.name,
                "description": term.description or "",
                "parent_id": term.parent_id or "",
                "taxonomy": IIP_TAXONOMY,
                "taxonomy_id": IIP_TAXONOMY,
            }
        )


def _units(session: Session, t: _Tables) -> None:
    for unit in session.scalars(select(Unit).order_by(Unit.id)):
        t.rows["unit"].append({"id": unit.id, "name": unit.name, "scheme": unit.scheme or ""})


def _services(session: Session, t: _Tables, include_inactive: bool) -> tuple[list[int], set[int]]:
    """The service rows and their LEAD attributes; returns the services' ids and their organizations'."""
    service_filter = [] if include_inactive else [Service.status != "inactive"]
    service_rows = session.execute(
        select(Service.__table__).where(*service_filter).order_by(Service.id)
    ).mappings()
    service_ids, org_ids = [], set()
    for s in service_rows:
        sid = uid("service", s["id"])
        service_ids.append(s["id"])
        org_ids.add(s["organization_id"])
        row = {
            "id": sid,
            "organization_id": uid("organization", s["organization_id"]),
            "last_modified": _value(s["updated_at"]),
        }
        row.update({c: _value(s[c]) for c in COLUMNS["services"] if c not in row})
        row["id"] = sid
        t.rows["services"].append(row)
        t.attribute(sid, "service", "primary_domain", s["primary_domain"])
        flags = [name for name in LEAD_FLAGS if s[name]]
        if flags:
            # One attribute for all the true flags keeps the export compact (value: comma-separated names).
            t.attribute(sid, "service", "flags", ",".join(flags))
        for name in OPTIONAL_FLAGS + SERVICE_EXTRA:
            if s[name] is not None:
                t.attribute(sid, "service", name, s[name])
    return service_ids, org_ids


def _service_terms(session: Session, t: _Tables, ids: list[int], places: dict[int, str]) -> None:
    """Categories, populations, practices and areas served."""
    for service_id, term in _per_service(
        session, select(service_taxonomy.c.service_id, service_taxonomy.c.taxonomy_term_id), ids
    ):
        t.rows["attributes"].append(
            {
                "id": uid("category", f"{service_id}:{term}"),
                "link_id": uid("service", service_id),
                "taxonomy_term_id": term,
                "link_type": "category",
                "link_entity": "service",
                "value": "",
            }
        )
    for table, column, name in (
        (service_population, "population_code", "population"),
        (service_practice, "practice_code", "practice"),
    ):
        for service_id, code in _per_service(session, select(table.c.service_id, table.c[column]), ids):
            t.attribute(uid("service", service_id), "service", name, code)
    areas = select(service_area.c.service_id, service_area.c.site_place_id)
    for service_id, place_id in _per_service(session, areas, ids):
        t.attribute(uid("service", service_id), "service", "area", places[place_id])


def _service_at_location(session: Session, t: _Tables, ids: list[int]) -> set[int]:
    """The services' links to their locations; returns the locations' ids."""
    location_ids = set()
    links = select(service_at_location.c.service_id, service_at_location.c.location_id)
    for service_id, location_id in _per_service(session, links, ids):
        location_ids.add(location_id)
        t.rows["service_at_location"].append(
            {
                "id": uid("service_at_location", f"{service_id}:{location_id}"),
                "service_id": uid("service", service_id),
                "location_id": uid("location", location_id),
            }
        )
    return location_ids


def _language_note(note: str | None, access: str) -> str | None:
    """HSDS has no field for how a language is offered: an interpreter-only language says so in its note
    (which our importer, and a person, reads back)."""
    if access != "interpreter" or access_of(note) == "interpreter":
        return note
    return "Interpreter on request" + (f"; {note}" if note else "")


def _service_contacts(session: Session, t: _Tables, ids: list[int]) -> None:
    """Phones, schedules, languages and required documents."""
    phones = select(Phone.service_id, Phone.id, Phone.number, Phone.extension, Phone.type, Phone.description)
    for p in _per_service(session, phones, ids):
        t.rows["phones"].append(
            {
                "id": uid("phone", p.id),
                "service_id": uid("service", p.service_id),
                "location_id": "",
                "number": p.number,
                "extension": _value(p.extension),
                "type": p.type,
                "description": _value(p.description),
            }
        )
    schedules = select(
        Schedule.service_id,
        Schedule.id,
        Schedule.byday,
        Schedule.opens_at,
        Schedule.closes_at,
        Schedule.description,
    )
    for s in _per_service(session, schedules, ids):
        t.rows["schedules"].append(
            {
                "id": uid("schedule", s.id),
                "service_id": uid("service", s.service_id),
                "freq": "WEEKLY" if len(s.byday) == 2 else "MONTHLY",
                "byday": s.byday,
                "opens_at": _value(s.opens_at),
                "closes_at": _value(s.closes_at),
                "description": _value(s.description),
            }
        )
    # Hours the importer could not read: a schedule row with only a description, as HSDS allows.
    kept = select(Service.id, Service.hours_text).where(Service.hours_text.is_not(None))
    for service_id, text in _per_service(session, kept, ids):
        t.rows["schedules"].append(
            {
                "id": uid("schedule-text", service_id),
                "service_id": uid("service", service_id),
                "freq": "",
                "byday": "",
                "opens_at": "",
                "closes_at": "",
                "description": text,
            }
        )
    languages = select(
        Language.service_id, Language.id, Language.name, Language.code, Language.note, Language.access
    )
    for lang in _per_service(session, languages, ids):
        t.rows["languages"].append(
            {
                "id": uid("language", lang.id),
                "service_id": uid("service", lang.service_id),
                "name": lang.name,
                "code": lang.code,
                "note": _value(_language_note(lang.note, lang.access)),
            }
        )
    documents = select(
        RequiredDocument.service_id, RequiredDocument.id, RequiredDocument.document, RequiredDocument.uri
    )
    for d in _per_service(session, documents, ids):
        t.rows["required_documents"].append(
            {
                "id": uid("document", d.id),
                "service_id": uid("service", d.service_id),
                "document": d.document,
                "uri": _value(d.uri),
            }
        )


def _capacities(session: Session, t: _Tables, ids: list[int]) -> None:
    """Capacity rows; the numbers HSDS has no field for are a `lead:capacity` attribute."""
    cap_table = ServiceCapacity.__table__
    for c in _per_service(session, select(cap_table.c.service_id, cap_table), ids):
        cid = uid("capacity", c.id)
        t.rows["service_capacity"].append(
            {
                "id": cid,
                "service_id": uid("service", c.service_id),
                "unit_id": c.unit_id,
                "available": _value(c.available),
                "maximum": _value(c.maximum),
                "description": _value(c.description),
                "updated": _value(c.updated),
            }
        )
        extension = ";".join(
            f"{name}={_value(getattr(c, name))}"
            for name in ("waitlist", "lead_funded_maximum", "lead_funded_available", "confirmed_at")
            if getattr(c, name) is not None
        )
        if extension:
            t.attribute(cid, "service_capacity", "capacity", extension)


def _locations(
    session: Session, t: _Tables, location_ids: list[int], places: dict[int, str], org_ids: set[int]
) -> None:
    """The services' locations with their addresses; adds the locations' organizations to `org_ids`."""
    hidden = set()
    for row in _in_batches(session, select(Location.__table__), Location.id, location_ids):
        loc = row._mapping
        lid = uid("location", loc["id"])
        withheld = bool(loc["confidential"]) and not t.include_confidential
        if withheld:
            hidden.add(loc["id"])
            t.withheld += 1
        if loc["organization_id"] is not None:
            org_ids.add(loc["organization_id"])
        t.rows["locations"].append(
            {
                "id": lid,
                "location_type": "physical",
                "organization_id": uid("organization", loc["organization_id"])
                if loc["organization_id"] is not None
                else "",
                "name": _value(loc["name"]),
                "description": _value(loc["description"]),
                "transportation": _value(loc["transportation"]),
                "latitude": "" if withheld else _value(loc["latitude"]),
                "longitude": "" if withheld else _value(loc["longitude"]),
            }
        )
        if loc["precision"] != "exact" and not withheld:
            t.attribute(lid, "location", "precision", loc["precision"])
        if loc["confidential"]:
            t.attribute(lid, "location", "confidential", True)
        if loc["neighborhood_id"] is not None:
            t.attribute(lid, "location", "neighborhood", places[loc["neighborhood_id"]])
    for row in _in_batches(session, select(Address.__table__), Address.location_id, location_ids):
        a = row._mapping
        if a["location_id"] in hidden:
            continue
        t.rows["addresses"].append(
            {
                "id": uid("address", a["id"]),
                "location_id": uid("location", a["location_id"]),
                "address_1": a["address_1"],
                "address_2": _value(a["address_2"]),
                "city": a["city"],
                "state_province": a["state_province"],
                "postal_code": _value(a["postal_code"]),
                "country": a["country"],
                "address_type": "physical",
            }
        )


def _organizations(session: Session, t: _Tables, org_ids: list[int]) -> None:
    for row in _in_batches(session, select(Organization.__table__), Organization.id, org_ids):
        o = row._mapping
        t.rows["organizations"].append(
            {
                "id": uid("organization", o["id"]),
                **{c: _value(o[c]) for c in COLUMNS["organizations"] if c != "id"},
            }
        )


# A cell a spreadsheet would run as a formula: `=`, `@`, or `+`/`-` followed by a non-digit (after any
# quotes we added before: a value that already starts with our quote gets one more, so reading drops one).
_FORMULA = re.compile(r"^'*(?:[=@]|[+-](?!\d))")


def neutralize(value: str) -> str:
    """A CSV cell that no spreadsheet runs: a leading `'` before a formula trigger (`-12.5` and
    `+1 206...` stay numbers); the HSDS importer drops the quote again (scrapers.hsds.unneutralize)."""
    return "'" + value if value and _FORMULA.match(value) else value


def write_datapackage(tables: _Tables, folder: Path) -> dict[str, int]:
    """Write datapackage.json and one CSV per table, every cell formula-safe; returns rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    resources = []
    counts = {}
    for name, columns in COLUMNS.items():
        rows = tables.rows.get(name, [])
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(
                {k: neutralize(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows
            )
        counts[name] = len(rows)
        resources.append(
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "schema": {"fields": [{"name": c, "type": "string"} for c in columns]},
            }
        )
    package = {
        "name": "lead-directory",
        "title": "LEAD resource directory (HSDS 3.1 with LEAD extensions)",
        "profile": "tabular-data-package",
        "version": "3.1",
        "resources": resources,
    }
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2), encoding="utf-8")
    return counts


def write_json(tables: _Tables, path: Path) -> dict[str, int]:
    """Write the nested JSON form: a list of services, each as the HSDS 3 API's service_full."""
    rows = tables.rows

    def group(name: str, key: str) -> dict[str, list[dict]]:
        grouped = defaultdict(list)
        for row in rows.get(name, []):
            grouped[row[key]].append(row)
        return grouped

    def clean(row: dict, drop: tuple[str, ...] = ()) -> dict:
        return {k: v for k, v in row.items() if k not in drop and v != ""}

    attributes = group("attributes", "link_id")
    terms = {t["id"]: t for t in rows.get("taxonomy_terms", [])}
    orgs = {o["id"]: o for o in rows.get("organizations", [])}
    locations = {loc["id"]: loc for loc in rows.get("locations", [])}
    addresses = group("addresses", "location_id")
    links = group("service_at_location", "service_id")
    children = {
        name: group(name, "service_id") for name in ("phones", "schedules", "languages", "required_documents")
    }
    capacities = group("service_capacity", "service_id")
    units = {u["id"]: u for u in rows.get("unit", [])}

    def attrs(link_id: str) -> list[dict]:
        out = []
        for a in attributes.get(link_id, []):
            item = clean(a, ("taxonomy_term_id",))
            term = terms.get(a["taxonomy_term_id"])
            item["taxonomy_term"] = clean(term) if term else {"id": a["taxonomy_term_id"]}
            out.append(item)
        return out

    services = []
    for s in rows.get("services", []):
        item = clean(s)
        item["organization"] = clean(orgs.get(s["organization_id"], {"id": s["organization_id"]}))
        for name, group_rows in children.items():
            item[name] = [clean(r, ("service_id",)) for r in group_rows.get(s["id"], [])]
        item["attributes"] = attrs(s["id"])
        item["capacities"] = [
            {
                **clean(c, ("service_id",)),
                "unit": clean(units.get(c["unit_id"], {"id": c["unit_id"]})),
                "attributes": attrs(c["id"]),
            }
            for c in capacities.get(s["id"], [])
        ]
        item["service_at_locations"] = []
        for link in links.get(s["id"], []):
            loc = locations.get(link["location_id"])
            if loc is None:
                continue
            location = clean(loc)
            location["addresses"] = [clean(a, ("location_id",)) for a in addresses.get(loc["id"], [])]
            location["attributes"] = attrs(loc["id"])
            item["service_at_locations"].append({"id": link["id"], "location": location})
        services.append(item)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(services, fh, ensure_ascii=False, indent=1)
    return {"services": len(services)}


WITHHELD = "confidential locations without address or coordinates"


def export(
    session: Session,
    target: str | Path,
    fmt: str = "csv",
    include_inactive: bool = False,
    include_confidential: bool = False,
) -> dict[str, int]:
    """Export the directory to a datapackage folder (csv) or a JSON file (json); the counts say how many
    confidential locations were written without their address and coordinates (WITHHELD)."""
    tables = collect(session, include_inactive, include_confidential)
    target = Path(target)
    counts = write_json(tables, target) if fmt == "json" else write_datapackage(tables, target)
    return {**counts, WITHHELD: tables.withheld}
