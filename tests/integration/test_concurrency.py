"""Two case managers never both get the last unit: 40 concurrent clients against a real server process."""

import threading

from sqlalchemy import func, select

from bench.server import live_server, request
from directory.models import Referral, ServiceCapacity
from directory.types import utcnow
from tests.factories import LOW_BARRIER, make_participant, make_service, make_token, make_user

CLIENTS = 40


def prepare(session, clients=CLIENTS):
    # Fresh in real time: the server runs on the real clock.
    service = make_service(
        session,
        capacity={
            "maximum": 10,
            "available": 3,
            "waitlist": 0,
            "lead_funded_maximum": 2,
            "lead_funded_available": 2,
            "confirmed_at": utcnow(),
        },
        **LOW_BARRIER,
    )
    workers = []
    for _ in range(clients):
        cm = make_user(session, "case_manager")
        workers.append((make_token(session, cm), make_participant(session, cm).code))
    session.commit()
    return service.id, workers


def run_at_once(count, work):
    barrier = threading.Barrier(count)
    results = [None] * count

    def go(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_forty_clients_claim_three_spare_and_two_lead_units(session, database_url):
    service_id, workers = prepare(session)
    with live_server(database_url) as base:

        def claim(i):
            token, code = workers[i]
            return request(
                base,
                "POST",
                "/api/v1/referrals",
                {"service_id": service_id, "participant_code": code, "action": "claim"},
                {"Authorization": f"Bearer {token}"},
            )

        results = run_at_once(CLIENTS, claim)
    statuses = [status for status, _ in results]
    created = [body for status, body in results if status == 201]
    refused = [body for status, body in results if status == 409]
    assert statuses.count(201) == 5 and statuses.count(409) == CLIENTS - 5, statuses
    assert sorted(r["classification"] for r in created) == ["lead_funded"] * 2 + ["spare_capacity"] * 3
    assert sorted(r["hold"] for r in created) == ["general"] * 3 + ["lead"] * 2
    assert all(body["check"]["classification"] == "full" for body in refused)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Referral)) == 5
    row = session.scalar(select(ServiceCapacity).where(ServiceCapacity.service_id == service_id))
    assert (row.available, row.held_general, row.lead_funded_available, row.held_lead) == (3, 3, 2, 2)


def test_ten_retries_of_one_idempotency_key_make_one_referral(session, database_url):
    service_id, workers = prepare(session, clients=1)
    token, code = workers[0]
    with live_server(database_url) as base:

        def retry(_):
            return request(
                base,
                "POST",
                "/api/v1/referrals",
                {"service_id": service_id, "participant_code": code, "action": "claim"},
                {"Authorization": f"Bearer {token}", "Idempotency-Key": "bad-signal-42"},
            )

        results = run_at_once(10, retry)
    assert [status for status, _ in results] == [201] * 10, results
    assert len({body["id"] for _, body in results}) == 1
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Referral)) == 1
    row = session.scalar(select(ServiceCapacity).where(ServiceCapacity.service_id == service_id))
    assert row.held_lead + row.held_general == 1
