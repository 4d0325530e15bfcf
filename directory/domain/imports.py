"""The one shared writer of every importer: idempotent, one transaction, and respectful of providers.

Records are keyed by (source, source id). A record whose digest equals the one stored at its last import is
left alone, so a second run of an unchanged source writes nothing; records missing from a full import are
marked inactive, never deleted; capacity numbers that a provider confirmed after the source's own timestamp
are kept. The whole run is one write transaction: a failure (or a kill) leaves the directory as it was.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from scrapers.common import SourceError, chunks
from scrapers.records import (
    LEAD_FLAGS,
    SERVICE_TEXT,
    LocationRecord,
    OrganizationRecord,
    ParseResult,
    ServiceRecord,
)

from ..database import begin_write
from ..models import (
    Address,
    CapacityEvent,
    ImportRun,
    Language,
    LanguageName,
    Location,
    Organization,
    Phone,
    Population,
    Practice,
    Referral,
    RequiredDocument,
    Schedule,
    Service,
    ServiceCapacity,
    SitePlace,
    TaxonomyTerm,
    Unit,
    User,
    service_area,
    service_at_location,
    service_population,
    service_practice,
    service_taxonomy,
)
from ..words import N_, Words
from . import audit
from .capacity_updates import (
    FIELDS,
    NewNumbers,
    decide,
    held_units,
    holds_of_closed_services,
    record_at_risk,
)
from .errors import NotFound, ValidationError
from .listing import reindex_services
from .notifications import notify, organization_staff
from .provider_edits import settle_on_import

# The service columns of each field a provider can edit (phone and hours also have child rows).
KEPT_COLUMNS = {
    "hours": ("hours_text",),
    "phone": (),
    "eligibility": ("eligibility_description",),
    "alert": ("alert",),
}

CHUNK = 2000
KINDS = ("organization", "location", "service")
BALANCE = ("added", "changed", "unchanged", "merged", "rejected")  # read is their sum, per kind
SERVICE_CHUNK = 2000
# Service text columns with a length limit in the schema, and the limit: longer source text is cut to fit.
TEXT_LIMITS = tuple(
    (name, Service.__table__.c[name].type.length)
    for name in SERVICE_TEXT
    if getattr(Service.__table__.c[name].type, "length", None)
)
DIGEST_VERSION = "1"
Progress = Callable[[str, int, int], None]


def digest(record) -> str:
    """A stable digest of a normalized record (its dataclass repr covers every field)."""
    return hashlib.blake2b(f"{DIGEST_VERSION}:{record!r}".encode(), digest_size=16).hexdigest()


@dataclass
class Outcome:
    """What a run did, per kind of record."""

    added: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    deactivated: Counter = field(default_factory=Counter)
    kept_confirmed: int = 0  # capacity rows whose provider-confirmed numbers were newer than the source
    flagged_missing: int = 0  # services missing from a full import, kept active and flagged (relied_on)
    switched_off: int = 0  # relied-on services missing from a full import, switched off (site setting)
    holds_at_risk: int = 0  # holds on them, marked at risk
    kept_edits: int = 0  # fields a provider edited in the app, left as the provider wrote them
    replaced_edits: int = 0  # provider edits the source changed since: the source's value taken, listed
    result: ParseResult | None = None

    def accounts(self) -> dict[str, dict[str, int]]:
        """Per kind of record: read = added + changed + unchanged + merged + rejected (`unaccounted` says by
        how much a parser missed that, and is 0 for every importer); deactivated, and the records kept with
        a repair or with a dropped value, are counted on their own."""
        out = {}
        for kind in KINDS:
            parsed = self.result.outcome(kind)
            row = {
                "read": parsed["read"],
                "added": self.added[kind],
                "changed": self.changed[kind],
                "unchanged": self.unchanged[kind],
                "merged": parsed["merged"],
                "rejected": parsed["rejected"],
                "deactivated": self.deactivated[kind],
                "repaired": parsed["repaired"],
                "dropped": parsed["dropped"],
            }
            row["unaccounted"] = row["read"] - sum(row[k] for k in BALANCE)
            out[kind] = row
        return out

    def totals(self) -> dict[str, int]:
        """Totals over all kinds, as the import run stores them."""
        kinds = self.accounts().values()
        names = ("added", "changed", "unchanged", "deactivated", "repaired", "rejected")
        return {name: sum(k[name] for k in kinds) for name in names}


@dataclass
class _Reference:
    terms: dict[str, str | None]  # id -> parent id
    units: set[str]
    populations: set[str]
    practices: set[str]
    places: dict[str, int]  # casefolded name -> id
    languages: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> _Reference:
        return cls(
            terms=dict(session.execute(select(TaxonomyTerm.id, TaxonomyTerm.parent_id)).all()),
            units=set(session.scalars(select(Unit.id))),
            populations=set(session.scalars(select(Population.code))),
            practices=set(session.scalars(select(Practice.code))),
            places={n.casefold(): i for i, n in session.execute(select(SitePlace.id, SitePlace.name))},
            languages=dict(session.execute(select(LanguageName.code, LanguageName.name)).all()),
        )


def _existing(session: Session, model, source: str) -> dict[str, tuple]:
    """source_id -> (id, import_hash, active-or-status) of this source's rows."""
    state = model.status if model is Service else (model.active if model is Organization else model.id)
    rows = session.execute(
        select(model.source_id, model.id, model.import_hash, state).where(model.source == source)
    )
    return {sid: (rid, h, st) for sid, rid, h, st in rows}


