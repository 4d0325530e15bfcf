"""Typed SQLAlchemy 2.0 models, named after Open Referral HSDS 3.x, with the LEAD extensions.

Every invariant that domain.md states about the data is also a constraint here, so that no code
path (importer, provider form, API, script) can store a state the rules forbid.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from .domain import keys, rules
from .domain.access import ROLES
from .domain.capacity import ACTIONS, CLASSIFICATIONS
from .domain.clock import WEEKDAYS
from .extensions import db
from .types import UTCDateTime, utcnow

MAX_COUNT = 100_000
PRECISIONS = ("exact", "approximate", "zip")
PLACE_KINDS = ("neighborhood", "place", "hot_spot")
INTAKE_MODES = ("walk_in", "referral_only", "appointment", "walk_in_or_referral")
SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
# How a service offers a language: staff speak it, or an interpreter is there on request (phone or in person).
LANGUAGE_ACCESS = ("staff", "interpreter")


def _in(column: str, values: tuple[str, ...]) -> str:
    """Return the SQL text of a CHECK that column holds one of values."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _count_between(column: str, low: str = "0", high: str = str(MAX_COUNT), nullable: bool = False) -> str:
    """Return the SQL text of a CHECK that an integer count lies in [low, high]."""
    body = f"{column} >= {low} AND {column} <= {high}"
    return f"{column} IS NULL OR ({body})" if nullable else body


def flag(default: bool = False) -> Mapped[bool]:
    """A non-null boolean column with the same default in Python and in the schema."""
    return mapped_column(
        Boolean, nullable=False, default=default, server_default=true() if default else false()
    )


