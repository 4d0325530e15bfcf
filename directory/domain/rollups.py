"""Daily rollups of referrals for the project manager's audit: per piece of a day of creation (each UTC day
cut where the site's day begins), one row per value of each dimension the dashboard groups on, kept in
step with every referral write in the same flush.

The dashboard reads the whole pieces of a period from here (about days x dimension values rows, however
many referrals): a period of whole site days, or of whole UTC days, reads no referral; only the partial
pieces at other edges come from the referrals themselves (dashboard.referral_scan). A referral adds to the
rows of its piece: once per dimension (service, case manager, the participant's and the override's
reasons, domain, neighborhood, language, population, classification and action, state as the audit may
see it, and the piece's total). Only its state changes afterwards (accepted, declined, expired,
cancelled, released): that moves one count from the old state's row to the new one's.

The rows are maintained by a listener on every ORM flush (`install`), so the domain's writes (create,
transition, release) and anything else written through the ORM keep them exact within the same
transaction. Writes that bypass the ORM (raw SQL, bulk copies) must call `rebuild` afterwards; so should a
change of the site's time zone (until then the days cut otherwise are read from the referrals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, delete, event, func, select, update
from sqlalchemy.orm import Session, attributes

from ..models import AuditHead, Referral, ReferralAlternative, ReferralCheck, ReferralRollup

# The dimensions, each a referral's key in it (None: not recorded); "total" has the one key "".
DIMENSIONS = (
    "total",
    "kind",  # "classification action"
    "state",  # the state as the audit may count it ("not_shared" when the outcome is withheld)
    "service",
    "case_manager",
    "decline_reason",
    "reason_code",
    "domain",
    "neighborhood",  # the check's neighborhood id
    "language",
    "population",
)
URGENT_REASONS = ("acute_need", "safety")  # as audit_questions.URGENT_REASONS (asserted equal in a test)
AVOIDING = ("lead_funded", "spare_capacity")  # as audit_questions.AVOIDING
NOT_SHARED = "not_shared"
# Referral columns a rollup row depends on: a change to any of them moves the referral's counts.
WATCHED = (
    "created_at",
    "classification",
    "action",
    "state",
    "outcome_shared",
    "reference",
    "service_id",
    "created_by",
    "decline_reason",
    "reason_code",
    "domain",
    "check_id",
    "would_displace",
)


@dataclass
class Tally:
    """What a set of referrals adds up to: how many; overrides; overrides whose stored alternatives held a
    LEAD-funded or spare option, split as the audit splits them (avoidable, acute need or safety, the
    participant's own reason); the waitlists the overrides passed (added, and the longest)."""

    referrals: int = 0
    overrides: int = 0
    avoidable: int = 0
    urgent: int = 0
    participant_driven: int = 0
    waitlists: int = 0
    longest: int | None = None

    def add(self, other: Tally, sign: int = 1) -> None:
        """Add (or with sign -1 take away) another tally; the longest waitlist only grows."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))
        if sign > 0 and other.longest is not None:
            self.longest = other.longest if self.longest is None else max(self.longest, other.longest)

    @property
    def with_choice(self) -> int:
        """Overrides whose alternatives held a LEAD-funded or spare option."""
        return self.avoidable + self.urgent + self.participant_driven

    def is_zero(self) -> bool:
        """Adds nothing (a change that cancelled out)."""
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "longest")


def tally_of(
    action: str, choice: bool, decline_reason: str | None, reason_code: str | None, would_displace, count=1
) -> Tally:
    """The tally of `count` referrals that agree on these."""
    override = action == "override"
    chosen = count if override and choice else 0
    urgent = reason_code in URGENT_REASONS
    return Tally(
        referrals=count,
        overrides=count if override else 0,
        avoidable=chosen if decline_reason is None and not urgent else 0,
        urgent=chosen if decline_reason is None and urgent else 0,
        participant_driven=chosen if decline_reason is not None else 0,
        waitlists=(would_displace or 0) * count if override else 0,
        longest=would_displace if override else None,
    )


def group_tally(g) -> Tally:
    """The tally of a scan group (dashboard.ScanGroup)."""
    chosen, urgent = g.with_choice, g.reason_code in URGENT_REASONS
    return Tally(
        referrals=g.referrals,
        overrides=g.overrides,
        avoidable=chosen if g.decline_reason is None and not urgent else 0,
        urgent=chosen if g.decline_reason is None and urgent else 0,
        participant_driven=chosen if g.decline_reason is not None else 0,
        waitlists=g.waitlists,
        longest=g.longest_waitlist,
    )


def group_keys(g) -> list[tuple[str, object]]:
    """A scan group's (dimension, key) pairs."""
    values = {
        "classification": g.classification,
        "action": g.action,
        "state": g.state,
        "outcome_shared": True,
        "reference": None,
        "service_id": g.service_id,
        "created_by": g.case_manager_id,
        "decline_reason": g.decline_reason,
        "reason_code": g.reason_code,
        "domain": g.domain,
    }
    return keys_of(values, (g.neighborhood_id, g.language, g.population))


def shown_state(state: str, outcome_shared: bool, reference: str | None) -> str:
    """The state as the audit may count it (dashboard._shown_state, in Python)."""
    return NOT_SHARED if (outcome_shared is False or reference is not None) else state


_zone = {"name": "UTC"}  # the site's time zone the rows are cut by (install sets it from the site's file)


def zone() -> str:
    """The time zone whose midnights split the UTC days of the rollups."""
    return _zone["name"]


@lru_cache(maxsize=4096)
def pieces(day: date, time_zone: str) -> tuple[tuple[int, int], ...]:
    """A UTC day cut where the site's day begins: ((start, end) in seconds after UTC midnight, ...), so that
    a period of whole site days, or of whole UTC days, is made of whole pieces."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    local_zone = ZoneInfo(time_zone)
    following = start.astimezone(local_zone).date() + timedelta(days=1)
    midnight = datetime.combine(following, time(0), tzinfo=local_zone).astimezone(UTC)
    cut = int((midnight - start).total_seconds())
    return ((0, 86400),) if not 0 < cut < 86400 else ((0, cut), (cut, 86400))


def piece_of(moment: datetime, time_zone: str) -> tuple[str, int, int]:
    """The (UTC day, piece start, piece end) a moment falls in."""
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    second = moment.hour * 3600 + moment.minute * 60 + moment.second
    for start, end in pieces(moment.date(), time_zone):
        if start <= second < end:
            return moment.date().isoformat(), start, end
    raise AssertionError("the pieces cover the day")  # pragma: no cover


def utc_day(moment: datetime) -> str:
    """The UTC calendar day of a moment, YYYY-MM-DD."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def keys_of(values: dict, check: tuple | None) -> list[tuple[str, str | None]]:
    """A referral's (dimension, key) pairs, from its column values and its check's (neighborhood id,
    language, population)."""
    neighborhood, language, population = check or (None, None, None)
    return [
        ("total", ""),
        ("kind", f"{values['classification']} {values['action']}"),
        ("state", shown_state(values["state"], values["outcome_shared"], values["reference"])),
        ("service", values["service_id"]),
        ("case_manager", values["created_by"]),
        ("decline_reason", values["decline_reason"]),
        ("reason_code", values["reason_code"]),
        ("domain", values["domain"]),
        ("neighborhood", neighborhood),
        ("language", language),
        ("population", population),
    ]


def _stored_key(key) -> str:
    return "" if key is None else str(key)


def stored(key: str, dimension: str):
    """A stored key back as the dashboard reads it (ids as integers, "" as not recorded)."""
    if dimension == "total":
        return ""
    if key == "":
        return None
    return int(key) if dimension in ("service", "case_manager", "neighborhood") else key


Deltas = dict[tuple[str, int, int, str, str], Tally]


def _add(deltas: Deltas, values: dict, check, choice: bool, sign: int) -> None:
    day, part, part_end = piece_of(values["created_at"], zone())
    tally = tally_of(
        values["action"], choice, values["decline_reason"], values["reason_code"], values["would_displace"]
    )
    for dimension, key in keys_of(values, check):
        deltas.setdefault((day, part, part_end, dimension, _stored_key(key)), Tally()).add(tally, sign)


def _values(referral: Referral, old: bool) -> dict:
    """The watched columns as they are now, or (old) as they were loaded before this flush."""
    values = {}
    for name in WATCHED:
        value = getattr(referral, name)
        if old:
            history = attributes.get_history(referral, name)
            if history.deleted:
                value = history.deleted[0]
        values[name] = value
    return values


def _after_flush(session: Session, _context) -> None:
    """Move the rollups by what this flush did to referrals and their alternatives."""
    new = [o for o in session.new if isinstance(o, Referral)]
    gone = [o for o in session.deleted if isinstance(o, Referral)]
    settled = {o.id for o in (*new, *gone)}
    # An alternative added to (or taken from) a referral stored before may change whether it had a choice.
    moved: dict[int, int] = defaultdict(int)
    for pool, sign in ((session.new, 1), (session.deleted, -1)):
        for o in pool:
            avoiding = isinstance(o, ReferralAlternative) and o.classification in AVOIDING
            if avoiding and o.referral_id is not None and o.referral_id not in settled:
                moved[o.referral_id] += sign
    rekeyed = {
        o.id: o
        for o in session.dirty
        if isinstance(o, Referral) and any(attributes.get_history(o, n).has_changes() for n in WATCHED)
    }
    with session.no_autoflush:
        for referral_id in moved:
            if referral_id not in rekeyed:
                referral = session.get(Referral, referral_id)
                if referral is not None:
                    rekeyed[referral_id] = referral
    if not (new or gone or rekeyed):
        return
    conn = session.connection()
    everyone = [*new, *gone, *rekeyed.values()]
    check_ids = {v for r in everyone for v in (r.check_id, _values(r, True)["check_id"]) if v is not None}
    checks = _checks(conn, check_ids)
    chosen_now = _chosen(conn, {r.id for r in everyone})
    deltas: Deltas = {}
    for referral in new:
        after = _values(referral, False)
        _add(deltas, after, checks.get(after["check_id"]), referral.id in chosen_now, 1)
    for referral in gone:
        before = _values(referral, True)
        _add(deltas, before, checks.get(before["check_id"]), referral.id in chosen_now, -1)
    for referral in rekeyed.values():
        before, after = _values(referral, True), _values(referral, False)
        change = moved.get(referral.id, 0)
        chose_before = (
            referral.id in chosen_now if change == 0 else _count_before(conn, referral.id, change) > 0
        )
        _add(deltas, before, checks.get(before["check_id"]), chose_before, -1)
        _add(deltas, after, checks.get(after["check_id"]), referral.id in chosen_now, 1)
    apply(conn, deltas)


def _checks(conn, check_ids: set[int]) -> dict[int, tuple]:
    """Each check's (neighborhood id, language, population)."""
    if not check_ids:
        return {}
    rows = conn.execute(
        select(
            ReferralCheck.id, ReferralCheck.neighborhood_id, ReferralCheck.language, ReferralCheck.population
        ).where(ReferralCheck.id.in_(check_ids))
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _chosen(conn, referral_ids: set[int]) -> set[int]:
    """Which of these referrals' stored alternatives hold a LEAD-funded or spare option now."""
    if not referral_ids:
        return set()
    return set(
        conn.scalars(
            select(ReferralAlternative.referral_id)
            .where(
                ReferralAlternative.referral_id.in_(referral_ids),
                ReferralAlternative.classification.in_(AVOIDING),
            )
            .distinct()
        )
    )


def _count_before(conn, referral_id: int, change: int) -> int:
    """How many avoiding alternatives the referral had before this flush added or took away `change`."""
    now = conn.scalar(
        select(func.count())
        .select_from(ReferralAlternative)
        .where(
            ReferralAlternative.referral_id == referral_id, ReferralAlternative.classification.in_(AVOIDING)
        )
    )
    return (now or 0) - change


COUNTS = ("referrals", "overrides", "avoidable", "urgent", "participant_driven", "waitlists")


def apply(conn, deltas: Deltas) -> None:
    """Add the deltas to the stored rows: an upsert where they only add (concurrent writers add, never
    overwrite), an update where they take away (the row exists: its referral was counted in it; an
    INSERT of negative counts would fail the table's CHECK before its conflict clause is reached)."""
    rows = [
        {"day": day, "part": part, "part_end": end, "dimension": dimension, "key": key, **vars(tally)}
        for (day, part, end, dimension, key), tally in sorted(deltas.items())
        if not tally.is_zero()
    ]
    if rows and conn.dialect.name == "postgresql":
        # Every write that changes referrals appends to the audit chain, whose head it locks; locking it
        # before the rollup rows (each write's rows in one sorted order) keeps one order of locks for all,
        # so a write holding a day's row never waits for the head another write holds while it waits
        # for that row (an acceptance releases other holds after its audit event).
        conn.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
    adding = [row for row in rows if all(row[name] >= 0 for name in COUNTS)]
    taking = [row for row in rows if not all(row[name] >= 0 for name in COUNTS)]
    table = ReferralRollup.__table__
    if adding:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table)
        excluded = statement.excluded
        summed = {name: table.c[name] + excluded[name] for name in COUNTS}
        summed["longest"] = case(
            (excluded.longest.is_(None), table.c.longest),
            (table.c.longest.is_(None), excluded.longest),
            (excluded.longest > table.c.longest, excluded.longest),
            else_=table.c.longest,
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["day", "part", "part_end", "dimension", "key"], set_=summed
            ),
            adding,
        )
    if taking:
        conn.execute(
            update(table)
            .where(
                table.c.day == bindparam("b_day"),
                table.c.part == bindparam("b_part"),
                table.c.part_end == bindparam("b_part_end"),
                table.c.dimension == bindparam("b_dimension"),
                table.c.key == bindparam("b_key"),
            )
            .values({name: table.c[name] + bindparam(f"b_{name}") for name in COUNTS}),
            [{f"b_{name}": value for name, value in row.items() if name != "longest"} for row in taking],
        )


