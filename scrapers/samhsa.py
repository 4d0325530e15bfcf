"""SAMHSA substance-use treatment facility lists: one treatment service per facility.

Columns `name1,name2,street1,street2,city,state,zip,zip4,county,latitude,longitude` (any case). The list has
no ids, so a facility's id is a digest of its name and address. A treatment locator lists a facility once per
medication (or language, or phone): rows sharing that key are merged into one service (`merge_by`, on here),
uniting the medication flags (from a `medication`, `services` or `type_of_care` column), languages and phones.
"""

from __future__ import annotations

from pathlib import Path

from .common import parse_phone, plain, read_csv
from .flat import Where, key, medication_flags, place, slug, swapped_file, unite, unplaced
from .languages import language
from .records import OrganizationRecord, ParseResult, ServiceRecord

# Optional columns of richer locator exports, read when present (any case).
MEDICATION_COLUMNS = ("medication", "medications", "services", "type_of_care", "treatment")


def _row_service(result: ParseResult, where: str, sid: str, row, name: str) -> ServiceRecord:
    """The service one row describes: the facility with this row's medications, language and phone."""
    service = ServiceRecord(sid, slug(name), name, "substance_use_treatment")
    service.alternate_name = plain(row.get("name2"), 300)
    service.description = "Substance use treatment facility (SAMHSA treatment locator)."
    service.location_ids = (sid,)
    service.flags = medication_flags(*(row.get(c) for c in MEDICATION_COLUMNS))
    service.flags["part2_program"] = True  # SAMHSA-listed treatment facilities fall under 42 CFR Part 2
    phone, note = parse_phone(row.get("phone"))
    if note:
        result.note(where, sid, note, "rejected" if phone is None else "repaired", field="phones")
    service.phones = (phone,) if phone else ()
    service.languages = tuple(language(None, row.get("language") or row.get("languages") or ""))
    return service


def parse(path: str | Path, merge_by: bool = True, swap: str = "auto") -> ParseResult:
    """Parse a SAMHSA facility file; pure. merge_by False keeps the first row of a facility only; swap:
    what a file-wide coordinate swap does (see `swapped_file`)."""
    path = Path(path)
    rows, notes = read_csv(path)
    result = ParseResult(no_location=False)
    for note in notes:
        result.note(path.name, None, note, kind="file")
    orgs: dict[str, OrganizationRecord] = {}
    seen: dict[str, tuple[str, ServiceRecord]] = {}
    swapped = swapped_file(
        result, path.name, ((r.get("latitude"), r.get("longitude")) for _, r in rows), swap
    )
    for line, row in rows:
        where = f"{path.name}:{line}"
        result.read["service"] += 1
        name = plain(row.get("name1"), 300)
        sid = key(*(row.get(c) for c in ("name1", "name2", "street1", "street2", "city", "state", "zip")))
        if not name:
            result.reject(where, sid, "facility without a name")
            continue
        if sid in seen:
            first, service = seen[sid]
            if merge_by:
                unite(service, _row_service(result, where, sid, row, name))
            result.merge(where, sid, f"{first} (same name and address)")
            continue
        cells = Where(
            *(row.get(c) for c in ("street1", "city", "state", "zip", "latitude", "longitude", "street2"))
        )
        location = place(result, where, sid, cells, swapped)
        if location is None and unplaced(result, where, sid, allowed=False):
            continue
        service = _row_service(result, where, sid, row, name)
        seen[sid] = (where, service)
        if service.organization_id not in orgs:
            orgs[service.organization_id] = OrganizationRecord(service.organization_id, name)
            result.read["organization"] += 1
        location.organization_id = service.organization_id
        result.locations.append(location)
        result.read["location"] += 1
        result.services.append(service)
    result.organizations.extend(orgs.values())
    return result
