"""HUD Continuum-of-Care shelter and housing sites (`ID,STATE,ADDRESS,city,zip,Longitude,Latitude,total_beds,
pit_count,year_round_beds`): one housing service per site, with its beds as capacity `maximum`.

HUD gives beds, not free beds: `available` and `waitlist` stay unknown, so the numbers are unverified until a
provider confirms them. A people count above the bed count does not raise `maximum`.
"""

from __future__ import annotations

from pathlib import Path

from .common import parse_count, read_csv
from .flat import Where, place, swapped_file, unplaced
from .records import CapacityRecord, OrganizationRecord, ParseResult, ServiceRecord


def _get(row: dict, *names: str) -> str:
    lowered = {k.lower(): v for k, v in row.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return ""


def parse(path: str | Path, swap: str = "auto") -> ParseResult:
    """Parse a HUD site file; pure. swap: what a file-wide coordinate swap does (see `swapped_file`)."""
    path = Path(path)
    rows, notes = read_csv(path)
    result = ParseResult(no_location=False)
    for note in notes:
        result.note(path.name, None, note, kind="file")
    states: dict[str, OrganizationRecord] = {}
    seen: set[str] = set()
    swapped = swapped_file(
        result, path.name, ((_get(r, "Latitude"), _get(r, "Longitude")) for _, r in rows), swap
    )
    for line, row in rows:
        where = f"{path.name}:{line}"
        result.read["service"] += 1
        sid = _get(row, "ID").strip()
        if not sid or sid in seen:
            result.reject(where, sid or None, "site without an ID, or a duplicate ID")
            continue
        seen.add(sid)
        beds, problem = parse_count(_get(row, "total_beds"))
        if problem or beds is None:
            result.reject(where, sid, f"bed count: {problem or 'missing'}")
            continue
        people, people_problem = parse_count(_get(row, "pit_count"))
        year_round, _ = parse_count(_get(row, "year_round_beds"))
        state = _get(row, "STATE").strip().upper()
        city = _get(row, "city").strip()
        cells = Where(
            _get(row, "ADDRESS"), city, state, _get(row, "zip"), _get(row, "Latitude"), _get(row, "Longitude")
        )
        location = place(result, where, sid, cells, swapped)
        if location is None and unplaced(result, where, sid, allowed=False):
            continue
        org_id = f"coc-{state or 'unknown'}"
        if org_id not in states:
            states[org_id] = OrganizationRecord(
                org_id, f"Continuum of Care sites ({state or 'state unknown'})"
            )
            result.read["organization"] += 1
        location.organization_id = org_id
        if people_problem:
            result.note(where, sid, f"point-in-time count: {people_problem}: left out", field="pit_count")
        if people is not None and people > beds:
            result.note(
                where,
                sid,
                f"people count {people} above the bed count {beds}: maximum is the bed count",
                field="capacity",
            )
        place_name = city.title() if city else "unknown city"
        name = (
            f"Shelter and housing site, {place_name}, {state}"
            if state
            else f"Shelter and housing site, {place_name}"
        )
        description = f"HUD Continuum of Care site with {beds} beds"
        if year_round is not None:
            description += f" ({year_round} year-round)"
        service = ServiceRecord(sid, org_id, name, "housing", description=description + ".")
        service.location_ids = (sid,)
        service.capacity = CapacityRecord("bed", beds, description="beds reported to HUD (2018 CoC count)")
        result.locations.append(location)
        result.read["location"] += 1
        result.services.append(service)
    result.organizations.extend(states.values())
    return result
