"""The domain's invariants hold in the schema itself, on SQLite and PostgreSQL alike."""

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from directory.cli import init_database
from directory.domain import rules
from directory.domain.records import load_records
from directory.migrate import current_revision, head_revision
from directory.models import Organization, Service, ServiceCapacity, SitePlace, TaxonomyTerm
from scrapers.records import ServiceRecord
from tests.factories import LOW_BARRIER, fundable, make_service

pytestmark = pytest.mark.db

# The rules' domain-specific part is for housing; any other domain stands for the rest.
DOMAINS = ("housing", "food")


def test_schema_is_at_head_and_init_db_is_repeatable(app, session):
    assert current_revision(session.get_bind()) == head_revision()
    before = session.scalar(select(text("count(*)")).select_from(TaxonomyTerm))
    init_database()
    init_database()
    after = session.scalar(select(text("count(*)")).select_from(TaxonomyTerm))
    assert before == after > 18


def test_every_iip_domain_is_loaded(session):
    domains = set(session.scalars(select(TaxonomyTerm.id).where(TaxonomyTerm.parent_id.is_(None))))
    assert domains == {
        "housing",
        "substance_use_treatment",
        "mental_health",
        "medical_care",
        "harm_reduction",
        "food",
        "hygiene",
        "identification_documents",
        "public_benefits",
        "legal_advocacy",
        "education",
        "job_training",
        "job_placement",
        "licensing_assistance",
        "small_business",
        "child_care",
        "transportation",
        "peer_support",
    }


def _capacity_fails(session, service, **values):
    row = service.capacity
    with pytest.raises(IntegrityError), session.begin_nested():
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
    session.refresh(row)


CAPACITY_VIOLATIONS = [
    {"available": 11},  # available > maximum (maximum 10)
    {"available": -1},
    {"maximum": 100_001, "available": 0},
    {"waitlist": -1},
    {"waitlist": 100_001},
    {"held_general": -1},
    {"held_lead": -1},
    {"lead_funded_maximum": 1, "lead_funded_available": 2},
    {"lead_funded_available": -1},
]


@pytest.mark.parametrize("values", CAPACITY_VIOLATIONS, ids=[str(v) for v in CAPACITY_VIOLATIONS])
def test_capacity_invariants_are_constraints(session, values):
    service = make_service(session, capacity={"maximum": 10, "available": 5}, **LOW_BARRIER)
    _capacity_fails(session, service, **values)


def test_only_lead_fundable_services_hold_lead_units(session):
    # Housing that excludes people who use drugs is not LEAD-fundable.
    service = make_service(session, domain="housing", capacity={"maximum": 10, "available": 5})
    assert service.lead_fundable is False
    _capacity_fails(session, service, lead_funded_maximum=1)


def test_a_service_with_lead_units_cannot_stop_being_fundable(session):
    service = make_service(
        session,
        capacity={"maximum": 10, "available": 5, "lead_funded_maximum": 2, "lead_funded_available": 2},
        **LOW_BARRIER,
    )
    assert service.lead_fundable is True
    with pytest.raises(IntegrityError), session.begin_nested():
        # The cascade carries lead_fundable to the capacity row, whose CHECK then refuses.
        session.execute(
            update(Service)
            .where(Service.id == service.id)
            .values(religious_requirement=True, lead_fundable=False)
        )


def test_lead_fundable_must_follow_the_rule(session):
    service = make_service(session, domain="food", religious_requirement=True)
    assert service.lead_fundable is False
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(update(Service).where(Service.id == service.id).values(lead_fundable=True))


def test_housing_first_only_for_housing(session):
    with pytest.raises(IntegrityError), session.begin_nested():
        make_service(session, domain="food", housing_first=True)


def test_coordinates_are_paired_and_in_range(session):
    with pytest.raises(IntegrityError), session.begin_nested():
        make_service(session, lat=47.6, lon=None)
    with pytest.raises(IntegrityError), session.begin_nested():
        make_service(session, lat=95.0, lon=0.0)


def test_hot_spots_are_internal(session):
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(SitePlace(name="x", kind="hot_spot", latitude=47.6, longitude=-122.3, internal=False))
        session.flush()


