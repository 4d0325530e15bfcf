"""What a viewer without a staff account may learn about a service, so that nothing the site hides can be
derived from what it shows.

A site hides some badges from the public (site file [public_badges]). Hiding the badge is not enough: low
barrier is true exactly when five attributes are, four of them public, so a published `low_barrier` (or
membership in the `low_barrier=true` results) would give the hidden fifth away. The rule applied here: a
derived value is published only where the public attributes alone decide it (whatever the hidden ones are);
elsewhere it is null. Filters on a derived value select by what the public attributes allow (`true`: it may
hold; `false`: it cannot), so membership depends on public attributes only.

LEAD-funded units may only be held by LEAD-fundable services (a schema constraint), and for housing that
depends on accepting sex work: where the public attributes do not decide whether a service is LEAD-fundable
(or the site hides LEAD-fundable itself), the public sees neither its LEAD-funded figures nor the
`lead_funded` status; the service then shows the status its general units give. Which services are masked
depends on public attributes only, so the mask itself reveals nothing. Counts (available, waitlist, held,
LEAD-funded) reach the public only when the site file opts in (`public_counts = true`); otherwise the
status word and the age of the numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, false, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from . import capacity as cap
from .rules import LEAD_FUNDABLE, LOW_BARRIER, Rule

# Badges a site may hide from the public (site file [public_badges]); staff always see them.
SENSITIVE_ATTRIBUTES = ("accepts_sex_workers", "accepts_active_use", "criminal_record_ok", "lead_fundable")
DERIVED = {"low_barrier": LOW_BARRIER, "lead_fundable": LEAD_FUNDABLE}
COUNT_FIELDS = ("maximum", "available", "waitlist", "held_general")
LEAD_FIELDS = ("lead_funded_maximum", "lead_funded_available", "held_lead")


@dataclass(frozen=True)
class Disclosure:
    """What one viewer may see: everything (staff), or the site's public view."""

    staff: bool
    hidden: frozenset[str] = frozenset()
    counts: bool = True
    lead_counts: bool = True

    def masks_lead(self, service) -> bool:
        """Whether this service's LEAD-funded figures or lead_funded status would reveal a hidden badge."""
        if self.staff:
            return False
        return "lead_fundable" in self.hidden or decided(LEAD_FUNDABLE, service, self.hidden) is None


def disclosure_for(site, staff: bool) -> Disclosure:
    """The disclosure for a viewer of a site (SiteConfig)."""
    if staff:
        return Disclosure(staff=True)
    badges = site.public_badges
    hidden = frozenset(name for name in SENSITIVE_ATTRIBUTES if not badges.get(name, True))
    counts = bool(getattr(site, "public_counts", False))
    return Disclosure(
        staff=False,
        hidden=hidden,
        counts=counts,
        lead_counts=counts and badges.get("lead_funded_counts", True),
    )


def decided(rule: Rule, service, hidden: frozenset[str]) -> bool | None:
    """The rule's value when the public attributes decide it whatever the hidden ones are, else None."""
    unknown = [name for name in rule.attributes if name in hidden]
    outcomes = set()
    for values in itertools.product((False, True), repeat=len(unknown)):
        assumed = dict(zip(unknown, values, strict=True))
        outcomes.add(
            rule.holds(
                lambda name, a=assumed: a[name] if name in a else getattr(service, name),
                service.primary_domain,
            )
        )
    return outcomes.pop() if len(outcomes) == 1 else None


def public_attributes(values: dict, service, disclosure: Disclosure) -> dict:
    """The attributes dict as this viewer may see it: hidden badges null, derived values only if decided."""
    if disclosure.staff:
        return values
    shown = dict(values)
    for name in disclosure.hidden:
        shown[name] = None
    for name, rule in DERIVED.items():
        if name not in disclosure.hidden:
            shown[name] = decided(rule, service, disclosure.hidden)
    return shown


