"""How a service offers a language (staff speak it, or an interpreter on request): the schema, the migration,
the search filter and the import, on SQLite and PostgreSQL alike."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from directory.domain.errors import ValidationError
from directory.domain.reference import Reference
from directory.domain.search import parse_query, search
from directory.migrate import alembic_config, head_revision, upgrade
from directory.models import Language
from tests.conftest import FIXED_NOW
from tests.factories import make_service

pytestmark = pytest.mark.db


def _run(app, session, **params):
    site = app.config["SITE"]
    query = parse_query(params, Reference.load(session), None, site.default_radius_km)
    return sorted(service.name for service, _ in search(session, query, site, FIXED_NOW).items)


def test_the_schema_refuses_an_unknown_access_and_defaults_to_staff(session):
    service = make_service(session, languages=("es",))
    session.flush()
    assert service.languages[0].access == "staff"
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Language(service_id=service.id, code="vi", name="Vietnamese", access="phone"))
        session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text("UPDATE language SET access = NULL WHERE service_id = :s"), {"s": service.id})
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text("UPDATE language SET access = 'Staff' WHERE service_id = :s"), {"s": service.id})
    # A raw insert that names no access gets the schema's default.
    session.execute(
        text("INSERT INTO language (service_id, code, name) VALUES (:s, 'so', 'Somali')"), {"s": service.id}
    )
    assert session.scalar(select(Language.access).where(Language.code == "so")) == "staff"


def test_migration_0016_down_and_up_keeps_every_language_as_staff(app, session):
    from alembic import command

    make_service(session, name="one", languages=("es", "en"))
    make_service(session, name="two", interpreted=("vi",))
    session.commit()
    engine = session.get_bind()
    session.close()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    with engine.connect() as connection:
        columns = [
            row[1] for row in connection.execute(text("SELECT * FROM language LIMIT 0")).cursor.description
        ]
    assert "access" not in columns
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT code, access FROM language ORDER BY code")).all()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    # Before 0016 every language was taken as spoken by staff; so it is again after the round trip.
    assert rows == [("en", "staff"), ("es", "staff"), ("vi", "staff")]


def test_staff_only_excludes_interpreter_only_and_any_includes_both(app, session):
    make_service(session, name="staff", languages=("en", "es"))
    make_service(session, name="interpreter", languages=("en",), interpreted=("es",))
    make_service(session, name="english", languages=("en",))
    make_service(session, name="vietnamese staff", languages=("es",), interpreted=("vi",))
    assert _run(app, session, language="es", language_access="staff") == ["staff", "vietnamese staff"]
    assert _run(app, session, language="Spanish", language_access="any") == [
        "interpreter",
        "staff",
        "vietnamese staff",
    ]
    # No access given: any (the filter that was there before).
    assert _run(app, session, language="es") == _run(app, session, language="es", language_access="ANY")
    assert _run(app, session, language="vi", language_access="staff") == []
    assert _run(app, session, language="vi") == ["vietnamese staff"]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"language": "es", "language_access": "interpreter"}, "language_access must be staff or any"),
        ({"language": "es", "language_access": "staf"}, "language_access must be staff or any"),
        ({"language_access": "staff"}, "language_access=staff needs a language"),
    ],
)
def test_bad_language_access_is_refused(app, session, params, message):
    with pytest.raises(ValidationError) as raised:
        parse_query(params, Reference.load(session), None, 10.0)
    assert raised.value.field == "language_access"
    assert raised.value.message == message


def test_an_import_stores_how_each_language_is_offered_and_a_change_of_it(session):
    from directory.domain.imports import run_import
    from scrapers.languages import language
    from tests.scrapers.helpers import small_result

    def parsed(text):
        def build():
            result = small_result(1)
            result.services[0].languages = tuple(language(None, text))
            return result

        return build

    def stored():
        return session.execute(select(Language.code, Language.access).order_by(Language.code)).all()

    run_import(
        session, "test", "memory", parsed("English, Spanish; Somali by phone interpretation"), FIXED_NOW
    )
    assert stored() == [("en", "staff"), ("es", "staff"), ("so", "interpreter")]
    # The feed now has Somali-speaking staff: only the access changed, and the import sees it.
    run_import(session, "test", "memory", parsed("English, Spanish, Somali"), FIXED_NOW)
    assert stored() == [("en", "staff"), ("es", "staff"), ("so", "staff")]


def test_the_referral_check_keeps_interpreter_only_services_and_says_so(app, session):
    """Chosen: a service that offers the participant's language only through an interpreter still fits (an
    alternative, a referral), but the check says "interpreter on request" for it and for each such one."""
    from directory.domain.access import Actor
    from directory.domain.referrals import check
    from tests.factories import LOW_BARRIER, fresh, make_participant, make_user

    spare = {"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)}
    full = make_service(
        session,
        name="full",
        capacity={"maximum": 5, "available": 0, "waitlist": 3, "confirmed_at": fresh(FIXED_NOW)},
        languages=("en",),
        interpreted=("es",),
        **LOW_BARRIER,
    )
    make_service(session, name="by staff", lat=47.61, capacity=spare, languages=("es",))
    make_service(session, name="by phone", lat=47.605, capacity=spare, languages=("en",), interpreted=("es",))
    make_service(session, name="vietnamese", lat=47.606, capacity=spare, languages=("vi",))
    cm = make_user(session, "case_manager")
    spanish = make_participant(session, cm, needs={"languages": ["es"]})
    result = check(
        session, Actor.of(cm), full, spanish, FIXED_NOW, app.config["SITE"], near=(47.6036, -122.3256)
    )
    offered = {a.service.name: a.interpreter for a in result.alternatives}
    assert offered == {"by phone": ["es"], "by staff": []}
    assert "es: interpreter on request here; the staff do not speak it." in result.reasons
    # Without a language need, nothing is said about interpreters.
    other = make_participant(session, cm)
    plain = check(
        session, Actor.of(cm), full, other, FIXED_NOW, app.config["SITE"], near=(47.6036, -122.3256)
    )
    assert not any("interpreter" in reason for reason in plain.reasons)
    assert all(a.interpreter == [] for a in plain.alternatives)
