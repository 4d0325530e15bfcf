"""A site's own spreadsheet (CSV), read through a column mapping file written by the site (YAML or JSON).

Mapping keys (all optional except `columns.name` and a domain):

    columns:            # our field: the spreadsheet's column
      id: Program ID    # without it a row's id is a digest of its name and address
      name: Program
      organization: Agency
      description: Notes
      address_1: Street
      city: City
      state: State
      zip: ZIP
      latitude: Lat
      longitude: Lon
      phone: Phone
      url: Website
      email: Email
      hours: Hours                  # free text such as "Monday-Friday, 9-5"
      eligibility_description: Who
      languages: Languages
      maximum: Beds                 # capacity
      available: Open beds
    domain: housing                 # one IIP domain for every row, or
    domain_column: Type             # a column whose values `domain_values` maps to IIP domains
    domain_values: {Shelter: housing}
    unit: bed                       # capacity unit (default slot)
    hours_columns:                  # hours spread over columns, one entry per day group
      - {day: day1, opens: day1_open, closes: day1_close}   # day: a column holding the day(s) ...
      - {day: Saturday, opens: sat_open, closes: sat_close}  # ... or the day itself
    defaults: {state: WA}           # values for blank cells
    merge_by: [name, address_1, city]   # rows sharing these fields are one service (phones, languages and
                                        # medications united); without it a repeated id is a duplicate
    id_columns: [Program ID, Site]  # the id built from several columns (programs at one address apart)
"""

from __future__ import annotations

from pathlib import Path

from .classify import classify
from .common import (
    SourceError,
    clean_email,
    clean_text,
    parse_count,
    parse_phone,
    plain,
    read_config,
    read_csv,
    repair_url,
)
from .flat import Where, key, medication_flags, place, slug, swapped_file, unite, unplaced
from .hours import KEPT_AS_TEXT, hours_of
from .languages import language
from .mappings import PAIRED, check_domain, check_keys, check_pairs, closest, resolve_columns
from .records import CapacityRecord, OrganizationRecord, ParseResult, ServiceRecord

KEYS = {
    "columns",
    "domain",
    "domain_column",
    "domain_values",
    "unit",
    "defaults",
    "hours_columns",
    "no_location",
    "merge_by",
    "id_columns",
}
FIELDS = {
    "id", "name", "organization", "description", "address_1", "address_2", "city", "state", "zip", "latitude",
    "longitude", "phone", "url", "email", "hours", "eligibility_description", "application_process",
    "fees_description", "languages", "maximum", "available", "waitlist", "alternate_name", "medications",
}  # fmt: skip


def load_mapping(path: str | Path | dict, keys: set[str] = KEYS) -> dict:
    """Read and check a mapping file (YAML or JSON); keys: the top-level keys the importer reads."""
    mapping = read_config(path, "mapping")
    if not isinstance(mapping, dict) or not isinstance(mapping.get("columns"), dict):
        raise SourceError("the mapping needs a `columns` table (our field: the spreadsheet's column)")
    if "records" in mapping and "records" not in keys:
        raise SourceError("`records` (where a JSON response keeps its records) is for the json importer")
    check_keys(mapping, keys, "mapping")
    for name in mapping["columns"]:
        if name not in FIELDS:
            raise SourceError(
                f"the mapping names an unknown field {name!r}{closest(name, FIELDS)}; known: {sorted(FIELDS)}"
            )
    if "name" not in mapping["columns"]:
        raise SourceError("the mapping must say which column holds the service name (columns.name)")
    # A spreadsheet's capacity is read from its maximum column: free places alone would be ignored.
    check_pairs(mapping["columns"], "mapping", (*PAIRED, ("available", "maximum")))
    if "domain" in mapping:
        check_domain(mapping["domain"], "the mapping's domain")
    elif "domain_column" not in mapping:
        raise SourceError("the mapping must give a `domain` for every row or a `domain_column`")
    for value, domain in (mapping.get("domain_values") or {}).items():
        check_domain(domain, f"domain_values[{value!r}]")
    for option, what in (("merge_by", "our fields"), ("id_columns", "the spreadsheet's columns")):
        value = mapping.get(option)
        if value is not None and (
            not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value)
        ):
            raise SourceError(f"{option} must be a list of {what}")
    for name in mapping.get("merge_by") or []:
        if name not in FIELDS:
            raise SourceError(f"merge_by names an unknown field {name!r}{closest(name, FIELDS)}")
    entries = mapping.get("hours_columns") or []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict)
        and set(e) == {"day", "opens", "closes"}
        and all(isinstance(v, str) for v in e.values())
        for e in entries
    ):
        raise SourceError("hours_columns must be a list of {day: ..., opens: COLUMN, closes: COLUMN}")
    return mapping


