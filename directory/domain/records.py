"""Light read-only service records for result lists, loaded with a few Core queries instead of the ORM.

They carry the same attribute names as the ORM objects, so presentation code serves both; a page of
search results needs ten cheap queries and no object identity bookkeeping.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import String, bindparam, select, type_coerce
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
)
LOW_BARRIER = (
    "no_sobriety_requirement",
    "accepts_active_use",
    "accepts_sex_workers",
    "no_id_required",
    "criminal_record_ok",
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


@lru_cache(maxsize=1)
def _statements() -> dict:
    """The queries, built once: building and hashing statements per request cost more than running them."""
    ids = bindparam("ids", expanding=True)
    service_columns = [c for c in Service.__table__.columns if c.name not in SKIPPED_SERVICE_COLUMNS]
    capacity_columns = [ServiceCapacity.__table__.c[name].label(f"cap_{name}") for name in CAPACITY_COLUMNS]
    return {
        "service_columns": [c.name for c in service_columns],
        "services": select(*service_columns, Organization.name.label("org_name"), *capacity_columns)
        .join(Organization, Organization.id == Service.organization_id)
        .outerjoin(ServiceCapacity, ServiceCapacity.service_id == Service.id)
        .where(Service.id.in_(ids)),
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
        .where(service_at_location.c.service_id.in_(ids)),
        "phones": select(
            Phone.service_id, Phone.id, Phone.number, Phone.extension, Phone.type, Phone.description
        ).where(Phone.service_id.in_(ids)),
        "schedules": select(
            Schedule.service_id,
            Schedule.byday,
            type_coerce(Schedule.opens_at, String).label("opens"),
            type_coerce(Schedule.closes_at, String).label("closes"),
            Schedule.description,
        ).where(Schedule.service_id.in_(ids)),
        "languages": select(Language.service_id, Language.code, Language.name).where(
            Language.service_id.in_(ids)
        ),
        "categories": select(service_taxonomy.c.service_id, service_taxonomy.c.taxonomy_term_id).where(
            service_taxonomy.c.service_id.in_(ids)
        ),
        "populations": select(service_population.c.service_id, service_population.c.population_code).where(
            service_population.c.service_id.in_(ids)
        ),
        "practices": select(service_practice.c.service_id, service_practice.c.practice_code).where(
            service_practice.c.service_id.in_(ids)
        ),
        "required_documents": select(
            RequiredDocument.service_id, RequiredDocument.id, RequiredDocument.document
        ).where(RequiredDocument.service_id.in_(ids)),
    }


MAKERS = {
    "phones": lambda r: SimpleNamespace(
        id=r.id, number=r.number, extension=r.extension, type=r.type, description=r.description
    ),
    "schedules": lambda r: SimpleNamespace(
        byday=r.byday, opens_at=_time(r.opens), closes_at=_time(r.closes), description=r.description
    ),
    "languages": lambda r: SimpleNamespace(code=r.code, name=r.name),
    "categories": lambda r: SimpleNamespace(id=r.taxonomy_term_id),
    "populations": lambda r: SimpleNamespace(code=r.population_code),
    "practices": lambda r: SimpleNamespace(code=r.practice_code),
    "required_documents": lambda r: SimpleNamespace(id=r.id, document=r.document),
}


def load_records(session: Session, ids: list[int]) -> dict[int, SimpleNamespace]:
    """Service records by id with organization, capacity, locations and every list a result shows."""
    if not ids:
        return {}
    statements = _statements()
    params = {"ids": list(ids)}
    # Straight to the connection: the ORM's per-statement bookkeeping is not needed for plain rows.
    connection = session.connection()
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
        service.low_barrier = all(getattr(service, name) for name in LOW_BARRIER)
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
    for name, make in MAKERS.items():
        for row in connection.execute(statements[name], params):
            getattr(records[row.service_id], name).append(make(row))
    return records
