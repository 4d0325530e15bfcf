"""Authorization as a matrix: every route and API endpoint x every role and anonymous, with its status.

Each case builds its own small world (two organizations, accounts of every role, a participant, a held
referral, a reminder link), so state-changing cases do not depend on each other.
"""

from datetime import timedelta

import pytest

from directory.links import make_confirm_token
from directory.models import ConfirmLink, ReleaseOfInformation
from tests.conftest import FIXED_NOW, SECRET
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_token, make_user, sign_in

ROLES = (
    "anonymous",
    "case_manager",
    "peer_outreach",
    "provider",
    "provider_other",
    "project_manager",
    "admin",
)


def build(session):
    capacity = {"maximum": 5, "available": 3, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)}
    mine = make_service(session, capacity=capacity, **LOW_BARRIER)
    theirs = make_service(session, capacity=capacity, **LOW_BARRIER)
    users = {
        "case_manager": make_user(session, "case_manager"),
        "peer_outreach": make_user(session, "peer_outreach"),
        "provider": make_user(session, "provider", organization=mine.organization, org_admin=True),
        "provider_other": make_user(session, "provider", organization=theirs.organization),
        "project_manager": make_user(session, "project_manager"),
        "admin": make_user(session, "admin"),
    }
    other_cm = make_user(session, "case_manager")
    participant = make_participant(session, users["case_manager"], code=None)
    from flask import current_app

    from directory.domain.access import Actor
    from directory.domain.referrals import ReferralRequest, create_referral

    referral = create_referral(
        session,
        Actor.of(users["case_manager"]),
        mine,
        participant,
        ReferralRequest("claim"),
        FIXED_NOW,
        current_app.config["SITE"],
    )
    link = ConfirmLink(
        service_id=mine.id,
        nonce=f"n{mine.id}",
        reminder_key=f"k{mine.id}",
        created_at=FIXED_NOW,
        expires_at=FIXED_NOW + timedelta(days=1),
    )
    session.add(link)
    tokens = {role: make_token(session, user) for role, user in users.items()}
    release = ReleaseOfInformation(
        participant_id=participant.id,
        organization_id=mine.organization_id,
        purpose="referral_outcome",
        signed_on=FIXED_NOW.date() - timedelta(days=5),
        expires_on=FIXED_NOW.date() + timedelta(days=300),
        recorded_by=users["case_manager"].id,
    )
    session.add(release)
    session.commit()
    return {
        "ROI": release.id,
        "S": mine.id,
        "T": theirs.id,
        "ORG": mine.organization_id,
        "R": referral.id,
        "P": participant.code,
        "CM2": other_cm.id,
        "LINK": make_confirm_token(SECRET, f"n{mine.id}"),
        "users": users,
        "tokens": tokens,
    }


def expect(anonymous, case_manager, peer_outreach, provider, provider_other, project_manager, admin):
    return dict(
        zip(
            ROLES,
            (anonymous, case_manager, peer_outreach, provider, provider_other, project_manager, admin),
            strict=True,
        )
    )


ALL_200 = expect(200, 200, 200, 200, 200, 200, 200)
PAGE = "page"
API = "api"

