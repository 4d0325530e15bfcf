"""Fast on a weak signal (issue 25), over HTTP: gzip, assets by content hash, cache headers, the list before
the map, the worker's own URLs, and Clear-Site-Data at sign-out."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import struct
from datetime import timedelta
from pathlib import Path

from tests.conftest import FIXED_NOW
from tests.factories import make_participant, make_service, make_user, sign_in

STATIC = Path(__file__).resolve().parents[2] / "static"
YEAR = "public, max-age=31536000, immutable"


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def a_search(session, **capacity):
    service = make_service(
        session,
        name="Harbor Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": FIXED_NOW, **capacity},
    )
    session.commit()
    return service


def test_pages_and_json_are_gzipped_when_the_client_takes_it(client, session):
    a_search(session)
    plain = client.get("/search?near=98104")
    packed = client.get("/search?near=98104", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    unpacked = gzip.decompress(packed.data).decode()

    # The same page (the nonce differs per response), and the wire carries under a third of it.
    def listed(page: str) -> str:
        return page.split('id="result-list"', 1)[1].split("</ol>", 1)[0]

    assert "Harbor Beds" in listed(unpacked) and listed(unpacked) == listed(plain.get_data(as_text=True))
    assert len(packed.data) * 3 < len(plain.data)
    api = client.get("/api/v1/services?near=98104", headers={"Accept-Encoding": "gzip"})
    assert api.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(api.data))["items"][0]["name"] == "Harbor Beds"


def test_small_and_binary_answers_are_not_compressed(client):
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers and small.get_json() == {"status": "ok"}
    icon = client.get("/icons/icon-192.png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in icon.headers and icon.data.startswith(b"\x89PNG")


def test_pages_name_assets_by_content_hash_cached_for_a_year(client, session):
    a_search(session)
    page = client.get("/search?near=98104").get_data(as_text=True)
    for name in ("js/offline.js", "js/search.js", "js/lazymap.js"):
        url = f"/static/{name[:-3]}.{content_hash(STATIC / name)}.js"
        assert url in page, name
        answer = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == YEAR
        assert answer.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(answer.data) == (STATIC / name).read_bytes()
        assert answer.content_type.startswith("text/javascript")
        # Asked again with its ETag: 304, nothing sent.
        again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    markers = re.search(r"data-map-scripts='([^']*)'", page).group(1)
    for url in json.loads(markers.replace("&#34;", '"')):
        vendor = client.get(url)
        assert vendor.status_code == 200 and vendor.headers["Cache-Control"] == YEAR, url


def test_unfingerprinted_or_outdated_names_still_work_with_a_short_cache(client):
    body = (STATIC / "css" / "app.css").read_bytes()
    for url in ("/static/css/app.css", "/static/css/app.0000000000.css"):
        answer = client.get(url)
        assert answer.status_code == 200 and answer.data == body, url
        assert answer.headers["Cache-Control"] == "public, max-age=300", url
    for bad in (
        "/static/css/nothing.css",
        "/static/../directory/config.py",
        "/static/css/app.zzzzzzzzzz.css",
    ):
        assert client.get(bad).status_code == 404, bad


def test_the_list_renders_from_the_html_alone(client, session):
    a_search(session)
    answer = client.get("/search?near=98104")
    page = answer.get_data(as_text=True)
    head, body = page.split("</head>", 1)
    # Styles inline under the response's nonce (the CSP allows inline styles for Leaflet's positioning;
    # the nonce is there for a stricter policy later); no stylesheet request and no blocking script first.
    nonce = re.search(r"'nonce-([^']+)'", answer.headers["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in head and ".result-list" in head
    assert 'rel="stylesheet"' not in head
    for tag in re.findall(r"<script[^>]*\bsrc=[^>]*>", page):
        assert " defer" in tag, tag
    before_list = body.split('id="result-list"', 1)[0]
    assert "leaflet" not in before_list.lower()
    # Leaflet is no script tag of the page: lazymap.js loads it (on a phone, when the map is opened).
    assert not re.search(r"<script[^>]*src=\"[^\"]*leaflet", page)
    assert 'type="text/x-map-init"' in page and "L.map(" in page


def test_a_result_carries_when_its_numbers_stop_being_fresh(client, session, app):
    service = a_search(session)
    page = client.get("/search?near=98104").get_data(as_text=True)
    item = re.search(rf'<li class="result" id="result-{service.id}"[^>]*>', page).group(0)
    window = app.config["SITE"].freshness_hours["bed"]
    until = (FIXED_NOW + timedelta(hours=window)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 'data-confirmed-at="2026-11-24T18:00:00Z"' in item and f'data-fresh-until="{until}"' in item
    service_page = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert f'data-fresh-until="{until}"' in service_page


def test_public_pages_are_marked_public_and_staff_answers_are_never_stored(client, session):
    service = a_search(session)
    cm = make_user(session, "case_manager")
    participant = make_participant(session, cm)
    session.commit()
    for url in ("/search?near=98104", f"/services/{service.id}", "/offline"):
        answer = client.get(url)
        assert answer.headers["X-Directory-Public"] == "1", url
        assert "no-store" not in answer.headers["Cache-Control"] and "X-Signed-In" not in answer.headers
    assert "X-Directory-Public" not in client.get("/transparency").headers
    assert "X-Directory-Public" not in client.get("/search?near=nowhere-at-all-xyz").headers  # a 400
    sign_in(client, cm)
    for url in ("/search?near=98104", f"/services/{service.id}", f"/participants/{participant.code}"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert "X-Directory-Public" not in answer.headers, url
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Signed-In"] == "1", url


def test_sign_out_clears_the_sites_caches_and_storage(client, session):
    cm = make_user(session, "case_manager")
    session.commit()
    sign_in(client, cm)
    answer = client.post("/logout")
    assert answer.status_code == 302
    assert answer.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get("/search").headers


def test_the_worker_is_served_at_the_root_uncached_with_the_shell_written_in(client):
    answer = client.get("/sw.js")
    assert answer.status_code == 200 and answer.content_type.startswith("text/javascript")
    assert (
        "no-store" in answer.headers["Cache-Control"] and "immutable" not in answer.headers["Cache-Control"]
    )
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    source = answer.get_data(as_text=True)
    shell = json.loads(re.search(r"self\.SHELL = (\[.*?\]);", source).group(1))
    assert "/offline" in shell and "/manifest.webmanifest" in shell
    assert f"/static/js/offline.{content_hash(STATIC / 'js' / 'offline.js')}.js" in shell
    # Nothing of a staff page or the API in the shell; every entry answers.
    assert not [u for u in shell if u.startswith(("/participants", "/provider", "/pm", "/referrals", "/api"))]
    for url in shell:
        assert client.get(url).status_code == 200, url
    assert source.endswith((STATIC / "js" / "sw.js").read_text())


def test_the_manifest_and_icons_are_the_projects_own(client, app):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.content_type == "application/manifest+json"
    data = json.loads(manifest.data)
    assert data["name"] == app.config["SITE"].name and data["start_url"] == "/search"
    assert data["display"] == "standalone"
    sizes = set()
    for icon in data["icons"]:
        answer = client.get(icon["src"])
        assert answer.status_code == 200, icon
        if icon["type"] == "image/png":
            assert answer.data[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", answer.data[16:24])
            assert f"{width}x{height}" == icon["sizes"]
            sizes.add(width)
        else:
            assert b"<svg" in answer.data
    assert sizes == {192, 512}
    assert client.get("/icons/icon-100.png").status_code == 404
    page = client.get("/search").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
