"""The LEAD rules on a service's attributes: their SQL forms, built from their one definition.

Low barrier and LEAD-fundable are defined once, as (attribute, required value) pairs, in scrapers/rules.py
(plain Python, so that the parsers can use them without importing the app). From those pairs, `Rule.holds`
is the Python form, `sql` the SQLAlchemy expression that queries filter on, and `check_text` the CHECK
constraint that holds the stored `service.lead_fundable` to the rule. tests/integration/test_schema.py
checks on every combination of the attributes that the database and Python agree.
"""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from scrapers.rules import LEAD_FUNDABLE, LOW_BARRIER, Requirements, Rule

__all__ = ["LEAD_FUNDABLE", "LOW_BARRIER", "Rule", "check_text", "sql"]


def _sql_terms(columns, pairs: Requirements) -> list[ColumnElement[bool]]:
    return [getattr(columns, name) if value else ~getattr(columns, name) for name, value in pairs]


def sql(rule: Rule, columns) -> ColumnElement[bool]:
    """The rule as a SQL expression over `columns`: a mapped class (Service) or a table's `.c`."""
    terms = _sql_terms(columns, rule.requires)
    if rule.domain_requires:
        terms.append(
            or_(columns.primary_domain != rule.domain, and_(*_sql_terms(columns, rule.domain_requires)))
        )
    return and_(*terms)


def _text_terms(pairs: Requirements) -> list[str]:
    return [name if value else f"NOT {name}" for name, value in pairs]


def check_text(rule: Rule, column: str) -> str:
    """The SQL text of a CHECK that the boolean `column` of the same row equals the rule."""
    terms = _text_terms(rule.requires)
    if rule.domain_requires:
        domain_terms = " AND ".join(_text_terms(rule.domain_requires))
        terms.append(f"(primary_domain <> '{rule.domain}' OR ({domain_terms}))")
    return f"{column} = ({' AND '.join(terms)})"