class Organization(db.Model):
    """An organization that runs services (HSDS organization)."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(50))
    source_id: Mapped[str | None] = mapped_column(String(200))
    # A digest of the record as the importer last wrote it: an unchanged source record is skipped.
    import_hash: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = flag(True)

    services: Mapped[list[Service]] = relationship(back_populates="organization")
    locations: Mapped[list[Location]] = relationship(back_populates="organization")

    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )


class SitePlace(db.Model):
    """A named place of the site: a neighborhood, a landmark, or an internal outreach label."""

    __tablename__ = "site_place"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    latitude: Mapped[float]
    longitude: Mapped[float]
    zip: Mapped[str | None] = mapped_column(String(10))
    internal: Mapped[bool] = flag()

    __table_args__ = (
        CheckConstraint(_in("kind", PLACE_KINDS), name="kind"),
        CheckConstraint("latitude >= -90 AND latitude <= 90", name="latitude_range"),
        CheckConstraint("longitude >= -180 AND longitude <= 180", name="longitude_range"),
        # Internal "hot spot" labels are never published: the flag and the kind must agree.
        CheckConstraint("internal = (kind = 'hot_spot')", name="internal_iff_hot_spot"),
    )


class Taxonomy(db.Model):
    """A taxonomy (HSDS taxonomy): ours is the LEAD IIP domains."""

    __tablename__ = "taxonomy"

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(20))


class TaxonomyTerm(db.Model):
    """A taxonomy term (HSDS taxonomy_term); top-level terms are the IIP domains."""

    __tablename__ = "taxonomy_term"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    taxonomy_id: Mapped[str] = mapped_column(ForeignKey("taxonomy.id"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("taxonomy_term.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[TaxonomyTerm | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[TaxonomyTerm]] = relationship(
        back_populates="parent", order_by="TaxonomyTerm.position"
    )


class Unit(db.Model):
    """A unit of capacity (HSDS 3.1 unit): shelter_bed, bed, unit, slot, appointment."""

    __tablename__ = "unit"

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    plural: Mapped[str] = mapped_column(String(100))
    scheme: Mapped[str | None] = mapped_column(String(50))


class Population(db.Model):
    """A population a culturally specific program serves."""

    __tablename__ = "population"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Practice(db.Model):
    """An evidence-based practice (Seeking Safety, DBT, ...)."""

    __tablename__ = "practice"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class LanguageName(db.Model):
    """Reference list of languages: ISO 639-1 code and English name, for the language filter."""

    __tablename__ = "language_name"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


service_taxonomy = Table(
    "service_taxonomy",
    db.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("taxonomy_term_id", ForeignKey("taxonomy_term.id"), primary_key=True, index=True),
)

service_population = Table(
    "service_population",
    db.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("population_code", ForeignKey("population.code"), primary_key=True, index=True),
)

service_practice = Table(
    "service_practice",
    db.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("practice_code", ForeignKey("practice.code"), primary_key=True),
)

service_area = Table(
    "service_area",
    db.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("site_place_id", ForeignKey("site_place.id"), primary_key=True),
)

service_at_location = Table(
    "service_at_location",
    db.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# LEAD-fundable (domain.md, defined in scrapers/rules.py): stored so that capacity rows can reference it
# (see ServiceCapacity), and held to the rule by this CHECK (the same text as migration 0001's).
LEAD_FUNDABLE_RULE = rules.check_text(rules.LEAD_FUNDABLE, "lead_fundable")


class Service(db.Model):
    """A service (HSDS service) with the attributes a LEAD referral depends on."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    primary_domain: Mapped[str] = mapped_column(ForeignKey("taxonomy_term.id"), index=True)

    eligibility_description: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    intake_mode: Mapped[str | None] = mapped_column(String(30))
    intake_times: Mapped[str | None] = mapped_column(String(300))
    curfew: Mapped[str | None] = mapped_column(String(200))
    fees_description: Mapped[str | None] = mapped_column(Text)
    insurance: Mapped[str | None] = mapped_column(String(300))
    alert: Mapped[str | None] = mapped_column(Text)
    # Opening hours the importer could not read exactly, kept as the provider wrote them (never guessed).
    hours_text: Mapped[str | None] = mapped_column(String(1000))
    minimum_age: Mapped[int | None]
    maximum_age: Mapped[int | None]

    moud_buprenorphine: Mapped[bool] = flag()
    moud_methadone: Mapped[bool] = flag()
    moud_naltrexone: Mapped[bool] = flag()
    pets_allowed: Mapped[bool | None]
    partners_allowed: Mapped[bool | None]
    wheelchair_accessible: Mapped[bool | None]

    no_sobriety_requirement: Mapped[bool] = flag()
    accepts_active_use: Mapped[bool] = flag()
    accepts_sex_workers: Mapped[bool] = flag()
    no_id_required: Mapped[bool] = flag()
    criminal_record_ok: Mapped[bool] = flag()
    housing_first: Mapped[bool] = flag()
    trauma_informed: Mapped[bool] = flag()
    peer_run: Mapped[bool] = flag()
    coordinated_entry: Mapped[bool] = flag()
    religious_requirement: Mapped[bool] = flag()
    conversion_therapy: Mapped[bool] = flag()
    lead_fundable: Mapped[bool] = flag()
    # A federally assisted substance-use program under 42 CFR Part 2: its outcomes need a release.
    part2_program: Mapped[bool] = flag()

    source: Mapped[str | None] = mapped_column(String(50))
    source_id: Mapped[str | None] = mapped_column(String(200))
    # A digest of the record as the importer last wrote it: an unchanged source record is skipped.
    import_hash: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="services")
    locations: Mapped[list[Location]] = relationship(secondary=service_at_location, back_populates="services")
    categories: Mapped[list[TaxonomyTerm]] = relationship(secondary=service_taxonomy)
    populations: Mapped[list[Population]] = relationship(secondary=service_population)
    practices: Mapped[list[Practice]] = relationship(secondary=service_practice)
    areas: Mapped[list[SitePlace]] = relationship(secondary=service_area)
    phones: Mapped[list[Phone]] = relationship(back_populates="service", cascade="all, delete-orphan")
    schedules: Mapped[list[Schedule]] = relationship(back_populates="service", cascade="all, delete-orphan")
    languages: Mapped[list[Language]] = relationship(back_populates="service", cascade="all, delete-orphan")
    required_documents: Mapped[list[RequiredDocument]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    capacity: Mapped[ServiceCapacity | None] = relationship(
        back_populates="service", cascade="all, delete-orphan", uselist=False
    )

    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        # The target of the capacity rows' composite key, which carries lead_fundable along.
        UniqueConstraint("id", "lead_fundable", name="uq_service_id_lead_fundable"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint(_in("status", SERVICE_STATUSES), name="status"),
        CheckConstraint(f"intake_mode IS NULL OR {_in('intake_mode', INTAKE_MODES)}", name="intake_mode"),
        CheckConstraint(LEAD_FUNDABLE_RULE, name="lead_fundable_rule"),
        CheckConstraint(
            "housing_first = false OR primary_domain = 'housing'", name="housing_first_is_housing"
        ),
        CheckConstraint(
            "minimum_age IS NULL OR (minimum_age >= 0 AND minimum_age <= 130)", name="minimum_age"
        ),
        CheckConstraint(
            "maximum_age IS NULL OR (maximum_age >= 0 AND maximum_age <= 130)", name="maximum_age"
        ),
    )

    @property
    def low_barrier(self) -> bool:
        """Low barrier / harm reduction: every one of the five low-barrier attributes (rules.LOW_BARRIER)."""
        return rules.LOW_BARRIER.of(self)


class Location(db.Model):
    """A place where services are delivered (HSDS location); confidential ones have no public address."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    precision: Mapped[str] = mapped_column(String(20), default="exact")
    neighborhood_id: Mapped[int | None] = mapped_column(ForeignKey("site_place.id"))
    confidential: Mapped[bool] = flag()
    source: Mapped[str | None] = mapped_column(String(50))
    source_id: Mapped[str | None] = mapped_column(String(200))
    # A digest of the record as the importer last wrote it: an unchanged source record is skipped.
    import_hash: Mapped[str | None] = mapped_column(String(32))

    organization: Mapped[Organization | None] = relationship(back_populates="locations")
    services: Mapped[list[Service]] = relationship(secondary=service_at_location, back_populates="locations")
    address: Mapped[Address | None] = relationship(
        back_populates="location", cascade="all, delete-orphan", uselist=False
    )
    neighborhood: Mapped[SitePlace | None] = relationship()
    phones: Mapped[list[Phone]] = relationship(back_populates="location")

    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        # Covering the bounding-box search: coordinates, the confidential flag and the id, no table lookups.
        Index("ix_location_box", "latitude", "longitude", "confidential", "id"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"
        ),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_paired"),
        CheckConstraint(_in("precision", PRECISIONS), name="precision"),
    )


class Address(db.Model):
    """A physical address of a location (HSDS address); never stored for a confidential location."""

    __tablename__ = "address"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), unique=True)
    address_1: Mapped[str] = mapped_column(String(300))
    address_2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(100))
    state_province: Mapped[str] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2), default="US")

    location: Mapped[Location] = relationship(back_populates="address")

    def one_line(self) -> str:
        """Return the address as one line, as a map app or a slip wants it."""
        parts = [
            self.address_1,
            self.address_2,
            self.city,
            f"{self.state_province} {self.postal_code or ''}".strip(),
        ]
        return ", ".join(p for p in parts if p)


class Phone(db.Model):
    """A phone number of a service or location (HSDS phone)."""

    __tablename__ = "phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    extension: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(20), default="voice")
    description: Mapped[str | None] = mapped_column(String(300))

    service: Mapped[Service | None] = relationship(back_populates="phones")
    location: Mapped[Location | None] = relationship(back_populates="phones")

    __table_args__ = (
        CheckConstraint("service_id IS NOT NULL OR location_id IS NOT NULL", name="has_owner"),
        CheckConstraint(_in("type", ("voice", "text", "fax", "hotline", "tty", "cell")), name="type"),
    )


# HSDS 3 ordinal weekdays of a MONTHLY schedule: 1WE is the first Wednesday, -1FR the last Friday.
MONTHLY_DAYS = tuple(f"{n}{day}" for n in ("1", "2", "3", "4", "5", "-1") for day in WEEKDAYS)


class Schedule(db.Model):
    """A weekly (MO) or monthly (1WE, -1FR) HSDS opening; closes_at <= opens_at closes after midnight."""

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    freq: Mapped[str] = mapped_column(String(10), default="WEEKLY")
    byday: Mapped[str] = mapped_column(String(4))
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(String(300))

    service: Mapped[Service] = relationship(back_populates="schedules")

    __table_args__ = (
        CheckConstraint(
            f"(freq = 'WEEKLY' AND {_in('byday', WEEKDAYS)}) "
            f"OR (freq = 'MONTHLY' AND {_in('byday', MONTHLY_DAYS)})",
            name="byday",
        ),
        CheckConstraint("freq IN ('WEEKLY', 'MONTHLY')", name="freq"),
        Index("ix_schedule_day", "byday", "service_id"),
    )


class Language(db.Model):
    """A language a service is offered in (HSDS language)."""

    __tablename__ = "language"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(200))
    access: Mapped[str] = mapped_column(String(11), default="staff", server_default="staff")

    service: Mapped[Service] = relationship(back_populates="languages")

    __table_args__ = (
        UniqueConstraint("service_id", "code"),
        Index("ix_language_code_service", "code", "service_id"),
        CheckConstraint(_in("access", LANGUAGE_ACCESS), name="access"),
    )


class RequiredDocument(db.Model):
    """A document a participant must bring (HSDS required_document)."""

    __tablename__ = "required_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(300))
    uri: Mapped[str | None] = mapped_column(String(500))

    service: Mapped[Service] = relationship(back_populates="required_documents")


class ServiceCapacity(db.Model):
    """Live capacity of a service (HSDS 3.1 service_capacity) with the LEAD extensions of domain.md.

    `confirmed_at` is when a person last confirmed the numbers; editing the listing never touches it.
    `held_general` and `held_lead` are changed only by referral operations.
    """

    __tablename__ = "service_capacity"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(unique=True)
    # Copied from the service through the composite foreign key (ON UPDATE CASCADE), so that the
    # rule "only LEAD-fundable services hold LEAD-funded units" is a CHECK on this row.
    service_lead_fundable: Mapped[bool] = flag()
    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"))
    maximum: Mapped[int] = mapped_column(Integer)
    available: Mapped[int | None] = mapped_column(Integer)
    waitlist: Mapped[int | None] = mapped_column(Integer)
    lead_funded_maximum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lead_funded_available: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held_general: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held_lead: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    description: Mapped[str | None] = mapped_column(String(300))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the stale-marking job when the numbers lapse (once per lapse); cleared by a confirmation.
    # The API's `stale` is always computed from confirmed_at, so it is exact without this job.
    stale_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest field report of "full" or "fewer free" made while these numbers said a unit was free: the
    # numbers are unverified until a confirmation after it, or until it is a freshness window old.
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    service: Mapped[Service] = relationship(back_populates="capacity")
    unit: Mapped[Unit] = relationship()

    __table_args__ = (
        ForeignKeyConstraint(
            ["service_id", "service_lead_fundable"],
            ["service.id", "service.lead_fundable"],
            onupdate="CASCADE",
            ondelete="CASCADE",
            name="fk_service_capacity_service",
        ),
        CheckConstraint(_count_between("maximum"), name="maximum_range"),
        CheckConstraint(_count_between("available", high="maximum", nullable=True), name="available_range"),
        CheckConstraint(_count_between("waitlist", nullable=True), name="waitlist_range"),
        CheckConstraint(_count_between("lead_funded_maximum"), name="lead_funded_maximum_range"),
        CheckConstraint(
            _count_between("lead_funded_available", high="lead_funded_maximum"),
            name="lead_funded_available_range",
        ),
        CheckConstraint(_count_between("held_general"), name="held_general_range"),
        CheckConstraint(_count_between("held_lead"), name="held_lead_range"),
        CheckConstraint(
            "service_lead_fundable OR "
            "(lead_funded_maximum = 0 AND lead_funded_available = 0 AND held_lead = 0)",
            name="lead_units_need_fundable_service",
        ),
    )


class ServiceSearchTerm(db.Model):
    """One word of a service's name, organization or description, for indexed keyword search."""

    __tablename__ = "service_search_term"

    # Byte-order collation on PostgreSQL, so that the range scan used for prefix matching is exact.
    term: Mapped[str] = mapped_column(
        String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)

    # A service's own words, for "does this candidate have the word" (and for re-indexing it).
    __table_args__ = (Index("ix_service_search_term_service_term", "service_id", "term"),)


class User(db.Model):
    """A staff or provider account. Participants are never users."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    org_admin: Mapped[bool] = flag()
    password_hash: Mapped[str | None] = mapped_column(String(300))
    is_demo: Mapped[bool] = flag()
    active: Mapped[bool] = flag(True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    # The language the person chose with the switch while signed in: their notices and emails read in it.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Every session cookie carries the epoch it was signed in under; raising it ends them all at once.
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default=text("0"))

    organization: Mapped[Organization | None] = relationship()

    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint("role <> 'provider' OR organization_id IS NOT NULL", name="provider_has_org"),
        CheckConstraint("org_admin = false OR role = 'provider'", name="org_admin_is_provider"),
    )


class ApiToken(db.Model):
    """An API token: only its SHA-256 hash is kept; the token itself is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class EndedSession(db.Model):
    """A session signed out before its absolute lifetime ran out: its cookie no longer signs anyone in."""

    __tablename__ = "ended_session"

    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # After this the cookie is past its absolute lifetime anyway, and the row can go.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class GeocodeCache(db.Model):
    """A geocoder's answer for a normalized address, so that no address is looked up twice."""

    __tablename__ = "geocode_cache"

    address_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    geocoder: Mapped[str] = mapped_column(String(50))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    precision: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_paired"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"
        ),
    )


