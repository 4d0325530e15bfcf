"""Providers upload their numbers in bulk: a CSV with one row per service they run, every row applied through
the one capacity rule (capacity_updates: decide, then update_capacity), previewed first (a dry run that
writes nothing), with the same problem report as imports (record, file, line, field, action, problem).

    service_id,name,available,maximum,waitlist
    12,Harbor Beds,3,10,unknown

`service_id` is the number shown on the provider page; `name` is read for the person only. A blank cell
leaves that number as it is; `unknown` makes free units or the waitlist unknown. A row for a service the
organization does not run, an unreadable number, numbers the rule refuses, or the same service twice: that
row is refused (the others go on). A file that is not such a CSV is refused whole, nothing changed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from scrapers.common import decode
from scrapers.records import Problem

from ..models import Service
from ..words import N_, Words
from .access import Actor, require_capacity_manager
from .capacity_updates import FIELDS, NULLABLE, decide, held_units, parse_changes, snapshot, update_capacity
from .errors import DomainError, ValidationError

MAX_ROWS = 500
MAX_BYTES = 200_000
# The columns and the word "unknown" are the file's own, the same in every language of the pages (a file
# reads the same whoever sends it); the upload page translates what it says about them, never them.
ID_COLUMN = "service_id"
NAME_COLUMN = "name"
KNOWN = frozenset({ID_COLUMN, NAME_COLUMN, *FIELDS})
UNKNOWN_WORD = "unknown"
UNKNOWN_WORDS = frozenset({UNKNOWN_WORD, "?"})


@dataclass
class RowPlan:
    """One row's service and its numbers before and after (as applied, or as a dry run would apply them)."""

    where: str
    service_id: int
    name: str
    before: dict
    after: dict
    at_risk: tuple[int, ...] = ()


@dataclass
class Upload:
    """What an upload did (or would do): the rows applied and the problems, as an import run reports them."""

    file_name: str
    applied: bool
    rows: list[RowPlan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Each problem's words as marked for the catalogs and their values, for a page to translate; the
    # Problem keeps them in English, as import runs store theirs.
    problem_words: list[tuple[str, dict]] = field(default_factory=list)

    def refuse(
        self, where: str, record: str | None, words: str, params: dict, field_name: str | None = None
    ) -> None:
        """A row left out, and why (`words` marked with N_, with %(name)s values from params)."""
        self.problems.append(Problem(where, record, words % params, "rejected", "service", field_name))
        self.problem_words.append((words, params))


def read_upload(data: bytes, file_name: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of an uploaded CSV as (line, {column: text}) with its columns found whatever their case;
    ValidationError when it is not a numbers file (nothing is applied then)."""
    if not data.strip():
        raise ValidationError(
            Words(N_("the file is empty: give a CSV with a service_id column and numbers")), "file"
        )
    if len(data) > MAX_BYTES:
        raise ValidationError(
            Words(N_("the file is larger than %(max_bytes)s bytes"), max_bytes=format(MAX_BYTES, ",")), "file"
        )
    text, _note = decode(data)
    if "\x00" in text:
        raise ValidationError(Words(N_("the file is not text: give a CSV")), "file")
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"), newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise ValidationError(Words(N_("the file is not a CSV: %(exc)s"), exc=exc), "file") from None
    unknown = [name for name in header if name not in KNOWN]
    if unknown:
        raise ValidationError(
            Words(
                N_("unknown column %(value)r; the columns are %(id_column)s, name and %(choices)s"),
                value=unknown[0],
                id_column=ID_COLUMN,
                choices=", ".join(FIELDS),
            ),
            "file",
        )
    if ID_COLUMN not in header or not set(header) & set(FIELDS):
        raise ValidationError(
            Words(
                N_("the file needs a %(id_column)s column and at least one number column"),
                id_column=ID_COLUMN,
            ),
            "file",
        )
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            rows.append(
                (
                    reader.line_num,
                    {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(header)},
                )
            )
    except csv.Error as exc:
        raise ValidationError(Words(N_("the file is not a CSV: %(exc)s"), exc=exc), "file") from None
    if not rows:
        raise ValidationError(Words(N_("the file has no rows")), "file")
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            Words(
                N_("at most %(max_rows)s rows at a time (the file has %(length)s)"),
                max_rows=MAX_ROWS,
                length=len(rows),
            ),
            "file",
        )
    return rows


def _changes(row: dict[str, str]) -> dict[str, int | None]:
    """A row's numbers for the capacity rule: blank cells left out, `unknown` as null; ValidationError."""
    body: dict = {}
    for name in FIELDS:
        cell = row.get(name, "")
        if cell == "":
            continue
        if cell.lower() in UNKNOWN_WORDS and name in NULLABLE:
            body[name] = None
        elif cell.isascii() and cell.isdigit() and len(cell) <= 6:
            body[name] = int(cell)
        else:
            raise ValidationError(
                Words(
                    N_("%(name)s %(value)r is not a whole number from 0 to 100,000"),
                    name=name,
                    value=cell[:40],
                ),
                name,
            )
    if not body:
        raise ValidationError(Words(N_("no numbers on this row")), None)
    return parse_changes(body)


def upload_numbers(
    session: Session,
    actor: Actor,
    organization_id: int,
    data: bytes,
    file_name: str,
    now: datetime,
    apply: bool,
) -> Upload:
    """Read an upload and apply each good row through the capacity rule (apply), or only say what each row
    would do (the preview). The caller owns the transaction."""
    require_capacity_manager(actor, organization_id)
    upload = Upload(file_name[:100] or "upload.csv", apply)
    seen: dict[int, str] = {}
    for line, row in read_upload(data, file_name):
        where = f"{upload.file_name}:{line}"
        cell = row.get(ID_COLUMN, "")
        if not (cell.isascii() and cell.isdigit() and len(cell) <= 9):
            upload.refuse(
                where,
                cell[:40] or None,
                N_("%(column)s %(cell)s is not a service number"),
                {"column": ID_COLUMN, "cell": repr(cell[:40])},
                ID_COLUMN,
            )
            continue
        service_id = int(cell)
        service = session.get(Service, service_id)
        if service is None or service.organization_id != organization_id:
            # The same answer whether the service exists elsewhere or not at all.
            upload.refuse(where, cell, N_("not a service your organization runs: refused"), {})
            continue
        if service.capacity is None:
            upload.refuse(where, cell, N_("this service does not track capacity (open access): refused"), {})
            continue
        if service_id in seen:
            upload.refuse(
                where, cell, N_("the same service as %(line)s: refused"), {"line": seen[service_id]}
            )
            continue
        seen[service_id] = where
        try:
            changes = _changes(row)
            upload.rows.append(_apply(session, actor, service, changes, where, now, apply))
        except DomainError as exc:
            upload.refuse(
                where, cell, N_("%(problem)s: refused"), {"problem": exc.message}, getattr(exc, "field", None)
            )
    return upload


def _apply(
    session: Session, actor: Actor, service: Service, changes: dict, where: str, now, apply
) -> RowPlan:
    """One row through the capacity rule: applied (update_capacity) or decided only (the preview)."""
    row = service.capacity
    before = snapshot(row)
    if apply:
        _, at_risk, _ = update_capacity(session, actor, service.id, changes, "web", now)
        after = snapshot(row)
    else:
        held = (
            held_units(session, [service.id]).get(service.id, []) if row.held_general or row.held_lead else []
        )
        decision = decide(before, changes, service.lead_fundable, held)
        after = {**before, **decision.values}
        at_risk = list(decision.at_risk)
    return RowPlan(where, service.id, service.name, before, after, tuple(at_risk))
