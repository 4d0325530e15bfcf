"""The LEAD rules on a service's attributes (domain.md), each defined once, as data.

A rule is a list of (attribute, required value) pairs, plus pairs that apply only to services of one
domain. `Rule.holds` is its Python form; directory/domain/rules.py builds its SQL forms (a SQLAlchemy
expression and the text of a CHECK constraint) from the same pairs, and a test checks on every combination
of the attributes that the database and Python agree.

The definitions live here, in plain Python that imports nothing, because the parsers in scrapers/ must not
import the app (importing anything under directory/ loads Flask and its extensions), while the app already
imports the parsers' vocabulary (scrapers.records.LEAD_FLAGS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Requirements = tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Rule:
    """Every pair of `requires` holds and, for a service whose primary domain is `domain`, every pair of
    `domain_requires` as well."""

    requires: Requirements
    domain: str | None = None
    domain_requires: Requirements = ()

    @property
    def attributes(self) -> tuple[str, ...]:
        """The boolean attributes the rule reads (besides the primary domain)."""
        return tuple(name for name, _ in self.requires + self.domain_requires)

    def holds(self, flag: Callable[[str], bool], primary_domain: str | None = None) -> bool:
        """The rule, given a function from an attribute's name to its value and the primary domain."""
        if not all(bool(flag(name)) is value for name, value in self.requires):
            return False
        if primary_domain != self.domain:
            return True
        return all(bool(flag(name)) is value for name, value in self.domain_requires)

    def of(self, service) -> bool:
        """The rule for any object carrying the attributes (and `primary_domain` if the rule needs it)."""
        return self.holds(lambda name: getattr(service, name), getattr(service, "primary_domain", None))


# Low barrier / harm reduction: every one of the five low-barrier attributes.
LOW_BARRIER = Rule(
    requires=(
        ("no_sobriety_requirement", True),
        ("accepts_active_use", True),
        ("accepts_sex_workers", True),
        ("no_id_required", True),
        ("criminal_record_ok", True),
    )
)

# LEAD-fundable: no religious requirement, no conversion therapy, and for housing, accepts active use and
# sex work. The schema stores it (service.lead_fundable, held to this rule by a CHECK) so that capacity rows
# can reference it.
LEAD_FUNDABLE = Rule(
    requires=(("religious_requirement", False), ("conversion_therapy", False)),
    domain="housing",
    domain_requires=(("accepts_active_use", True), ("accepts_sex_workers", True)),
)