class ImportRun(db.Model):
    """One run of an importer: what it read, what it did, and the problems it found per record."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    location: Mapped[str] = mapped_column(String(1000))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")
    dry_run: Mapped[bool] = flag()
    added: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    deactivated: Mapped[int] = mapped_column(default=0)
    repaired: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    problems: Mapped[str | None] = mapped_column(Text)  # JSON list of {where, record, problem, action}
    # JSON: per kind {read, added, changed, unchanged, merged, rejected, deactivated, repaired, dropped,
    # unaccounted}, and no_location (whether services without a place were allowed).
    counts: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_in("status", ("running", "succeeded", "failed")), name="status"),
        Index("ix_import_run_source_started", "source", "started_at"),
    )


# --- Accounts, capacity history, notifications, jobs -------------------------------------------------------

CHANNELS = ("web", "api", "email_link", "import", "system")
REASON_CODES = ("acute_need", "safety", "eligibility", "participant_choice", "other")
REFERRAL_STATES = ("held", "requested", "waitlisted", "accepted", "declined", "cancelled", "expired")
HOLD_KINDS = ("none", "general", "lead")
# Why the participant declined the alternatives a check offered (domain.md, avoidable displacement).
DECLINE_REASONS = (
    "too_far",
    "barred",
    "someone_unsafe",
    "not_allowed",
    "schedule",
    "identity",
    "religious",
    "tried_before",
    "other",
)
# Why a provider declined a referral (issue 21): the case manager reads it instead of "was declined".
PROVIDER_DECLINE_REASONS = ("no_capacity", "not_eligible", "did_not_arrive", "turned_away", "other")
# Why a hold ended without the participant going there: the case manager released it for another hold
# at the same level of care, or another provider accepted the participant (one hold per need).
RELEASE_REASONS = ("released", "placed_elsewhere")
# Keeping a second hold at the same level of care needs one of these (domain.md, one hold per need).
KEEP_BOTH_REASONS = ("participant_choosing", "eligibility_uncertain", "next_step")
# What a case manager or peer found in the field (domain.md, reports from the field).
OBSERVED = (
    "full",
    "fewer_free",
    "more_free",
    "closed_now",
    "wrong_phone",
    "wrong_hours",
    "moved_or_closed",
    "turned_away",
)
# The listed attributes a provider can turn someone away against ("the listing says it accepts ...").
LISTED_ATTRIBUTES = (
    "no_sobriety_requirement",
    "accepts_active_use",
    "accepts_sex_workers",
    "no_id_required",
    "criminal_record_ok",
    "housing_first",
    "pets_allowed",
    "partners_allowed",
    "wheelchair_accessible",
)


class LoginAttempt(db.Model):
    """A sign-in attempt, kept to rate-limit guessing per account and per address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    success: Mapped[bool] = flag()

    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )


