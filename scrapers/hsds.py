"""Open Referral HSDS in: 3.0/3.1 nested JSON, 3.x CSV datapackages, 1.x CSV datapackages (as 211s publish).

All of them are first read into the same tables (one list of rows per HSDS table, each row with where it came
from: file and line, or JSON path), so one builder turns any of them into normalized records. Our own HSDS
export carries the LEAD extensions as attributes whose taxonomy term ids start with `lead:`.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from types import SimpleNamespace

from .classify import classify
from .common import (
    SourceError,
    check_coordinates,
    check_zip_state,
    clean_email,
    clean_text,
    overnight_note,
    parse_compact_time,
    parse_count,
    parse_datetime,
    parse_day,
    parse_phone,
    plain,
    read_text,
    repair_url,
    repair_zip,
    state_code,
    truthy,
)
from .hours import KEPT_AS_TEXT, WEEK, hours_of, is_byday
from .languages import language, unique
from .mappings import check_domain
from .records import (
    LEAD_FLAGS,
    AddressRecord,
    CapacityRecord,
    DocumentRecord,
    LocationRecord,
    OrganizationRecord,
    ParseResult,
    ScheduleRecord,
    ServiceRecord,
)

LEAD = "lead:"
IIP_TAXONOMY = "lead-iip"
# HSDS 1.x and 3.x spell some tables differently: read both into the 3.x name.
TABLE_ALIASES = {
    "services_at_location": "service_at_location",
    "physical_addresses": "addresses",
    "regular_schedules": "schedules",
    "taxonomy": "taxonomy_terms",
    "services_taxonomy": "service_taxonomy",
    "service_capacities": "service_capacity",
    "units": "unit",
}
PHONE_TYPES = {"voice", "text", "fax", "hotline", "tty", "cell"}
SERVICE_STATUSES = {"active", "inactive", "defunct", "temporarily closed"}
_SCHEDULES: dict[tuple, ScheduleRecord] = {}  # identical slots share one (frozen) record
_FLAGS: dict[tuple, dict[str, bool]] = {}  # identical flag sets share one dict (never mutated)


PAIR, ITEM = "\x1f", "\x1e"  # separators of the packed LEAD attributes (control characters, never in text)


class _LeadView:
    """link id -> {name: [values]}, unpacked on demand from one packed string per link.

    A large export has a dozen LEAD attributes per service; one string per link instead of lists of pairs
    keeps a 100,000-service import within its memory budget.
    """

    def __init__(self, packed: dict[str, str]):
        self.packed = packed

    def get(self, link: str, default=None) -> dict[str, list[str]]:
        found = self.packed.pop(link, None)  # each link is read once: let its attributes go
        if found is None:
            return default if default is not None else {}
        out: dict[str, list[str]] = {}
        for item in found.split(ITEM):
            name, _, value = item.partition(PAIR)
            out.setdefault(name, []).append(value)
        return out


UNIT_ALIASES = {"beds": "bed", "shelter_beds": "shelter_bed", "units": "unit", "slots": "slot"}


# Our export quotes a cell a spreadsheet would run as a formula (directory.domain.hsds_export.neutralize).
_QUOTED_FORMULA = re.compile(r"^'+(?:[=@]|[+-](?!\d))")


def unneutralize(value: str) -> str:
    """A CSV cell with the quote a formula-safe export put before `=`, `@`, `+x` or `-x` taken off again."""
    return value[1:] if value.startswith("'") and _QUOTED_FORMULA.match(value) else value


class CsvTable:
    """A CSV table read lazily, row by row, each time it is iterated: (where, row with non-empty values)."""

    def __init__(self, path: Path):
        self.path = path
        self.notes: list[str] = []
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
        self.encoding = "utf-8-sig"
        try:
            with open(path, encoding="utf-8-sig") as fh:
                while fh.read(1 << 22):
                    pass
        except UnicodeDecodeError:
            self.encoding = "cp1252"
            self.notes.append("text is Windows-1252, not UTF-8: converted")
        if b"\r" in head and b"\n" not in head:
            self.notes.append("old-Mac \\r line endings: read as lines")

    def __iter__(self):
        name = self.path.name
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return
            seen: dict[str, int] = {}
            names = []
            for raw in header:
                column = raw.strip().lstrip("\ufeff")
                if column in seen:
                    seen[column] += 1
                    column = f"{column}__{seen[column]}"
                else:
                    seen[column] = 1
                names.append(column)
            for values in reader:
                row = {
                    names[i]: unneutralize(v.strip())
                    for i, v in enumerate(values[: len(names)])
                    if v and v.strip()
                }
                if row:
                    yield f"{name}:{reader.line_num}", row


@dataclass
class Tables:
    """HSDS tables: name -> [(where, row)], plus notes about whole files."""

    rows: dict[str, list[tuple[str, dict]] | CsvTable] = field(default_factory=lambda: defaultdict(list))
    notes: list[tuple[str, str]] = field(default_factory=list)
    version: str = "3"
    seen: dict[str, set] = field(default_factory=lambda: defaultdict(set))

    def add(self, table: str, where: str, row: dict) -> None:
        self.rows[TABLE_ALIASES.get(table, table)].append((where, row))


# -- reading ------------------------------------------------------------------------------------------------


def _load_json(path: Path):
    text, notes = read_text(path)
    try:
        return json.loads(text), notes
    except json.JSONDecodeError:
        pass
    # Line-per-record JSON, perhaps with trailing commas or wrapped in brackets.
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip().rstrip(",")
        if line in ("", "[", "]"):
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path.name}:{number}: not JSON ({exc.msg})") from exc
    return items, [*notes, "line-per-record JSON (trailing commas ignored)"]


def read_tables(path: Path) -> Tables:
    """Read a datapackage folder, a datapackage.json, a folder of table files, or a nested JSON file."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    if path.is_file() and path.name == "datapackage.json":
        path = path.parent
    tables = Tables()
    if path.is_dir():
        _read_folder(path, tables)
        return tables
    if path.suffix.lower() == ".csv":
        raise SourceError("an HSDS CSV source is a datapackage folder (datapackage.json + tables)")
    data, notes = _load_json(path)
    tables.notes.extend((path.name, n) for n in notes)
    _flatten_document(tables, data, path.name)
    return tables