def _insert_returning(session: Session, table, rows: list[dict]) -> dict[str, int]:
    """Insert rows; return source_id -> new id (RETURNING, so sequences stay right on PostgreSQL)."""
    ids: dict[str, int] = {}
    for part in chunks(rows, CHUNK):
        result = session.execute(
            insert(table).returning(table.c.source_id, table.c.id, sort_by_parameter_order=True), part
        )
        ids.update(dict(result.all()))
    return ids


def _update_by_id(session: Session, table, rows: list[dict]) -> None:
    if not rows:
        return
    statement = update(table).where(table.c.id == bindparam("_id"))
    connection = session.connection()
    for part in chunks(rows, CHUNK):
        connection.execute(statement, part)


def _delete_children(session: Session, table, column: str, ids: list[int]) -> None:
    for part in chunks(ids, 500):
        session.execute(delete(table).where(table.c[column].in_(part)))


def _insert(session: Session, table, rows: list[dict]) -> None:
    connection = session.connection()
    for part in chunks(rows, CHUNK * 2):
        connection.execute(insert(table), part)


class Writer:
    """Writes one parse result for one source inside the caller's transaction."""

    def __init__(
        self,
        session: Session,
        source: str,
        now: datetime,
        progress: Progress | None = None,
        switch_off_missing: bool = False,
    ):
        self.session, self.source, self.now = session, source, now
        self.switch_off_missing = switch_off_missing  # the site's [imports] missing_services = "switch_off"
        self.progress = progress or (lambda stage, done, total: None)
        self.ref = _Reference.load(session)
        self.outcome = Outcome()
        self.new_ids: dict[str, dict[str, int]] = {"organization": {}, "location": {}}

    # -- organizations ---------------------------------------------------------------------------------------
    def organizations(self, records: list[OrganizationRecord]) -> dict[str, int]:
        existing = _existing(self.session, Organization, self.source)
        table = Organization.__table__
        new, changed = [], []
        for record in records:
            h = digest(record)
            values = {
                "name": record.name[:300],
                "alternate_name": (record.alternate_name or None) and record.alternate_name[:300],
                "description": record.description,
                "email": record.email,
                "website": record.website,
                "active": True,
                "import_hash": h,
            }
            found = existing.get(record.source_id)
            if found is None:
                new.append({**values, "source": self.source, "source_id": record.source_id})
            elif found[1] != h or not found[2]:
                changed.append({**values, "_id": found[0]})
            else:
                self.outcome.unchanged["organization"] += 1
        ids = {sid: row[0] for sid, row in existing.items()}
        added = _insert_returning(self.session, table, new)
        ids.update(added)
        self.new_ids["organization"] = added
        _update_by_id(self.session, table, changed)
        self.outcome.added["organization"] += len(new)
        self.outcome.changed["organization"] += len(changed)
        self.changed_org_ids = [row["_id"] for row in changed if row["_id"]]
        return ids

    # -- locations -------------------------------------------------------------------------------------------
    def locations(self, records: list[LocationRecord], org_ids: dict[str, int]) -> dict[str, int]:
        """Write locations in chunks; returns source id -> id."""
        existing = _existing(self.session, Location, self.source)
        ids = {sid: row[0] for sid, row in existing.items()}
        for start in range(0, len(records), SERVICE_CHUNK):
            self._location_chunk(records[start : start + SERVICE_CHUNK], existing, ids, org_ids)
        return ids

    def _location_chunk(self, records, existing, ids, org_ids) -> None:
        table = Location.__table__
        new, changed, addresses = [], [], {}
        result = self.outcome.result
        for record in records:
            h = digest(record)
            neighborhood_id = None
            if record.neighborhood:
                neighborhood_id = self.ref.places.get(record.neighborhood.casefold())
                if neighborhood_id is None:
                    result.note(
                        record.source_id,
                        record.source_id,
                        f"unknown site place {record.neighborhood!r}: left out",
                        kind="location",
                        field="neighborhood",
                    )
            values = {
                "organization_id": org_ids.get(record.organization_id) if record.organization_id else None,
                "name": record.name and record.name[:300],
                "description": record.description,
                "transportation": record.transportation,
                "latitude": record.latitude,
                "longitude": record.longitude,
                "precision": record.precision,
                "neighborhood_id": neighborhood_id,
                "confidential": record.confidential,
                "import_hash": h,
            }
            found = existing.get(record.source_id)
            if found is None:
                new.append({**values, "source": self.source, "source_id": record.source_id})
            elif found[1] != h:
                changed.append({**values, "_id": found[0]})
            else:
                self.outcome.unchanged["location"] += 1
                continue
            if record.address is not None and not record.confidential:
                addresses[record.source_id] = record.address
        added = _insert_returning(self.session, table, new)
        ids.update(added)
        self.new_ids["location"].update(added)
        _update_by_id(self.session, table, changed)
        _delete_children(self.session, Address.__table__, "location_id", [row["_id"] for row in changed])
        _insert(
            self.session,
            Address.__table__,
            [
                {
                    "location_id": ids[sid],
                    "address_1": a.address_1[:300],
                    "address_2": a.address_2 and a.address_2[:300],
                    "city": a.city[:100],
                    "state_province": a.state_province[:50],
                    "postal_code": a.postal_code,
                    "country": (a.country or "US")[:2],
                }
                for sid, a in addresses.items()
            ],
        )
        self.outcome.added["location"] += len(new)
        self.outcome.changed["location"] += len(changed)

    # -- services --------------------------------------------------------------------------------------------
    def _service_values(self, record: ServiceRecord, org_id: int, h: str) -> dict:
        values = {name: getattr(record, name) for name in SERVICE_TEXT}
        for name, limit in TEXT_LIMITS:
            if values[name]:
                values[name] = values[name][:limit]
        values.update({name: record.flag(name) for name in LEAD_FLAGS})
        if record.flag("part2_program"):  # set by an importer, never cleared by one (the provider's word)
            values["part2_program"] = True
        values.update(
            organization_id=org_id,
            name=record.name[:300],
            status=record.status,
            primary_domain=record.primary_domain,
            minimum_age=record.minimum_age,
            maximum_age=record.maximum_age,
            pets_allowed=record.pets_allowed,
            partners_allowed=record.partners_allowed,
            wheelchair_accessible=record.wheelchair_accessible,
            lead_fundable=record.lead_fundable,
            updated_at=self.now,
            import_hash=h,
        )
        if values["housing_first"] and record.primary_domain != "housing":
            values["housing_first"] = False
        return values

    def _check_service(self, record: ServiceRecord) -> ServiceRecord | None:
        """Drop what the directory cannot hold (unknown terms, codes, places) with a note; None = reject."""
        result = self.outcome.result
        if self.ref.terms.get(record.primary_domain, "missing") is not None:
            result.leave_out(record.source_id, f"unknown IIP domain {record.primary_domain!r}")
            return None
        for name, known, values in (
            ("terms", self.ref.terms, record.terms),
            ("populations", self.ref.populations, record.populations),
            ("practices", self.ref.practices, record.practices),
        ):
            unknown = [v for v in values if v not in known]
            if unknown:
                result.note(
                    record.source_id, record.source_id, f"unknown {name} {unknown}: left out", field=name
                )
                setattr(record, name, tuple(v for v in values if v in known))
        unknown_areas = [a for a in record.areas if a.casefold() not in self.ref.places]
        if unknown_areas:
            result.note(
                record.source_id, record.source_id, f"unknown areas {unknown_areas}: left out", field="areas"
            )
            record.areas = tuple(a for a in record.areas if a.casefold() in self.ref.places)
        if record.capacity is not None and record.capacity.unit not in self.ref.units:
            result.note(
                record.source_id,
                record.source_id,
                f"unknown capacity unit {record.capacity.unit!r}: capacity left out",
                action="rejected",
                field="capacity",
            )
            record.capacity = None
        if record.capacity is not None:
            self._repair_capacity(record)
        return record

    def _repair_capacity(self, record: ServiceRecord) -> None:
        """Free units beyond the maximum are lowered to it with a note, never silently: the smaller number is
        the one no case manager can be misled by."""
        cap, result = record.capacity, self.outcome.result
        if cap.available is not None and cap.available > cap.maximum:
            result.note(
                record.source_id,
                record.source_id,
                f"{cap.available} available of a maximum of {cap.maximum}: lowered to {cap.maximum}",
                field="capacity",
            )
            cap.available = cap.maximum
        if cap.lead_funded_available > cap.lead_funded_maximum:
            result.note(
                record.source_id,
                record.source_id,
                f"{cap.lead_funded_available} LEAD-funded available of a maximum of "
                f"{cap.lead_funded_maximum}: lowered to {cap.lead_funded_maximum}",
                field="capacity",
            )
            cap.lead_funded_available = cap.lead_funded_maximum

    def services(self, result: ParseResult, org_ids: dict[str, int], loc_ids: dict[str, int]) -> list[int]:
        """Write services in chunks (bounded memory; a lazy parse builds them chunk by chunk).

        Returns the ids of the services written (added or changed)."""
        existing = _existing(self.session, Service, self.source)
        ids = {sid: row[0] for sid, row in existing.items()}
        touched_ids: list[int] = []
        total = max(result.read["service"], len(result.services))
        done = 0
        for part in result.chunks(SERVICE_CHUNK):
            touched_ids.extend(self._service_chunk(part, existing, ids, org_ids, loc_ids))
            done += len(part)
            self.progress("services", done, max(total, result.read["service"], done))
        return touched_ids

    def _service_chunk(self, records, existing, ids, org_ids, loc_ids) -> list[int]:
        table = Service.__table__
        result = self.outcome.result
        new, changed, touched, changed_records = [], [], {}, {}
        for record in records:
            org_id = org_ids.get(record.organization_id)
            if org_id is None:
                result.leave_out(
                    record.source_id, f"organization {record.organization_id!r} is not in the source"
                )
                continue
            h = digest(record)
            found = existing.get(record.source_id)
            if found is not None and found[1] == h and found[2] == record.status:
                self.outcome.unchanged["service"] += 1
                continue
            if self._check_service(record) is None:
                continue
            values = self._service_values(record, org_id, h)
            if found is None:
                new.append(
                    {**values, "source": self.source, "source_id": record.source_id, "created_at": self.now}
                )
            else:
                changed.append({**values, "_id": found[0]})
                changed_records[found[0]] = record
            touched[record.source_id] = record
        if not touched:
            return []
        changed_ids = [row["_id"] for row in changed]
        kept = self._providers_edits(changed, changed_records)
        capacity = self._capacity_plan(touched, existing, changed_ids)
        # Capacity rows that lose their LEAD units go first, so the service may stop being LEAD-fundable.
        _update_by_id(self.session, ServiceCapacity.__table__, capacity["zeroing"])
        ids.update(_insert_returning(self.session, table, new))
        _update_by_id(self.session, table, changed)
        for child, field_name in ((Phone.__table__, "phone"), (Schedule.__table__, "hours")):
            ids_of = [i for i in changed_ids if field_name not in kept.get(i, ())]
            _delete_children(self.session, child, "service_id", ids_of)
        for child in (
            Language.__table__,
            RequiredDocument.__table__,
            service_taxonomy,
            service_population,
            service_practice,
            service_area,
            service_at_location,
        ):
            _delete_children(self.session, child, "service_id", changed_ids)
        self._children(touched, ids, loc_ids, kept)
        _update_by_id(self.session, ServiceCapacity.__table__, capacity["update"])
        inserts = [{**row, "service_id": ids[row.pop("_sid")]} for row in capacity["insert"]]
        _insert(self.session, ServiceCapacity.__table__, inserts)
        events = capacity["events"]
        for event in events:
            event["service_id"] = ids[event.pop("_sid")]
        _insert(self.session, CapacityEvent.__table__, events)
        audit.append_many(
            self.session,
            None,
            "capacity.import",
            "service",
            [(ids[sid], payload) for sid, payload in capacity["audit"]],
            self.now,
        )
        record_at_risk(self.session, capacity["decisions"], self.now)
        self.outcome.added["service"] += len(new)
        self.outcome.changed["service"] += len(changed)
        return [ids[sid] for sid in touched]

    def _providers_edits(self, changed: list[dict], records: dict[int, ServiceRecord]) -> dict[int, set[str]]:
        """Keep the fields a provider edited in the app that the source has not changed since (their stored
        values go back into the rows about to be written); list the edits the source's new value replaces
        for the provider. Returns the kept fields per service id (phone and hours: children left alone)."""
        kept, replaced = settle_on_import(self.session, records, self.source, self.now)
        if kept:
            columns = (Service.id, Service.eligibility_description, Service.alert, Service.hours_text)
            stored = {
                row.id: row
                for row in self.session.execute(select(*columns).where(Service.id.in_(list(kept))))
            }
            for row in changed:
                for name in kept.get(row["_id"], ()):
                    for column in KEPT_COLUMNS[name]:
                        row[column] = getattr(stored[row["_id"]], column)
        by_service: dict[int, list[str]] = {}
        for service_id, name, _value in replaced:
            by_service.setdefault(service_id, []).append(name)
            record = records[service_id]
            self.outcome.result.note(
                record.source_id,
                record.source_id,
                f"{name}: the provider's own edit replaced by the source's new value (listed for them)",
                "flagged",
                kind="provider_edit",
                field=name,
            )
        if by_service:
            tell_providers(self.session, by_service, self.source, self.now)
        self.outcome.kept_edits += sum(len(v) for v in kept.values())
        self.outcome.replaced_edits += len(replaced)
        return kept

    def _capacity_plan(self, touched: dict, existing: dict, changed_ids: list[int]) -> dict:
        """Decide each touched record's capacity row by the one capacity rule (capacity_updates.decide)."""
        plan = {"insert": [], "update": [], "zeroing": [], "events": [], "audit": [], "decisions": []}
        table = ServiceCapacity.__table__
        current = {}
        for part in chunks(changed_ids, 500):
            for row in self.session.execute(select(table).where(table.c.service_id.in_(part))).mappings():
                current[row["service_id"]] = dict(row)
        held = held_units(
            self.session, [sid for sid, row in current.items() if row["held_general"] or row["held_lead"]]
        )
        for sid, record in touched.items():
            if record.capacity is None:
                continue  # a source that stops giving numbers does not erase a provider's
            found = existing.get(sid)
            row = current.get(found[0]) if found else None
            self._plan_row(plan, sid, record, row, held.get(row["service_id"], []) if row else [])
        return plan

    def _plan_row(self, plan: dict, sid: str, record: ServiceRecord, row: dict | None, held: list) -> None:
        cap, fundable = record.capacity, record.lead_fundable
        numbers = {
            "unit_id": cap.unit,
            "maximum": cap.maximum,
            "available": cap.available,
            "waitlist": cap.waitlist,
            "lead_funded_maximum": cap.lead_funded_maximum if fundable else 0,
            "lead_funded_available": cap.lead_funded_available if fundable else 0,
            "description": cap.description and cap.description[:300],
            "confirmed_at": cap.confirmed_at,
        }
        source_time = cap.confirmed_at or cap.updated
        current = row or {**dict.fromkeys(FIELDS, 0), "available": None, "held_general": 0, "held_lead": 0}
        try:
            decision = decide(current, numbers, fundable, held)
        except ValidationError as exc:
            self.outcome.result.note(
                sid, sid, f"capacity left out: {exc}", action="rejected", field="capacity"
            )
            return
        if row is None:
            values = {**numbers, "service_lead_fundable": fundable, "updated": source_time or self.now}
            plan["insert"].append({**values, "_sid": sid, "held_general": 0, "held_lead": 0})
            self._log_change(plan, sid, None, numbers, decision)
            return
        confirmed = row["confirmed_at"]
        if confirmed is not None and (source_time is None or source_time <= confirmed):
            self.outcome.kept_confirmed += 1
            if not fundable and (row["lead_funded_maximum"] or row["held_lead"]):
                raise SourceError(
                    f"service {sid!r} would stop being LEAD-fundable while a provider's LEAD-funded "
                    "units are on it: settle that by hand before importing"
                )
            return
        if not fundable and row["held_lead"]:
            raise SourceError(f"service {sid!r} has held LEAD units but the source makes it not fundable")
        before = {k: row[k] for k in numbers}
        if before == numbers:
            return
        values = {**numbers, "updated": source_time or self.now, "stale_marked_at": None, "_id": row["id"]}
        plan["zeroing" if values["lead_funded_maximum"] == 0 else "update"].append(values)
        self._log_change(plan, sid, row, numbers, decision)

    def _log_change(
        self, plan: dict, sid: str, row: dict | None, numbers: dict, decision: NewNumbers
    ) -> None:
        """The capacity event and the audit entry of one changed row (the audit's object id is set later)."""
        before = None if row is None else {k: row[k] for k in numbers}
        plan["events"].append(self._event(sid, before, numbers))
        held = {} if row is None else {"held_general": row["held_general"], "held_lead": row["held_lead"]}
        plan["audit"].append(
            (
                sid,
                {
                    "actor": f"import:{self.source}",
                    "channel": "import",
                    "before": _plain(before and {**before, **held}),
                    "after": _plain({**numbers, **held}),
                    "holds_at_risk": list(decision.at_risk),
                },
            )
        )
        plan["decisions"].append(decision)

    def _event(self, sid: str, before: dict | None, after: dict) -> dict:
        return {
            "_sid": sid,
            "user_id": None,
            "at": self.now,
            "kind": "import",
            "channel": "import",
            "before": _plain(before),
            "after": _plain(after),
        }

    def _children(
        self,
        touched: dict[str, ServiceRecord],
        ids: dict[str, int],
        loc_ids: dict[str, int],
        kept: dict[int, set[str]] | None = None,
    ):
        rows: dict[str, list[dict]] = {
            "phone": [],
            "schedule": [],
            "language": [],
            "required_document": [],
            "service_taxonomy": [],
            "service_population": [],
            "service_practice": [],
            "service_area": [],
            "service_at_location": [],
        }
        result = self.outcome.result
        places = self.ref.places
        kept = kept or {}
        for sid, record in touched.items():
            service_id = ids[sid]
            edited = kept.get(service_id, ())
            for phone in () if "phone" in edited else record.phones:
                rows["phone"].append(
                    {
                        "service_id": service_id,
                        "location_id": None,
                        "number": phone.number[:40],
                        "extension": phone.extension and phone.extension[:20],
                        "type": phone.type,
                        "description": phone.description and phone.description[:300],
                    }
                )
            for slot in () if "hours" in edited else record.schedules:
                rows["schedule"].append(
                    {
                        "service_id": service_id,
                        "freq": "WEEKLY" if len(slot.byday) == 2 else "MONTHLY",
                        "byday": slot.byday,
                        "opens_at": slot.opens_at,
                        "closes_at": slot.closes_at,
                        "description": slot.description and slot.description[:300],
                    }
                )
            seen = set()
            for lang in record.languages:
                if lang.code in seen:
                    continue
                seen.add(lang.code)
                rows["language"].append(
                    {
                        "service_id": service_id,
                        "code": lang.code[:3],
                        "name": lang.name[:100],
                        "note": lang.note and lang.note[:200],
                        "access": lang.access,
                    }
                )
            for doc in record.documents:
                rows["required_document"].append(
                    {"service_id": service_id, "document": doc.document[:300], "uri": doc.uri}
                )
            for term in dict.fromkeys(record.terms):
                rows["service_taxonomy"].append({"service_id": service_id, "taxonomy_term_id": term})
            for code in dict.fromkeys(record.populations):
                rows["service_population"].append({"service_id": service_id, "population_code": code})
            for code in dict.fromkeys(record.practices):
                rows["service_practice"].append({"service_id": service_id, "practice_code": code})
            for place_id in dict.fromkeys(places[a.casefold()] for a in record.areas):
                rows["service_area"].append({"service_id": service_id, "site_place_id": place_id})
            for loc in dict.fromkeys(record.location_ids):
                location_id = loc_ids.get(loc)
                if location_id is None:
                    result.note(
                        sid, sid, f"location {loc!r} is not in the source: link left out", field="location"
                    )
                    continue
                rows["service_at_location"].append({"service_id": service_id, "location_id": location_id})
        tables = {
            "phone": Phone.__table__,
            "schedule": Schedule.__table__,
            "language": Language.__table__,
            "required_document": RequiredDocument.__table__,
            "service_taxonomy": service_taxonomy,
            "service_population": service_population,
            "service_practice": service_practice,
            "service_area": service_area,
            "service_at_location": service_at_location,
        }
        for name, table in tables.items():
            _insert(self.session, table, rows[name])

    # -- records no service uses ----------------------------------------------------------------------------
    def drop_unused(self) -> None:
        """Organizations and locations this run added that no service kept uses are taken out again and
        counted as rejected: a directory of places with nothing offered there misleads."""
        result = self.outcome.result
        new_locations = self.new_ids["location"]
        used = set()
        for part in chunks(list(new_locations.values()), 500):
            used.update(
                self.session.scalars(
                    select(service_at_location.c.location_id).where(
                        service_at_location.c.location_id.in_(part)
                    )
                )
            )
        unused = {sid: lid for sid, lid in new_locations.items() if lid not in used}
        for part in chunks(list(unused.values()), 500):
            self.session.execute(delete(Address).where(Address.location_id.in_(part)))
            self.session.execute(delete(Location).where(Location.id.in_(part)))
        for sid in unused:
            result.leave_out(sid, "no service kept is at this location: left out", "location")
        self.outcome.added["location"] -= len(unused)
        new_orgs = self.new_ids["organization"]
        used = set()
        for part in chunks(list(new_orgs.values()), 500):
            used.update(
                self.session.scalars(select(Service.organization_id).where(Service.organization_id.in_(part)))
            )
            used.update(
                self.session.scalars(
                    select(Location.organization_id).where(Location.organization_id.in_(part))
                )
            )
        unused = {sid: oid for sid, oid in new_orgs.items() if oid not in used}
        for part in chunks(list(unused.values()), 500):
            self.session.execute(delete(Organization).where(Organization.id.in_(part)))
        for sid in unused:
            result.leave_out(sid, "no service kept belongs to this organization: left out", "organization")
        self.outcome.added["organization"] -= len(unused)

    # -- missing records -------------------------------------------------------------------------------------
    def deactivate_missing(self, result: ParseResult) -> None:
        """Mark inactive what a full import no longer lists, except services people still rely on: those
        are kept active and flagged to their provider and the project managers (never switched off
        silently)."""
        present = result.service_ids()
        rows = self.session.execute(
            select(Service.id, Service.source_id).where(
                Service.source == self.source, Service.status == "active"
            )
        ).all()
        missing = {rid: sid for rid, sid in rows if sid not in present}
        reasons = relied_on(self.session, list(missing), self.now)
        if self.switch_off_missing:
            self._switch_off(result, missing, reasons)
            reasons = {}
        for rid, why in sorted(reasons.items()):
            result.note(
                self.source,
                missing[rid],
                f"missing from this full import, but {why}: kept active and flagged to its provider and "
                "the project managers",
                "flagged",
                field="status",
            )
        flag_missing(self.session, reasons, self.source, self.now)
        self.outcome.flagged_missing += len(reasons)
        gone = [rid for rid in missing if rid not in reasons]
        for part in chunks(gone, 500):
            self.session.execute(
                update(Service).where(Service.id.in_(part)).values(status="inactive", updated_at=self.now)
            )
        self.outcome.deactivated["service"] += len(gone)
        present_orgs = {r.source_id for r in result.organizations}
        rows = self.session.execute(
            select(Organization.id, Organization.source_id).where(
                Organization.source == self.source, Organization.active.is_(True)
            )
        ).all()
        gone = [rid for rid, sid in rows if sid not in present_orgs]
        for part in chunks(gone, 500):
            self.session.execute(update(Organization).where(Organization.id.in_(part)).values(active=False))
        self.outcome.deactivated["organization"] += len(gone)

    def _switch_off(self, result: ParseResult, missing: dict[int, str], reasons: dict[int, str]) -> None:
        """The site's choice: services missing from a full import are switched off even when people rely on
        them; their holds are marked at risk (case managers told) and their provider and the project
        managers are told, so it is never silent."""
        why = Words(
            N_("The %(source)s feed no longer lists this service, and this site switches such services off."),
            source=self.source,
        )
        holds = holds_of_closed_services(self.session, list(reasons), self.now, why)
        for rid, reason in sorted(reasons.items()):
            at_risk = holds.get(rid, [])
            result.note(
                self.source,
                missing[rid],
                f"missing from this full import although {reason}: switched off (the site's setting)"
                + (
                    f"; {len(at_risk)} hold(s) marked at risk and their case managers told" if at_risk else ""
                ),
                "flagged",
                field="status",
            )
        tell_switched_off(self.session, reasons, self.source, self.now)
        self.outcome.switched_off += len(reasons)
        self.outcome.holds_at_risk += sum(len(v) for v in holds.values())
        if reasons:
            audit.append_many(
                self.session,
                None,
                "import.switch_off",
                "service",
                [
                    (
                        rid,
                        {
                            "actor": f"import:{self.source}",
                            "why": reasons[rid],
                            "holds_at_risk": holds.get(rid, []),
                        },
                    )
                    for rid in sorted(reasons)
                ],
                self.now,
            )

    def write(self, result: ParseResult) -> Outcome:
        """Write everything; the caller owns the transaction."""
        self.outcome.result = result
        self.progress("organizations", 0, len(result.organizations))
        org_ids = self.organizations(result.organizations)
        self.progress("locations", 0, len(result.locations))
        loc_ids = self.locations(result.locations, org_ids)
        touched = self.services(result, org_ids, loc_ids)
        self.drop_unused()
        if result.full:
            if not result.service_ids() - {sid for kind, sid in result.left_out if kind == "service"}:
                raise SourceError(no_services_reason(result))
            self.deactivate_missing(result)
        reindex = set(touched)
        if self.changed_org_ids:
            for part in chunks(self.changed_org_ids, 500):
                reindex.update(
                    self.session.scalars(select(Service.id).where(Service.organization_id.in_(part)))
                )
        self.progress("search index", 0, len(reindex))
        reindex_services(self.session, reindex)
        self.progress("search index", len(reindex), len(reindex))
        return self.outcome


