"""The SAMHSA importer marks the treatment facilities it imports as 42 CFR Part 2 programs; no import clears
a mark the provider set."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.domain.imports import run_import
from directory.models import Service
from scrapers import hud, samhsa
from tests.conftest import FIXED_NOW
from tests.scrapers.helpers import FIXTURES


def test_samhsa_records_are_part2_programs():
    result = samhsa.parse(FIXTURES / "samhsa.csv")
    assert result.services and all(s.flag("part2_program") for s in result.services)
    assert not any(s.flag("part2_program") for s in hud.parse(FIXTURES / "hud_sites.csv").services)


@pytest.mark.db
def test_imported_treatment_facilities_are_marked_and_others_keep_their_mark(session):
    path = FIXTURES / "samhsa.csv"
    run_import(session, "samhsa", str(path), lambda: samhsa.parse(path), FIXED_NOW)
    marks = session.scalars(select(Service.part2_program).where(Service.source == "samhsa")).all()
    assert marks and all(marks)
    hud_path = FIXTURES / "hud_sites.csv"
    run_import(session, "hud-inventory", str(hud_path), lambda: hud.parse(hud_path), FIXED_NOW)
    housing = session.scalars(select(Service).where(Service.source == "hud-inventory")).all()
    assert housing and not any(s.part2_program for s in housing)
    housing[0].part2_program = True  # the provider's own mark
    session.commit()
    run_import(session, "hud-inventory", str(hud_path), lambda: hud.parse(hud_path), FIXED_NOW)
    session.expire_all()
    assert session.get(Service, housing[0].id).part2_program is True