def _read_folder(path: Path, tables: Tables) -> None:
    """A datapackage folder (or a folder of table files) into tables."""
    package = path / "datapackage.json"
    resources = []
    meta = None
    if package.exists():
        try:
            meta, _ = _load_json(package)
        except SourceError:
            tables.notes.append(("datapackage.json", "not JSON (a link?): the folder's tables are read"))
    if isinstance(meta, dict):
        listed = meta.get("resources") if isinstance(meta.get("resources"), list) else []
        for resource in listed:
            relative = resource.get("path") if isinstance(resource, dict) else None
            if not relative or not isinstance(relative, str) or ".." in relative:
                continue  # a resource without a readable path (or one leaving the folder) is not read
            for file in (path / relative, path / "data" / relative):
                if file.is_file():
                    resources.append((file.stem, file))
                    break
        profile = str(meta.get("profile", "")) + " " + json.dumps(listed[:1], default=str)[:2000]
        tables.version = "3" if "3." in profile or _has_v3_tables(resources) else "1"
    if not resources:
        folders = [path, path / "data"]
        resources = [
            (f.stem, f)
            for folder in folders
            if folder.is_dir()
            for f in sorted(folder.iterdir())
            if f.suffix in (".csv", ".json") and f.name != "datapackage.json"
        ]
        tables.version = "3" if _has_v3_tables(resources) else "1"
    if not resources:
        raise SourceError(f"{path} holds no HSDS tables")
    for name, file in resources:
        if file.suffix == ".csv":
            table = CsvTable(file)
            tables.notes.extend((file.name, n) for n in table.notes)
            tables.rows[TABLE_ALIASES.get(name, name)] = table
        else:
            data, notes = _load_json(file)
            tables.notes.extend((file.name, n) for n in notes)
            for index, row in enumerate(data if isinstance(data, list) else [data]):
                if isinstance(row, dict):
                    tables.add(name, f"{file.name}$[{index}]", {k: _scalar(v) for k, v in row.items()})


def _has_v3_tables(resources) -> bool:
    names = {name for name, _ in resources}
    return bool(names & {"schedules", "addresses", "attributes", "taxonomy_terms", "service_capacity"})


def _scalar(value):
    if isinstance(value, bool | int | float) or value is None:
        return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _row(obj: dict, **extra) -> dict:
    row = {k: _scalar(v) for k, v in obj.items() if not isinstance(v, list | dict)}
    row.update({k: v for k, v in extra.items() if v is not None})
    return row


# A list of plain strings is read as these objects ("phones": ["206-555-0100"]); a lone string as a list.
_STRING_AS = {"phones": "number", "languages": "language", "required_documents": "document"}


def _kind(value) -> str:
    """What a JSON value is, in words."""
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a number", str: "a text", list: "a list", dict: "an object"}.get(
        type(value), "a value"
    )


def _children(tables: Tables, parent: dict, key: str, where: str):
    """(path, object) for each object under parent[key]; anything else is noted at its JSON path."""
    value = parent.get(key)
    if value is None or value == "" or value == []:
        return
    if isinstance(value, dict) or (isinstance(value, str) and key in _STRING_AS):
        value = [value]
    if not isinstance(value, list):
        tables.notes.append((f"{where}.{key}", f"{_kind(value)} where a list was expected: left out"))
        return
    for index, item in enumerate(value):
        here = f"{where}.{key}[{index}]"
        if isinstance(item, str) and key in _STRING_AS and item.strip():
            item = {_STRING_AS[key]: item}
        if isinstance(item, dict):
            yield here, item
        else:
            tables.notes.append((here, f"{_kind(item)} where an object was expected: left out"))


def _object(tables: Tables, parent: dict, key: str, where: str) -> dict:
    """parent[key] when it is an object; {} (noted when it was something else) otherwise."""
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    if value not in (None, "", []):
        tables.notes.append((f"{where}.{key}", f"{_kind(value)} where an object was expected: left out"))
    return {}