# A provider's confirmation this recent means the service is running whatever the feed says.
RECENTLY_CONFIRMED = timedelta(days=14)


def relied_on(session: Session, service_ids: list[int], now: datetime) -> dict[int, str]:
    """Of services missing from a full import, those people rely on, with why: numbers a provider
    confirmed within RECENTLY_CONFIRMED, LEAD-funded units, or open holds."""
    reasons: dict[int, list[str]] = {}
    for part in chunks(service_ids, 500):
        rows = session.execute(
            select(
                ServiceCapacity.service_id, ServiceCapacity.confirmed_at, ServiceCapacity.lead_funded_maximum
            ).where(ServiceCapacity.service_id.in_(part))
        )
        for service_id, confirmed_at, lead_funded in rows:
            if confirmed_at is not None and confirmed_at >= now - RECENTLY_CONFIRMED:
                reasons.setdefault(service_id, []).append(
                    f"its provider confirmed it on {confirmed_at:%Y-%m-%d}"
                )
            if lead_funded:
                reasons.setdefault(service_id, []).append(f"it has {lead_funded} LEAD-funded unit(s)")
        holds = Counter(
            session.scalars(
                select(Referral.service_id).where(Referral.service_id.in_(part), Referral.state == "held")
            )
        )
        for service_id, count in holds.items():
            reasons.setdefault(service_id, []).append(f"{count} hold(s) are open on it")
    return {service_id: "; ".join(why) for service_id, why in reasons.items()}


