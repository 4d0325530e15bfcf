"""iCarol 211 "Resource" CSV export (166 columns, often with old-Mac `\\r` line endings).

Rows come at three levels (`TaxonomyLevelName`): an Agency is an organization; a Site is a location with
a service of its own (named after the site, at that place); a Program (or ProgramAtSite) is a service at its
site (`ConnectsToSiteNum`) or at every site of its agency. An agency with neither sites nor programs is listed
as one service at its own address. A private address (`PhysicalAddressIsPrivate`) makes the location
confidential: no address and no point are kept, only phones.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from .classify import classify
from .common import (
    SourceError,
    check_coordinates,
    check_zip_state,
    clean_email,
    clean_text,
    parse_phone,
    plain,
    read_csv,
    repair_url,
    repair_zip,
    state_code,
    truthy,
)
from .hours import KEPT_AS_TEXT, hours_of
from .languages import language, unique
from .records import (
    AddressRecord,
    DocumentRecord,
    LocationRecord,
    OrganizationRecord,
    ParseResult,
    PhoneRecord,
    ServiceRecord,
)

PHONES = (
    ("Phone1Number", "Phone1IsPrivate", "Phone1Description", "voice"),
    ("Phone2Number", "Phone2IsPrivate", "Phone2Description", "voice"),
    ("Phone3Number", "Phone3IsPrivate", "Phone3Description", "voice"),
    ("Phone4Number", "Phone4IsPrivate", "Phone4Description", "voice"),
    ("Phone5Number", "Phone5IsPrivate", "Phone5Description", "voice"),
    ("PhoneTollFree", "PhoneTollFreeIsPrivate", "PhoneTollFreeDescription", "voice"),
    ("PhoneNumberHotline", "PhoneNumberHotlineIsPrivate", "PhoneNumberHotlineDescription", "hotline"),
    ("PhoneTTY", "PhoneTTYIsPrivate", "PhoneTTYDescription", "tty"),
    ("PhoneFax", "PhoneFaxIsPrivate", "PhoneFaxDescription", "fax"),
)


class _Parser:
    def __init__(self, path: Path):
        self.path = path
        self.result = ParseResult()

    def note(self, where, sid, problem, field, action="repaired", kind="service"):
        self.result.note(where, sid, problem, action, kind, field)

    def text(self, where, sid, value, field, kind="service"):
        cleaned, note = clean_text(value)
        if note:
            self.note(where, sid, f"{field}: {note}", field, kind=kind)
        return cleaned

    def location(self, where: str, row: dict, lid: str, org_id: str) -> LocationRecord:
        loc = LocationRecord(lid, org_id, name=plain(row.get("PublicName"), 300))
        loc.transportation = self.text(where, lid, row.get("BusServiceAccess"), "transportation", "location")
        if truthy(row.get("PhysicalAddressIsPrivate")):
            loc.confidential = True
            self.note(where, lid, "private address: confidential location (no address, no point)", "address",
                      kind="location")  # fmt: skip
            return loc
        coords, reason = check_coordinates(row.get("Latitude"), row.get("Longitude"))
        if reason and coords is None:
            self.note(where, lid, reason + ": left out", "coordinates", "rejected", "location")
        elif reason:
            self.note(where, lid, reason, "coordinates", kind="location")
        zip_code, note = repair_zip(row.get("PhysicalPostalCode"))
        state, _ = state_code(row.get("PhysicalStateProvince"))
        mismatch = check_zip_state(zip_code, state)
        if mismatch:
            zip_code, note = None, mismatch
        if note:
            self.note(
                where, lid, note, "postal_code", "rejected" if zip_code is None else "repaired", "location"
            )
        street, city = plain(row.get("PhysicalAddress1"), 300), plain(row.get("PhysicalCity"), 100)
        if street and city and state:
            loc.address = AddressRecord(
                street, city, state, zip_code, plain(row.get("PhysicalAddress2"), 300)
            )
        if coords:
            loc.latitude, loc.longitude = coords
            if loc.address is None:
                loc.precision = "approximate"
                self.note(where, lid, "no street address: coordinates kept as approximate", "address",
                          kind="location")  # fmt: skip
        return loc

    def service(
        self, where: str, row: dict, sid: str, org_id: str, name: str, context: tuple
    ) -> ServiceRecord | None:
        codes = tuple(c.strip() for c in re.split(r"[;*]", row.get("TaxonomyCodes") or "") if c.strip())
        terms = tuple(t.strip() for t in re.split(r";", row.get("TaxonomyTerms") or "") if t.strip())
        description = self.text(where, sid, row.get("AgencyDescription"), "description")
        found = classify(codes, terms, (name, description, *context))
        if found is None:
            self.result.reject(where, sid, "no LEAD IIP domain fits its taxonomy or its words")
            return None
        service = ServiceRecord(sid, org_id, name, found[0], terms=(found[1],) if found[1] else ())
        service.description = description
        service.status = "inactive" if (row.get("AgencyStatus") or "").lower() == "inactive" else "active"
        service.eligibility_description = self.text(
            where, sid, row.get("Eligibility"), "eligibility_description"
        )
        service.application_process = self.text(
            where, sid, row.get("ApplicationProcess"), "application_process"
        )
        service.fees_description = self.text(where, sid, row.get("FeeStructureSource"), "fees_description")
        service.url, note = repair_url(row.get("WebsiteAddress"))
        if note:
            self.note(where, sid, note, "url")
        service.email, note = clean_email(row.get("EmailAddressMain"))
        if note:
            self.note(where, sid, note, "email")
        phones: list[PhoneRecord] = []
        for number, private, description_column, kind in PHONES:
            if not row.get(number) or truthy(row.get(private)):
                continue
            phone, note = parse_phone(row.get(number), None, kind, row.get(description_column))
            if note:
                self.note(where, sid, note, "phones", "rejected" if phone is None else "repaired")
            if phone and phone.number not in {p.number for p in phones}:
                phones.append(phone)
        service.phones = tuple(phones)
        service.schedules, service.hours_text, note = hours_of(
            row.get("HoursOfOperation") or row.get("Hours")
        )
        if note:
            self.note(where, sid, note, "schedules", KEPT_AS_TEXT)
        langs = language(None, row.get("LanguagesOfferedList") or row.get("LanguagesOffered"))
        service.languages = unique(langs)
        documents = plain(row.get("DocumentsRequired"), 300)
        service.documents = (DocumentRecord(documents),) if documents else ()
        return service

    def agencies(self, rows: list[tuple[str, dict]]) -> dict[str, tuple[str, dict]]:
        """Agencies as organizations; returns agency number -> (where, row)."""
        agencies = {}
        for where, row in rows:
            self.result.read["organization"] += 1
            oid, name = (row.get("ResourceAgencyNum") or "").strip(), plain(row.get("PublicName"), 300)
            if not oid or not name or oid in agencies:
                self.result.reject(where, oid or None, "agency without a number or a name, or a duplicate",
                                   kind="organization")  # fmt: skip
                continue
            website, _ = repair_url(row.get("WebsiteAddress"))
            email, _ = clean_email(row.get("EmailAddressMain"))
            description = self.text(where, oid, row.get("AgencyDescription"), "description", "organization")
            agencies[oid] = (where, row)
            self.result.organizations.append(
                OrganizationRecord(
                    oid, name, plain(row.get("AlternateName"), 300), description, email, website
                )
            )
        return agencies

    def parse(self, rows: list[tuple[str, dict]]) -> ParseResult:
        levels: dict[str, list] = defaultdict(list)
        for where, row in rows:
            levels[(row.get("TaxonomyLevelName") or "").strip().lower()].append((where, row))
        agencies = self.agencies(levels["agency"])
        sites_of: dict[str, list[str]] = defaultdict(list)
        children = set()
        for where, row in levels["site"]:
            self.result.read["location"] += 1
            self.result.read["service"] += 1
            lid, org = (
                (row.get("ResourceAgencyNum") or "").strip(),
                (row.get("ParentAgencyNum") or "").strip(),
            )
            if org not in agencies:
                self.result.reject(where, lid, f"site's agency {org} is not in the export", kind="location")
                self.result.reject(where, f"site-{lid}", f"site's agency {org} is not in the export")
                continue
            children.add(org)
            loc = self.location(where, row, lid, org)
            self.result.locations.append(loc)
            sites_of[org].append(lid)
            agency_row = agencies[org][1]
            name = plain(row.get("PublicName"), 300) or plain(agency_row.get("PublicName"), 300)
            service = self.service(
                where, row, f"site-{lid}", org, name, (agency_row.get("AgencyDescription"),)
            )
            if service:
                service.location_ids = (lid,)
                self.result.services.append(service)
        for where, row in levels["program"] + levels["programatsite"]:
            self.result.read["service"] += 1
            sid, org = (
                (row.get("ResourceAgencyNum") or "").strip(),
                (row.get("ParentAgencyNum") or "").strip(),
            )
            if org not in agencies:
                self.result.reject(where, sid, f"program's agency {org} is not in the export")
                continue
            children.add(org)
            name = plain(row.get("PublicName"), 300) or "Program"
            service = self.service(where, row, sid, org, name, (agencies[org][1].get("AgencyDescription"),))
            if service:
                site = (row.get("ConnectsToSiteNum") or "").strip()
                service.location_ids = (site,) if site in sites_of[org] else tuple(sites_of[org])
                self.result.services.append(service)
        for oid, (where, row) in agencies.items():
            if oid in children:
                continue
            self.result.read["location"] += 1
            self.result.read["service"] += 1
            loc = self.location(where, row, f"agency-{oid}", oid)
            self.result.locations.append(loc)
            service = self.service(where, row, f"agency-{oid}", oid, plain(row.get("PublicName"), 300), ())
            if service:
                service.location_ids = (loc.source_id,)
                self.result.services.append(service)
        for level, items in levels.items():
            if level not in ("agency", "site", "program", "programatsite"):
                for where, row in items:
                    self.result.reject(
                        where, row.get("ResourceAgencyNum"), f"unknown level {level!r}", kind="row"
                    )
        return self.result


def _from_api(resource: dict) -> dict:
    """An iCarol API resource (JSON) as the row the CSV export would have for it."""
    row: dict[str, str] = {
        "TaxonomyLevelName": str(resource.get("type") or ""),
        "ResourceAgencyNum": str(resource.get("id") or ""),
    }
    names = resource.get("names") or []
    primary = next((n.get("value") for n in names if n.get("purpose") == "Primary"), None)
    related = {r.get("type"): r for r in resource.get("related") or []}
    fallback = names[0].get("value") if names else (related.get("Program") or {}).get("name")
    row["PublicName"] = str(primary or fallback or "")
    row["ParentAgencyNum"] = str((related.get("Agency") or {}).get("id") or "")
    row["ConnectsToSiteNum"] = str((related.get("Site") or {}).get("id") or "")
    row["AgencyStatus"] = str(resource.get("status") or "")
    row["AgencyDescription"] = str(resource.get("descriptionText") or resource.get("description") or "")
    row["Eligibility"] = str(resource.get("eligibility") or "")
    row["ApplicationProcess"] = str(resource.get("applicationProcess") or "")
    row["FeeStructureSource"] = str(resource.get("fees") or "")
    row["LanguagesOfferedList"] = str(resource.get("languagesOffered") or "")
    row["TaxonomyCodes"] = ";".join(str(t) for t in resource.get("taxonomy") or [])
    hours = resource.get("hours") or {}
    days = [f"{d.get('dayOfWeek')} {d.get('opens')}-{d.get('closes')}" for d in hours.get("days") or []]
    row["HoursOfOperation"] = "; ".join(days) or str(hours.get("note") or "")
    phones = 0
    for detail in resource.get("contactDetails") or []:
        contact, private = detail.get("contact") or {}, "Yes" if detail.get("isConfidential") else "No"
        kind = contact.get("type")
        if kind == "PhysicalLocation":
            row.update(
                PhysicalAddress1=contact.get("line1") or "",
                PhysicalAddress2=contact.get("line2") or "",
                PhysicalCity=contact.get("city") or "",
                PhysicalStateProvince=contact.get("stateProvince") or "",
                PhysicalPostalCode=contact.get("zipPostalCode") or "",
                PhysicalAddressIsPrivate=private,
                Latitude=str(contact.get("latitude") or ""),
                Longitude=str(contact.get("longitude") or ""),
            )
        elif kind == "PhoneNumber" and contact.get("purpose") == "Fax":
            row.update(PhoneFax=contact.get("number") or "", PhoneFaxIsPrivate=private)
        elif kind == "PhoneNumber" and phones < 5:
            phones += 1
            row[f"Phone{phones}Number"] = contact.get("number") or ""
            row[f"Phone{phones}IsPrivate"] = private
            row[f"Phone{phones}Description"] = contact.get("label") or ""
        elif kind == "EmailAddress":
            row["EmailAddressMain"] = contact.get("address") or contact.get("email") or ""
        elif kind == "Website":
            row["WebsiteAddress"] = contact.get("url") or contact.get("address") or ""
    if resource.get("isConfidential"):
        row["PhysicalAddressIsPrivate"] = "Yes"
    return row


def _api_rows(files: list[Path]) -> list[tuple[str, dict]]:
    """Rows from iCarol API JSON files."""
    rows = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SourceError(f"{file.name} is not iCarol JSON: {exc}") from exc
        for index, item in enumerate(data if isinstance(data, list) else [data]):
            if isinstance(item, dict):
                rows.append((f"{file.name}$[{index}]", _from_api(item)))
    return rows


def parse(path: str | Path) -> ParseResult:
    """Parse an iCarol Resource CSV export, or iCarol API JSON (a file, or a folder of them); pure."""
    path = Path(path)
    parser = _Parser(path)
    if path.is_dir():
        resources = ("agencies.json", "sites.json", "programs.json", "serviceSites.json")
        return parse_files([path / name for name in resources if (path / name).exists()])
    if path.suffix.lower() == ".json":
        return parser.parse(_api_rows([path]))
    rows, notes = read_csv(path)
    for note in notes:
        parser.result.note(path.name, None, note, kind="file")
    return parser.parse([(f"{path.name}:{line}", row) for line, row in rows])


def parse_files(paths: list[Path]) -> ParseResult:
    """Parse iCarol API JSON files that belong together (agencies, sites, programs, serviceSites); pure."""
    paths = [Path(p) for p in paths]
    return _Parser(paths[0]).parse(_api_rows(paths))
