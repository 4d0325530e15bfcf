"""The provider's details page (hours, phone, eligibility, alert) and the list of edits a feed changed
afterwards: what each role sees and must not see, bad input refused with nothing changed."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.domain.provider_edits import form_values, parse_details, record_values, stored_values
from directory.models import Organization, Schedule, Service, ServiceFieldEdit
from scrapers.records import PhoneRecord
from tests.conftest import FIXED_NOW
from tests.factories import make_service, make_user, sign_in
from tests.harness import visible_text
from tests.scrapers.helpers import small_result


def feed(phone="206-555-0100", alert=None):
    result = small_result(1)
    result.services[0].phones = (PhoneRecord(phone),)
    result.services[0].eligibility_description = "Adults"
    result.services[0].alert = alert
    return result


def world(session):
    run_import(session, "feed", "memory", feed, FIXED_NOW)
    org = session.scalar(select(Organization).where(Organization.source == "feed"))
    service = session.scalar(select(Service).where(Service.source == "feed"))
    provider = make_user(session, "provider", organization=org)
    other = make_user(session, "provider", organization=Organization(name="Other Org"))
    session.commit()
    return service, provider, other


def test_the_provider_edits_only_the_fields_they_changed(client, session):
    service, provider, _ = world(session)
    sign_in(client, provider)
    page = client.get(f"/provider/services/{service.id}/details")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="206-555-0100"' in html and ">Adults</textarea>" in html
    saved = client.post(
        f"/provider/services/{service.id}/details",
        data={"phone": "206 555 0142", "hours": "", "eligibility": "Adults", "alert": ""},
    )
    assert saved.status_code == 302
    session.expire_all()
    assert [p.number for p in session.get(Service, service.id).phones] == ["206-555-0142"]
    assert session.scalars(select(ServiceFieldEdit.field)).all() == ["phone"]  # the others were as shown


def test_bad_input_is_a_400_naming_the_field_and_nothing_changes(client, session):
    service, provider, _ = world(session)
    sign_in(client, provider)
    bad = client.post(f"/provider/services/{service.id}/details", data={"phone": "call us", "alert": "x"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'data-field="phone"' in html and "10-digit US number" in html
    session.expire_all()
    assert session.get(Service, service.id).alert is None
    assert session.scalar(select(func.count()).select_from(ServiceFieldEdit)) == 0


def test_other_roles_cannot_open_or_post_the_page(client, session):
    service, _, other = world(session)
    case_manager = make_user(session, "case_manager")
    session.commit()
    assert client.get(f"/provider/services/{service.id}/details").status_code in (302, 401)
    for user in (other, case_manager):
        sign_in(client, user)
        assert client.get(f"/provider/services/{service.id}/details").status_code == 403
        assert client.post(f"/provider/services/{service.id}/details", data={"alert": "x"}).status_code == 403
    session.expire_all()
    assert session.get(Service, service.id).alert is None


def test_conflicts_are_listed_for_the_provider_only_escaped_and_can_be_closed(client, session):
    service, provider, other = world(session)
    sign_in(client, provider)
    client.post(f"/provider/services/{service.id}/details", data={"alert": "<b>side door</b>"})
    client.post(f"/provider/services/{service.id}/details", data={"phone": "206-555-0142"})
    session.expire_all()
    changed = feed("206-555-0199", alert="<i>closed</i>")
    run_import(session, "feed", "memory", lambda: changed, FIXED_NOW + timedelta(days=1))
    session.commit()
    html = client.get("/provider").get_data(as_text=True)
    text = visible_text(html)
    assert "Your edits a feed changed afterwards (2)" in text
    assert "206-555-0142" in text and "206-555-0199" in text
    assert 'data-conflict="' + f"{service.id}-phone" + '"' in html
    # Both values are text, never markup (the provider's and the feed's alike).
    assert "&lt;b&gt;side door&lt;/b&gt;" in html and "&lt;i&gt;closed&lt;/i&gt;" in html
    assert "<b>side door</b>" not in html and "<i>closed</i>" not in html
    details = visible_text(client.get(f"/provider/services/{service.id}/details").get_data(as_text=True))
    assert "you wrote “206-555-0142”, the feed now says “206-555-0199”" in details
    sign_in(client, other)
    assert "a feed changed afterwards" not in client.get("/provider").get_data(as_text=True)
    assert client.post(f"/provider/services/{service.id}/conflicts/phone/keep-feed").status_code == 403
    sign_in(client, provider)
    assert client.post(f"/provider/services/{service.id}/conflicts/nonsense/keep-feed").status_code == 404
    assert client.post(f"/provider/services/{service.id}/conflicts/hours/keep-feed").status_code == 404
    closed = client.post(f"/provider/services/{service.id}/conflicts/phone/keep-feed")
    assert closed.status_code == 302
    assert "Your edits a feed changed afterwards (1)" in visible_text(
        client.get("/provider").get_data(as_text=True)
    )
    assert client.post(f"/provider/services/{service.id}/conflicts/alert/keep-feed").status_code == 302
    assert "a feed changed afterwards" not in client.get("/provider").get_data(as_text=True)


def test_the_forms_hours_read_back_as_the_same_hours(session):
    service = make_service(
        session,
        schedules=(("MO", time(9), time(17)), ("SA", time(10), time(14)), ("1WE", time(18), time(20))),
    )
    shown = form_values(service)["hours"]
    assert shown == "Monday 09:00-17:00; Saturday 10:00-14:00; 1st Wednesday 18:00-20:00"
    slots, kept_text = parse_details({"hours": shown})["hours"]
    assert kept_text is None
    assert sorted((s.byday, s.opens_at, s.closes_at) for s in slots) == sorted(
        (s.byday, s.opens_at, s.closes_at) for s in session.scalars(select(Schedule)).all()
    )
    assert stored_values(service)["hours"] == record_values(_Record(slots))["hours"]


class _Record:
    """The fields record_values reads, for hours only."""

    def __init__(self, slots):
        self.schedules, self.hours_text, self.phones = slots, None, ()
        self.eligibility_description = self.alert = None