def flag_missing(session: Session, reasons: dict[int, str], source: str, now: datetime) -> None:
    """Tell each flagged service's provider staff and every project manager (one notice per person)."""
    _tell_about_missing(
        session,
        reasons,
        now,
        "import_missing",
        lambda name: Words(N_("Not in the %(source)s feed: %(service)s"), source=source, service=name),
        lambda name, why: Words(
            N_(
                "The latest full import of %(source)s no longer lists %(service)s, but %(why)s. It stays "
                "active: confirm it is still running, or mark it inactive."
            ),
            source=source,
            service=name,
            why=why,
        ),
    )


def tell_switched_off(session: Session, reasons: dict[int, str], source: str, now: datetime) -> None:
    """Tell each switched-off service's provider staff and every project manager (one notice a person)."""
    _tell_about_missing(
        session,
        reasons,
        now,
        "import_switched_off",
        lambda name: Words(
            N_("Switched off: %(service)s is not in the %(source)s feed"), service=name, source=source
        ),
        lambda name, why: Words(
            N_(
                "The latest full import of %(source)s no longer lists %(service)s, and this site "
                "switches such "
                "services off, although %(why)s. Its holds are marked at risk and their case managers "
                "told. If "
                "it is still running, mark it active again."
            ),
            source=source,
            service=name,
            why=why,
        ),
    )


