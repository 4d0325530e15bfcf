"""SAMHSA substance-use treatment facility lists: one treatment service per facility.

Columns `name1,name2,street1,street2,city,state,zip,zip4,county,latitude,longitude` (any case). The list has
no ids, so a facility's id is a digest of its name and address; a row repeating another's name and address is
a duplicate.
"""

from __future__ import annotations

from pathlib import Path

from .common import plain, read_csv
from .flat import Where, key, place, slug, swapped_file, unplaced
from .records import OrganizationRecord, ParseResult, ServiceRecord


def parse(path: str | Path) -> ParseResult:
    """Parse a SAMHSA facility file; pure."""
    path = Path(path)
    rows, notes = read_csv(path)
    result = ParseResult(no_location=False)
    for note in notes:
        result.note(path.name, None, note, kind="file")
    orgs: dict[str, OrganizationRecord] = {}
    seen: dict[str, str] = {}
    swap = swapped_file(result, path.name, ((r.get("latitude"), r.get("longitude")) for _, r in rows))
    for line, row in rows:
        where = f"{path.name}:{line}"
        result.read["service"] += 1
        name = plain(row.get("name1"), 300)
        sid = key(
            row.get("name1"),
            row.get("name2"),
            row.get("street1"),
            row.get("street2"),
            row.get("city"),
            row.get("state"),
            row.get("zip"),
        )
        if not name:
            result.reject(where, sid, "facility without a name")
            continue
        if sid in seen:
            result.merge(where, sid, f"{seen[sid]} (same name and address)")
            continue
        seen[sid] = where
        location = place(
            result,
            where,
            sid,
            Where(
                row.get("street1"),
                row.get("city"),
                row.get("state"),
                row.get("zip"),
                row.get("latitude"),
                row.get("longitude"),
                row.get("street2"),
            ),
            swap,
        )
        if location is None and unplaced(result, where, sid, allowed=False):
            continue
        org_id = slug(name)
        if org_id not in orgs:
            orgs[org_id] = OrganizationRecord(org_id, name)
            result.read["organization"] += 1
        location.organization_id = org_id
        result.locations.append(location)
        result.read["location"] += 1
        service = ServiceRecord(sid, org_id, name, "substance_use_treatment")
        service.alternate_name = plain(row.get("name2"), 300)
        service.description = "Substance use treatment facility (SAMHSA treatment locator)."
        service.location_ids = (sid,)
        result.services.append(service)
    result.organizations.extend(orgs.values())
    return result