# (endpoint, method, url, form/json body, expected by role)
CASES = [
    ("public.index", "GET", "/", None, expect(302, 302, 302, 302, 302, 302, 302)),
    ("public.search", "GET", "/search?q=test", None, ALL_200),
    ("public.service_page", "GET", "/services/{S}", None, ALL_200),
    ("public.healthz", "GET", "/healthz", None, ALL_200),
    ("assets.service_worker", "GET", "/sw.js", None, ALL_200),
    ("assets.manifest", "GET", "/manifest.webmanifest", None, ALL_200),
    ("assets.icon", "GET", "/icons/icon-192.png", None, ALL_200),
    ("assets.offline", "GET", "/offline", None, ALL_200),
    ("auth.login", "GET", "/login", None, ALL_200),
    ("auth.logout", "POST", "/logout", {}, expect(302, 302, 302, 302, 302, 302, 302)),
    ("auth.notifications", "GET", "/notifications", None, expect(302, 200, 200, 200, 200, 200, 200)),
    ("auth.account", "GET", "/account", None, expect(302, 200, 200, 200, 200, 200, 200)),
    (
        "auth.change_password",
        "POST",
        "/account/password",
        {
            "current_password": "not it",
            "new_password": "a new long one!",
            "confirm_password": "a new long one!",
        },
        expect(302, 400, 400, 400, 400, 400, 400),
    ),
    # Every signed-in account keeps its own language (a language without a catalog: 400, nothing kept).
    (
        "auth.account_language",
        "POST",
        "/account/language",
        {"lang": "xx"},
        expect(302, 400, 400, 400, 400, 400, 400),
    ),
    (
        "auth.sign_out_everywhere",
        "POST",
        "/account/sign-out-everywhere",
        {},
        expect(302, 302, 302, 302, 302, 302, 302),
    ),
    ("auth.admin_accounts", "GET", "/admin/accounts", None, expect(302, 403, 403, 403, 403, 403, 200)),
    (
        "auth.admin_sign_out",
        "POST",
        "/admin/accounts/{CM2}/sign-out-everywhere",
        {},
        expect(302, 403, 403, 403, 403, 403, 302),
    ),
    (
        "auth.admin_set_active",
        "POST",
        "/admin/accounts/{CM2}/active",
        {"active": "0"},
        expect(302, 403, 403, 403, 403, 403, 302),
    ),
    ("auth.notifications_read", "POST", "/notifications/read", {}, expect(302, 302, 302, 302, 302, 302, 302)),
    ("provider.dashboard", "GET", "/provider?org={ORG}", None, expect(302, 403, 403, 200, 200, 403, 200)),
    (
        "provider.confirm",
        "POST",
        "/provider/services/{S}/confirm?org={ORG}",
        {},
        expect(302, 403, 403, 302, 403, 403, 302),
    ),
    (
        "provider.confirm_all",
        "POST",
        "/provider/confirm-all?org={ORG}",
        {},
        expect(302, 403, 403, 302, 302, 403, 302),
    ),
    ("provider.edit", "GET", "/provider/services/{S}", None, expect(302, 403, 403, 200, 403, 403, 200)),
    (
        "provider.edit",
        "POST",
        "/provider/services/{S}",
        {"available": "2", "maximum": "5", "waitlist": "0"},
        expect(302, 403, 403, 302, 403, 403, 302),
    ),
    (
        "provider.details",
        "GET",
        "/provider/services/{S}/details",
        None,
        expect(302, 403, 403, 200, 403, 403, 200),
    ),
    (
        "provider.details",
        "POST",
        "/provider/services/{S}/details",
        {"alert": "Use the side door"},
        expect(302, 403, 403, 302, 403, 403, 302),
    ),
    (  # no conflict is open on the service: its own provider (and an admin) get a 404
        "provider.keep_feed",
        "POST",
        "/provider/services/{S}/conflicts/phone/keep-feed",
        {},
        expect(302, 403, 403, 404, 403, 403, 404),
    ),
    (
        "provider.upload",
        "GET",
        "/provider/upload?org={ORG}",
        None,
        expect(302, 403, 403, 200, 200, 403, 200),
    ),
    (  # a preview: another organization's provider sees the row refused (200), nothing changes
        "provider.upload",
        "POST",
        "/provider/upload?org={ORG}",
        {"step": "preview", "csv_text": "service_id,available\n{S},1\n"},
        expect(302, 403, 403, 200, 200, 403, 200),
    ),
    (
        "provider.nobody_waiting",
        "POST",
        "/provider/services/{S}/nobody-waiting?org={ORG}",
        {},
        expect(302, 403, 403, 302, 403, 403, 302),
    ),
    (
        "provider.history",
        "GET",
        "/provider/services/{S}/history.csv",
        None,
        expect(302, 403, 403, 200, 403, 200, 200),
    ),
    (
        "provider.inbox",
        "GET",
        "/provider/referrals?org={ORG}",
        None,
        expect(302, 403, 403, 200, 200, 403, 200),
    ),
    (
        "provider.inbox_item",
        "GET",
        "/provider/referrals/{R}",
        None,
        expect(302, 403, 403, 200, 403, 403, 200),
    ),
    (
        "provider.decide",
        "POST",
        "/provider/referrals/{R}/decline",
        {"reason": "did_not_arrive"},
        expect(302, 403, 403, 302, 403, 403, 302),
    ),
    (
        "provider.part2",
        "POST",
        "/provider/services/{S}/part2?org={ORG}",
        {"part2_program": "1"},
        expect(302, 403, 403, 302, 403, 403, 302),
    ),
    ("provider.staff", "GET", "/provider/staff?org={ORG}", None, expect(302, 403, 403, 200, 403, 403, 200)),
    ("provider.confirm_link", "GET", "/confirm/{LINK}", None, ALL_200),
    ("provider.confirm_link_post", "POST", "/confirm/{LINK}", {}, ALL_200),
    ("referrals.participants", "GET", "/participants", None, expect(302, 200, 403, 403, 403, 403, 200)),
    (
        "referrals.new_participant",
        "POST",
        "/participants",
        {"place": "98104"},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    ("referrals.plan", "GET", "/participants/{P}", None, expect(302, 200, 403, 403, 403, 403, 200)),
    (
        "referrals.new_goal",
        "POST",
        "/participants/{P}/goals",
        {"domain": "housing", "text": "Somewhere warm"},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.find_services",
        "POST",
        "/participants/{P}/find",
        {"goal_id": ""},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.stop_carrying",
        "POST",
        "/search/stop-carrying",
        {},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.new_release",
        "POST",
        "/participants/{P}/releases",
        {
            "organization_id": "{ORG}",
            "purpose": "referral_outcome",
            "signed_on": "2026-11-01",
            "expires_on": "2027-11-01",
        },
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.revoke_release",
        "POST",
        "/participants/{P}/releases/{ROI}/revoke",
        {},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.legal_hold",
        "POST",
        "/participants/{P}/legal-hold",
        {"hold": "place"},
        expect(302, 403, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.transfer_participant",
        "POST",
        "/participants/{P}/transfer",
        {"case_manager_id": "{CM2}"},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    (
        "referrals.check_page",
        "GET",
        "/referrals/check?service_id={S}",
        None,
        expect(302, 200, 200, 403, 403, 403, 200),
    ),
    (
        "referrals.check_page",
        "POST",
        "/referrals/check",
        {"service_id": "{S}", "participant": "{P}"},
        expect(302, 200, 200, 403, 403, 403, 200),
    ),
    (
        "referrals.refer",
        "POST",
        "/referrals",
        {"service_id": "{S}", "participant": "{P}", "action": "claim"},
        expect(302, 302, 403, 403, 403, 403, 302),
    ),
    ("referrals.referral_page", "GET", "/referrals/{R}", None, expect(302, 200, 403, 200, 403, 200, 200)),
    (
        "referrals.report",
        "POST",
        "/services/{S}/reports",
        {"observed": "full"},
        expect(302, 302, 302, 403, 403, 403, 302),
    ),
    ("referrals.cancel", "POST", "/referrals/{R}/cancel", {}, expect(302, 302, 403, 403, 403, 403, 302)),
    ("referrals.slip", "GET", "/referrals/{R}/slip", None, expect(302, 200, 403, 403, 403, 200, 200)),
    (
        "access_log.participant_reads",
        "GET",
        "/pm/participant-reads?code={P}",
        None,
        expect(302, 403, 403, 403, 403, 200, 200),
    ),
    ("pm.freshness", "GET", "/pm/freshness", None, expect(302, 403, 403, 403, 403, 200, 200)),
    ("pm.dashboard", "GET", "/pm", None, expect(302, 403, 403, 403, 403, 200, 200)),
    ("pm.report", "GET", "/pm/report", None, expect(302, 403, 403, 403, 403, 200, 200)),
    (
        "pm.export_referrals",
        "GET",
        "/pm/export/referrals.csv",
        None,
        expect(302, 403, 403, 403, 403, 200, 200),
    ),
    (
        "pm.export_capacity_history",
        "GET",
        "/pm/export/capacity-history.csv",
        None,
        expect(302, 403, 403, 403, 403, 200, 200),
    ),
    ("pm.export_table", "GET", "/pm/export/weekly.csv", None, expect(302, 403, 403, 403, 403, 200, 200)),
    (
        "pm.export_avoidable",
        "GET",
        "/pm/export/avoidable.csv",
        None,
        expect(302, 403, 403, 403, 403, 200, 200),
    ),
    ("pm.partner_report", "GET", "/pm/partner-report", None, expect(302, 403, 403, 403, 403, 200, 200)),
    # No baseline for that service: allowed roles get past the door and find nothing.
    (
        "pm.note_baseline",
        "POST",
        "/pm/baselines/{S}/note",
        {"note": "ok"},
        expect(302, 403, 403, 403, 403, 404, 404),
    ),
    ("pm.verify_now", "POST", "/pm/verify-audit", {}, expect(302, 403, 403, 403, 403, 303, 303)),
    ("pm.transparency", "GET", "/transparency", None, ALL_200),
    ("pm.transparency_json", "GET", "/api/v1/transparency", None, ALL_200),
    ("api.list_services", "GET", "/api/v1/services", None, ALL_200),
    ("api.get_service", "GET", "/api/v1/services/{S}", None, ALL_200),
    ("api.taxonomy", "GET", "/api/v1/taxonomy", None, ALL_200),
    ("api.openapi", "GET", "/api/v1/openapi.json", None, ALL_200),
    (
        "api.put_capacity",
        "PUT",
        "/api/v1/services/{S}/capacity",
        {"available": 2},
        expect(401, 403, 403, 200, 403, 403, 200),
    ),
    (
        "api.confirm_capacity",
        "POST",
        "/api/v1/services/{S}/capacity/confirm",
        {},
        expect(401, 403, 403, 200, 403, 403, 200),
    ),
    ("api.create_participant", "POST", "/api/v1/participants", {}, expect(401, 201, 403, 403, 403, 403, 201)),
    (
        "api.get_participant",
        "GET",
        "/api/v1/participants/{P}",
        None,
        expect(401, 200, 403, 403, 403, 403, 200),
    ),
    (
        "api.add_goal",
        "POST",
        "/api/v1/participants/{P}/goals",
        {"domain": "food", "text": "Hot meals"},
        expect(401, 201, 403, 403, 403, 403, 201),
    ),
    (
        "api.list_releases",
        "GET",
        "/api/v1/participants/{P}/releases",
        None,
        expect(401, 200, 403, 403, 403, 403, 200),
    ),
    (
        "api.record_release",
        "POST",
        "/api/v1/participants/{P}/releases",
        {
            "organization_id": "{ORG}",
            "purpose": "referral_outcome",
            "signed_on": "2026-11-01",
            "expires_on": "2027-11-01",
        },
        expect(401, 201, 403, 403, 403, 403, 201),
    ),
    (
        "api.revoke_release",
        "POST",
        "/api/v1/participants/{P}/releases/{ROI}/revoke",
        None,
        expect(401, 200, 403, 403, 403, 403, 200),
    ),
    (
        "api.referral_check",
        "POST",
        "/api/v1/referrals/check",
        {"service_id": "{S}", "participant_code": "{P}"},
        expect(401, 200, 200, 403, 403, 403, 200),
    ),
    (
        "api.create_referral",
        "POST",
        "/api/v1/referrals",
        {"service_id": "{S}", "participant_code": "{P}", "action": "claim"},
        expect(401, 201, 403, 403, 403, 403, 201),
    ),
    (
        "api.report_capacity",
        "POST",
        "/api/v1/services/{S}/capacity/reports",
        {"observed": "full"},
        expect(401, 201, 201, 403, 403, 403, 201),
    ),
    ("api.get_referral", "GET", "/api/v1/referrals/{R}", None, expect(401, 200, 403, 200, 403, 200, 200)),
    (
        "api.accept_referral",
        "POST",
        "/api/v1/referrals/{R}/accept",
        {},
        expect(401, 403, 403, 200, 403, 403, 200),
    ),
    (
        "api.decline_referral",
        "POST",
        "/api/v1/referrals/{R}/decline",
        {"reason": "did_not_arrive"},
        expect(401, 403, 403, 200, 403, 403, 200),
    ),
    (
        "api.cancel_referral",
        "POST",
        "/api/v1/referrals/{R}/cancel",
        {},
        expect(401, 200, 403, 403, 403, 403, 200),
    ),
]


def fill(value, world):
    if isinstance(value, str):
        return value.format(**{k: v for k, v in world.items() if not isinstance(v, dict)})
    if isinstance(value, dict):
        return {
            k: (int(fill(v, world)) if k == "service_id" and "api" else fill(v, world))
            for k, v in value.items()
        }
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("endpoint", "method", "url", "body", "expected"), CASES, ids=[f"{c[1]} {c[2]}" for c in CASES]
)
def test_matrix(app, session, role, endpoint, method, url, body, expected):
    world = build(session)
    client = app.test_client()
    headers = {}
    is_api = url.startswith("/api/")
    if role != "anonymous":
        if is_api:
            headers["Authorization"] = f"Bearer {world['tokens'][role]}"
        else:
            sign_in(client, world["users"][role].id)
    target = fill(url, world)
    payload = None if body is None else fill(body, world)
    for number in ("service_id", "organization_id"):  # JSON numbers in the API
        if is_api and payload is not None and number in payload:
            payload[number] = int(payload[number])
    if is_api:
        response = client.open(target, method=method, json=payload, headers=headers)
    else:
        response = client.open(target, method=method, data=payload, headers=headers)
    started = app.extensions.pop("verify_now_thread", None)  # "Verify now" runs in a thread: let it end
    if started is not None:
        started.join()
    assert response.status_code == expected[role], (
        role,
        method,
        target,
        response.get_data(as_text=True)[:300],
    )
    if is_api and response.status_code >= 400:
        assert response.is_json


def test_every_route_is_in_the_matrix(app):
    covered = {endpoint for endpoint, *_ in CASES}
    ours = {"public", "auth", "provider", "referrals", "pm", "api", "access_log", "assets"}
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in ours}
    assert routes - covered == set()


def test_a_provider_never_sees_another_organizations_data(client, session):
    world = build(session)
    other = world["tokens"]["provider_other"]
    headers = {"Authorization": f"Bearer {other}"}
    assert (
        client.put(
            f"/api/v1/services/{world['S']}/capacity", json={"available": 1}, headers=headers
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/referrals/{world['R']}", headers=headers).status_code == 403
    assert client.post(f"/api/v1/referrals/{world['R']}/accept", headers=headers).status_code == 403
