"""Scheduled imports: the sources a site configures (`IMPORT_SOURCES` in instance/config.py) run when due,
through the job mechanism of directory/jobs.py (one lease per job, so no import runs twice at once).

    IMPORT_SOURCES = [
        {"name": "king211", "source": "hsds", "location": "/srv/feeds/king211", "every_hours": 24},
        {"name": "harbor-beds", "source": "html", "location": "https://example.org/beds",
         "mapping": "/srv/feeds/harbor.yaml", "every_hours": 1},
        {"name": "samhsa", "source": "samhsa", "location": "/srv/feeds/samhsa.csv", "swap_coordinates": "no"},
    ]

Every run is an import run (time, counts, problems); a failed one leaves the directory as it was and makes
the job fail, which is what the dashboard's job status shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scrapers.registry import IMPORTERS, parse_source

from ..models import ImportRun
from .imports import run_import


def configured(config: dict) -> list[dict]:
    """The site's import sources, checked."""
    sources = []
    for item in config.get("IMPORT_SOURCES") or []:
        if item.get("source") not in IMPORTERS or not item.get("location"):
            raise ValueError(f"IMPORT_SOURCES entry {item!r} needs a known source and a location")
        sources.append({"every_hours": 24, "name": item["source"], **item})
    return sources


def last_run(session: Session, name: str) -> ImportRun | None:
    """The latest real (not dry) run of a source."""
    return session.scalars(
        select(ImportRun)
        .where(ImportRun.source == name, ImportRun.dry_run.is_(False))
        .order_by(ImportRun.started_at.desc(), ImportRun.id.desc())
    ).first()


def import_status(session: Session, config: dict) -> list[dict]:
    """Per configured source: the last run's time, status, counts and problems (for admins and the PM)."""
    rows = []
    for item in configured(config):
        run = last_run(session, item["name"])
        rows.append(
            {
                "name": item["name"],
                "source": item["source"],
                "last_run": None
                if run is None
                else {
                    "started_at": run.started_at,
                    "status": run.status,
                    "added": run.added,
                    "changed": run.changed,
                    "deactivated": run.deactivated,
                    "repaired": run.repaired,
                    "rejected": run.rejected,
                    "error": run.error,
                },
            }
        )
    return rows


def run_due_imports(session: Session, now: datetime, config: dict) -> str:
    """Run every configured source whose interval has passed since its last run; raise if any failed."""
    done, failed = [], []
    allow = getattr(config.get("SITE"), "fetch_allow", ())  # origins a URL fetch may reach (site file)
    switch_off = getattr(config.get("SITE"), "missing_services", "flag") == "switch_off"
    for item in configured(config):
        run = last_run(session, item["name"])
        if run is not None and run.started_at > now - timedelta(hours=float(item["every_hours"])):
            continue
        session.commit()  # the job's own transaction holds nothing yet; each import owns its transaction
        try:
            result, _ = run_import(
                session,
                item["name"],
                item["location"],
                lambda item=item: parse_source(
                    item["source"],
                    item["location"],
                    item.get("mapping"),
                    allow,
                    swap_coordinates=item.get("swap_coordinates", "auto"),
                ),
                now,
                switch_off_missing=switch_off,
            )
            done.append(f"{item['name']}: +{result.added} ~{result.changed} -{result.deactivated}")
        except Exception as exc:  # noqa: BLE001 - one failing source must not stop the others
            failed.append(f"{item['name']}: {exc.__class__.__name__}: {exc}")
    if failed:
        raise RuntimeError(
            "import failed: " + "; ".join(failed) + (" | ok: " + "; ".join(done) if done else "")
        )
    return "; ".join(done) or "no import due"