def install(time_zone: str = "UTC") -> None:
    """Keep the rollups in step with every ORM flush (once per process, however many apps), cutting days
    at this time zone's midnights (the site's: a reader finding rows cut otherwise reads those days from
    the referrals until `rebuild`)."""
    _zone["name"] = time_zone
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


@dataclass
class Marginals:
    """Referrals of each stretch between cuts, tallied by each dimension's keys: segment -> dimension ->
    key -> Tally; and the weekly table's (UTC day, classification, action) counts per segment."""

    tallies: dict[int, dict[str, dict]] = field(default_factory=dict)
    kinds: dict[int, dict[tuple[str, str, str], int]] = field(default_factory=dict)
    # Dimensions read through another's keys: name -> (stored dimension, keys -> the keys shown), looked up
    # only when a table asks (the weekly export needs no provider).
    translated: dict[str, tuple[str, Callable[[set], dict]]] = field(default_factory=dict)

    def add(self, segment: int, dimension: str, key, tally: Tally) -> None:
        """Add a tally under a segment, a dimension and a key."""
        table = self.tallies.setdefault(segment, {}).setdefault(dimension, {})
        table.setdefault(key, Tally()).add(tally)

    def add_kind(self, segment: int, day: str, classification: str, action: str, count: int) -> None:
        """Add referrals of a UTC day, classification and action."""
        kinds = self.kinds.setdefault(segment, {})
        kinds[(day, classification, action)] = kinds.get((day, classification, action), 0) + count

    def of(self, segments, dimension: str) -> dict:
        """One dimension's tallies summed over these segments (key -> Tally)."""
        source, lookup = self.translated.get(dimension, (dimension, None))
        summed: dict = {}
        for segment in segments:
            for key, tally in self.tallies.get(segment, {}).get(source, {}).items():
                summed.setdefault(key, Tally()).add(tally)
        if lookup is None:
            return summed
        shown = lookup({key for key in summed if key is not None})
        merged: dict = {}
        for key, tally in summed.items():
            merged.setdefault(shown.get(key), Tally()).add(tally)
        return merged


