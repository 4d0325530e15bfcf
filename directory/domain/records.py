"""Light read-only service records for result lists, loaded with a few Core queries instead of the ORM.

They carry the same attribute names as the ORM objects, so presentation code serves both; a page of
search results needs ten cheap queries and no object identity bookkeeping.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

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
    service_at_location,
    service_population,
    service_practice,
    service_taxonomy,
)
from .rules import LOW_BARRIER

SKIPPED_SERVICE_COLUMNS = frozenset({"created_at", "updated_at", "source", "source_id", "import_hash"})
CAPACITY_COLUMNS = (
    "id",
    "unit_id",
    "maximum",
    "available",
    "waitlist",
    "lead_funded_maximum",
    "lead_funded_available",
    "held_general",
    "held_lead",
    "confirmed_at",
    "reported_at",
)


def _time(value) -> time:
    """A time of day from the driver: already a time (PostgreSQL) or ISO text (SQLite, parsed in C)."""
    return value if isinstance(value, time) else time.fromisoformat(value)


def _address_record(row) -> SimpleNamespace:
    record = SimpleNamespace(
        address_1=row.address_1,
        address_2=row.address_2,
        city=row.city,
        state_province=row.state_province,
        postal_code=row.postal_code,
    )
    record.one_line = lambda: Address.one_line(record)
    return record


LIST_VALUES = 5  # value columns of the lists query (the widest list, phones, has five)


def _among_ids(column, dialect: str):
    """`column` is one of the :ids given at execution.

    On PostgreSQL, `= ANY(array)`: one SQL text for any number of ids, so the driver prepares it once per
    connection and the server stops planning it anew; elsewhere an IN list expanded per execution.
    """
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    return column.in_(bindparam("ids", expanding=True))


def _branch(kind: str, service_id, dialect: str, *values):
    """One list's rows for the lists query: its kind, the service id, and its values as text."""
    texts = [cast(value, String) for value in values]
    texts += [null()] * (LIST_VALUES - len(texts))
    columns = [literal(kind, String).label("kind"), service_id.label("service_id")]
    columns += [text_value.label(f"v{i}") for i, text_value in enumerate(texts)]
    return select(*columns).where(_among_ids(service_id, dialect))


@lru_cache(maxsize=4)
def _statements(dialect: str) -> dict:
    """The queries, built once per dialect: building and hashing statements per request cost more than
    running them."""
    service_columns = [c for c in Service.__table__.columns if c.name not in SKIPPED_SERVICE_COLUMNS]
    capacity_columns = [ServiceCapacity.__table__.c[name].label(f"cap_{name}") for name in CAPACITY_COLUMNS]
    return {
        "service_columns": [c.name for c in service_columns],
        "services": select(*service_columns, Organization.name.label("org_name"), *capacity_columns)
        .join(Organization, Organization.id == Service.organization_id)
        .outerjoin(ServiceCapacity, ServiceCapacity.service_id == Service.id)
        .where(_among_ids(Service.id, dialect)),
        "locations": select(
            service_at_location.c.service_id,
            Location.id,
            Location.latitude,
            Location.longitude,
            Location.precision,
            Location.confidential,
            SitePlace.name.label("place_name"),
            SitePlace.internal,
            Address.address_1,
            Address.address_2,
            Address.city,
            Address.state_province,
            Address.postal_code,
            Address.id.label("address_id"),
        )
        .join(Location, Location.id == service_at_location.c.location_id)
        .outerjoin(SitePlace, SitePlace.id == Location.neighborhood_id)
        .outerjoin(Address, Address.location_id == Location.id)
        .where(_among_ids(service_at_location.c.service_id, dialect)),
        # Every list a result shows, in one round trip: one branch per list, values as text in the same
        # five columns (a search page used to spend seven round trips here).
        "lists": union_all(
            _branch(
                "phones",
                Phone.service_id,
                dialect,
                Phone.id,
                Phone.number,
                Phone.extension,
                Phone.type,
                Phone.description,
            ),
            _branch(
                "schedules",
                Schedule.service_id,
                dialect,
                Schedule.byday,
                Schedule.opens_at,
                Schedule.closes_at,
                Schedule.description,
            ),
            _branch("languages", Language.service_id, dialect, Language.code, Language.name, Language.access),
            _branch(
                "categories", service_taxonomy.c.service_id, dialect, service_taxonomy.c.taxonomy_term_id
            ),
            _branch(
                "populations", service_population.c.service_id, dialect, service_population.c.population_code
            ),
            _branch("practices", service_practice.c.service_id, dialect, service_practice.c.practice_code),
            _branch(
                "required_documents",
                RequiredDocument.service_id,
                dialect,
                RequiredDocument.id,
                RequiredDocument.document,
            ),
        ),
    }


MAKERS = {
    "phones": lambda v: SimpleNamespace(
        id=int(v[0]), number=v[1], extension=v[2], type=v[3], description=v[4]
    ),
    "schedules": lambda v: SimpleNamespace(
        byday=v[0], opens_at=_time(v[1]), closes_at=_time(v[2]), description=v[3]
    ),
    "languages": lambda v: SimpleNamespace(code=v[0], name=v[1], access=v[2]),
    "categories": lambda v: SimpleNamespace(id=v[0]),
    "populations": lambda v: SimpleNamespace(code=v[0]),
    "practices": lambda v: SimpleNamespace(code=v[0]),
    "required_documents": lambda v: SimpleNamespace(id=int(v[0]), document=v[1]),
}


def load_records(session: Session, ids: list[int]) -> dict[int, SimpleNamespace]:
    """Service records by id with organization, capacity, locations and every list a result shows."""
    if not ids:
        return {}
    # Straight to the connection: the ORM's per-statement bookkeeping is not needed for plain rows.
    connection = session.connection()
    statements = _statements(connection.dialect.name)
    params = {"ids": list(ids)}
    names = statements["service_columns"]
    records: dict[int, SimpleNamespace] = {}
    for row in connection.execute(statements["services"], params):
        data = row._mapping
        service = SimpleNamespace(**{name: data[name] for name in names})
        service.organization = SimpleNamespace(id=service.organization_id, name=data["org_name"])
        if data["cap_id"] is None:
            service.capacity = None
        else:
            service.capacity = SimpleNamespace(**{name: data[f"cap_{name}"] for name in CAPACITY_COLUMNS})
        service.low_barrier = LOW_BARRIER.of(service)
        service.locations = []
        for name in MAKERS:
            setattr(service, name, [])
        records[service.id] = service
    for row in connection.execute(statements["locations"], params):
        neighborhood = (
            None if row.place_name is None else SimpleNamespace(name=row.place_name, internal=row.internal)
        )
        records[row.service_id].locations.append(
            SimpleNamespace(
                id=row.id,
                latitude=row.latitude,
                longitude=row.longitude,
                precision=row.precision,
                confidential=row.confidential,
                neighborhood=neighborhood,
                address=None if row.address_id is None else _address_record(row),
            )
        )
    for kind, service_id, *values in connection.execute(statements["lists"], params):
        getattr(records[service_id], kind).append(MAKERS[kind](values))
    return records
