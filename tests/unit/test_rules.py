"""The LEAD rules on a service's attributes (domain.md): one definition, as domain.md states it.

That the database agrees with the Python form on every combination is checked in
tests/integration/test_schema.py; here, the definition itself and the forms built from it.
"""

import itertools
import subprocess
import sys
from pathlib import Path

from sqlalchemy import CheckConstraint

from directory.domain import rules
from directory.models import LEAD_FUNDABLE_RULE, Service

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0001_initial_directory_schema.py"
DOMAINS = ("housing", "food", "harm_reduction")


def test_low_barrier_is_every_one_of_the_five_attributes():
    names = ("no_sobriety_requirement", "accepts_active_use", "accepts_sex_workers")
    names += ("no_id_required", "criminal_record_ok")
    assert rules.LOW_BARRIER.attributes == names
    for values in itertools.product((False, True), repeat=len(names)):
        flags = dict(zip(names, values, strict=True))
        for domain in DOMAINS:
            assert rules.LOW_BARRIER.holds(flags.__getitem__, domain) is all(values)


def test_lead_fundable_as_domain_md_states_it():
    names = ("religious_requirement", "conversion_therapy", "accepts_active_use", "accepts_sex_workers")
    assert sorted(rules.LEAD_FUNDABLE.attributes) == sorted(names)
    for religious, conversion, active_use, sex_work in itertools.product((False, True), repeat=4):
        flags = dict(zip(names, (religious, conversion, active_use, sex_work), strict=True))
        for domain in DOMAINS:
            expected = not religious and not conversion and (domain != "housing" or (active_use and sex_work))
            assert rules.LEAD_FUNDABLE.holds(flags.__getitem__, domain) is expected


def test_the_schemas_check_is_built_from_the_rule_and_is_the_migrations():
    assert rules.check_text(rules.LEAD_FUNDABLE, "lead_fundable") == LEAD_FUNDABLE_RULE
    assert f'"{LEAD_FUNDABLE_RULE}"' in MIGRATION.read_text(encoding="utf-8")
    checks = {c.name: str(c.sqltext) for c in Service.__table__.constraints if isinstance(c, CheckConstraint)}
    assert checks["ck_service_lead_fundable_rule"] == LEAD_FUNDABLE_RULE


def test_the_parsers_import_nothing_of_the_app():
    """scrapers/ holds the rules' definition because it must not import the app (Flask, models, jobs)."""
    code = (
        "import importlib, pkgutil, sys, scrapers\n"
        "for module in pkgutil.iter_modules(scrapers.__path__):\n"
        "    importlib.import_module('scrapers.' + module.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('directory', 'flask')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
