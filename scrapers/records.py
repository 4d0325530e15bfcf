"""Normalized import records (organization, location, service with its LEAD attributes) and problems."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time

from .rules import LEAD_FUNDABLE

# The LEAD attributes carried by a service record (domain.md), all false unless the source says so.
LEAD_FLAGS = (
    "no_sobriety_requirement",
    "accepts_active_use",
    "accepts_sex_workers",
    "no_id_required",
    "criminal_record_ok",
    "housing_first",
    "trauma_informed",
    "peer_run",
    "coordinated_entry",
    "religious_requirement",
    "conversion_therapy",
    "moud_buprenorphine",
    "moud_methadone",
    "moud_naltrexone",
)
OPTIONAL_FLAGS = ("pets_allowed", "partners_allowed", "wheelchair_accessible")
SERVICE_TEXT = (
    "alternate_name",
    "description",
    "url",
    "email",
    "eligibility_description",
    "application_process",
    "intake_mode",
    "intake_times",
    "curfew",
    "fees_description",
    "insurance",
    "alert",
    "hours_text",
)


@dataclass(slots=True)
class Problem:
    """One problem found in the source: where, which record, what, and what the importer did about it.

    `field` None with action "rejected" means the whole record was left out; otherwise only that value
    was repaired or dropped and the record was imported.
    """

    where: str
    record: str | None
    problem: str
    action: str
    kind: str = "service"
    field: str | None = None

    def as_dict(self) -> dict:
        """The JSON form stored on the import run."""
        data = {"where": self.where, "record": self.record, "problem": self.problem, "action": self.action}
        data["kind"] = self.kind
        if self.field:
            data["field"] = self.field
        return data


@dataclass(slots=True)
class OrganizationRecord:
    """An organization as the source gives it."""

    source_id: str
    name: str
    alternate_name: str | None = None
    description: str | None = None
    email: str | None = None
    website: str | None = None


@dataclass(slots=True)
class AddressRecord:
    """A physical address; never kept for a confidential location."""

    address_1: str
    city: str
    state_province: str
    postal_code: str | None = None
    address_2: str | None = None
    country: str = "US"


@dataclass(slots=True)
class LocationRecord:
    """A place where services are delivered, with how precise its coordinates are."""

    source_id: str
    organization_id: str | None = None
    name: str | None = None
    description: str | None = None
    transportation: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    precision: str = "exact"
    address: AddressRecord | None = None
    confidential: bool = False
    neighborhood: str | None = None  # a site place name (our own export), resolved by the upsert


@dataclass(slots=True, frozen=True)
class PhoneRecord:
    """A phone number in a normal form."""

    number: str
    extension: str | None = None
    type: str = "voice"
    description: str | None = None


@dataclass(slots=True, frozen=True)
class ScheduleRecord:
    """A weekly opening; closes_at <= opens_at means it closes the next day."""

    byday: str
    opens_at: time
    closes_at: time
    description: str | None = None


@dataclass(slots=True, frozen=True)
class LanguageRecord:
    """A language a service is offered in (ISO 639 code and English name), and how: spoken by staff, or
    through an interpreter on request ("interpreter")."""

    code: str
    name: str
    note: str | None = None
    access: str = "staff"


@dataclass(slots=True, frozen=True)
class DocumentRecord:
    """A document to bring."""

    document: str
    uri: str | None = None


@dataclass(slots=True)
class CapacityRecord:
    """Capacity as the source gives it: counts it does not give are None (unknown), never 0."""

    unit: str
    maximum: int
    available: int | None = None
    waitlist: int | None = None
    lead_funded_maximum: int = 0
    lead_funded_available: int = 0
    description: str | None = None
    updated: datetime | None = None  # the source's own timestamp for these numbers
    confirmed_at: datetime | None = None  # only our own export carries a person's confirmation


@dataclass(slots=True)
class ServiceRecord:
    """A service with the attributes a LEAD referral depends on."""

    source_id: str
    organization_id: str
    name: str
    primary_domain: str
    terms: tuple[str, ...] = ()
    status: str = "active"
    alternate_name: str | None = None
    description: str | None = None
    url: str | None = None
    email: str | None = None
    eligibility_description: str | None = None
    application_process: str | None = None
    intake_mode: str | None = None
    intake_times: str | None = None
    curfew: str | None = None
    fees_description: str | None = None
    insurance: str | None = None
    alert: str | None = None
    hours_text: str | None = None  # hours not understood, kept as the provider wrote them
    minimum_age: int | None = None
    maximum_age: int | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    pets_allowed: bool | None = None
    partners_allowed: bool | None = None
    wheelchair_accessible: bool | None = None
    location_ids: tuple[str, ...] = ()
    phones: tuple[PhoneRecord, ...] = ()
    schedules: tuple[ScheduleRecord, ...] = ()
    languages: tuple[LanguageRecord, ...] = ()
    documents: tuple[DocumentRecord, ...] = ()
    populations: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()  # site place names served (our own export)
    capacity: CapacityRecord | None = None
    updated: datetime | None = None

    def flag(self, name: str) -> bool:
        """A LEAD attribute: false unless the source said so."""
        return bool(self.flags.get(name, False))

    @property
    def lead_fundable(self) -> bool:
        """The LEAD-fundable rule (rules.LEAD_FUNDABLE, which the schema's CHECK is built from)."""
        return LEAD_FUNDABLE.holds(self.flag, self.primary_domain)


Record = OrganizationRecord | LocationRecord | ServiceRecord


@dataclass
class ParseResult:
    """What a parser found: normalized records, problems per record, and how many records it read."""

    organizations: list[OrganizationRecord] = field(default_factory=list)
    locations: list[LocationRecord] = field(default_factory=list)
    services: list[ServiceRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    read: Counter = field(default_factory=Counter)  # kind -> records read from the source
    full: bool = True  # a full import marks records missing from it inactive
    pending: Iterator[ServiceRecord] | None = None  # services still to build (lazy parse): see chunks()
    drained: list[str] = field(default_factory=list)  # source ids of services built from `pending`
    # Services with no place: None when the importer always gives one, False when they are rejected,
    # True when the mapping allows them (imported as "no location").
    no_location: bool | None = None
    left_out: set[tuple[str, str]] = field(
        default_factory=set
    )  # (kind, id) the writer rejected after parsing

    def chunks(self, size: int) -> Iterator[list[ServiceRecord]]:
        """Services in lists of at most size: those built already, then those still pending (built now)."""
        for start in range(0, len(self.services), size):
            yield self.services[start : start + size]
        while self.pending is not None:
            chunk = list(itertools.islice(self.pending, size))
            if not chunk:
                self.pending = None
                break
            self.drained.extend(s.source_id for s in chunk)
            yield chunk

    def service_ids(self) -> set[str]:
        """Source ids of every service kept (built now or drained)."""
        return {s.source_id for s in self.services} | set(self.drained)

    @property
    def records(self) -> list[Record]:
        """Every record, organizations first (the order the upsert writes them in)."""
        return [*self.organizations, *self.locations, *self.services]

    def note(
        self,
        where: str,
        record: str | None,
        problem: str,
        action: str = "repaired",
        kind: str = "service",
        field: str | None = None,
    ) -> None:
        """Record a problem."""
        self.problems.append(Problem(where, record, problem, action, kind, field))

    def reject(self, where: str, record: str | None, problem: str, kind: str = "service") -> None:
        """Record that a whole record was left out, and why."""
        self.problems.append(Problem(where, record, problem, "rejected", kind, None))

    def leave_out(self, record: str, problem: str, kind: str = "service") -> None:
        """The writer's rejection of a record the parser kept (unknown domain, no organization, unused)."""
        self.left_out.add((kind, record))
        self.reject(record, record, problem, kind)

    def merge(self, where: str, record: str | None, into: str, kind: str = "service") -> None:
        """Record that a record read is the same as one already read, and was folded into it."""
        self.problems.append(
            Problem(where, record, f"the same {kind} as {into}: merged into it", "merged", kind)
        )

    def outcome(self, kind: str) -> dict[str, int]:
        """Per kind: records read, left out, merged into another, and those kept with a repair or with a
        value dropped (a record may have both), and those kept clean.

        Each record left out carries exactly one record-level rejection and each merged one one merge, so
        read = kept + merged + rejected holds whenever a parser accounts for every record it read.
        """
        whole = [p for p in self.problems if p.kind == kind and not p.field]
        rejected = sum(1 for p in whole if p.action == "rejected")
        merged = sum(1 for p in whole if p.action == "merged")
        kept = self.service_ids() if kind == "service" else {r.source_id for r in self.of_kind(kind)}
        kept -= {
            record for of, record in self.left_out if of == kind
        }  # kept by the parser, not by the writer
        fields = [p for p in self.problems if p.kind == kind and p.field and p.record in kept]
        dropped = {p.record for p in fields if p.action == "rejected"}
        repaired = {p.record for p in fields if p.action != "rejected"}
        return {
            "read": self.read[kind],
            "kept": len(kept),
            "rejected": rejected,
            "merged": merged,
            "repaired": len(repaired),
            "dropped": len(dropped),
            "clean": len(kept - repaired - dropped),
        }

    def of_kind(self, kind: str) -> list:
        """The records of one kind."""
        return {"organization": self.organizations, "location": self.locations, "service": self.services}[
            kind
        ]
