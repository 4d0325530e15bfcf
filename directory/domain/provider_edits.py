"""Providers' own edits survive imports: a provider's in-app edit of a service's hours, phone, eligibility or
alert is kept on re-import unless the source changed that field after the edit; then the feed's value is
taken and the conflict (both values) is listed for the provider, who keeps the feed's or edits again.

Each field is compared as one canonical text, the same whether read from the database or from an import
record, so "the source changed it" means the feed's value differs from the one it had when the provider
first edited the field (its digest is stored with the edit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scrapers.common import parse_phone
from scrapers.hours import hours_of

from ..database import writes
from ..models import EDITABLE_FIELDS, LANGUAGE_ACCESS, Phone, Schedule, Service, ServiceFieldEdit
from ..words import N_, Words
from . import audit
from .access import Actor, require_capacity_manager
from .errors import NotFound, ValidationError

LABELS = {
    "hours": N_("Hours"),
    "phone": N_("Phone"),
    "eligibility": N_("Who is eligible"),
    "alert": N_("Alert"),
}
TEXT_LIMIT = 2000  # eligibility and alert, as typed in the form
HOURS_LIMIT = 1000  # service.hours_text


def value_hash(text: str) -> str:
    """The digest of a field's canonical text."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _schedule_text(slots: Iterable, hours_text: str | None) -> str:
    """Hours as one text: the sorted openings, then the hours kept as written."""
    openings = sorted(f"{s.byday} {s.opens_at:%H:%M}-{s.closes_at:%H:%M}" for s in slots)
    return "; ".join(openings) + (f" | {hours_text[:HOURS_LIMIT]}" if hours_text else "")


def _phone_text(phones: Iterable) -> str:
    return "; ".join(
        p.number[:40] + (f" x{p.extension[:20]}" if p.extension else "") for p in phones if p.number
    )


def stored_values(service: Service) -> dict[str, str]:
    """The canonical text of each editable field of a stored service."""
    return {
        "hours": _schedule_text(service.schedules, service.hours_text),
        "phone": _phone_text(service.phones),
        "eligibility": service.eligibility_description or "",
        "alert": service.alert or "",
    }


def record_values(record) -> dict[str, str]:
    """The canonical text of each editable field of an import record (scrapers.records.ServiceRecord)."""
    return {
        "hours": _schedule_text(record.schedules, record.hours_text),
        "phone": _phone_text(record.phones),
        "eligibility": record.eligibility_description or "",
        "alert": record.alert or "",
    }


DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
ORDINAL_WORDS = {"1": "1st", "2": "2nd", "3": "3rd", "4": "4th", "5": "5th", "-1": "last"}


def form_values(service: Service) -> dict[str, str]:
    """The edit form's texts of a stored service: hours written out so the hours reader reads them back
    ("Monday 09:00-17:00; 1st Wednesday 18:00-20:00"), or as kept when they were never read."""
    slots = sorted(service.schedules, key=lambda s: (len(s.byday), s.byday[-2:], s.byday, s.opens_at))
    written = [
        f"{ORDINAL_WORDS.get(s.byday[:-2], '') + ' ' if len(s.byday) > 2 else ''}{DAY_NAMES[s.byday[-2:]]} "
        f"{s.opens_at:%H:%M}-{s.closes_at:%H:%M}"
        for s in slots
    ]
    hours = "; ".join(t for t in (*written, service.hours_text or "") if t)
    return {
        "hours": hours,
        "phone": "; ".join(
            p.number + (f" x{p.extension}" if p.extension else "") for p in service.phones if p.number
        ),
        "eligibility": service.eligibility_description or "",
        "alert": service.alert or "",
    }