def _flatten_document(tables: Tables, data, name: str) -> None:
    """Nested HSDS 3.x JSON (a service, organization, service_at_location, or a page/list of them)."""
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        items, base = data["contents"], f"{name}$.contents"
    elif isinstance(data, list):
        items, base = data, f"{name}$"
    else:
        items, base = [data], name + "$"
    for index, item in enumerate(items):
        where = f"{base}[{index}]" if base.endswith(("contents", "$")) else base
        if not isinstance(item, dict):
            tables.notes.append((where, "not an object: left out"))
            continue
        if "services" in item or "website" in item or "tax_status" in item:
            _flatten_organization(tables, item, where)
        elif "location_type" in item or "addresses" in item or "latitude" in item:
            _flatten_location(tables, item, where, item.get("organization_id"))
        elif "service" in item and "location" in item:
            service = dict(_object(tables, item, "service", where))
            links = service.get("service_at_locations")
            service["service_at_locations"] = [*(links if isinstance(links, list) else []), {
                "id": item.get("id"), "location": _object(tables, item, "location", where)
            }]  # fmt: skip
            _flatten_service(tables, service, where + ".service", None)
        else:
            _flatten_service(tables, item, where, None)


def _flatten_organization(tables: Tables, org: dict, where: str) -> None:
    tables.add("organizations", where, _row(org))
    for here, location in _children(tables, org, "locations", where):
        _flatten_location(tables, location, here, _scalar(org.get("id")))
    for here, service in _children(tables, org, "services", where):
        _flatten_service(tables, service, here, _scalar(org.get("id")))


def _flatten_location(tables: Tables, location: dict, where: str, org_id) -> None:
    lid = _scalar(location.get("id"))
    if not isinstance(lid, str) or lid in tables.seen["locations"]:
        return
    tables.seen["locations"].add(lid)
    tables.add("locations", where, _row(location, organization_id=location.get("organization_id") or org_id))
    for here, address in _children(tables, location, "addresses", where):
        tables.add("addresses", here, _row(address, location_id=lid))
    for here, phone in _children(tables, location, "phones", where):
        tables.add("phones", here, _row(phone, location_id=lid))
    for here, attribute in _children(tables, location, "attributes", where):
        _flatten_attribute(tables, attribute, here, lid, "location")


def _flatten_attribute(tables: Tables, attribute: dict, where: str, link_id, entity: str) -> None:
    term = _object(tables, attribute, "taxonomy_term", where)
    term_id = attribute.get("taxonomy_term_id") or term.get("id")
    if term:
        tables.add("taxonomy_terms", where + ".taxonomy_term", _row(term))
    tables.add(
        "attributes",
        where,
        _row(attribute, link_id=attribute.get("link_id") or link_id, taxonomy_term_id=_scalar(term_id))
        | {"link_entity": attribute.get("link_entity") or entity},
    )


def _flatten_service(tables: Tables, service: dict, where: str, org_id) -> None:
    organization = _object(tables, service, "organization", where)
    oid = _scalar(organization.get("id"))
    if oid and isinstance(oid, str):
        if oid not in tables.seen["organizations"]:
            tables.seen["organizations"].add(oid)
            tables.add("organizations", where + ".organization", _row(organization))
        org_id = oid
    sid = _scalar(service.get("id"))
    sid = sid if isinstance(sid, str) else None
    tables.add("services", where, _row(service, organization_id=service.get("organization_id") or org_id))
    for key in ("phones", "schedules", "languages", "required_documents", "service_areas"):
        for here, child in _children(tables, service, key, where):
            tables.add(key, here, _row(child, service_id=sid))
    for here, attribute in _children(tables, service, "attributes", where):
        _flatten_attribute(tables, attribute, here, sid, "service")
    for key in ("capacities", "service_capacity", "capacity"):
        for here, capacity in _children(tables, service, key, where):
            _flatten_capacity(tables, capacity, here, sid)
    for here, sal in _children(tables, service, "service_at_locations", where):
        _flatten_service_at_location(tables, sal, here, sid, org_id)


def _flatten_capacity(tables: Tables, capacity: dict, where: str, sid) -> None:
    unit = _object(tables, capacity, "unit", where)
    row = _row(capacity, service_id=sid, unit_id=capacity.get("unit_id") or _scalar(unit.get("id")))
    tables.add("service_capacity", where, row)
    if unit:
        tables.add("unit", f"{where}.unit", _row(unit))
    for here, attribute in _children(tables, capacity, "attributes", where):
        _flatten_attribute(tables, attribute, here, _scalar(capacity.get("id")), "service_capacity")


def _flatten_service_at_location(tables: Tables, sal: dict, where: str, sid, org_id) -> None:
    location = _object(tables, sal, "location", where)
    tables.add(
        "service_at_location",
        where,
        {
            "id": _scalar(sal.get("id")) or "",
            "service_id": sid,
            "location_id": _scalar(location.get("id") or sal.get("location_id")),
        },
    )
    if location:
        _flatten_location(tables, location, where + ".location", org_id)
    for here, schedule in _children(tables, sal, "schedules", where):
        tables.add("schedules", here, _row(schedule, service_id=sid))
    for here, phone in _children(tables, sal, "phones", where):
        tables.add("phones", here, _row(phone, service_id=sid))


