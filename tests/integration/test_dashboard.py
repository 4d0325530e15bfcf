"""The audit dashboard against a scripted month: every figure checked against counts made in the test
from the simulation's own log or straight from the tables."""

import csv
import io
import re
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from directory.domain import capacity as cap
from directory.domain import dashboard as dash
from directory.domain.audit import verify
from directory.domain.dashboard import Period, week_of
from directory.extensions import db
from directory.models import (
    CapacityEvent,
    Organization,
    Participant,
    Referral,
    ReferralCheck,
    ServiceCapacity,
    User,
)
from directory.simulate import simulate_month
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_service, sign_in

PERIOD = Period(FIXED_NOW - timedelta(days=31), FIXED_NOW + timedelta(days=1))


@pytest.fixture(scope="module")
def month(tmp_path_factory, databases, demo_database_url):
    """The demo site plus a simulated month, in a database of its own (built once for the module)."""
    from tests.conftest import make_app

    url = databases.copy(demo_database_url)
    app = make_app(url, CLOCK=lambda: FIXED_NOW)
    with app.app_context():
        log = simulate_month(db.session, app.config["SITE"], FIXED_NOW, seed=3)
        db.session.commit()
    yield app, log
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def org_of_service(service_id: int) -> int:
    """The organization of a service (inside an app context)."""
    from directory.models import Service

    return db.session.get(Service, service_id).organization_id


def without_notice(text: str) -> str:
    """A PM export's CSV without its closing Part 2 redisclosure notice (asserted present: a blank row, then
    the label and the notice's text)."""
    from directory.domain.consent import REDISCLOSURE_NOTICE
    from directory.web.pm import NOTICE_LABEL

    rows = list(csv.reader(io.StringIO(text)))
    assert rows[-2:] == [[], [NOTICE_LABEL, REDISCLOSURE_NOTICE]], rows[-2:]
    out = io.StringIO()
    csv.writer(out).writerows(rows[:-2])
    return out.getvalue()


def by_provider_id(counts) -> Counter:
    """A table keyed by provider label, re-keyed by organization id: each label must name exactly one
    organization (its name alone when no other has it, else the name with the organization's number)."""
    names = dict(db.session.execute(select(Organization.id, Organization.name)).all())
    shared = {n for n, k in Counter(names.values()).items() if k > 1}
    keyed = Counter()
    for text, count in counts.items():
        matches = [
            i
            for i, n in names.items()
            if (n not in shared and text == n)
            or (n in shared and text.startswith(n + " (") and text.endswith(f"no. {i})"))
        ]
        assert len(matches) == 1, text
        keyed[matches[0]] += count
    return keyed


def test_the_simulation_made_every_kind_of_referral(month):
    _, log = month
    actions = Counter(r["action"] for r in log.referrals)
    assert set(actions) == {"claim", "join_waitlist", "override", "request"}
    assert Counter(r["outcome"] for r in log.referrals).keys() >= {"accepted", "declined", "expired"}


def test_weekly_counts_and_displacement_rate(month):
    app, log = month
    expected = Counter()
    for r in log.referrals:
        expected[(week_of(r["at"]), r["classification"])] += 1
    with app.app_context():
        weeks = dash.referrals_by_week(db.session, PERIOD)
        got = Counter()
        for week, counter in weeks.items():
            for key, value in counter.items():
                if key.startswith("classification:"):
                    got[(week, key.split(":", 1)[1])] = value
        assert got == expected
        overrides, total = dash.displacement_rate(db.session, PERIOD)
    assert (overrides, total) == (sum(r["action"] == "override" for r in log.referrals), len(log.referrals))


def test_overrides_by_reason_provider_and_case_manager(month):
    app, log = month
    overrides = [r for r in log.referrals if r["action"] == "override"]
    with app.app_context():
        assert dash.overrides_by(db.session, PERIOD, "reason") == Counter(r["reason_code"] for r in overrides)
        by_org = Counter(org_of_service(r["service_id"]) for r in overrides)
        assert by_provider_id(dash.overrides_by(db.session, PERIOD, "provider")) == by_org
        assert dash.overrides_by(db.session, PERIOD, "case_manager") == Counter(
            r["case_manager"] for r in overrides
        )
        with_alt = dash.displacements_with_alternatives(db.session, PERIOD)
        assert sorted(r.referral_id for r in with_alt) == sorted(
            r["id"] for r in overrides if r["alternatives"]
        )
        assert dash.displacements_without_alternative(db.session, PERIOD) == sum(
            1 for r in overrides if not r["alternatives"]
        )