def read_days(session: Session, first: str, last: str) -> list:
    """The stored rows of the UTC days `first` through `last` (YYYY-MM-DD, both included)."""
    return (
        session.connection()
        .execute(
            select(
                ReferralRollup.day,
                ReferralRollup.part,
                ReferralRollup.part_end,
                ReferralRollup.dimension,
                ReferralRollup.key,
                ReferralRollup.referrals,
                ReferralRollup.overrides,
                ReferralRollup.avoidable,
                ReferralRollup.urgent,
                ReferralRollup.participant_driven,
                ReferralRollup.waitlists,
                ReferralRollup.longest,
            ).where(ReferralRollup.day >= first, ReferralRollup.day <= last)
        )
        .all()
    )


def rebuild(session: Session) -> int:
    """Recompute every rollup row from the referrals, one referral at a time through the same code as the
    writes (the backfill; after writes that bypass the ORM; after the site's time zone changed). Returns
    the rows stored."""
    conn = session.connection()
    conn.execute(delete(ReferralRollup))
    choice = (
        select(ReferralAlternative.id)
        .where(
            ReferralAlternative.referral_id == Referral.id, ReferralAlternative.classification.in_(AVOIDING)
        )
        .exists()
    )
    rows = conn.execute(
        select(
            *[getattr(Referral, name) for name in WATCHED],
            ReferralCheck.neighborhood_id,
            ReferralCheck.language,
            ReferralCheck.population,
            case((Referral.action == "override", choice), else_=False),
        ).outerjoin(ReferralCheck, ReferralCheck.id == Referral.check_id)
    )
    deltas: Deltas = {}
    for row in rows:
        values = dict(zip(WATCHED, row[: len(WATCHED)], strict=True))
        _add(deltas, values, tuple(row[-4:-1]), bool(row[-1]), 1)
    apply(conn, deltas)
    return sum(1 for t in deltas.values() if not t.is_zero())