class AdditionalityBaseline(db.Model):
    """A service's general maximum when LEAD-funded units were first bought there: later drops below it
    are flagged (LEAD money supplanting, not adding), with the project manager's note."""

    __tablename__ = "additionality_baseline"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    general_maximum: Mapped[int]
    lead_funded_maximum: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    noted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint(_count_between("general_maximum"), name="general_maximum_range"),
        CheckConstraint(_count_between("lead_funded_maximum"), name="lead_funded_maximum_range"),
    )


# The service fields a provider can edit in the app and that an import then leaves alone (provider_edits.py).
EDITABLE_FIELDS = ("hours", "phone", "eligibility", "alert")
EDIT_STATES = ("kept", "replaced")


class ServiceFieldEdit(db.Model):
    """A provider's own edit of one field of a service: kept on re-import unless the source changes that field
    afterwards (then "replaced", with both values kept for the provider's list of conflicts)."""

    __tablename__ = "service_field_edit"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # Digest of the source's value of the field when the provider first edited it (None: not imported).
    source_value_hash: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(10), default="kept")
    provider_value: Mapped[str | None] = mapped_column(Text)  # what the provider had, when replaced
    source_value: Mapped[str | None] = mapped_column(Text)  # what the feed brought, when replaced
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[str | None] = mapped_column(String(50))  # the import source

    service: Mapped[Service] = relationship()

    __table_args__ = (
        UniqueConstraint("service_id", "field"),
        CheckConstraint(_in("field", EDITABLE_FIELDS), name="field"),
        CheckConstraint(_in("state", EDIT_STATES), name="state"),
        CheckConstraint(
            "state = 'kept' OR (replaced_at IS NOT NULL AND replaced_by IS NOT NULL)",
            name="replaced_has_when",
        ),
    )