def test_displacements_without_alternative_is_what_the_summary_leaves(session):
    """The direct count equals all overrides minus the summary's count, whatever the alternatives were."""
    from directory.models import ReferralAlternative
    from tests.factories import make_service

    service = make_service(session, capacity={})
    inside, outside = FIXED_NOW - timedelta(days=3), FIXED_NOW - timedelta(days=60)

    def referral(alternatives, action="override", at=inside):
        made = Referral(
            service_id=service.id,
            action=action,
            classification="displacement",
            state="accepted" if action == "override" else "waitlisted",
            hold="none",
            reason_code="safety" if action == "override" else None,
            justification_hash="0" * 64 if action == "override" else None,
            created_at=at,
        )
        made.alternatives = [
            ReferralAlternative(service_id=service.id, position=i, classification=c, distance_km=1.0 + i)
            for i, c in enumerate(alternatives)
        ]
        session.add(made)

    referral(["spare_capacity", "lead_funded"])
    referral(["full", "open_access"])
    referral(["displacement", "full"])  # only alternatives that could not take anyone: none available
    referral([])
    referral([])
    referral([], at=outside)
    referral(["full"], action="join_waitlist")
    session.flush()
    for period in (PERIOD, Period(outside - timedelta(days=1), FIXED_NOW), Period(FIXED_NOW, FIXED_NOW)):
        overrides, _ = dash.displacement_rate(session, period)
        assert dash.displacements_without_alternative(session, period) == (
            overrides - dash.alternative_summary(session, period).count
        )
    assert dash.displacements_without_alternative(session, PERIOD) == 3
    assert dash.alternative_summary(session, PERIOD).count == 2


def test_unmet_need_and_outcomes(month):
    app, log = month
    with app.app_context():
        assert dash.unmet_need(db.session, PERIOD, "domain") == Counter(
            c["domain"] for c in log.checks if c["unmet"]
        )
        outcome = dash.outcomes(db.session, PERIOD)
        expected = Counter(
            "not_shared"
            if not r["shared"]
            else r["outcome"]
            if r["outcome"] in dash.CLOSED_OUTCOMES
            else "open"
            for r in log.referrals
        )
        assert expected["not_shared"] > 0, "the simulated month should refer someone to a Part 2 program"
        assert outcome["counts"] == {
            k: expected.get(k, 0) for k in (*dash.CLOSED_OUTCOMES, "open", dash.NOT_SHARED)
        }
        accepted_days = sorted(
            (r["closed_at"] - r["at"]).total_seconds() / 86400
            for r in log.referrals
            if r["outcome"] == "accepted" and r["shared"]
        )
        middle = len(accepted_days) // 2
        median = (
            accepted_days[middle]
            if len(accepted_days) % 2
            else (accepted_days[middle - 1] + accepted_days[middle]) / 2
        )
        assert outcome["median_days_to_accept"] == pytest.approx(round(median, 2))


def test_lead_capacity_now(month):
    app, _ = month
    with app.app_context():
        rows = db.session.scalars(
            select(ServiceCapacity).where(ServiceCapacity.lead_funded_maximum > 0)
        ).all()
        purchased = sum(r.lead_funded_maximum for r in rows)
        held = sum(r.held_lead for r in rows)
        idle = sum(max(0, r.lead_funded_available - r.held_lead) for r in rows)
        table = dash.lead_capacity(db.session, PERIOD, FIXED_NOW)
        assert (sum(t.purchased for t in table), sum(t.held for t in table), sum(t.idle for t in table)) == (
            purchased,
            held,
            idle,
        )
        used = db.session.scalars(
            select(Referral).where(Referral.hold == "lead", Referral.state == "accepted")
        ).all()
        assert sum(t.used for t in table) == len(used)
        assert all(t.idle_unit_days >= 0 for t in table)


def test_dashboard_page_shows_the_same_figures(month):
    app, log = month
    client = app.test_client()
    with app.app_context():
        from directory.models import User

        pm = db.session.scalar(select(User).where(User.role == "project_manager"))
        pm_id = pm.id
    sign_in(client, pm_id)
    html = client.get("/pm?start=2026-10-24&end=2026-11-24").get_data(as_text=True)
    overrides = sum(r["action"] == "override" for r in log.referrals)
    match = re.search(
        r'id="displacement-rate">Displacement rate: <strong>(\d+)</strong>.*?<strong>(\d+)</strong>', html
    )
    assert match and (int(match.group(1)), int(match.group(2))) == (overrides, len(log.referrals))
    assert "<svg" in html and "Overrides by case manager" in html
    with app.app_context():
        assert verify(db.session).ok


def test_referral_export_has_pseudonyms_and_days_only(month):
    app, _ = month
    client = app.test_client()
    with app.app_context():
        from directory.models import Participant, User

        pm_id = db.session.scalar(select(User.id).where(User.role == "project_manager"))
        codes = set(db.session.scalars(select(Participant.code)))
    sign_in(client, pm_id)
    text = client.get("/pm/export/referrals.csv?start=2026-10-01&end=2026-11-30").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(without_notice(text))))
    assert rows and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"]) for r in rows)
    assert not codes & {r["participant"] for r in rows}
    assert all(r["participant"].startswith("X-") for r in rows if r["participant"])
    assert "justification" not in text.splitlines()[0]
    again = list(
        csv.DictReader(
            io.StringIO(
                without_notice(
                    client.get("/pm/export/referrals.csv?start=2026-10-01&end=2026-11-30").get_data(
                        as_text=True
                    )
                )
            )
        )
    )
    # (A confidential service's rows carry no pseudonym at all: it would link the stay to the others.)
    assert {r["participant"] for r in rows if r["participant"]}.isdisjoint(
        {r["participant"] for r in again if r["participant"]}
    )


def test_unmet_checks_are_recorded_for_the_audit(month):
    app, log = month
    with app.app_context():
        recorded = db.session.scalars(select(ReferralCheck).where(ReferralCheck.unmet.is_(True))).all()
    assert len(recorded) == sum(c["unmet"] for c in log.checks)


