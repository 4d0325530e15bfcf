"""Providers upload numbers in bulk: one CSV row per service they run, previewed (nothing saved) then applied
through the capacity rule, refused rows reported as an import run's problems; what each role may do."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from directory.models import AuditEvent, CapacityEvent, Notification, Organization, Referral, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import make_service, make_user, sign_in
from tests.harness import visible_text


def world(session):
    org = Organization(name="Harbor Services")
    beds = make_service(
        session, name="Harbor Beds", organization=org, capacity={"maximum": 10, "available": 3}
    )
    annex = make_service(
        session, name="Annex Beds", organization=org, capacity={"maximum": 4, "available": 1}
    )
    open_access = make_service(session, name="Drop-in Meals", domain="food", organization=org)
    elsewhere = make_service(session, name="Other Beds", capacity={"maximum": 5, "available": 5})
    provider = make_user(session, "provider", organization=org)
    case_manager = make_user(session, "case_manager")
    session.commit()
    return {"beds": beds, "annex": annex, "open": open_access, "elsewhere": elsewhere}, provider, case_manager


def numbers(session, service) -> tuple:
    session.expire_all()
    row = session.get(ServiceCapacity, service.capacity.id)
    return row.available, row.maximum, row.waitlist


def post_file(client, text: str, name="numbers.csv", step="preview"):
    data = {"step": step, "file": (io.BytesIO(text.encode()), name)}
    return client.post("/provider/upload", data=data, content_type="multipart/form-data")


def test_preview_changes_nothing_then_apply_goes_through_the_capacity_rule(client, session):
    s, provider, _ = world(session)
    sign_in(client, provider)
    text = (
        "Service_ID,Name,Available,Maximum,Waitlist\n"
        f"{s['beds'].id},Harbor Beds,2,12,\n"
        f"{s['annex'].id},Annex Beds,,,unknown\n"
        f"{s['elsewhere'].id},Other Beds,1,,\n"
        "999999,Nowhere,1,,\n"
        f"{s['open'].id},Drop-in Meals,1,,\n"
        f"{s['beds'].id},Harbor Beds again,5,,\n"
        "abc,Typo,1,,\n"
        f"{s['annex'].id},Annex,9,,\n"  # the same service twice
    )
    preview = post_file(client, text)
    assert preview.status_code == 200
    page = visible_text(preview.get_data(as_text=True))
    assert "Preview: 2 services would be updated (nothing saved yet), 6 rows refused" in page
    assert numbers(session, s["beds"]) == (3, 10, 0) and numbers(session, s["annex"]) == (1, 4, 0)
    assert session.scalar(select(func.count()).select_from(CapacityEvent)) == 0
    # The same refusal for another organization's service and for one that does not exist.
    assert page.count("not a service your organization runs: refused") == 2
    assert "numbers.csv 4" in page and "numbers.csv 5" in page  # file and line, as import problems read
    assert "does not track capacity" in page and "is not a service number" in page
    assert (
        "the same service as numbers.csv:2: refused" in page and "the same service as numbers.csv:3" in page
    )
    assert "Other Beds" not in page.split("Refused rows")[0]  # never listed as one of theirs
    apply = client.post(
        "/provider/upload", data={"step": "apply", "csv_text": text, "file_name": "numbers.csv"}
    )
    assert apply.status_code == 200
    assert "Saved: 2 services updated" in visible_text(apply.get_data(as_text=True))
    assert numbers(session, s["beds"]) == (2, 12, 0)
    assert numbers(session, s["annex"]) == (1, 4, None)
    assert numbers(session, s["elsewhere"]) == (5, 5, 0)
    events = session.scalars(select(CapacityEvent)).all()
    assert sorted((e.service_id, e.kind, e.channel, e.user_id) for e in events) == sorted(
        (s[k].id, "update", "web", provider.id) for k in ("beds", "annex")
    )
    assert session.scalar(select(func.count()).where(AuditEvent.action == "capacity.update")) == 2


def test_numbers_below_the_holds_put_them_at_risk_and_the_rule_refuses_bad_numbers(client, session):
    s, provider, case_manager = world(session)
    session.add(
        Referral(
            service_id=s["beds"].id,
            action="claim",
            classification="spare_capacity",
            state="held",
            hold="general",
            created_by=case_manager.id,
            created_at=FIXED_NOW - timedelta(hours=1),
            expires_at=FIXED_NOW + timedelta(hours=5),
        )
    )
    s["beds"].capacity.held_general = 1
    session.commit()
    sign_in(client, provider)
    text = f"service_id,available,maximum\n{s['beds'].id},0,\n{s['annex'].id},9,\n"
    preview = visible_text(post_file(client, text).get_data(as_text=True))
    assert "Preview: 1 service would be updated" in preview
    assert "available" in preview and "refused" in preview  # 9 free of a maximum of 4: the rule says no
    session.expire_all()
    assert session.scalar(select(Referral.at_risk)) is False
    client.post("/provider/upload", data={"step": "apply", "csv_text": text})
    session.expire_all()
    assert session.scalar(select(Referral.at_risk)) is True
    told = session.scalars(select(Notification).where(Notification.kind == "hold_at_risk")).all()
    assert [n.user_id for n in told] == [case_manager.id]
    assert numbers(session, s["annex"]) == (1, 4, 0)


def test_a_file_that_is_not_a_numbers_csv_is_a_400_and_nothing_changes(client, session):
    s, provider, _ = world(session)
    sign_in(client, provider)
    for text, message in (
        ("", "the file is empty"),
        ("service_id,free\n1,2\n", "unknown column 'free'"),
        ("name,available\nHarbor,2\n", "needs a service_id column"),
        ("service_id,available\n", "the file has no rows"),
        ("\x00\x01binary", "not text"),
        ("service_id,available\n" + "".join(f"{s['beds'].id},1\n" for _ in range(501)), "at most 500 rows"),
    ):
        response = post_file(client, text, step="apply")
        assert response.status_code == 400, text
        assert message in visible_text(response.get_data(as_text=True))
    assert numbers(session, s["beds"]) == (3, 10, 0)
    assert session.scalar(select(func.count()).select_from(CapacityEvent)) == 0


def test_who_may_upload(client, session):
    s, _, case_manager = world(session)
    other = make_user(session, "provider", organization=s["elsewhere"].organization)
    session.commit()
    assert client.get("/provider/upload").status_code in (302, 401)
    sign_in(client, case_manager)
    assert client.get("/provider/upload").status_code == 403
    assert post_file(client, f"service_id,available\n{s['beds'].id},0\n", step="apply").status_code == 403
    sign_in(client, other)  # another organization's provider: the row is refused, nothing changes
    page = visible_text(
        post_file(client, f"service_id,available\n{s['beds'].id},0\n", step="apply").get_data(as_text=True)
    )
    assert "Saved: 0 services updated, 1 row refused" in page and "Harbor Beds" not in page
    assert numbers(session, s["beds"]) == (3, 10, 0)