def parse_details(form: Mapping[str, str]) -> dict:
    """The form's fields checked: phone a 10-digit US number (or blank), hours through the one hours reader,
    texts at most TEXT_LIMIT characters. Only the fields present are returned; ValidationError otherwise."""
    unknown = [name for name in form if name not in EDITABLE_FIELDS]
    if unknown:
        raise ValidationError(
            Words(
                N_("unknown field %(value)r; allowed: %(choices)s"),
                value=unknown[0],
                choices=", ".join(EDITABLE_FIELDS),
            ),
            None,
        )
    changes: dict = {}
    for name in EDITABLE_FIELDS:
        if name not in form:
            continue
        text = str(form[name] or "").strip()
        if name == "phone":
            phone, note = parse_phone(text) if text else (None, None)
            if text and phone is None:
                raise ValidationError(
                    Words(N_("%(value)s: give a 10-digit US number"), value=note or "not a phone number"),
                    "phone",
                )
            changes["phone"] = phone
        elif name == "hours":
            if len(text) > HOURS_LIMIT:
                raise ValidationError(
                    Words(N_("hours: at most %(hours_limit)s characters"), hours_limit=HOURS_LIMIT), "hours"
                )
            schedules, hours_text, _note = hours_of(text) if text else ((), None, None)
            changes["hours"] = (tuple(schedules), hours_text)
        else:
            if len(text) > TEXT_LIMIT:
                raise ValidationError(
                    Words(
                        N_("%(value)s: at most %(text_limit)s characters"),
                        value=LABELS[name].lower(),
                        text_limit=TEXT_LIMIT,
                    ),
                    name,
                )
            changes[name] = text or None
    if not changes:
        raise ValidationError(
            Words(N_("give at least one of %(choices)s"), choices=", ".join(EDITABLE_FIELDS)), None
        )
    return changes


def _apply(session: Session, service: Service, name: str, value) -> None:
    """Write one field's new value to the service."""
    if name == "phone":
        for phone in list(service.phones):
            session.delete(phone)
        service.phones.clear()
        if value is not None:
            service.phones.append(Phone(number=value.number, extension=value.extension, type=value.type))
    elif name == "hours":
        slots, hours_text = value
        for schedule in list(service.schedules):
            session.delete(schedule)
        service.schedules.clear()
        for slot in slots:
            service.schedules.append(
                Schedule(
                    freq="WEEKLY" if len(slot.byday) == 2 else "MONTHLY",
                    byday=slot.byday,
                    opens_at=slot.opens_at,
                    closes_at=slot.closes_at,
                )
            )
        service.hours_text = hours_text
    elif name == "eligibility":
        service.eligibility_description = value
    else:
        service.alert = value


@writes
def edit_details(session: Session, actor: Actor, service_id: int, changes: dict, now: datetime) -> list[str]:
    """Apply a provider's edits (parse_details' output) and record each changed field's provenance, so the
    next import keeps it. Returns the fields that changed; nothing is written on error."""
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound(Words(N_("no service %(service_id)s"), service_id=service_id))
    require_capacity_manager(actor, service.organization_id)
    before = stored_values(service)
    edits = {
        e.field: e
        for e in session.scalars(select(ServiceFieldEdit).where(ServiceFieldEdit.service_id == service_id))
    }
    for name, value in changes.items():
        _apply(session, service, name, value)
    session.flush()
    session.refresh(service, ["phones", "schedules"])
    after = stored_values(service)
    changed = [name for name in changes if after[name] != before[name]]
    for name in changed:
        edit = edits.get(name)
        if edit is None or edit.state == "replaced":
            # The value being replaced is the source's (never edited, or the feed's since the conflict).
            source_hash = value_hash(before[name]) if service.source else None
            if edit is None:
                edit = ServiceFieldEdit(service_id=service_id, field=name)
                session.add(edit)
            edit.source_value_hash = source_hash
        edit.edited_at, edit.edited_by, edit.state = now, actor.id, "kept"
        edit.provider_value = edit.source_value = edit.replaced_at = edit.replaced_by = None
    if changed:
        service.updated_at = now
        audit.append(
            session,
            actor.id,
            "service.details",
            "service",
            service_id,
            {n: {"before": before[n], "after": after[n]} for n in changed},
            now,
        )
        from .listing import reindex_services

        reindex_services(session, {service_id})
    session.flush()
    return changed