def test_transparency_after_a_month_shows_no_small_counts_and_adds_up(month):
    app, log = month
    body = app.test_client().get("/api/v1/transparency").get_json()
    # The simulated month runs from 25 October to 24 November: only October (Seattle) has closed.
    assert [p["period"] for p in body["periods"]] == ["2026-10"]
    by_month = Counter(
        r["at"].astimezone(ZoneInfo("America/Los_Angeles")).strftime("%Y-%m") for r in log.referrals
    )
    for period in body["periods"]:
        assert period["total"] == by_month[period["period"]] or period["total"] == "fewer than 5"
        for key in ("referrals_by_classification", "referrals_by_domain"):
            cells = period[key]["cells"] or {}
            for v in cells.values():
                assert v == "fewer than 5" or v == 0 or (isinstance(v, int) and v >= 5)
            if cells and "fewer than 5" not in cells.values():
                assert sum(cells.values()) == period["total"]
    html = app.test_client().get("/transparency").get_data(as_text=True)
    assert "P-" not in html and "@demo.lead" not in html


# The period of ?start=2026-10-24&end=2026-11-24: the demo site's days (Seattle), the end day included.
# Written out: midnight of 24 October is 07:00 UTC (PDT, UTC-7); of 25 November 08:00 UTC (PST, UTC-8).
ASKED = "start=2026-10-24&end=2026-11-24"
ASKED_PERIOD = Period(datetime(2026, 10, 24, 7, tzinfo=UTC), datetime(2026, 11, 25, 8, tzinfo=UTC))


@contextmanager
def counting_statements():
    """Count the SQL statements sent to the database inside the block (not PostgreSQL's SET LOCAL of the
    dashboard's sort memory: a setting, not a query)."""
    seen = {"count": 0}

    def count(_connection, _cursor, statement, *_):
        if not statement.lstrip().upper().startswith("SET "):
            seen["count"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def signed_in(app, role: str):
    """A client signed in as the first account with the role."""
    client = app.test_client()
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.role == role).order_by(User.id))
    sign_in(client, user_id)
    return client


def test_one_export_runs_fewer_statements_than_the_whole_dashboard(month):
    from directory.web.pm import dashboard_data

    app, _ = month
    client = signed_in(app, "project_manager")
    with app.app_context():
        with counting_statements() as whole:
            dashboard_data(ASKED_PERIOD, True)
        for name, rows_of in dash.EXPORTS.items():
            with counting_statements() as one:
                rows_of(dash.Tables(db.session, ASKED_PERIOD, FIXED_NOW))
            assert 0 < one["count"] < whole["count"], name
        with counting_statements() as weekly:
            dash.EXPORTS["weekly"](dash.Tables(db.session, ASKED_PERIOD, FIXED_NOW))
        # The site's whole days: read from the rollups alone (no partial day at either edge).
        assert weekly["count"] == 1
    for name in dash.EXPORTS:
        with app.app_context(), counting_statements() as request:
            assert client.get(f"/pm/export/{name}.csv?{ASKED}").status_code == 200
        # Signing the user in costs a statement or two; the whole dashboard costs every query.
        assert request["count"] < whole["count"], name