# -- building records ---------------------------------------------------------------------------------------


class Builder:
    """Turns HSDS tables into normalized records, noting every repair and refusal."""

    def __init__(self, tables: Tables, result: ParseResult, us: bool = True):
        self.t, self.result, self.us = tables, result, us
        self.canon: dict[str, str] = {}
        self.by: dict[tuple[str, str], list[tuple[str, dict]]] = {}
        self.hours_text: dict[str, str] = {}  # service id -> hours not understood, as the provider wrote them
        self.default_domain: str | None = None  # for services neither taxonomy nor words place (--domain)

    def index(self, table: str, column: str) -> dict[str, list[tuple[str, dict]]]:
        key = (table, column)
        if key not in self.by:
            grouped: dict[str, list[tuple[str, dict]]] = defaultdict(list)
            for where, row in self.t.rows.get(table, []):
                value = str(row.get(column) or "").strip()
                if value:
                    grouped[value].append((where, row))
            self.by[key] = grouped
        return self.by[key]

    def text(self, where, sid, kind, value, name, limit=None):
        cleaned, note = clean_text(value if isinstance(value, str) else None, limit)
        if note:
            self.result.note(where, sid, f"{name}: {note}", kind=kind, field=name)
        return cleaned

    # organizations
    def organizations(self) -> None:
        seen = set()
        for where, row in self.t.rows.get("organizations", []):
            self.result.read["organization"] += 1
            oid = str(row.get("id") or "").strip()
            name = plain(row.get("name"), 300)
            if not oid:
                self.result.reject(where, None, "organization without an id", kind="organization")
                continue
            if oid in seen:
                self.result.reject(where, oid, "duplicate organization id", kind="organization")
                continue
            if not name:
                self.result.reject(where, oid, "organization without a name", kind="organization")
                continue
            seen.add(oid)
            website, note = repair_url(row.get("website") or row.get("url"))
            if note:
                self.result.note(where, oid, note, kind="organization", field="website")
            email, note = clean_email(row.get("email"))
            if note:
                self.result.note(where, oid, note, kind="organization", field="email")
            self.result.organizations.append(
                OrganizationRecord(
                    oid,
                    name,
                    plain(row.get("alternate_name"), 300),
                    self.text(where, oid, "organization", row.get("description"), "description"),
                    email,
                    website,
                )
            )

    # locations
    def _lead_attributes(self, entity: str) -> dict[str, dict[str, list[str]]]:
        """link_id -> {lead attribute name: [values]} for our own extensions."""
        self._categories()
        return _LeadView(self.by["_lead"].get(entity, {}))

    def locations(self) -> None:
        # Converted as the table streams by: a location's first physical address (never a postal one).
        addresses = self.grouped(
            "addresses", "location_id", lambda w, k, r: self._address(k, [(w, r)]) or None
        )
        extensions = self._lead_attributes("location")
        seen = set()
        for where, row in self.t.rows.get("locations", []):
            self.result.read["location"] += 1
            lid = str(row.get("id") or "").strip()
            if not lid or lid in seen:
                self.result.reject(
                    where, lid or None, "location without an id, or a duplicate", kind="location"
                )
                continue
            seen.add(lid)
            lead = extensions.get(lid, {})
            confidential = truthy((lead.get("confidential") or [""])[0]) or False
            address = (addresses.pop(lid, None) or [None])[0]
            coords, reason = check_coordinates(row.get("latitude"), row.get("longitude"), self.us)
            precision = (lead.get("precision") or ["exact"])[0]
            if reason and coords is None:
                self.result.note(where, lid, reason + ": left out", "rejected", "location", "coordinates")
            elif reason:
                self.result.note(where, lid, reason, "repaired", "location", "coordinates")
            record = LocationRecord(
                lid,
                organization_id=str(row.get("organization_id") or "").strip() or None,
                name=plain(row.get("name"), 300),
                description=self.text(where, lid, "location", row.get("description"), "description"),
                transportation=self.text(where, lid, "location", row.get("transportation"), "transportation"),
                confidential=confidential,
                neighborhood=(lead.get("neighborhood") or [None])[0],
            )
            if confidential and (coords or address is not None):
                # As every importer does: a confidential place is never taken from a feed (staff enter it).
                coords, address = None, None
                left_out = "confidential location: address and coordinates left out"
                self.result.note(where, lid, left_out, "rejected", "location", "address")
            if coords:
                record.latitude, record.longitude = coords
                record.precision = precision if precision in ("exact", "approximate", "zip") else "exact"
            if address is not None and not address.address_1 and address.postal_code:
                # Only a ZIP: placed at its centroid now (precision zip) unless the source gave a point.
                if record.latitude is None:
                    record.precision = "zip"
                    self._zip_point(where, lid, record, address.postal_code)
                address = None
            elif address is not None and not address.address_1:
                address = None
            elif (
                address is None and record.latitude is not None and not confidential and precision == "exact"
            ):
                record.precision = "approximate"
                self.result.note(
                    where,
                    lid,
                    "no address: coordinates kept as approximate",
                    kind="location",
                    field="precision",
                )
            record.address = address
            self.result.locations.append(record)

    def _zip_point(self, where, lid, record, postal_code) -> None:
        from directory.domain.geo import zip_point

        point = zip_point(postal_code)
        if point is None:
            self.result.note(where, lid, f"unknown ZIP {postal_code}: no place", kind="location", field="zip")
            record.precision = "exact"
            return
        record.latitude, record.longitude, record.precision = point.latitude, point.longitude, "zip"
        self.result.note(
            where, lid, "only a ZIP: placed at the ZIP centroid", kind="location", field="precision"
        )

    def _address(self, lid: str, rows) -> AddressRecord | None:
        physical = [r for r in rows if (r[1].get("address_type") or "physical").lower() != "postal"]
        if not physical:
            return None
        where, row = physical[0]
        zip_code, note = repair_zip(row.get("postal_code"))
        state, state_note = state_code(row.get("state_province") or row.get("region"))
        mismatch = check_zip_state(zip_code, state)
        if mismatch:
            zip_code, note = None, mismatch
        if note:
            action = "rejected" if zip_code is None else "repaired"
            self.result.note(where, lid, note, action, kind="location", field="postal_code")
        if state_note:
            self.result.note(where, lid, state_note, kind="location", field="state_province")
        line1 = plain(row.get("address_1"), 300) or ""
        city = plain(row.get("city"), 100) or ""
        if line1 and (not city or not state):
            self.result.note(
                where, lid, "address without a city or state: left out", "rejected", "location", "address"
            )
            return AddressRecord("", "", "", zip_code) if zip_code else None
        return AddressRecord(
            line1,
            city,
            state or "",
            zip_code,
            plain(row.get("address_2"), 300),
            (plain(row.get("country")) or "US")[:2].upper(),
        )

    # services
    def services(self) -> None:
        """Build every service record now."""
        self.result.services.extend(self.iter_services())

    def iter_services(self):
        """Service records one by one (for a lazy parse, built as the writer asks for them)."""
        # One string object per id, shared by every index and record (a large source repeats each id often).
        self.service_ids = {str(r.get("id") or "").strip() for _w, r in self.t.rows.get("services", [])}
        canon = self.canon
        canon.update((i, i) for i in self.service_ids)
        canon.update((o.source_id, o.source_id) for o in self.result.organizations)
        canon.update((loc.source_id, loc.source_id) for loc in self.result.locations)
        sal = self.grouped(
            "service_at_location",
            "service_id",
            lambda w, k, r: canon.get(r.get("location_id"), r.get("location_id")),
            orphans=True,
        )
        phones = self.grouped(
            "phones", "service_id", lambda w, k, r: list(self._phones(k, [(w, r)])), orphans=True
        )
        location_phones = self.grouped(
            "phones", "location_id", lambda w, k, r: None if r.get("service_id") else (w, r)
        )
        schedules = self.grouped(
            "schedules", "service_id", lambda w, k, r: list(self._schedules(k, [(w, r)])), orphans=True
        )
        languages = self.grouped("languages", "service_id", self._languages, orphans=True)
        documents = self.index("required_documents", "service_id")
        eligibility = self.grouped(
            "eligibility", "service_id", lambda w, k, r: r.get("eligibility"), orphans=True
        )
        capacities = self.index("service_capacity", "service_id")
        areas = self.index("service_areas", "service_id")
        links = self.index("service_taxonomy", "service_id")
        terms = {str(r.get("id")): r for _w, r in self.t.rows.get("taxonomy_terms", [])}
        attributes = self._categories()
        lead = self._lead_attributes("service")
        lead_capacity = self._lead_attributes("service_capacity")
        lists = SimpleNamespace(
            sal=sal, phones=phones, location_phones=location_phones, schedules=schedules, languages=languages,
            documents=documents, areas=areas, location_ids={loc.source_id for loc in self.result.locations},
        )  # fmt: skip
        org_ids = {o.source_id for o in self.result.organizations}
        location_orgs: dict[str, str | None] = {}  # filled only for sources that need it (Ohana)
        seen = set()
        for where, row in self.t.rows.get("services", []):
            self.result.read["service"] += 1
            sid = str(row.get("id") or "").strip()
            sid = canon.get(sid, sid)
            if not sid or sid in seen:
                self.result.reject(where, sid or None, "service without an id, or a duplicate")
                continue
            seen.add(sid)
            name = plain(row.get("name"), 300)
            if not name:
                self.result.reject(where, sid, "service without a name")
                continue
            own_location = str(row.get("location_id") or "").strip()  # Ohana / SMC Connect: via its location
            org_id = self._service_org(row, own_location, location_orgs)
            if org_id not in org_ids:
                self.result.reject(where, sid, f"organization {org_id or '(none)'} is not in the source")
                continue
            ext = lead.get(sid, {})
            # HSDS 1.x names the link's term `taxonomy_id`, HSDS 3 `taxonomy_term_id`.
            linked = [
                str(r.get("taxonomy_id") or r.get("taxonomy_term_id") or "") for _w, r in links.get(sid, [])
            ] + attributes.pop(sid, [])
            description = self.text(where, sid, "service", row.get("description"), "description")
            found = self._domain(where, sid, ext, linked, terms, (name, description))
            if found is None:
                continue
            domain, record_terms = found
            record = ServiceRecord(sid, org_id, name, domain)
            record.terms = record_terms
            record.description = description
            self._service_texts(record, where, row, eligibility.pop(sid, []))
            self._service_lists(record, where, row, own_location, lists, ext)
            self._extensions(record, ext)
            caps = capacities.get(sid, [])
            if caps:
                record.capacity = self._capacity(sid, caps[0], lead_capacity)
            yield record

    def _service_lists(self, record: ServiceRecord, where: str, row: dict, own_location: str, lists, ext):
        """Locations, phones (its own, else its locations'), hours, languages, documents and areas."""
        sid = record.source_id
        # locations
        locs = []
        for loc in [*lists.sal.pop(sid, []), *([own_location] if own_location else [])]:
            if loc in lists.location_ids:
                locs.append(loc)
            elif loc:
                self.result.note(
                    where, sid, f"location {loc} is not in the source: link left out", field="location"
                )
        record.location_ids = tuple(dict.fromkeys(locs))
        # phones: the service's own, else its locations'
        own = lists.phones.pop(sid, None)
        if own is None:
            rows = [p for loc in record.location_ids for p in lists.location_phones.get(loc, [])]
            own = list(self._phones(sid, rows))
        record.phones = tuple({(p.number, p.extension): p for p in own}.values())
        record.schedules = tuple(dict.fromkeys(lists.schedules.pop(sid, [])))
        record.hours_text = self.hours_text.pop(sid, None) if not record.schedules else None
        langs = lists.languages.pop(sid, None) or (
            self._languages(where, sid, {"language": row["languages"]}) if row.get("languages") else []
        )
        record.languages = unique(langs)
        record.documents = tuple(
            DocumentRecord(d, r.get("uri") or None)
            for _w, r in lists.documents.get(sid, [])
            if (d := plain(r.get("document"), 300))
        )
        record.areas = tuple(
            a for _w, r in lists.areas.get(sid, []) if (a := plain(r.get("name"))) and ext.get("area")
        )

    def _service_org(self, row: dict, own_location: str, location_orgs: dict) -> str:
        """The service's organization id: its own, else its location's (filled on first need)."""
        org_id = str(row.get("organization_id") or "").strip()
        if not org_id and own_location:
            if not location_orgs:
                location_orgs.update((loc.source_id, loc.organization_id) for loc in self.result.locations)
            org_id = location_orgs.get(own_location) or ""
        return self.canon.get(org_id, org_id)

    def _domain(self, where, sid, ext, linked, terms, words) -> tuple[str, tuple] | None:
        """(IIP domain, IIP terms) from the LEAD extension, taxonomy links or words; None: rejected."""
        codes, names, iip = [], [], []
        for term_id in linked:
            if term_id.startswith(LEAD):
                continue
            term = terms.get(term_id, {})
            if term.get("taxonomy") == IIP_TAXONOMY or term.get("vocabulary") == IIP_TAXONOMY:
                iip.append(term.get("code") or term_id)
                continue
            codes.append(term.get("code") or term_id)
            if term.get("name"):
                names.append(str(term.get("name")))
        domain_term = None
        if ext.get("primary_domain"):
            domain = ext["primary_domain"][0]
        else:
            found = classify(tuple(codes), tuple(names), words)
            if found is None and self.default_domain:
                note = f"no IIP domain from its taxonomy or words: the import's default {self.default_domain}"
                self.result.note(where, sid, note, field="primary_domain")
                return self.default_domain, tuple(iip)
            if found is None:
                self.result.reject(where, sid, "no LEAD IIP domain fits its taxonomy or its words")
                return None
            domain, domain_term = found
            if not codes and not names and not iip:
                self.result.note(
                    where, sid, f"IIP domain {domain} inferred from its words", field="primary_domain"
                )
        return domain, tuple(dict.fromkeys([*iip, *([domain_term] if domain_term and not iip else [])]))

    def _service_texts(self, record: ServiceRecord, where: str, row: dict, eligibility: list) -> None:
        """Status, links, eligibility, process, fees, alert, ages and the source's update time."""
        sid = record.source_id
        record.alternate_name = plain(row.get("alternate_name"), 300)
        status = (plain(row.get("status")) or "active").lower()
        if status not in SERVICE_STATUSES:
            self.result.note(where, sid, f"status {status!r} read as active", field="status")
            status = "active"
        record.status = status
        record.url, note = repair_url(row.get("url"))
        if note:
            self.result.note(where, sid, note, field="url")
        record.email, note = clean_email(row.get("email"))
        if note:
            self.result.note(where, sid, note, field="email")
        elig = row.get("eligibility_description") or row.get("eligibility") or "\n".join(eligibility)
        record.eligibility_description = self.text(where, sid, "service", elig, "eligibility_description")
        record.application_process = self.text(
            where, sid, "service", row.get("application_process"), "application_process"
        )
        fees = row.get("fees_description") or row.get("fees")
        record.fees_description = self.text(where, sid, "service", fees, "fees_description")
        record.alert = self.text(where, sid, "service", row.get("alert"), "alert")
        for bound in ("minimum_age", "maximum_age"):
            value, note = parse_count(row.get(bound))
            if note or (value is not None and value > 130):
                self.result.note(
                    where, sid, f"{bound} {row.get(bound)!r} is not an age: left out", field=bound
                )
                value = None
            setattr(record, bound, value)
        record.updated = parse_datetime(row.get("last_modified"))

    def grouped(self, table: str, column: str, convert, orphans: bool = False) -> dict[str, list]:
        """column value -> converted rows; conversion (and its notes) happens while the table streams by.

        With orphans, a row naming no service of the source is rejected with its place right away.
        """
        out: dict[str, list] = defaultdict(list)
        for where, row in self.t.rows.get(table, []):
            key = str(row.get(column) or "").strip()
            key = self.canon.get(key, key)
            if orphans and key not in self.service_ids and (key or table != "phones"):
                self.result.reject(
                    where, key or None, f"{table} row names no service of the source", kind=table
                )
                continue
            if not key:
                continue
            item = convert(where, key, row)
            if isinstance(item, list):
                out[key].extend(item)
            elif item is not None:
                out[key].append(item)
        return out

    def _languages(self, where: str, sid: str, row: dict) -> list:
        found = language(row.get("code"), row.get("name") or row.get("language"), plain(row.get("note"), 200))
        if not found and (row.get("name") or row.get("language")):
            text = row.get("name") or row.get("language")
            self.result.note(
                where, sid, f"language {text!r} names no known language: left out", field="languages"
            )
        return found

    def _categories(self) -> dict[str, list[str]]:
        """service id -> taxonomy term ids of its (non-LEAD) attributes; one pass, LEAD ones kept aside."""
        if "_categories" in self.by:
            return self.by["_categories"]
        categories: dict[str, list[str]] = defaultdict(list)
        lead: dict[str, dict[str, str]] = defaultdict(dict)
        intern = sys.intern
        for _where, row in self.t.rows.get("attributes", []):
            term = str(row.get("taxonomy_term_id") or "")
            link = str(row.get("link_id") or "")
            entity = row.get("link_entity") or "service"
            if term.startswith(LEAD):
                name = term[len(LEAD) :]
                value = str(row.get("value") or "").replace(PAIR, " ").replace(ITEM, " ")
                if name == "flags":
                    items = [f"{flag.strip()}{PAIR}true" for flag in value.split(",") if flag.strip()]
                elif name == "capacity":
                    items = [
                        f"{key.strip()}{PAIR}{number.strip()}"
                        for key, _, number in (pair.partition("=") for pair in value.split(";") if pair)
                    ]
                else:
                    items = [f"{name}{PAIR}{value}"]
                links = lead[entity]
                before = links.get(link)
                packed = ITEM.join(items)
                links[link] = packed if before is None else before + ITEM + packed
            elif entity == "service" and term:
                categories[link].append(intern(term))
        self.by["_categories"] = categories
        self.by["_lead"] = lead
        return categories

    def _extensions(self, record: ServiceRecord, ext: dict[str, list[str]]) -> None:
        # In LEAD_FLAGS order (never a set's order, which changes between processes and would change digests).
        flags = tuple((name, bool(truthy(ext[name][0]))) for name in LEAD_FLAGS if name in ext)
        record.flags = _FLAGS.get(flags) or _FLAGS.setdefault(flags, dict(flags))
        for name in ("pets_allowed", "partners_allowed", "wheelchair_accessible"):
            if name in ext:
                setattr(record, name, truthy(ext[name][0]))
        for name in ("intake_mode", "intake_times", "curfew", "insurance"):
            if name in ext:
                setattr(record, name, ext[name][0] or None)
        if "term" in ext:
            record.terms = tuple(dict.fromkeys([*record.terms, *ext["term"]]))
        record.populations = tuple(ext.get("population", ()))
        record.practices = tuple(ext.get("practice", ()))
        record.areas = tuple(ext.get("area", ()))

    def _phones(self, sid, rows):
        seen = set()
        for where, row in rows:
            kind = (plain(row.get("type")) or "voice").lower()
            phone, note = parse_phone(
                row.get("number"),
                row.get("area_code"),
                kind if kind in PHONE_TYPES else "voice",
                row.get("description"),
            )
            if note:
                self.result.note(
                    where, sid, note, field="phones", action="rejected" if phone is None else "repaired"
                )
            if phone and (phone.number, phone.extension) not in seen:
                seen.add((phone.number, phone.extension))
                if row.get("extension") and not phone.extension:
                    phone = type(phone)(
                        phone.number, str(row["extension"])[:20], phone.type, phone.description
                    )
                yield phone

    def _schedules(self, sid, rows):
        seen = set()
        for where, row in rows:
            freq = str(row.get("freq") or "").strip().upper()
            days = self._schedule_days(where, sid, row, freq)
            if days is None:
                continue
            opens = parse_compact_time(str(row.get("opens_at") or ""))
            closes = parse_compact_time(str(row.get("closes_at") or ""))
            if not days and not (row.get("opens_at") or row.get("closes_at")):
                yield from self._schedule_text(where, sid, row)
                continue
            if opens is None or closes is None:
                if row.get("opens_at") or row.get("closes_at"):
                    self.result.note(
                        where,
                        sid,
                        f"hours {row.get('opens_at')!r}-{row.get('closes_at')!r} not understood: left out",
                        field="schedules",
                    )
                continue
            note = overnight_note(opens, closes)
            if note:
                self.result.note(where, sid, note, field="schedules")
            description = plain(row.get("description") or row.get("original_text"), 300)
            for day in days:
                if (day, opens, closes) not in seen:
                    seen.add((day, opens, closes))
                    key = (day, opens, closes, description)
                    yield _SCHEDULES.get(key) or _SCHEDULES.setdefault(key, ScheduleRecord(*key))

    def _schedule_days(self, where, sid, row, freq) -> list[str] | None:
        """The row's HSDS weekday codes (ordinal ones for MONTHLY); None when the row is left out."""
        if freq not in ("WEEKLY", "MONTHLY", ""):
            self.result.note(
                where, sid, f"{freq} schedule is neither weekly nor monthly: left out", field="schedules"
            )
            return None
        days = []
        raw_days = row.get("byday") or row.get("weekday") or ""
        for part in re.split(r"[,\s]+", str(raw_days)):
            if not part:
                continue
            if freq == "MONTHLY":
                day = part.upper() if is_byday(part.upper()) and len(part) > 2 else None
            else:
                day = parse_day(part) or (
                    WEEK[int(part) - 1] if part.isdigit() and 1 <= int(part) <= 7 else None
                )
            if day is None:
                self.result.note(where, sid, f"weekday {part!r} not understood: left out", field="schedules")
            else:
                days.append(day)
        if freq == "MONTHLY" and not days:
            self.result.note(
                where, sid, "monthly schedule without an ordinal weekday: left out", field="schedules"
            )
            return None
        return days

    def _schedule_text(self, where, sid, row):
        """A schedule row that only describes the hours in words: read exactly, or kept as written."""
        schedules, kept, note = hours_of(row.get("description") or row.get("original_text"))
        if kept:
            self.hours_text.setdefault(sid, kept)
            self.result.note(where, sid, note, KEPT_AS_TEXT, field="schedules")
        yield from schedules

    def _capacity(self, sid, item, lead_capacity) -> CapacityRecord | None:
        where, row = item
        unit = str(row.get("unit_id") or "").strip().lower()
        unit = UNIT_ALIASES.get(unit, unit)
        ext = lead_capacity.get(str(row.get("id")), {})
        maximum, note = parse_count(row.get("maximum"))
        available, note2 = parse_count(row.get("available"))
        for problem in (note, note2):
            if problem:
                self.result.note(
                    where, sid, problem + ": capacity left out", "rejected", "service", "capacity"
                )
                return None
        if maximum is None:
            self.result.note(
                where, sid, "capacity without a maximum: left out", "rejected", "service", "capacity"
            )
            return None
        if available is not None and available > maximum:
            self.result.note(
                where, sid, f"available {available} above maximum {maximum}: maximum raised", field="capacity"
            )
            maximum = available
        record = CapacityRecord(unit or "slot", maximum, available)
        record.description = plain(row.get("description"), 300)
        record.updated = parse_datetime(row.get("updated"))

        def count(name):
            value, problem = parse_count((ext.get(name) or [""])[0])
            return value

        record.waitlist = count("waitlist")
        record.lead_funded_maximum = count("lead_funded_maximum") or 0
        record.lead_funded_available = min(count("lead_funded_available") or 0, record.lead_funded_maximum)
        record.confirmed_at = parse_datetime((ext.get("confirmed_at") or [""])[0])
        return record


def parse(path: str | Path, us: bool = True, lazy: bool = False, domain: str | None = None) -> ParseResult:
    """Parse any HSDS source (1.x or 3.x; JSON or CSV datapackage); pure: no database.

    lazy: services are built while the writer drains them (`ParseResult.pending`), so that a large source
    never holds every service record in memory at once. domain: the IIP domain of services that neither
    their taxonomy nor their words place (else they are rejected).
    """
    if domain is not None:
        check_domain(domain, "--domain")
    tables = read_tables(Path(path))
    result = ParseResult()
    for where, note in tables.notes:
        result.note(where, None, note, kind="file")
    builder = Builder(tables, result, us)
    builder.default_domain = domain
    builder.organizations()
    builder.locations()
    if lazy:
        result.pending = builder.iter_services()
    else:
        builder.services()
    return result


__all__ = ["parse", "read_tables", "Tables", "time"]
