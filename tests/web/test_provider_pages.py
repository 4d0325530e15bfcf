"""Provider pages: dashboard, one-tap confirm, confirm all, the stepper form, inbox, history CSV, staff."""

import csv
import io
import re

from sqlalchemy import select

from directory.models import ServiceCapacity, User
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_service, make_user, sign_in


def login(client, user):
    sign_in(client, user)


def world(session):
    service = make_service(
        session,
        name="Harbor Beds",
        capacity={"maximum": 10, "available": 3, "waitlist": 1, "confirmed_at": None},
        **LOW_BARRIER,
    )
    second = make_service(
        session,
        name="Annex Beds",
        organization=service.organization,
        capacity={"maximum": 4, "available": 1, "waitlist": 0, "confirmed_at": None},
    )
    provider = make_user(session, "provider", organization=service.organization, org_admin=True)
    session.commit()
    return service, second, provider


def test_dashboard_confirm_and_confirm_all(client, session):
    service, second, provider = world(session)
    login(client, provider)
    html = client.get("/provider").get_data(as_text=True)
    assert "Harbor Beds" in html and "Annex Beds" in html and "never confirmed" in html
    assert client.post(f"/provider/services/{service.id}/confirm").status_code == 302
    session.rollback()
    assert session.get(ServiceCapacity, service.capacity.id).confirmed_at == FIXED_NOW
    assert session.get(ServiceCapacity, second.capacity.id).confirmed_at is None
    client.post("/provider/confirm-all")
    session.rollback()
    assert session.get(ServiceCapacity, second.capacity.id).confirmed_at == FIXED_NOW


def test_stepper_form_updates_and_refuses_bad_numbers(client, session):
    service, _, provider = world(session)
    login(client, provider)
    page = client.get(f"/provider/services/{service.id}").get_data(as_text=True)
    assert 'data-step="1"' in page and 'name="waitlist_unknown"' in page
    bad = client.post(
        f"/provider/services/{service.id}", data={"available": "12", "maximum": "10", "waitlist": "1"}
    )
    bad_html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'aria-describedby="available-error"' in bad_html
    assert "Free now cannot be more than Total beds." in bad_html
    session.rollback()
    assert session.get(ServiceCapacity, service.capacity.id).available == 3
    ok = client.post(
        f"/provider/services/{service.id}",
        data={"available": "5", "maximum": "10", "waitlist": "", "waitlist_unknown": "1"},
    )
    assert ok.status_code == 302
    session.rollback()
    row = session.get(ServiceCapacity, service.capacity.id)
    assert (row.available, row.waitlist, row.confirmed_at) == (5, None, FIXED_NOW)


def test_history_csv(client, session):
    service, _, provider = world(session)
    login(client, provider)
    client.post(f"/provider/services/{service.id}", data={"available": "4", "maximum": "10", "waitlist": "2"})
    client.post(f"/provider/services/{service.id}/confirm")
    response = client.get(f"/provider/services/{service.id}/history.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["kind"] for r in rows] == ["update", "confirm"]
    assert (rows[0]["available_before"], rows[0]["available_after"]) == ("3", "4")
    assert rows[0]["user"] == provider.email


def test_staff_management(client, session):
    service, _, provider = world(session)
    login(client, provider)
    added = client.post("/provider/staff", data={"action": "add", "email": "new.staff@provider.example"})
    assert added.status_code == 200 and "first password" in added.get_data(as_text=True)
    # The password sits in a <code> element the translation keeps: markup from the catalog, the value escaped.
    shown = re.search(r"first password is <code>([^<]+)</code>: give it", added.get_data(as_text=True))
    assert shown is not None and len(shown.group(1)) >= 12
    member = session.scalar(select(User).where(User.email == "new.staff@provider.example"))
    assert (member.role, member.organization_id) == ("provider", service.organization_id)
    client.post("/provider/staff", data={"action": "remove", "user_id": str(member.id)})
    session.rollback()
    assert session.get(User, member.id).active is False
    login(client, member)
    # A removed account is signed out on its next request.
    assert client.get("/provider").status_code == 302


def test_login_rate_limit(app, client, session):
    user = make_user(session, "case_manager", password="right password here")
    session.commit()
    for _ in range(5):
        assert client.post("/login", data={"email": user.email, "password": "wrong"}).status_code == 401
    blocked = client.post("/login", data={"email": user.email, "password": "right password here"})
    assert blocked.status_code == 429
    other = make_user(session, "case_manager", password="another good one")
    session.commit()
    assert (
        client.post("/login", data={"email": other.email, "password": "another good one"}).status_code == 302
    )


def test_login_redirects_only_to_local_paths(client, session):
    user = make_user(session, "case_manager", password="right password here")
    session.commit()
    response = client.post(
        "/login?next=https://evil.example/", data={"email": user.email, "password": "right password here"}
    )
    assert response.headers["Location"] == "/search"