def test_each_export_is_the_table_the_dashboard_shows(month):
    from directory.web.pm import dashboard_data

    app, log = month
    client = signed_in(app, "project_manager")
    exported = {
        name: list(
            csv.reader(
                io.StringIO(
                    without_notice(client.get(f"/pm/export/{name}.csv?{ASKED}").get_data(as_text=True))
                )
            )
        )
        for name in dash.EXPORTS
    }
    with app.app_context():
        d = dashboard_data(ASKED_PERIOD, True)
        every_with_alternative = dash.displacements_with_alternatives(db.session, ASKED_PERIOD)
        capacities = db.session.scalars(
            select(ServiceCapacity).where(ServiceCapacity.lead_funded_maximum > 0)
        ).all()

    def cells(rows):
        return [["" if value is None else str(value) for value in row] for row in rows]

    keys = [f"classification:{c}" for c in cap.CLASSIFICATIONS] + [f"action:{a}" for a in cap.ACTIONS]
    shown = {
        "weekly": [["week", *keys, "total"]]
        + [[week, *[c.get(k, 0) for k in keys], c["total"]] for week, c in d["weeks"].items()],
        "with_alternative": [
            ["referral_id", "reason_code", "alternatives", "nearest_km", "why_they_did_not_fit"]
        ]
        + [
            [r.referral_id, r.reason_code, r.alternatives, r.nearest_km, "; ".join(r.rejection_reasons)]
            for r in every_with_alternative
        ],
        "lead_capacity": [["provider", "purchased", "used", "held", "idle", "idle_unit_days"]]
        + [[r.provider, r.purchased, r.used, r.held, r.idle, r.idle_unit_days] for r in d["lead"]],
    }
    for by in ("reason", "case_manager"):
        shown[f"overrides_by_{by}"] = [["key", "overrides"]] + sorted(d[f"by_{by}"].items())
    # The page gives each provider's overrides in its avoidable-displacement rates.
    shown["overrides_by_provider"] = [["key", "overrides"]] + sorted(
        [r.label, r.overrides] for r in d["provider_rates"]
    )
    for dimension in dash.DIMENSIONS:
        shown[f"unmet_{dimension}"] = [[dimension, "unmet_participants", "unmet_checks"]] + [
            [key, people, checks] for key, (people, checks) in d["unmet"][dimension].items()
        ]
        shown[f"by_{dimension}"] = [[dimension, "referrals", "overrides"]] + [
            [key, c.get("referrals", 0), c.get("overrides", 0)]
            for key, c in d["breakdowns"][dimension].items()
        ]
    assert shown.keys() == exported.keys()
    for name, rows in shown.items():
        assert exported[name] == cells(rows), name

    # And the figures themselves, counted from the simulation's log and the tables.
    def table(name):
        header, *rows = exported[name]
        return [dict(zip(header, row, strict=True)) for row in rows]

    overrides = [r for r in log.referrals if r["action"] == "override"]
    assert Counter(
        {
            (row["week"], c): int(row[f"classification:{c}"])
            for row in table("weekly")
            for c in cap.CLASSIFICATIONS
        }
    ) == Counter((week_of(r["at"]), r["classification"]) for r in log.referrals)
    for by in ("reason_code", "case_manager"):
        name = "overrides_by_" + by.removesuffix("_code")
        assert {row["key"]: int(row["overrides"]) for row in table(name)} == Counter(r[by] for r in overrides)
    with app.app_context():
        assert by_provider_id(
            {row["key"]: int(row["overrides"]) for row in table("overrides_by_provider")}
        ) == Counter(org_of_service(r["service_id"]) for r in overrides)
    assert sorted(int(row["referral_id"]) for row in table("with_alternative")) == sorted(
        r["id"] for r in overrides if r["alternatives"]
    )
    unmet = [c for c in log.checks if c["unmet"]]
    assert {row["domain"]: int(row["unmet_checks"]) for row in table("unmet_domain")} == Counter(
        c["domain"] for c in unmet
    )
    with app.app_context():
        recorded = db.session.execute(
            select(ReferralCheck.domain, ReferralCheck.participant_id).where(
                ReferralCheck.unmet.is_(True),
                ReferralCheck.at >= ASKED_PERIOD.start,
                ReferralCheck.at < ASKED_PERIOD.end,
            )
        ).all()
    people = {}
    for domain, participant_id in recorded:
        people.setdefault(domain, set()).add(participant_id)
    assert {row["domain"]: int(row["unmet_participants"]) for row in table("unmet_domain")} == {
        domain: len(ids) for domain, ids in people.items()
    }
    for dimension in dash.DIMENSIONS:
        assert sum(int(row["unmet_checks"]) for row in table(f"unmet_{dimension}")) == len(unmet)
        by_dimension = table(f"by_{dimension}")
        assert sum(int(row["referrals"]) for row in by_dimension) == len(log.referrals)
        assert sum(int(row["overrides"]) for row in by_dimension) == len(overrides)
    lead = table("lead_capacity")
    assert [sum(int(row[k]) for row in lead) for k in ("purchased", "held", "idle")] == [
        sum(c.lead_funded_maximum for c in capacities),
        sum(c.held_lead for c in capacities),
        sum(max(0, c.lead_funded_available - c.held_lead) for c in capacities),
    ]


def test_case_manager_names_are_exported_to_project_managers_only(month):
    app, _ = month
    admin = signed_in(app, "admin")
    response = admin.get(f"/pm/export/overrides_by_case_manager.csv?{ASKED}")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert admin.get(f"/pm/export/overrides_by_reason.csv?{ASKED}").status_code == 200
    assert admin.get(f"/pm/export/by_nothing.csv?{ASKED}").status_code == 404


def lead_service(session, provider: str | None = None, available: int = 1, held: int = 0, organization=None):
    """A LEAD-funded service (4 purchased units) of the organization, or of a new provider, with its
    capacity row as it is now."""
    return make_service(
        session,
        organization=organization or (Organization(name=provider) if provider else None),
        capacity={
            "maximum": 5,
            "available": 0,
            "lead_funded_maximum": 4,
            "lead_funded_available": available,
            "held_lead": held,
        },
        **LOW_BARRIER,
    )


def snapshot(session, service, at: datetime, available: int, held: int = 0) -> None:
    """Record a capacity event whose snapshot after the change has these LEAD units available and held."""
    session.add(
        CapacityEvent(
            service_id=service.id,
            at=at,
            kind="update",
            channel="web",
            before=None,
            after={"lead_funded_available": available, "held_lead": held},
        )
    )


def test_lead_capacity_statements_do_not_grow_with_the_services(session):
    """Idle unit-days of every LEAD-funded service come from one query, not one (or two) per service."""
    start = FIXED_NOW - timedelta(days=10)
    period = Period(start, FIXED_NOW)
    counts = []
    for added in (2, 4):
        for i in range(added):
            service = lead_service(session)
            if i == 3:
                continue  # one service with no history: its row as it is now stands for the period
            snapshot(session, service, start - timedelta(days=1), 2)
            snapshot(session, service, start + timedelta(days=i + 1), 1, held=1)
        session.flush()
        with counting_statements() as seen:
            table = dash.lead_capacity(session, period, FIXED_NOW)
        assert len(table) == len(counts) * 4 + 2  # 2, then 6 providers, each with idle unit-days
        assert all(row.idle_unit_days > 0 for row in table)
        counts.append(seen["count"])
    assert counts[0] == counts[1], counts