class CapacityEvent(db.Model):
    """One change or confirmation of a service's numbers: who, when, through what, before and after."""

    __tablename__ = "capacity_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)

    user: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint(_in("kind", ("update", "confirm", "import")), name="kind"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        Index("ix_capacity_event_service_at", "service_id", "at"),
        Index("ix_capacity_event_at", "at"),
    )


class CapacityReport(db.Model):
    """What a case manager or peer found in the field (domain.md, reports from the field), until the
    provider confirms or corrects its numbers or listing."""

    __tablename__ = "capacity_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The reporter's role when reporting: staff read "by a case manager", never who.
    reporter_role: Mapped[str] = mapped_column(String(20))
    # field: a report; decline: a provider's decline for no capacity after a check that said free.
    source: Mapped[str] = mapped_column(String(10), default="field")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    observed: Mapped[str] = mapped_column(String(20))
    correct_phone: Mapped[str | None] = mapped_column(String(40))
    attribute: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    # The numbers said a unit was free (fresh, and LEAD-funded or general units free) when it was made.
    said_free: Mapped[bool] = flag()
    capacity_snapshot: Mapped[dict | None] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(20))

    service: Mapped[Service] = relationship()

    __table_args__ = (
        CheckConstraint(_in("observed", OBSERVED), name="observed"),
        CheckConstraint(_in("source", ("field", "decline")), name="source"),
        CheckConstraint(_in("reporter_role", ROLES), name="reporter_role"),
        CheckConstraint(
            "observed <> 'wrong_phone' OR correct_phone IS NOT NULL", name="wrong_phone_has_phone"
        ),
        CheckConstraint(
            "(observed = 'turned_away') = (attribute IS NOT NULL)", name="turned_away_names_attribute"
        ),
        CheckConstraint(f"attribute IS NULL OR {_in('attribute', LISTED_ATTRIBUTES)}", name="attribute"),
        CheckConstraint("resolution IS NULL OR resolution IN ('confirmed', 'corrected')", name="resolution"),
        CheckConstraint("(resolution IS NULL) = (resolved_at IS NULL)", name="resolution_has_time"),
        Index("ix_capacity_report_service_at", "service_id", "at"),
    )


