"""Issue 21, the screens: "Saved" after confirming, the unread count beside Notices, the form's problems
each at its field in its labels' words, a shelter's line and "Nobody waiting", cancel asks first, an empty
override shows every problem at its field, tel: links where the app says to call, one sentence of what a new
referral gets, and a skip link on every role's main page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from directory.models import CapacityEvent, Notification, Phone, Referral, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user, sign_in


def _text(response) -> str:
    return response.get_data(as_text=True)


def provider_world(session, unit="bed", waitlist=1, **capacity):
    numbers = {"unit_id": unit, "maximum": 10, "available": 3, "waitlist": waitlist, "confirmed_at": None}
    numbers.update(capacity)
    service = make_service(session, name="Harbor Beds", capacity=numbers, **LOW_BARRIER)
    other = make_service(
        session,
        name="Annex Beds",
        organization=service.organization,
        capacity={"maximum": 4, "available": 1, "waitlist": 0, "confirmed_at": None},
    )
    provider = make_user(session, "provider", organization=service.organization)
    session.commit()
    return service, other, provider


def test_still_correct_says_saved_at_that_service_only(client, session):
    service, other, provider = provider_world(session)
    sign_in(client, provider)
    assert 'class="saved"' not in _text(client.get("/provider"))
    answer = client.post(f"/provider/services/{service.id}/confirm")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"saved={service.id}:confirm#service-{service.id}")
    page = _text(client.get(answer.headers["Location"]))
    assert f'id="saved-{service.id}"' in page and "Saved: the numbers are confirmed as of now." in page
    assert f'id="saved-{other.id}"' not in page
    everything = client.post("/provider/confirm-all")
    page = _text(client.get(everything.headers["Location"]))
    assert page.count('class="saved"') == 1 and "Saved: the numbers are confirmed" in page
    # A made-up "saved" parameter shows nothing (and is no way to put text on the page).
    assert 'class="saved"' not in _text(client.get("/provider?saved=<b>x</b>:confirm"))


def test_save_on_the_form_says_saved(client, session):
    service, _, provider = provider_world(session)
    sign_in(client, provider)
    answer = client.post(
        f"/provider/services/{service.id}", data={"available": "4", "maximum": "10", "waitlist": "2"}
    )
    assert answer.status_code == 302
    assert "Saved: the new numbers are confirmed" in _text(client.get(answer.headers["Location"]))


def test_form_problems_show_each_at_its_field_in_the_labels_words(client, session):
    service, _, provider = provider_world(
        session, lead_funded_maximum=2, lead_funded_available=1, confirmed_at=fresh(FIXED_NOW)
    )
    sign_in(client, provider)
    bad = client.post(
        f"/provider/services/{service.id}",
        data={
            "available": "12",
            "maximum": "10",
            "waitlist": "1",
            "lead_funded_available": "3",
            "lead_funded_maximum": "2",
        },
    )
    html = _text(bad)
    assert bad.status_code == 400
    assert "There are 2 problems" in html
    for field, words in (
        ("available", "Free now cannot be more than Total beds."),
        ("lead_funded_available", "LEAD-funded free cannot be more than LEAD-funded total."),
    ):
        assert re.search(rf'<p class="field-error" id="{field}-error">{re.escape(words)}</p>', html), field
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="{field}-error"', html)
    assert 'aria-invalid="true"' not in html.split('id="maximum"', 1)[1].split(">", 1)[0]
    assert "available cannot be more than maximum" not in html  # the API's words are not the form's
    session.rollback()
    assert session.get(ServiceCapacity, service.capacity.id).available == 3  # nothing changed

    empty = client.post(
        f"/provider/services/{service.id}",
        data={
            "available": "x",
            "maximum": "",
            "waitlist": "-1",
            "lead_funded_available": "",
            "lead_funded_maximum": "",
        },
    )
    html = _text(empty)
    assert empty.status_code == 400 and "There are 3 problems" in html
    assert "Free now must be a whole number from 0 to 100,000." in html
    assert "Give Total beds: a whole number from 0 to 100,000." in html
    assert "People on the waitlist must be a whole number from 0 to 100,000." in html
    assert html.count('aria-invalid="true"') == 3


def test_a_shelter_asks_for_its_line_and_saves_nobody_waiting_in_one_tap(client, session):
    shelter, other, provider = provider_world(session, unit="shelter_bed", waitlist=None)
    sign_in(client, provider)
    dashboard = _text(client.get("/provider"))
    card = dashboard.split(f'id="service-{shelter.id}"', 1)[1].split("</li>", 1)[0]
    other_card = dashboard.split(f'id="service-{other.id}"', 1)[1].split("</li>", 1)[0]
    assert "Nobody waiting" in card and "Unverified" in card
    assert "Nobody waiting" not in other_card  # a bed with a real waitlist is not a line at the door
    form = _text(client.get(f"/provider/services/{shelter.id}"))
    assert '<label for="waitlist">People expected in line tonight</label>' in form
    assert "Waitlist (people waiting)" not in form
    answer = client.post(f"/provider/services/{shelter.id}/nobody-waiting")
    assert answer.status_code == 302
    session.rollback()
    row = session.get(ServiceCapacity, shelter.capacity.id)
    assert (row.waitlist, row.available, row.confirmed_at) == (0, 3, FIXED_NOW)
    kinds = session.scalars(select(CapacityEvent.kind).where(CapacityEvent.service_id == shelter.id)).all()
    assert kinds == ["update"]  # saved through the same capacity rule as the form
    page = _text(client.get(answer.headers["Location"]))
    card = page.split(f'id="service-{shelter.id}"', 1)[1].split("</li>", 1)[0]
    assert "Saved: nobody waiting" in card and "Unverified" not in card
    # Another organization's provider cannot.
    stranger = make_user(session, "provider", organization=make_service(session).organization)
    session.commit()
    sign_in(client, stranger)
    assert client.post(f"/provider/services/{shelter.id}/nobody-waiting").status_code == 403


def test_notices_show_their_unread_count_until_read(client, session):
    _, _, provider = provider_world(session)
    someone_else = make_user(session, "case_manager")
    for n in range(2):
        session.add(
            Notification(user_id=provider.id, created_at=FIXED_NOW, kind="t", subject=f"N{n}", body="b")
        )
    for _n in range(5):
        session.add(
            Notification(user_id=someone_else.id, created_at=FIXED_NOW, kind="t", subject="x", body="b")
        )
    session.add(
        Notification(
            user_id=provider.id, created_at=FIXED_NOW, kind="t", subject="old", body="b", read_at=FIXED_NOW
        )
    )
    session.commit()
    sign_in(client, provider)
    page = _text(client.get("/provider"))
    assert re.search(r'Notices <span class="unread-count" aria-label="2 unread">2</span>', page)
    assert client.post("/notifications/read").status_code == 302
    page = _text(client.get("/provider"))
    nav = page.split("<nav>", 1)[1].split("</nav>", 1)[0]
    assert "Notices</a>" in nav and "unread-count" not in nav, nav
    assert 'class="unread-count"' not in _text(
        client.__class__(client.application).get("/search")
    )  # signed out


def cm_world(session, client):
    busy = make_service(
        session,
        name="Busy Beds",
        capacity={"maximum": 22, "available": 20, "waitlist": 25, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    busy.phones.append(Phone(number="206-555-0142"))
    spare = make_service(
        session,
        name="Spare Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    stale = make_service(
        session,
        name="Old Numbers Inn",
        capacity={"maximum": 8, "available": 3, "waitlist": 0, "confirmed_at": FIXED_NOW - timedelta(days=9)},
        **LOW_BARRIER,
    )
    stale.phones.append(Phone(number="(206) 555-0111", type="voice"))
    cm = make_user(session, "case_manager")
    participant = make_participant(session, cm)
    session.commit()
    sign_in(client, cm)
    return {"busy": busy.id, "spare": spare.id, "stale": stale.id, "code": participant.code, "cm": cm}


def test_an_empty_override_shows_every_problem_at_its_field(client, session):
    world = cm_world(session, client)
    form = {
        "service_id": world["busy"],
        "participant": world["code"],
        "action": "override",
        "decline_asked": "1",
        "justification": "too short",
    }
    refused = client.post("/referrals", data=form)
    html = _text(refused)
    assert refused.status_code == 400 and "There are 4 problems" in html
    for field, words in (
        ("decline_reason", "Choose the closest reason the participant gave for declining the alternatives."),
        ("reason_code", "Choose the reason for the override."),
        ("justification", "Write a justification of at least 20 characters (now 9), without names or health"),
        ("acknowledge", "Tick the box to acknowledge that this override delays the people waiting."),
    ):
        assert re.search(rf'<p class="field-error" id="{field}-error">{re.escape(words)}', html), field
        assert f'aria-describedby="{field}-error"' in html
    assert ">too short</textarea>" in html  # what was typed stays
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_the_check_says_in_one_sentence_what_a_referral_gets(client, session):
    world = cm_world(session, client)
    busy = _text(client.get(f"/referrals/check?service_id={world['busy']}&participant={world['code']}"))
    assert (
        "Placing someone now would delay 25 people waiting: the 20 free beds are theirs. "
        "A new referral joins the waitlist." in busy
    )
    assert '<details class="numbers-fold"><summary>The numbers</summary>' in busy
    spare = _text(client.get(f"/services/{world['spare']}"))
    assert "A new referral gets a spare bed (2 spare): nobody on the waitlist is passed." in spare


def test_unverified_says_call_with_a_tel_link(client, session):
    world = cm_world(session, client)
    for url in (f"/services/{world['stale']}", f"/referrals/check?service_id={world['stale']}"):
        html = _text(client.get(url))
        outlook = html.split('class="referral-outlook"', 1)[1].split("</p>", 1)[0]
        assert "call first" in outlook
        assert '<a class="call-first" href="tel:2065550111">Call (206) 555-0111</a>' in outlook, url
    # A fresh service says nothing of calling first.
    fresh_page = _text(client.get(f"/services/{world['spare']}"))
    assert "call-first" not in fresh_page.split('class="referral-outlook"', 1)[1].split("</p>", 1)[0]


def test_cancel_asks_first(client, session):
    world = cm_world(session, client)
    made = client.post(
        "/referrals",
        data={
            "service_id": world["spare"],
            "participant": world["code"],
            "action": "claim",
            "idempotency_key": "k1",
        },
    )
    referral_id = int(made.headers["Location"].rsplit("/", 1)[1])
    page = _text(client.get(f"/referrals/{referral_id}"))
    assert '<details class="confirm-cancel" id="cancel">' in page and "Yes, cancel this referral" in page
    asked = client.post(f"/referrals/{referral_id}/cancel")
    assert asked.status_code == 302 and asked.headers["Location"].endswith("?cancel=ask#cancel")
    session.rollback()
    assert session.get(Referral, referral_id).state == "held"  # nothing happened without the second tap
    assert '<details class="confirm-cancel" id="cancel" open>' in _text(client.get(asked.headers["Location"]))
    other = make_user(session, "case_manager")
    session.commit()
    sign_in(client, other)
    assert client.post(f"/referrals/{referral_id}/cancel").status_code == 403
    sign_in(client, world["cm"])
    done = client.post(f"/referrals/{referral_id}/cancel", data={"confirm": "1"})
    assert done.status_code == 302
    session.rollback()
    assert session.get(Referral, referral_id).state == "cancelled"


def test_every_page_has_a_skip_link_and_a_primary_search(client, session):
    world = cm_world(session, client)
    for url in (
        "/search?q=beds",
        f"/services/{world['spare']}",
        f"/participants/{world['code']}",
        "/participants",
    ):
        html = _text(client.get(url))
        body = html.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip-link" href="#main">Skip to content</a>'), url
        assert '<main id="main" tabindex="-1">' in html
    assert '<button type="submit" class="primary">Search</button>' in _text(client.get("/search"))


def test_the_check_offers_only_the_case_managers_own_participants_in_one_tap(client, session):
    world = cm_world(session, client)
    theirs = make_participant(session, make_user(session, "case_manager"))
    session.commit()
    html = _text(client.get(f"/referrals/check?service_id={world['spare']}"))
    links = html.split('class="actions recent-participants"', 1)[1].split("</p>", 1)[0]
    assert f'participant={world["code"]}">{world["code"]}</a>' in links
    assert theirs.code not in html


def test_lead_units_posted_to_a_service_that_cannot_hold_them_are_refused_not_ignored(client, session):
    _, annex, provider = provider_world(session)  # Annex Beds: housing without the low-barrier attributes
    sign_in(client, provider)
    form = _text(client.get(f"/provider/services/{annex.id}"))
    assert 'id="lead_funded_maximum"' not in form  # the form does not offer them
    bad = client.post(
        f"/provider/services/{annex.id}",
        data={"available": "1", "maximum": "4", "waitlist": "0", "lead_funded_maximum": "2"},
    )
    html = _text(bad)
    assert bad.status_code == 400 and "This service cannot hold LEAD-funded units" in html
    session.rollback()
    assert session.get(ServiceCapacity, annex.capacity.id).lead_funded_maximum == 0