def _tell_about_missing(
    session: Session, reasons: dict[int, str], now: datetime, kind, subject, body
) -> None:
    """One notice per service missing from a feed, to its provider staff and every project manager."""
    if not reasons:
        return
    managers = list(
        session.scalars(select(User.id).where(User.role == "project_manager", User.active.is_(True)))
    )
    for service in session.scalars(select(Service).where(Service.id.in_(sorted(reasons)))):
        notify(
            session,
            [*organization_staff(session, service.organization_id), *managers],
            kind,
            subject(service.name),
            body(service.name, reasons[service.id]),
            now,
            link=f"/services/{service.id}",
        )


def tell_providers(session: Session, replaced: dict[int, list[str]], source: str, now: datetime) -> None:
    """Tell each service's provider staff that the feed replaced their own edits (one notice a service)."""
    for service in session.scalars(select(Service).where(Service.id.in_(sorted(replaced)))):
        fields = ", ".join(replaced[service.id])
        notify(
            session,
            organization_staff(session, service.organization_id),
            "import_replaced_edit",
            Words(
                N_("The %(source)s feed changed what you edited: %(service)s"),
                source=source,
                service=service.name,
            ),
            Words(
                N_(
                    "The %(source)s feed changed %(fields)s of %(service)s after you edited it, so its "
                    "value is "
                    "shown now. Both values are listed on your provider page: keep the feed's, or edit "
                    "it again."
                ),
                source=source,
                fields=fields,
                service=service.name,
            ),
            now,
            link="/provider#edit-conflicts",
        )