def _resolve(mapping: dict, header: list[str], file_name: str) -> tuple[dict, dict]:
    """The mapping with every column spelled as the file spells it (or a SourceError naming the closest)."""
    columns = resolve_columns(mapping["columns"], header, file_name)
    entries = [dict(e) for e in mapping.get("hours_columns") or []]
    for index, entry in enumerate(entries):
        wanted = {f"hours_columns[{index}].{k}": entry[k] for k in ("opens", "closes")}
        found = resolve_columns(wanted, header, file_name)
        entry["opens"], entry["closes"] = (
            found[f"hours_columns[{index}].opens"],
            found[f"hours_columns[{index}].closes"],
        )
    mapping = {**mapping, "hours_columns": entries}
    if mapping.get("id_columns"):
        wanted = {f"id_columns[{i}]": c for i, c in enumerate(mapping["id_columns"])}
        mapping["id_columns"] = list(resolve_columns(wanted, header, file_name).values())
    if "domain_column" in mapping:
        mapping["domain_column"] = resolve_columns(
            {"domain_column": mapping["domain_column"]}, header, file_name
        )["domain_column"]
    return columns, mapping


def spread_hours(row: dict, entries: list[dict]) -> str:
    """Hours spread over columns as one text for the hours reader: `Monday 9:00-17:00; Saturday ...`.

    An entry's `day` is a column when the file has one of that name, else the day itself."""
    parts = []
    for entry in entries:
        opens, closes = (row.get(entry[k], "").strip() for k in ("opens", "closes"))
        day = row.get(entry["day"], "").strip() if entry["day"] in row else entry["day"]
        if opens or closes:
            parts.append(f"{day} {opens}-{closes}")
    return "; ".join(parts)


def _domain(mapping: dict, row: dict, name: str, description: str | None) -> str | None:
    """The row's IIP domain: the mapping's, its domain column's value mapped, or what the words suggest."""
    if "domain_column" in mapping:
        value = row.get(mapping["domain_column"], "").strip()
        return (mapping.get("domain_values") or {}).get(value) or (classify(names=(value,)) or (None,))[0]
    return mapping.get("domain") or (classify(text=(name, description)) or (None,))[0]


def _organization(result: ParseResult, orgs: dict[str, OrganizationRecord], name: str) -> str:
    """The id of the organization of that name, read once however many rows name it."""
    org_id = slug(name)
    if org_id not in orgs:
        orgs[org_id] = OrganizationRecord(org_id, name)
        result.read["organization"] += 1
    return org_id


def _contacts(result: ParseResult, where: str, sid: str, get, service: ServiceRecord) -> None:
    """Website, email and phone, each repaired or dropped with a note."""
    service.url, note = repair_url(get("url"))
    if note:
        result.note(where, sid, note, field="url")
    service.email, note = clean_email(get("email"))
    if note:
        result.note(where, sid, note, field="email")
    phone, note = parse_phone(get("phone"))
    if note:
        result.note(where, sid, note, action="rejected" if phone is None else "repaired", field="phones")
    service.phones = (phone,) if phone else ()


def _capacity(result: ParseResult, where: str, sid: str, get, unit: str) -> CapacityRecord | None:
    """Capacity from the count columns; a count that is not one is dropped, free above maximum capped."""
    counts = {}
    for name in ("maximum", "available", "waitlist"):
        counts[name], problem = parse_count(get(name))
        if problem:
            result.note(where, sid, f"{name}: {problem}: left out", "rejected", field=name)
    if counts["maximum"] is None:
        return None
    available = counts["available"]
    if available is not None and available > counts["maximum"]:
        result.note(where, sid, f"available {available} above maximum: capped", field="available")
        available = counts["maximum"]
    return CapacityRecord(unit, counts["maximum"], available, counts["waitlist"])


def _source_id(mapping: dict, row: dict, get) -> str | None:
    """The row's id: its id column, its id columns joined, or a digest of its name and address."""
    if mapping.get("id_columns"):
        parts = [plain(row.get(column)) or "" for column in mapping["id_columns"]]
        if any(parts):
            return "|".join(parts)
    return plain(get("id")) or key(get("name"), get("address_1"), get("city"), get("zip"))


def _row_extras(result: ParseResult, where: str, sid: str, get) -> ServiceRecord:
    """A row's phone, languages and medications alone (what a merged row adds to its service)."""
    extra = ServiceRecord(sid, "", "", "")
    phone, note = parse_phone(get("phone"))
    if note:
        result.note(where, sid, note, action="rejected" if phone is None else "repaired", field="phones")
    extra.phones = (phone,) if phone else ()
    extra.languages = tuple({lang.code: lang for lang in language(None, get("languages"))}.values())
    extra.flags = medication_flags(get("medications"))
    return extra