class Notification(db.Model):
    """A notice to one account, shown in the app and, where mail is configured, sent by email."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_status: Mapped[str] = mapped_column(String(10), default="none")
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_attempts: Mapped[int] = mapped_column(default=0)
    # A reminder's one-tap link is signed when the email is sent, from this row: no usable link is stored.
    confirm_link_id: Mapped[int | None] = mapped_column(ForeignKey("confirm_link.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint(_in("email_status", ("none", "pending", "sent", "failed")), name="email_status"),
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_email_status", "email_status"),
    )


class ConfirmLink(db.Model):
    """A one-tap "still correct" link sent in a reminder: works once, without a login, until it expires."""

    __tablename__ = "confirm_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    # One reminder per confirmation: a second run of the reminder job finds the key taken.
    reminder_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobLease(db.Model):
    """The lease a scheduler process takes before running a job, so that no job runs twice at once."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_result: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(default=0)


# --- Participants, plans and referrals ------------------------------------------------------------------


class Participant(db.Model):
    """A participant, known only by a generated pseudonymous code. No names, dates, addresses or health data.

    Their place is at most a site place name, a ZIP, or coordinates rounded to 2 decimals (kept as
    integer hundredths of a degree, so finer positions cannot be stored at all).
    """

    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    case_manager_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    place_label: Mapped[str | None] = mapped_column(String(100))
    latitude_e2: Mapped[int | None] = mapped_column(Integer)
    longitude_e2: Mapped[int | None] = mapped_column(Integer)
    needs: Mapped[dict] = mapped_column(JSON, default=dict)
    # A legal hold (a subpoena or court order being answered): purge leaves the record and its key.
    legal_hold_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    legal_hold_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    case_manager: Mapped[User] = relationship(foreign_keys=[case_manager_id])
    releases: Mapped[list[ReleaseOfInformation]] = relationship(
        back_populates="participant", cascade="all, delete-orphan", order_by="ReleaseOfInformation.id"
    )
    goals: Mapped[list[Goal]] = relationship(
        back_populates="participant", cascade="all, delete-orphan", order_by="Goal.id"
    )

    __table_args__ = (
        CheckConstraint(
            "latitude_e2 IS NULL OR (latitude_e2 >= -9000 AND latitude_e2 <= 9000)", name="lat_range"
        ),
        CheckConstraint(
            "longitude_e2 IS NULL OR (longitude_e2 >= -18000 AND longitude_e2 <= 18000)", name="lon_range"
        ),
        CheckConstraint("(latitude_e2 IS NULL) = (longitude_e2 IS NULL)", name="coordinates_paired"),
        CheckConstraint("length(code) >= 6", name="code_length"),
    )

    @property
    def latitude(self) -> float | None:
        """Latitude rounded to 2 decimals."""
        return None if self.latitude_e2 is None else self.latitude_e2 / 100

    @property
    def longitude(self) -> float | None:
        """Longitude rounded to 2 decimals."""
        return None if self.longitude_e2 is None else self.longitude_e2 / 100


class Goal(db.Model):
    """A self-identified goal of a participant's Individual Intervention Plan, in one IIP domain."""

    __tablename__ = "goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(ForeignKey("taxonomy_term.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    participant: Mapped[Participant] = relationship(back_populates="goals")
    referrals: Mapped[list[Referral]] = relationship(back_populates="goal", order_by="Referral.id")

    @property
    def plain_text(self) -> str | None:
        """The goal in the participant's words (sealed with their key: domain/keys.py)."""
        return keys.unseal(object_session(self), self.participant_id, self.text)

    __table_args__ = (CheckConstraint("length(text) > 0", name="text_not_empty"),)


class ReferralCheck(db.Model):
    """A recorded non-displacement check: what the case manager saw, kept for the unmet-need audit."""

    __tablename__ = "referral_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id", ondelete="SET NULL"))
    domain: Mapped[str] = mapped_column(String(100))
    classification: Mapped[str] = mapped_column(String(30))
    would_displace: Mapped[int] = mapped_column(default=0)
    capacity_snapshot: Mapped[dict | None] = mapped_column(JSON)
    alternatives: Mapped[list] = mapped_column(JSON, default=list)
    # Unmet need: neither this service nor any alternative could take the participant now.
    unmet: Mapped[bool] = flag()
    neighborhood_id: Mapped[int | None] = mapped_column(ForeignKey("site_place.id"))
    language: Mapped[str | None] = mapped_column(String(3))
    population: Mapped[str | None] = mapped_column(String(50))
    radius_km: Mapped[float]

    __table_args__ = (
        CheckConstraint(_in("classification", CLASSIFICATIONS), name="classification"),
        CheckConstraint("would_displace >= 0", name="would_displace"),
        Index("ix_referral_check_at", "at"),
    )


