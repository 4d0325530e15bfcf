"""The demo site shows every consent path: two Part 2 programs, and releases current, expired and revoked
(and a participant with none)."""

from __future__ import annotations

from sqlalchemy import select

from directory.domain import consent
from directory.extensions import db
from directory.models import Participant, ReleaseOfInformation, Service, User
from tests.conftest import FIXED_NOW, make_app
from tests.factories import sign_in


def test_demo_releases_show_each_path(databases, demo_database_url):
    app = make_app(databases.copy(demo_database_url), CLOCK=lambda: FIXED_NOW)
    with app.app_context():
        session = db.session
        part2 = session.scalars(select(Service).where(Service.part2_program.is_(True))).all()
        assert sorted(s.name for s in part2) == ["Pioneer Bupe Clinic", "Yesler Residential Treatment"]
        today = FIXED_NOW.date()
        states = sorted(consent.state_of(r, today) for r in session.scalars(select(ReleaseOfInformation)))
        assert states == ["current", "expired", "revoked"]
        cm = session.scalar(select(User).where(User.email == "cm@demo.lead"))
        participants = session.scalars(
            select(Participant).where(Participant.case_manager_id == cm.id).order_by(Participant.id)
        ).all()
        assert len(participants) == 2
        by_name = {s.name: s for s in part2}
        expected = {
            (0, "Yesler Residential Treatment"): "current",
            (0, "Pioneer Bupe Clinic"): "expired",
            (1, "Yesler Residential Treatment"): "revoked",
            (1, "Pioneer Bupe Clinic"): "absent",
        }
        for (index, name), status in expected.items():
            assert consent.consent_for(session, participants[index], by_name[name], today).status == status
        codes, ids, cm_id = [p.code for p in participants], {n: s.id for n, s in by_name.items()}, cm.id
        db.session.remove()
    client = app.test_client()
    sign_in(client, cm_id)
    html = client.get(f"/referrals/check?service_id={ids['Pioneer Bupe Clinic']}&participant={codes[1]}")
    assert "there is no release on file for this program" in html.get_data(as_text=True)
    plan = client.get(f"/participants/{codes[0]}").get_data(as_text=True)
    assert "<strong>current</strong>" in plan and "<strong>expired</strong>" in plan
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