def _fill(result: ParseResult, where: str, cells: tuple, mapping: dict, service: ServiceRecord) -> None:
    """A service's texts, contacts, medications, hours and languages from its row (cells: row, get)."""
    row, get = cells
    sid = service.source_id
    service.alternate_name = plain(get("alternate_name"), 300)
    for text_field in ("eligibility_description", "application_process", "fees_description"):
        setattr(service, text_field, clean_text(get(text_field))[0])
    _contacts(result, where, sid, get, service)
    service.flags = medication_flags(get("medications"))
    hours = "; ".join(t for t in (get("hours"), spread_hours(row, mapping.get("hours_columns") or [])) if t)
    service.schedules, service.hours_text, note = hours_of(hours)
    if note:
        result.note(where, sid, note, KEPT_AS_TEXT, field="schedules")
    service.languages = tuple({lang.code: lang for lang in language(None, get("languages"))}.values())


def parse(path: str | Path, mapping_path: str | Path | dict | None, swap: str = "auto") -> ParseResult:
    """Parse a spreadsheet with its mapping; pure. swap: what a file-wide coordinate swap does."""
    if mapping_path is None:
        raise SourceError("a generic CSV needs --mapping FILE")
    mapping = load_mapping(mapping_path)
    path = Path(path)
    rows, notes = read_csv(path)
    result = ParseResult(no_location=bool(mapping.get("no_location")))
    for note in notes:
        result.note(path.name, None, note, kind="file")
    columns = mapping["columns"]
    if rows:
        columns, mapping = _resolve(mapping, list(rows[0][1]), path.name)
    return parse_rows(
        result, [(f"{path.name}:{line}", row) for line, row in rows], path.name, mapping, columns, swap
    )


def parse_rows(
    result: ParseResult, rows: list, file_name: str, mapping: dict, columns: dict, swap: str = "auto"
) -> ParseResult:
    """Records from flat rows (where, {column: text}) read through a checked mapping whose columns are
    spelled as the rows key them: the one reader of spreadsheets and of JSON sources (scrapers.json_source).

    A row may carry `problems` (our field, note) found while it was flattened: noted on its record."""
    defaults = mapping.get("defaults") or {}
    orgs: dict[str, OrganizationRecord] = {}
    seen: set[str] = set()
    merged: dict[str, tuple[str, ServiceRecord]] = {}  # merge key -> (where first read, its service)
    swapped = "latitude" in columns and swapped_file(
        result, file_name, ((r.get(columns["latitude"]), r.get(columns["longitude"])) for _, r in rows), swap
    )
    for where, row in rows:

        def get(name: str, row: dict = row) -> str:
            column = columns.get(name)
            value = row.get(column, "") if column else ""
            return value if value != "" else str(defaults.get(name, ""))

        result.read["service"] += 1
        name = plain(get("name"), 300)
        sid = _source_id(mapping, row, get)
        for field, note in getattr(row, "problems", ()):
            result.note(where, sid, note, "rejected", field=field)
        if not name:
            result.reject(where, sid, "row without a name")
            continue
        merge_key = key(*(get(f) for f in mapping["merge_by"])) if mapping.get("merge_by") else None
        if merge_key in merged:
            first, service = merged[merge_key]
            unite(service, _row_extras(result, where, service.source_id, get))
            result.merge(where, sid, f"{first} (same {', '.join(mapping['merge_by'])})")
            continue
        if sid in seen:
            result.reject(where, sid, "duplicate id (or the same name and address twice)")
            continue
        seen.add(sid)
        description, note = clean_text(get("description"))
        if note:
            result.note(where, sid, f"description: {note}", field="description")
        domain = _domain(mapping, row, name, description)
        if not domain:
            result.reject(where, sid, "no IIP domain for this row (set `domain` or `domain_values`)")
            continue
        cells = Where(
            *(get(f) for f in ("address_1", "city", "state", "zip", "latitude", "longitude", "address_2"))
        )
        location = place(result, where, sid, cells, swapped)
        if location is None and unplaced(result, where, sid, bool(mapping.get("no_location"))):
            continue
        org_id = _organization(result, orgs, plain(get("organization"), 300) or name)
        service = ServiceRecord(sid, org_id, name, domain, description=description)
        _fill(result, where, (row, get), mapping, service)
        if location is not None:
            location.organization_id = org_id
            result.locations.append(location)
            result.read["location"] += 1
            service.location_ids = (sid,)
        if columns.get("maximum"):
            service.capacity = _capacity(result, where, sid, get, mapping.get("unit", "slot"))
        result.services.append(service)
        if merge_key is not None:
            merged[merge_key] = (where, service)
    result.organizations.extend(orgs.values())
    return result