class Referral(db.Model):
    """A referral of a participant to a service, with what the check said when it was made."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), index=True
    )
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    check_id: Mapped[int | None] = mapped_column(ForeignKey("referral_check.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    classification: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    hold: Mapped[str] = mapped_column(String(10), default="none")
    at_risk: Mapped[bool] = flag()
    would_displace: Mapped[int] = mapped_column(default=0)
    reason_code: Mapped[str | None] = mapped_column(String(30))
    justification: Mapped[str | None] = mapped_column(Text)
    justification_hash: Mapped[str | None] = mapped_column(String(64))
    capacity_snapshot: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(100))
    # The participant's own reason for declining the alternatives offered (none: not said).
    decline_reason: Mapped[str | None] = mapped_column(String(30))
    # At acceptance: what the numbers said at that moment (was anyone waiting?), for placements the check
    # did not measure (requests); and the waitlist length then.
    placement: Mapped[str | None] = mapped_column(String(30))
    placement_waitlist: Mapped[int | None]
    # Confidential (domestic-violence) service: the provider sees this one-time reference, never the code.
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    # Whether the outcome comes back to the case manager: false for a Part 2 program without a current
    # release covering it when the referral was made.
    outcome_shared: Mapped[bool] = flag(True)
    # Why it closed without a placement: the provider's decline reason, or why a hold was released.
    closed_reason: Mapped[str | None] = mapped_column(String(30))
    # Not eligible: which rule (sealed with the participant's key, like notes); turned away: which attribute.
    closed_rule: Mapped[str | None] = mapped_column(Text)
    closed_attribute: Mapped[str | None] = mapped_column(String(40))
    # A second hold at the same level of care kept beside the first: why (one hold per need).
    keep_both_reason: Mapped[str | None] = mapped_column(String(30))

    service: Mapped[Service] = relationship()
    participant: Mapped[Participant | None] = relationship()
    goal: Mapped[Goal | None] = relationship(back_populates="referrals")
    creator: Mapped[User | None] = relationship()
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )
    alternatives: Mapped[list[ReferralAlternative]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralAlternative.position"
    )

    @property
    def plain_justification(self) -> str | None:
        """The override's justification, readable while the participant's key lives."""
        return keys.unseal(object_session(self), self.participant_id, self.justification)

    @property
    def plain_closed_rule(self) -> str | None:
        """The eligibility rule a decline named, readable while the participant's key lives."""
        return keys.unseal(object_session(self), self.participant_id, self.closed_rule)

    __table_args__ = (
        UniqueConstraint("created_by", "idempotency_key"),
        CheckConstraint(_in("action", ACTIONS), name="action"),
        CheckConstraint(_in("classification", CLASSIFICATIONS), name="classification"),
        CheckConstraint(_in("state", REFERRAL_STATES), name="state"),
        CheckConstraint(_in("hold", HOLD_KINDS), name="hold"),
        CheckConstraint(f"reason_code IS NULL OR {_in('reason_code', REASON_CODES)}", name="reason_code"),
        CheckConstraint(
            f"decline_reason IS NULL OR {_in('decline_reason', DECLINE_REASONS)}", name="decline_reason"
        ),
        CheckConstraint(f"placement IS NULL OR {_in('placement', CLASSIFICATIONS)}", name="placement"),
        CheckConstraint(_count_between("placement_waitlist", nullable=True), name="placement_waitlist"),
        # Which action each classification allows (domain.md): the schema refuses anything else.
        CheckConstraint(
            "(action = 'claim' AND classification IN ('lead_funded', 'spare_capacity'))"
            " OR (action = 'join_waitlist' AND classification IN ('displacement', 'full'))"
            " OR (action = 'override' AND classification = 'displacement')"
            " OR (action = 'request'"
            " AND classification IN ('open_access', 'unverified', 'coordinated_entry'))",
            name="action_allowed",
        ),
        CheckConstraint(
            "(action = 'claim' AND hold IN ('general', 'lead'))"
            " OR (action = 'override' AND hold IN ('general', 'none'))"
            " OR (action IN ('join_waitlist', 'request') AND hold = 'none')",
            name="hold_matches_action",
        ),
        CheckConstraint(
            "action <> 'override' OR (reason_code IS NOT NULL AND justification_hash IS NOT NULL)",
            name="override_is_justified",
        ),
        CheckConstraint("justification IS NULL OR length(justification) >= 20", name="justification_length"),
        CheckConstraint("state <> 'held' OR hold <> 'none'", name="held_has_hold"),
        CheckConstraint("state <> 'waitlisted' OR action = 'join_waitlist'", name="waitlisted_joined"),
        CheckConstraint(
            "closed_reason IS NULL"
            f" OR (state = 'declined' AND {_in('closed_reason', PROVIDER_DECLINE_REASONS)})"
            f" OR (state = 'cancelled' AND {_in('closed_reason', RELEASE_REASONS)})",
            name="closed_reason",
        ),
        CheckConstraint(
            "(closed_reason = 'turned_away') = (closed_attribute IS NOT NULL)"
            " OR (closed_reason IS NULL AND closed_attribute IS NULL)",
            name="turned_away_names_attribute",
        ),
        CheckConstraint(
            f"closed_attribute IS NULL OR {_in('closed_attribute', LISTED_ATTRIBUTES)}",
            name="closed_attribute",
        ),
        CheckConstraint(
            f"keep_both_reason IS NULL OR {_in('keep_both_reason', KEEP_BOTH_REASONS)}",
            name="keep_both_reason",
        ),
        Index("ix_referral_state_expires", "state", "expires_at"),
        Index("ix_referral_created_at", "created_at"),
        Index("ix_referral_action_created_at", "action", "created_at"),  # a period's overrides
        # Placements closed in a period and LEAD "used": read from this index alone (migration 0015).
        Index(
            "ix_referral_accepted",
            "state",
            "closed_at",
            "action",
            "hold",
            "placement",
            "service_id",
            "outcome_shared",
            "reference",
        ),
        # The days from referral to acceptance of the referrals made in a period, read from this index
        # alone (migration 0018; before it, SQLite read every accepted referral's row).
        Index("ix_referral_made_accepted", "state", "created_at", "closed_at", "outcome_shared", "reference"),
    )


