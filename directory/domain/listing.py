"""Keeping the keyword index in step with listings: every flush re-indexes the services it touched."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.orm import Session

from ..models import Organization, Service, ServiceSearchTerm
from .text import words

MAX_DESCRIPTION_WORDS = 60


def service_words(
    name: str | None, alternate_name: str | None, description: str | None, org: str | None
) -> set[str]:
    """The indexed words of a listing: its names, its organization's name, its description's start."""
    found = set(words(name)) | set(words(alternate_name)) | set(words(org))
    found.update(words(description)[:MAX_DESCRIPTION_WORDS])
    return found


def reindex_services(session: Session, service_ids: Iterable[int]) -> int:
    """Rebuild the keyword index of these services from the database. Returns rows written."""
    ids = sorted(set(service_ids))
    written = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        connection = session.connection()
        connection.execute(delete(ServiceSearchTerm).where(ServiceSearchTerm.service_id.in_(chunk)))
        rows = connection.execute(
            select(Service.id, Service.name, Service.alternate_name, Service.description, Organization.name)
            .join(Organization, Organization.id == Service.organization_id)
            .where(Service.id.in_(chunk))
        )
        batch = [
            {"term": term, "service_id": sid}
            for sid, name, alt, description, org in rows
            for term in service_words(name, alt, description, org)
        ]
        if batch:
            connection.execute(insert(ServiceSearchTerm), batch)
            written += len(batch)
    return written


TEXT_ATTRIBUTES = {Service: ("name", "alternate_name", "description"), Organization: ("name",)}


def _text_changed(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in TEXT_ATTRIBUTES[type(obj)])


def _before_flush(session: Session, _context, _instances) -> None:
    touched = [obj for obj in session.new if isinstance(obj, Service | Organization)]
    touched += [
        obj for obj in session.dirty if isinstance(obj, Service | Organization) and _text_changed(obj)
    ]
    if touched:
        session.info.setdefault("reindex_objects", []).extend(touched)


def _after_flush_postexec(session: Session, _context) -> None:
    objects = session.info.pop("reindex_objects", [])
    ids = {obj.id for obj in objects if isinstance(obj, Service) and obj.id is not None}
    org_ids = [obj.id for obj in objects if isinstance(obj, Organization) and obj.id is not None]
    if org_ids:
        ids.update(
            session.connection().scalars(select(Service.id).where(Service.organization_id.in_(org_ids))).all()
        )
    if ids:
        reindex_services(session, ids)


def install(session_target) -> None:
    """Listen on a session class, sessionmaker or scoped session (once)."""
    if not event.contains(session_target, "before_flush", _before_flush):
        event.listen(session_target, "before_flush", _before_flush)
        event.listen(session_target, "after_flush_postexec", _after_flush_postexec)
