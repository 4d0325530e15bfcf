"""Screenshots of the search page, a service page and a referral slip in every language the interface has.

`python -m bench screenshots [--out DIR]` (not part of `make bench` nor of the smoke in `make test`: it
measures nothing, it shows). On a copy of the demo site (150 services, seed 11) it makes one referral for
the demo case manager's first participant, serves the app with MAP_TILES=none, and with headless Chromium
(a 390x844 phone) writes <out>/search-<lang>.png, service-<lang>.png and slip-<lang>.png for each language of
directory.i18n.available_languages() (out: bench/results/i18n). The reader's language is the `lang` cookie
the language switch sets; the slip is asked for in that language (?lang=), and a language without a
reviewed slip catalog prints the slip's own notice and falls back, as it would for a case manager.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from .common import RESULTS, SECRET, seeded_sqlite
from .map import CHROMIUM, launch_chromium
from .server import live_server

OUT = RESULTS / "i18n"
PHONE = {"width": 390, "height": 844}
SERVICES = 150
CASE_MANAGER = "cm@demo.lead"
# The search shown: a language with the "Who speaks it" control beside it, near downtown Seattle.
SEARCH = "/search?near=98104&language=es&language_access=any&per_page=5"


def prepare(database: Path) -> tuple[int, int]:
    """On this copy of the demo: a referral by the demo case manager for their first participant to a
    service with a language offered through an interpreter (the service page shows it). Returns
    (service id, referral id)."""
    from sqlalchemy import select

    from directory import create_app
    from directory.domain.access import Actor
    from directory.domain.referrals import ReferralRequest, check, create_referral
    from directory.extensions import db
    from directory.models import Language, Participant, Service, User
    from directory.types import utcnow

    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": SECRET, "SCHEDULER": "off"})
    with app.app_context():
        session = db.session
        user = session.scalar(select(User).where(User.email == CASE_MANAGER))
        participant = session.scalar(
            select(Participant).where(Participant.case_manager_id == user.id).order_by(Participant.id)
        )
        interpreted = select(Language.service_id).where(Language.access == "interpreter")
        candidates = session.scalars(
            select(Service)
            .where(Service.status == "active", Service.id.in_(interpreted), Service.part2_program.is_(False))
            .order_by(Service.id)
        ).all()
        actor, now, site = Actor.of(user), utcnow(), app.config["SITE"]
        for service in candidates:
            result = check(session, actor, service, participant, now, site, record=False)
            if result.actions and not result.same_level_holds:
                referral = create_referral(
                    session, actor, service, participant, ReferralRequest(result.actions[0]), now, site
                )
                session.commit()
                ids = service.id, referral.id
                break
        else:
            raise RuntimeError("no demo service with an interpreter language takes a referral now")
        session.remove()
        db.engine.dispose()
    return ids


def shoot(base: str, out: Path, service_id: int, referral_id: int, languages: tuple[str, ...]) -> list[Path]:
    """Each page in each language, as a phone shows it (the whole page)."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for lang in languages:
                context = browser.new_context(viewport=PHONE, device_scale_factor=1)
                context.add_cookies([{"name": "lang", "value": lang, "url": base}])
                page = context.new_page()
                page.goto(base + SEARCH, wait_until="networkidle")
                # On a phone the form folds above the results: unfold it, so the language control shows.
                edit = page.locator("button.edit-search")
                if edit.count() and edit.first.is_visible():
                    edit.first.click()
                written.append(_save(page, out / f"search-{lang}.png"))
                page.goto(f"{base}/services/{service_id}", wait_until="networkidle")
                written.append(_save(page, out / f"service-{lang}.png"))
                page.goto(f"{base}/login", wait_until="networkidle")
                page.fill("#email", CASE_MANAGER)
                page.fill("#password", _demo_password())
                # The login form's own button (the header's language switch is a form too).
                page.locator("#password").press("Enter")
                page.wait_for_load_state("networkidle")
                page.goto(f"{base}/referrals/{referral_id}/slip?lang={lang}", wait_until="networkidle")
                written.append(_save(page, out / f"slip-{lang}.png"))
                context.close()
        finally:
            browser.close()
    return written


def _save(page, path: Path) -> Path:
    if page.url.endswith("/login") or "/login?" in page.url:
        raise RuntimeError(f"signed out when taking {path.name}: {page.url}")
    page.screenshot(path=str(path), full_page=True)
    return path


def _demo_password() -> str:
    from directory.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


def main(argv: list[str]) -> int:
    """Write the screenshots; 0 when every one was written."""
    parser = argparse.ArgumentParser(prog="python -m bench screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs (default {OUT})")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: `make browser-deps` installs it")
    from directory.i18n import available_languages

    languages = available_languages()
    seeded = seeded_sqlite(SERVICES, "metro")
    with tempfile.TemporaryDirectory(prefix="lead-screenshots-") as folder:
        database = Path(folder) / "demo.sqlite3"
        shutil.copyfile(seeded, database)  # the cached demo stays as it was
        service_id, referral_id = prepare(database)
        args.out.mkdir(parents=True, exist_ok=True)
        with live_server(f"sqlite:///{database}", {"MAP_TILES": "none"}) as base:
            written = shoot(base, args.out, service_id, referral_id, languages)
    for path in written:
        print(f"  {path}")
    print(f"screenshots: {len(written)} pages in {', '.join(languages)}; in {args.out}")
    return 0