@writes
def keep_feed_value(session: Session, actor: Actor, service_id: int, field: str, now: datetime) -> None:
    """The provider accepts the feed's value of a field listed as a conflict: the conflict is closed and the
    field follows the feed again."""
    edit = session.scalar(
        select(ServiceFieldEdit).where(
            ServiceFieldEdit.service_id == service_id,
            ServiceFieldEdit.field == field,
            ServiceFieldEdit.state == "replaced",
        )
    )
    if edit is None:
        raise NotFound(Words(N_("no such conflict on this service")))
    require_capacity_manager(actor, edit.service.organization_id)
    session.delete(edit)
    audit.append(session, actor.id, "service.keep_feed_value", "service", service_id, {"field": field}, now)
    session.flush()


def conflicts(session: Session, organization_id: int) -> list[ServiceFieldEdit]:
    """An organization's edits a feed replaced (its list of conflicts), newest first."""
    return list(
        session.scalars(
            select(ServiceFieldEdit)
            .join(Service, Service.id == ServiceFieldEdit.service_id)
            .where(Service.organization_id == organization_id, ServiceFieldEdit.state == "replaced")
            .order_by(ServiceFieldEdit.replaced_at.desc(), ServiceFieldEdit.id)
        )
    )


def kept_edits(session: Session, service_ids: list[int]) -> dict[int, dict[str, ServiceFieldEdit]]:
    """The provider edits an import must respect, by service id and field."""
    found: dict[int, dict[str, ServiceFieldEdit]] = {}
    for start in range(0, len(service_ids), 500):
        part = service_ids[start : start + 500]
        for edit in session.scalars(
            select(ServiceFieldEdit).where(
                ServiceFieldEdit.service_id.in_(part), ServiceFieldEdit.state == "kept"
            )
        ):
            found.setdefault(edit.service_id, {})[edit.field] = edit
    return found


def settle_on_import(
    session: Session, records: Mapping[int, object], source: str, now: datetime
) -> tuple[dict[int, set[str]], list[tuple[int, str, str]]]:
    """For changed services (id -> import record) with provider edits: which fields the import must leave
    alone (the source did not change them since the edit), and which edits the source's new value
    replaces (marked "replaced" with both values). Returns (kept fields per service id, replaced as
    (service id, field, the feed's new value))."""
    edits = kept_edits(session, list(records))
    keep: dict[int, set[str]] = {}
    replaced: list[tuple[int, str, str]] = []
    if not edits:
        return keep, replaced
    services = {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(list(edits))))}
    for service_id, by_field in edits.items():
        incoming = record_values(records[service_id])
        current = stored_values(services[service_id])
        for name, edit in by_field.items():
            if edit.source_value_hash is not None and value_hash(incoming[name]) == edit.source_value_hash:
                keep.setdefault(service_id, set()).add(name)
                continue
            if incoming[name] == current[name]:
                continue  # the feed now says what the provider said: nothing to settle
            edit.state, edit.replaced_at, edit.replaced_by = "replaced", now, source[:50]
            edit.provider_value, edit.source_value = current[name], incoming[name]
            replaced.append((service_id, name, incoming[name]))
    session.flush()
    return keep, replaced


def language_choices(form, codes) -> dict[str, str]:
    """The form's choice (`access-<code>`) for each of the service's languages that has one."""
    return {code: form[f"access-{code}"].strip() for code in codes if f"access-{code}" in form}


@writes
def set_language_access(
    session: Session, actor: Actor, service_id: int, choices: dict, now: datetime
) -> list[str]:
    """A provider says how each language is offered: staff speak it, or an interpreter on request. Returns the
    codes that changed; a language the service does not list or another value changes nothing. The next
    import of the service's feed sets them again from the feed (languages are not among the kept fields)."""
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound(f"no service {service_id}")
    require_capacity_manager(actor, service.organization_id)
    listed = {lang.code: lang for lang in service.languages}
    for code, access in choices.items():
        if code not in listed:
            raise ValidationError(f"this service does not list the language {code!r}", "languages")
        if access not in LANGUAGE_ACCESS:
            raise ValidationError("choose staff or interpreter for each language", "languages")
    changed = sorted(code for code, access in choices.items() if listed[code].access != access)
    if changed:
        audit.append(
            session,
            actor.id,
            "service.languages",
            "service",
            service_id,
            {code: {"before": listed[code].access, "after": choices[code]} for code in changed},
            now,
        )
        for code in changed:
            listed[code].access = choices[code]
        service.updated_at = now
    session.flush()
    return changed