class ReferralEvent(db.Model):
    """One transition of a referral: who, when, from what to what, and why."""

    __tablename__ = "referral_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    referral: Mapped[Referral] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @property
    def plain_note(self) -> str | None:
        """The note, readable while the participant's key lives."""
        return keys.unseal(object_session(self), self.referral.participant_id, self.note)


class ReferralAlternative(db.Model):
    """An alternative offered with a referral's check, and why it did not fit if the case manager said."""

    __tablename__ = "referral_alternative"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    position: Mapped[int]
    classification: Mapped[str] = mapped_column(String(30))
    distance_km: Mapped[float | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(30))
    free_units: Mapped[int | None]  # LEAD-funded or spare units free at the check (None: open access)

    referral: Mapped[Referral] = relationship(back_populates="alternatives")
    service: Mapped[Service] = relationship()

    __table_args__ = (
        CheckConstraint(
            f"rejection_reason IS NULL OR {_in('rejection_reason', REASON_CODES)}", name="rejection_reason"
        ),
    )


class ReferralRollup(db.Model):
    """Referrals made on one UTC day, tallied under one value of one dimension the audit groups on
    (domain/rollups.py keeps it in step with every referral write; the dashboard reads whole days here)."""

    __tablename__ = "referral_rollup"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    # The piece of that day, in seconds after UTC midnight: the days are cut where the site's day begins.
    part: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    part_end: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "" when not recorded
    referrals: Mapped[int] = mapped_column(default=0)
    overrides: Mapped[int] = mapped_column(default=0)
    avoidable: Mapped[int] = mapped_column(default=0)
    urgent: Mapped[int] = mapped_column(default=0)
    participant_driven: Mapped[int] = mapped_column(default=0)
    waitlists: Mapped[int] = mapped_column(default=0)
    longest: Mapped[int | None]

    __table_args__ = (
        CheckConstraint(
            # Only what a delta row also satisfies: an upsert's INSERT is checked before its conflict clause.
            "referrals >= 0 AND overrides >= 0 AND avoidable >= 0 AND urgent >= 0 AND participant_driven >= 0"
            " AND waitlists >= 0",
            name="counts",
        ),
    )


ROI_PURPOSES = ("referral_outcome", "care_coordination", "benefits_enrollment", "legal_advocacy")


class ReleaseOfInformation(db.Model):
    """A signed release (kept on paper): which organization it covers, why, from when to when, revoked or not.
    The app records that it exists and who recorded it, never an image of it."""

    __tablename__ = "release_of_information"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(30))
    signed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    participant: Mapped[Participant] = relationship(back_populates="releases")
    organization: Mapped[Organization] = relationship()
    recorder: Mapped[User | None] = relationship(foreign_keys=[recorded_by])

    __table_args__ = (
        CheckConstraint(_in("purpose", ROI_PURPOSES), name="purpose"),
        CheckConstraint("expires_on >= signed_on", name="expiry_after_signing"),
    )


# --- The tamper-evident audit log ------------------------------------------------------------------------


class AuditEvent(db.Model):
    """An append-only, hash-chained record of a state-changing action. Free text only as its hash."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: the log outlives accounts
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_audit_event_action_at", "action", "at"),)


class AuditHead(db.Model):
    """The chain's head: one row, locked by every writer so that concurrent appends cannot fork the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(default=0)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


# --- Published transparency figures ----------------------------------------------------------------------

TRANSPARENCY_KINDS = ("month", "quarter")


class TransparencyPeriod(db.Model):
    """The public figures of one closed period, computed once and stored; a correction is a new revision
    with its reason, never a change to a stored one. Each revision records the audit chain's head at its
    publication (the head's event is the publication itself)."""

    __tablename__ = "transparency_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(10))  # 2026-10 or 2026-Q4
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[dict] = mapped_column(JSON)
    audit_sequence: Mapped[int] = mapped_column(Integer)
    audit_hash: Mapped[str] = mapped_column(String(64))
    audit_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("kind", "period", "revision"),
        CheckConstraint(_in("kind", TRANSPARENCY_KINDS), name="kind"),
        CheckConstraint("starts_at < ends_at", name="period_order"),
        CheckConstraint(
            "(revision = 1 AND reason IS NULL)"
            " OR (revision > 1 AND reason IS NOT NULL AND length(reason) > 0)",
            name="revision_reason",
        ),
    )