def no_services_reason(result: ParseResult) -> str:
    """Why a full import has no service to keep, in words that point at the cause."""
    head = "the source has no services (a full import would deactivate every listing): "
    read = result.read["service"]
    if not read:
        first = [f"{p.where}: {p.problem}" for p in result.problems][:3]
        found = f" ({'; '.join(first)})" if first else ""
        return head + "no file or column was recognized as services" + found
    reasons = Counter(p.problem for p in result.problems if p.action == "rejected" and not p.field)
    first = "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common(3))
    return head + f"every one of the {read} service record(s) read was rejected; first reasons: {first}"


def _plain(values: dict | None) -> dict | None:
    """Numbers as JSON-ready data (times as ISO text)."""
    if values is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}


def run_import(
    session: Session,
    source: str,
    location: str,
    parse: Callable[[], ParseResult],
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    switch_off_missing: bool = False,
) -> tuple[ImportRun, Outcome | None]:
    """Parse, then write in one transaction (rolled back for a dry run), recording the run either way.
    switch_off_missing: the site's choice for relied-on services missing from a full import (see Writer).

    A failure is recorded on the run (status failed, with the error) and re-raised; the directory is as
    it was before the run.
    """
    run = ImportRun(
        source=source, location=location[:1000], started_at=now, dry_run=dry_run, status="running"
    )
    session.add(run)
    session.commit()
    run_id = run.id
    try:
        with _gc_paused():
            result = parse()
            begin_write(session)
            outcome = Writer(session, source, now, progress, switch_off_missing).write(result)
        if dry_run:
            session.rollback()
        else:
            session.flush()
            _finish(session.get(ImportRun, run_id), outcome, now)
            session.commit()
    except BaseException as exc:
        session.rollback()
        run = session.get(ImportRun, run_id)
        run.status, run.finished_at = "failed", now
        run.error = f"{exc.__class__.__name__}: {exc}"[:4000]
        session.commit()
        raise
    run = session.get(ImportRun, run_id)
    if dry_run:
        _finish(run, outcome, now)
        session.commit()
    return run, outcome


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: parsed records hold no cycles, and a collector walking hundreds of
    thousands of live records again and again costs a fifth of a large import's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finish(run: ImportRun, outcome: Outcome, now: datetime) -> None:
    for name, value in outcome.totals().items():
        setattr(run, name, value)
    run.counts = json.dumps(
        {
            **outcome.accounts(),
            "no_location": outcome.result.no_location,
            "flagged_missing": outcome.flagged_missing,
            "switched_off": outcome.switched_off,
            "holds_at_risk": outcome.holds_at_risk,
            "kept_edits": outcome.kept_edits,
            "replaced_edits": outcome.replaced_edits,
        },
        separators=(",", ":"),
    )
    run.status, run.finished_at = "succeeded", now
    run.problems = json.dumps([p.as_dict() for p in outcome.result.problems], ensure_ascii=False)