def test_times_are_aware_utc_round_trip(session):
    moment = datetime(2026, 3, 8, 1, 30, tzinfo=timezone(timedelta(hours=-8)))
    service = make_service(session, capacity={"maximum": 3, "available": 1, "confirmed_at": moment})
    session.commit()
    session.expire_all()
    stored = session.get(ServiceCapacity, service.capacity.id).confirmed_at
    assert stored.tzinfo is not None
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)
    # Comparisons in SQL use the same instant whatever zone the parameter carries.
    later = datetime(2026, 3, 8, 9, 30, 1, tzinfo=UTC)
    found = session.scalar(select(ServiceCapacity.id).where(ServiceCapacity.confirmed_at < later))
    assert found == service.capacity.id
    assert session.scalar(select(ServiceCapacity.id).where(ServiceCapacity.confirmed_at > later)) is None


def test_naive_datetimes_are_refused(session):
    service = make_service(session, capacity={"maximum": 3, "available": 1})
    service.capacity.confirmed_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(StatementError):
        session.flush()
    session.rollback()


def test_names_cannot_be_empty(session):
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Organization(name=""))
        session.flush()


def _every_combination(names: tuple[str, ...]) -> list[dict[str, bool]]:
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product((False, True), repeat=len(names))
    ]


def _accepted(session, **values) -> bool:
    """Whether the database accepts a service with these values (the savepoint keeps the session usable)."""
    try:
        with session.begin_nested():
            session.add(Service(**values))
            session.flush()
    except IntegrityError:
        return False
    return True


def test_the_lead_fundable_check_and_sql_agree_with_the_rule_on_every_combination(session):
    """The database's verdict (the CHECK on the stored flag, and the rule's SQL expression) against the
    Python rule, for every combination of the attributes it reads, in housing and outside it."""
    organization = Organization(name="Rules")
    session.add(organization)
    session.flush()
    python, refused = {}, []
    for domain in DOMAINS:
        for flags in _every_combination(rules.LEAD_FUNDABLE.attributes):
            key = (domain, *flags.items())
            expected = rules.LEAD_FUNDABLE.holds(flags.__getitem__, domain)
            python[key] = expected
            values = {"organization_id": organization.id, "name": str(key), "primary_domain": domain, **flags}
            if _accepted(session, **values, lead_fundable=not expected):
                refused.append((key, "the CHECK accepts the wrong value"))
            if not _accepted(session, **values, lead_fundable=expected):
                refused.append((key, "the CHECK refuses the rule's value"))
            # The parsers' record and the tests' own statement of the rule give the same verdict.
            assert ServiceRecord("s", "o", "n", domain, flags=flags).lead_fundable is expected, key
            assert fundable(domain, flags) is expected, key
    assert refused == []
    assert set(python.values()) == {False, True}
    rows = session.execute(
        select(Service, rules.sql(rules.LEAD_FUNDABLE, Service)).where(
            Service.organization_id == organization.id
        )
    ).all()
    assert len(rows) == len(python)
    for service, by_sql in rows:
        key = (
            service.primary_domain,
            *((name, getattr(service, name)) for name in rules.LEAD_FUNDABLE.attributes),
        )
        assert (bool(by_sql), service.lead_fundable, rules.LEAD_FUNDABLE.of(service)) == (python[key],) * 3, (
            key
        )


def test_the_low_barrier_sql_agrees_with_the_rule_on_every_combination(session):
    """The SQL expression search filters on (and its negation) against the Python rule, the model's property
    and the result records' attribute, for every combination of the five attributes."""
    expected = {}
    for domain in DOMAINS:
        for flags in _every_combination(rules.LOW_BARRIER.attributes):
            service = make_service(session, domain=domain, lat=None, lon=None, **flags)
            expected[service.id] = rules.LOW_BARRIER.holds(flags.__getitem__, domain)
            assert expected[service.id] is all(flags.values()) is service.low_barrier
    low_barrier = rules.sql(rules.LOW_BARRIER, Service)
    rows = session.execute(
        select(Service.id, low_barrier, ~low_barrier).where(Service.id.in_(expected))
    ).all()
    by_sql = {service_id: (bool(yes), bool(no)) for service_id, yes, no in rows}
    assert by_sql == {service_id: (value, not value) for service_id, value in expected.items()}
    records = load_records(session, list(expected))
    assert {service_id: record.low_barrier for service_id, record in records.items()} == expected
    assert set(expected.values()) == {False, True}