def _terms(columns, pairs, hidden) -> list[ColumnElement[bool]]:
    return [getattr(columns, n) if v else ~getattr(columns, n) for n, v in pairs if n not in hidden]


def may_hold_sql(rule: Rule, columns, hidden: frozenset[str]) -> ColumnElement[bool]:
    """SQL: the rule can hold given the public attributes (its hidden requirements left out)."""
    terms = _terms(columns, rule.requires, hidden)
    if rule.domain_requires:
        terms.append(
            or_(
                columns.primary_domain != rule.domain,
                and_(true(), *_terms(columns, rule.domain_requires, hidden)),
            )
        )
    return and_(true(), *terms)


def certain_sql(rule: Rule, columns, hidden: frozenset[str]) -> ColumnElement[bool]:
    """SQL: the rule holds whatever the hidden attributes are (false where a hidden attribute is required)."""
    if any(name in hidden for name, _ in rule.requires):
        return false()
    terms = _terms(columns, rule.requires, hidden)
    if rule.domain_requires:
        if any(name in hidden for name, _ in rule.domain_requires):
            terms.append(columns.primary_domain != rule.domain)
        else:
            terms.append(
                or_(
                    columns.primary_domain != rule.domain,
                    and_(true(), *_terms(columns, rule.domain_requires, hidden)),
                )
            )
    return and_(true(), *terms)


def filter_sql(rule: Rule, columns, wanted: bool, hidden: frozenset[str]) -> ColumnElement[bool]:
    """SQL of a filter on a derived value for a viewer: by what the public attributes allow."""
    may_hold = may_hold_sql(rule, columns, hidden)
    return may_hold if wanted else ~may_hold


def public_numbers(numbers: cap.Numbers, disclosure: Disclosure, service) -> cap.Numbers:
    """The numbers a viewer's status is computed from: without LEAD-funded units where they are masked."""
    if not disclosure.masks_lead(service):
        return numbers
    return replace(numbers, lead_funded_maximum=0, lead_funded_available=0, held_lead=0)


class _Masked:
    """A capacity table's columns with the LEAD-funded ones read as 0 where `masked` holds (SQL)."""

    def __init__(self, table, masked: ColumnElement[bool]):
        self._table = table
        self._masked = masked

    def __getattr__(self, name):
        column = getattr(self._table.c, name)
        if name in LEAD_FIELDS:
            return case((self._masked, literal(0)), else_=column)
        return column


class _MaskedTable:
    def __init__(self, table, masked: ColumnElement[bool]):
        self.c = _Masked(table, masked)


def lead_masked_sql(columns, disclosure: Disclosure) -> ColumnElement[bool] | None:
    """SQL: the services whose LEAD-funded figures this viewer may not see (None: none are masked)."""
    if disclosure.staff:
        return None
    if "lead_fundable" in disclosure.hidden:
        return true()
    if not disclosure.hidden & set(LEAD_FUNDABLE.attributes):
        return None
    hidden = disclosure.hidden
    return and_(may_hold_sql(LEAD_FUNDABLE, columns, hidden), ~certain_sql(LEAD_FUNDABLE, columns, hidden))


def status_sql(capacity_table, service_columns, now, freshness_hours, disclosure: Disclosure):
    """SQL of the status this viewer sees (no lead_funded status where LEAD figures are masked)."""
    masked = lead_masked_sql(service_columns, disclosure)
    table = capacity_table if masked is None else _MaskedTable(capacity_table, masked)
    return cap.status_sql(table, service_columns.coordinated_entry, now, freshness_hours)


def public_capacity(data: dict, disclosure: Disclosure, service) -> dict:
    """The capacity object with the counts this viewer may not see set to null."""
    if disclosure.staff:
        return data
    shown = dict(data)
    if not disclosure.counts:
        for name in COUNT_FIELDS:
            shown[name] = None
    if not disclosure.lead_counts or not disclosure.counts or disclosure.masks_lead(service):
        for name in LEAD_FIELDS:
            shown[name] = None
    return shown