PROBLEM_COLUMNS = ("record", "kind", "file", "place", "field", "action", "problem")


def _where_parts(where: str) -> tuple[str, str]:
    """(file, line or JSON path) of a problem's place: `a.csv:12` -> (a.csv, 12); `f.json$[0].x` -> (f.json,
    $[0].x); `page.html div.item[3]` -> (page.html, div.item[3]); a record id (found writing) -> ("", id)."""
    if "$" in where:
        file, _, path = where.partition("$")
        return file, "$" + path
    file, sep, line = where.rpartition(":")
    if sep and line.isdigit():
        return file, line
    first, _, rest = where.partition(" ")
    if re.search(r"\.[A-Za-z0-9]{2,5}$", first):
        return first, rest
    return "", where


def run_problems(session: Session, run_id: int) -> tuple[ImportRun, list[dict]]:
    """An import run and each problem it recorded: record, kind, file, line or JSON path, field, action."""
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(Words(N_("no import run %(run_id)s"), run_id=run_id))
    try:
        stored = json.loads(run.problems or "[]")
    except ValueError:
        stored = []
    return run, problem_rows(stored if isinstance(stored, list) else [])


def problem_rows(stored: list) -> list[dict]:
    """Problems (as Problem.as_dict stores them) as the report's rows: record, kind, file, line or JSON path,
    field, action, problem; the one report of import runs and of providers' bulk uploads."""
    rows = []
    for item in stored:
        if not isinstance(item, dict):
            continue
        file, place = _where_parts(str(item.get("where") or ""))
        rows.append(
            {
                "record": item.get("record") or "",
                "kind": item.get("kind") or "service",
                "file": file,
                "place": place,
                "field": item.get("field") or "",
                "action": item.get("action") or "",
                "problem": item.get("problem") or "",
            }
        )
    return rows


def spreadsheet_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (source text is untrusted)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not text.lstrip("-").isdigit():
        return "'" + text
    return text


def problems_csv(rows: list[dict]) -> str:
    """The problems as CSV, one per line, formulas neutralized."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PROBLEM_COLUMNS)
    for row in rows:
        writer.writerow([spreadsheet_safe(row[name]) for name in PROBLEM_COLUMNS])
    return out.getvalue()