def test_idle_unit_days_match_a_count_made_by_hand(session):
    """Idle unit-days per provider against the events written here, integrated by hand."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=10)
    day = timedelta(days=1)
    alpha = lead_service(session, "Alpha Beds", available=2)
    snapshot(session, alpha, start - 5 * day, 0)
    snapshot(session, alpha, start - 3 * day, 4, held=1)  # the last one before the start: 3 free
    snapshot(session, alpha, start + 2 * day, 1)
    snapshot(session, alpha, start + 5 * day, 2)
    beta = lead_service(session, "Beta Beds", available=0)
    snapshot(session, beta, start + 4 * day, 2)  # nothing before the start: the first snapshot stands for it
    snapshot(session, beta, start + 6.5 * day, 4)
    snapshot(session, beta, end + day, 0)  # after the period: ignored
    lead_service(session, "Gamma Beds", available=3, held=1)  # no history: the row now, 2 free
    delta = lead_service(session, "Delta Beds")
    snapshot(session, delta, start, 1)  # exactly at the start: it is the state at the start
    snapshot(session, delta, start + timedelta(hours=8), 0, held=1)  # more held than available: 0 free
    second = lead_service(session, available=4, organization=delta.organization)  # Delta's other service
    snapshot(session, second, start - 40 * day, 1)
    general = make_service(session, capacity={"maximum": 5, "available": 1}, **LOW_BARRIER)
    snapshot(session, general, start + day, 3)  # no LEAD units bought: not in the table
    session.flush()

    def idle_unit_days(now):
        return {
            row.provider: row.idle_unit_days for row in dash.lead_capacity(session, Period(start, end), now)
        }

    # The whole period (now is after its end), free units x days:
    #   Alpha: 3 x 2 (start..+2) + 1 x 3 (+2..+5) + 2 x 5 (+5..+10)         = 6 + 3 + 10    = 19
    #   Beta:  2 x 4 (start..+4) + 2 x 2.5 (+4..+6.5) + 4 x 3.5 (+6.5..+10) = 8 + 5 + 14    = 27
    #   Gamma: 2 x 10                                                                       = 20
    #   Delta: 1 x 1/3 (start..+8h) + 0 x the rest, plus its other service 1 x 10 = 10.333… -> 10.33
    assert idle_unit_days(end + 3 * day) == {
        "Alpha Beds": 19.0,
        "Beta Beds": 27.0,
        "Gamma Beds": 20.0,
        "Delta Beds": 10.33,
    }
    # Now half-way through: the period counts up to now, and the snapshot made exactly now is not in it.
    #   Alpha: 3 x 2 + 1 x 3 = 9;  Beta: 2 x 4 + 2 x 1 = 10;  Gamma: 2 x 5 = 10;  Delta: 1/3 + 1 x 5 -> 5.33
    assert idle_unit_days(start + 5 * day) == {
        "Alpha Beds": 9.0,
        "Beta Beds": 10.0,
        "Gamma Beds": 10.0,
        "Delta Beds": 5.33,
    }
    # A period that has not begun yet has no idle days.
    assert set(idle_unit_days(start).values()) == set(idle_unit_days(start - day).values()) == {0.0}


class VisibleText(HTMLParser):
    """The text a reader sees (no script, style or markup), and each table's rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.parts, self.tables, self._skip, self._table, self._row, self._cell = [], {}, 0, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("id") or f"table-{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)
            if self._cell is not None:
                self._cell.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def read(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


PYTHON_REPRESENTATIONS = ("<bound method", " object at 0x", "Counter(", "{'", "None in None")
CODES_THAT_NEED_WORDS = (
    "spare_capacity",
    "acute_need",
    "participant_choice",
    "child_care",
    "join_waitlist",
    "lead_funded",
    "open_access",
    "too_far",
)


@pytest.mark.parametrize(
    "path", ["/pm", f"/pm?{ASKED}", "/pm?month=2026-11&sort=name", "/pm/report", "/pm/report?month=2026-10"]
)
def test_the_audit_pages_show_words_not_python_or_codes(month, path):
    app, _ = month
    for role in ("project_manager", "admin"):
        response = signed_in(app, role).get(path)
        assert response.status_code == 200
        text = read(response.get_data(as_text=True)).text
        for representation in PYTHON_REPRESENTATIONS:
            assert representation not in text, (role, representation)
        for code in CODES_THAT_NEED_WORDS:
            assert code not in text, (role, code)
        # Languages by name: the simulation's participants speak en, es, so and vi.
        languages = {row[0] for row in read(response.get_data(as_text=True)).tables["table-by-language"][1:]}
        assert languages and languages <= {"English", "Spanish", "Somali", "Vietnamese", "Not recorded"}


def test_weekly_totals_are_the_sums_of_their_rows_and_of_the_log(month):
    app, log = month
    html = signed_in(app, "project_manager").get(f"/pm?{ASKED}").get_data(as_text=True)
    header, *rows = read(html).tables["table-weekly"]
    assert header[-1] == "Total" and len(header) == 1 + len(cap.CLASSIFICATIONS) + len(cap.ACTIONS) + 1
    expected = Counter(week_of(r["at"]) for r in log.referrals)
    assert rows and {row[0] for row in rows} == set(expected)
    for week, *cells in rows:
        numbers = [int(cell) for cell in cells]  # a representation of anything would fail here
        by_classification = numbers[: len(cap.CLASSIFICATIONS)]
        by_action = numbers[len(cap.CLASSIFICATIONS) : -1]
        assert sum(by_classification) == sum(by_action) == numbers[-1] == expected[week], week


def test_the_default_period_and_the_same_dates_submitted_agree(month):
    app, _ = month
    client = signed_in(app, "project_manager")
    default = client.get("/pm").get_data(as_text=True)
    start = re.search(r'name="start" value="([\d-]+)"', default).group(1)
    end = re.search(r'name="end" value="([\d-]+)"', default).group(1)
    # The last 30 of the site's days, today (Seattle) included.
    today = FIXED_NOW.astimezone(ZoneInfo("America/Los_Angeles")).date()
    assert (start, end) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    submitted = client.get(f"/pm?start={start}&end={end}").get_data(as_text=True)

    def figures(html):
        page = read(html)
        rate = re.search(r"Displacement rate: (\d+) overrides? of (\d+) referrals", page.text)
        return rate.groups(), page.tables["table-weekly"], page.tables["table-provider-rates"]

    assert figures(default) == figures(submitted)
    assert int(figures(default)[0][1]) > 0
    # A month picked is the same as its first and last days typed in.
    assert figures(client.get("/pm?month=2026-11").get_data(as_text=True)) == figures(
        client.get("/pm?start=2026-11-01&end=2026-11-30").get_data(as_text=True)
    )


def test_the_to_day_is_included(month):
    """A referral made on the last day asked for is counted: the period runs to that day's end (Seattle)."""
    app, log = month
    client = signed_in(app, "project_manager")
    zone = ZoneInfo("America/Los_Angeles")
    last_day = max(r["at"] for r in log.referrals).astimezone(zone).date()
    on_that_day = sum(r["at"].astimezone(zone).date() == last_day for r in log.referrals)
    page = read(client.get(f"/pm?start={last_day}&end={last_day}").get_data(as_text=True))
    assert re.search(r"Displacement rate: \d+ overrides? of (\d+) referrals", page.text).group(1) == str(
        on_that_day
    )
    assert client.get(f"/pm?start={last_day}&end={last_day - timedelta(days=1)}").status_code == 400
    assert client.get("/pm?month=2026-13").status_code == 400


def test_the_report_defaults_to_the_latest_month_with_referrals_and_names_no_case_manager(month):
    app, log = month
    client = signed_in(app, "project_manager")
    latest = max(r["at"] for r in log.referrals).astimezone(ZoneInfo("America/Los_Angeles"))
    html = client.get("/pm/report").get_data(as_text=True)
    assert f"monthly report, {latest.strftime('%B %Y')}" in html
    assert f'name="month" value="{latest.strftime("%Y-%m")}"' in html
    with app.app_context():
        emails = set(db.session.scalars(select(User.email).where(User.role == "case_manager")))
    for page in (html, client.get("/pm/report?month=2026-10").get_data(as_text=True)):
        assert not any(email in page for email in emails)
        assert "table-case-manager-rates" not in page and "Overrides by case manager" not in page
    dashboard = client.get(f"/pm?{ASKED}").get_data(as_text=True)
    assert "table-case-manager-rates" in dashboard
    assert "table-case-manager-rates" not in signed_in(app, "admin").get(f"/pm?{ASKED}").get_data(
        as_text=True
    )


def test_chart_colours_and_symbols_are_the_badges(month):
    from pathlib import Path

    from directory.web.serializers import STATUS_LABELS

    app, _ = month
    css = (Path(__file__).parents[2] / "static" / "css" / "app.css").read_text()
    variables = dict(re.findall(r"--([a-z]+): (#[0-9a-f]{6})", css))
    badge_colour = {
        c: variables[v] for c, v in re.findall(r"\.status-([a-z_]+) \{ background: var\(--([a-z]+)\)", css)
    }
    macros = (Path(__file__).parents[2] / "templates" / "public" / "_macros.html").read_text()
    badge_symbol = dict(re.findall(r"'([a-z_]+)': '(.)'", macros))
    html = signed_in(app, "project_manager").get(f"/pm?{ASKED}").get_data(as_text=True)
    chart = html[html.index('aria-label="Referrals per week by classification"') :]
    chart = chart[: chart.index("</svg>")]
    words = {label: code for code, label in STATUS_LABELS.items()}
    drawn = re.findall(r'fill="(#[0-9a-f]{6})"><title>([^:<]+): \d+</title>', chart)
    assert drawn
    for fill, label in drawn:
        assert fill == badge_colour[words[label]], label
    legend = re.findall(r'fill="(#[0-9a-f]{6})"/><text[^>]*>(.) ([^<]+)</text>', chart)
    assert len(legend) == len(cap.CLASSIFICATIONS)
    for fill, symbol, label in legend:
        code = words[label]
        assert (fill, symbol) == (badge_colour[code], badge_symbol[code]), label


def test_avoidable_displacement_is_counted_from_the_stored_alternatives(month):
    from directory.models import ReferralAlternative

    app, log = month
    with app.app_context():
        overrides = db.session.scalars(
            select(Referral).where(
                Referral.action == "override",
                Referral.created_at >= ASKED_PERIOD.start,
                Referral.created_at < ASKED_PERIOD.end,
            )
        ).all()
        with_choice = [
            r
            for r in overrides
            if any(a.classification in ("lead_funded", "spare_capacity") for a in r.alternatives)
        ]
        avoidable = [r for r in with_choice if r.decline_reason is None]
        expected = (
            sum(r.reason_code not in ("acute_need", "safety") for r in avoidable),
            sum(r.reason_code in ("acute_need", "safety") for r in avoidable),
            len(with_choice) - len(avoidable),
        )
        by_case_manager = Counter(
            r.creator.email for r in avoidable if r.reason_code not in ("acute_need", "safety")
        )
        assert db.session.scalar(select(ReferralAlternative.id).limit(1)) is not None
    assert expected[0] and expected[2], (
        "the simulation gives both avoidable and declined-for-a-reason overrides"
    )
    client = signed_in(app, "project_manager")
    page = read(client.get(f"/pm?{ASKED}").get_data(as_text=True))
    got = [
        int(re.search(rf"(\d+) {words}", page.text).group(1))
        for words in (
            "avoidable overrides?;",
            "acute-need or safety overrides?",
            "declined for the participant",
        )
    ]
    assert tuple(got) == expected
    header, *rows = page.tables["table-case-manager-rates"]
    assert {row[0]: int(row[1]) for row in rows if int(row[1])} == by_case_manager
    listed = page.tables["table-avoidable"][1:]
    assert len(listed) == min(expected[0], 50) and all(len(row) == 11 for row in listed)
    exported = list(
        csv.DictReader(
            io.StringIO(
                without_notice(client.get(f"/pm/export/avoidable.csv?{ASKED}").get_data(as_text=True))
            )
        )
    )
    assert sum(row["avoidable"] == "yes" for row in exported) == expected[0] + expected[1]
    assert "case_manager" in exported[0]
    admin_export = signed_in(app, "admin").get(f"/pm/export/avoidable.csv?{ASKED}").get_data(as_text=True)
    assert "case_manager" not in admin_export.splitlines()[0] and "@" not in admin_export


@pytest.mark.parametrize("path", [f"/pm?{ASKED}", "/pm/report", "/pm/freshness"])
def test_every_audit_table_scrolls_in_its_own_box(month, path):
    """A wide table must not widen the page on a phone nor squeeze a chart beside it: each one sits in a
    box that scrolls sideways, and a grid column may shrink below its content's width."""
    from pathlib import Path

    app, _ = month
    html = signed_in(app, "project_manager").get(path).get_data(as_text=True)
    tables = re.findall(r"(.{0,200})<table\b", html, flags=re.S)
    # Each box is also a named region a keyboard can reach and scroll (axe: scrollable-region-focusable).
    box = re.compile(r'<div class="table-scroll" tabindex="0" role="region" aria-label="[^"]+">$')
    assert tables and all(box.search(before) for before in tables)
    css = (Path(__file__).parents[2] / "static" / "css" / "app.css").read_text()
    assert re.search(r"\.table-scroll \{[^}]*overflow-x: auto", css)
    assert "grid-template-columns: minmax(0, 1fr) minmax(0, 1fr)" in css
    assert "grid-template-columns: 1fr 1fr" not in css


def test_the_partner_report_has_aggregates_only_with_small_counts_hidden(month):
    from directory.web.serializers import STATUS_LABELS

    app, log = month
    client = signed_in(app, "project_manager")
    zone = ZoneInfo("America/Los_Angeles")
    # The simulation ends on 24 November: October is the latest month that has ended.
    html = client.get("/pm/partner-report").get_data(as_text=True)
    assert "report for the policy group, October 2026" in html
    page = read(html)
    with app.app_context():
        emails = set(db.session.scalars(select(User.email)))
        providers = set(db.session.scalars(select(Organization.name)))
        codes = set(db.session.scalars(select(Participant.code)))
    for secret in emails | providers | codes:
        assert secret not in page.text, secret
    assert "/referrals/" not in html
    october = [r for r in log.referrals if r["at"].astimezone(zone).strftime("%Y-%m") == "2026-10"]
    assert october
    expected = Counter(r["classification"] for r in october)
    (by_classification,) = [
        rows for rows in page.tables.values() if any(row[0] == "Spare capacity" for row in rows)
    ]
    words = {label: code for code, label in STATUS_LABELS.items()}
    counts = {code: expected.get(code, 0) for code in STATUS_LABELS}
    # The public rule, restated: once a cell is 1-4, every cell under 5 is hidden together, and the table is
    # not shown at all when fewer than two are hidden or the hidden ones must all be 0 or all be 4.
    small = [c for c in counts.values() if c < 5]
    hide_all_small = any(0 < c < 5 for c in counts.values())
    if hide_all_small and (len(small) < 2 or sum(small) in (0, 4 * len(small))):
        assert by_classification[0][0].startswith("Not shown"), by_classification
    else:
        for name, value in by_classification[:-1]:
            count = counts[words[name]]
            assert value == ("fewer than 5" if hide_all_small and count < 5 else str(count)), name
    assert by_classification[-1] == ["Total", str(len(october)) if len(october) >= 5 else "fewer than 5"]
    for rows in page.tables.values():
        for row in rows:
            if len(row) == 2:
                assert row[1] in ("fewer than 5", "0") or int(row[1]) >= 5, row
    assert client.get("/pm/partner-report?month=2026-11").status_code == 400
    assert client.get("/pm/partner-report?month=nope").status_code == 400


@pytest.mark.parametrize(("path", "table"), [("/pm/freshness", None), (f"/pm?{ASKED}", "table-lead")])
def test_no_two_providers_read_the_same(month, path, table):
    """The demo has organizations that share a name: every table still tells them apart."""
    app, _ = month
    with app.app_context():
        names = list(db.session.scalars(select(Organization.name)))
    assert len(set(names)) < len(names), "the demo should have same-named organizations"
    page = read(signed_in(app, "project_manager").get(path).get_data(as_text=True))
    rows = next(iter(page.tables.values())) if table is None else page.tables[table]
    providers = [row[0] for row in rows[1:]]
    assert providers and len(providers) == len(set(providers))


def test_one_pass_figures_equal_a_naive_recount_of_the_month(month):
    """Issue 19's speed work cuts every table from one scan of the period's referrals: each figure equals a
    recount made here, one referral at a time, from the ORM objects (withheld outcomes neither placed nor
    used: issue 24)."""
    from directory.domain import audit_questions as aq
    from directory.models import SitePlace
    from directory.web import pm

    app, _ = month
    with app.test_request_context("/pm"):
        data = pm.dashboard_data(PERIOD, True)
        made = db.session.scalars(
            select(Referral).where(Referral.created_at >= PERIOD.start, Referral.created_at < PERIOD.end)
        ).all()
        assert len(made) > 50
        weeks: dict[str, Counter] = {}
        states, by_domain, by_place = Counter(), Counter(), Counter()
        totals = Counter()
        rates: dict[int, list[int]] = {}
        waits = []
        for r in made:
            week = weeks.setdefault(week_of(r.created_at), Counter())
            week[f"classification:{r.classification}"] += 1
            week[f"action:{r.action}"] += 1
            week["total"] += 1
            withheld = not r.outcome_shared or r.reference is not None
            closed = r.state in dash.CLOSED_OUTCOMES
            states["not_shared" if withheld else r.state if closed else "open"] += 1
            by_domain[r.domain or "(not recorded)"] += 1
            check = db.session.get(ReferralCheck, r.check_id) if r.check_id else None
            place = (
                db.session.get(SitePlace, check.neighborhood_id) if check and check.neighborhood_id else None
            )
            by_place[place.name if place else "(not recorded)"] += 1
            rate = rates.setdefault(r.service.organization_id, [0, 0, 0, 0])
            rate[3] += 1
            if r.action != "override":
                continue
            rate[2] += 1
            waits.append(r.would_displace)
            choice = any(a.classification in aq.AVOIDING for a in r.alternatives)
            if not choice:
                continue
            totals["all"] += 1
            if r.decline_reason is not None:
                totals["participant_driven"] += 1
            elif r.reason_code in aq.URGENT_REASONS:
                totals["urgent"] += 1
                rate[1] += 1
            else:
                totals["avoidable"] += 1
                rate[0] += 1
        assert data["weeks"] == weeks
        assert data["total"] == len(made) and data["overrides"] == len(waits)
        assert data["outcomes"]["counts"] == {k: states.get(k, 0) for k in data["outcomes"]["counts"]}
        assert {k: v["referrals"] for k, v in data["breakdowns"]["domain"].items()} == by_domain
        assert {k: v["referrals"] for k, v in data["breakdowns"]["neighborhood"].items()} == by_place
        assert data["choices"] == {k: totals.get(k, 0) for k in data["choices"]}
        labels = dash.provider_labels(db.session, set(rates))
        shown = {}
        for row in data["provider_rates"]:
            shown[row.label] = (row.avoidable, row.urgent_avoidable, row.overrides, row.referrals)
        summed: dict[str, list[int]] = {}  # confidential providers share one label: their rows add up
        for org_id, figures in rates.items():
            entry = summed.setdefault(labels[org_id], [0, 0, 0, 0])
            for i, value in enumerate(figures):
                entry[i] += value
        assert shown == {k: tuple(v) for k, v in summed.items() if v[2]}
        assert data["places"].places == len(waits)
        assert data["places"].longest_waitlist == (max(waits) if waits else None)
        accepted = db.session.scalars(
            select(Referral).where(
                Referral.state == "accepted",
                Referral.closed_at >= PERIOD.start,
                Referral.closed_at < PERIOD.end,
            )
        ).all()
        shared = [r for r in accepted if r.outcome_shared and r.reference is None]
        assert data["placements"].total == len(shared)
        assert data["placements"].unmeasured == sum(r.action == "request" for r in shared)
        lead_labels = dash.provider_labels(db.session, {r.service.organization_id for r in shared})
        used = Counter(lead_labels[r.service.organization_id] for r in shared if r.hold == "lead")
        assert {row.provider: row.used for row in data["lead"] if row.used} == dict(used)
