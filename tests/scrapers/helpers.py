"""Helpers of the importer tests: where fixtures and the shared real files are, and small record builders."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from scrapers.records import CapacityRecord, LocationRecord, OrganizationRecord, ParseResult, ServiceRecord

FIXTURES = Path(__file__).parent / "fixtures"
# The real files beside the checkout (../shared/data), or where SHARED_DATA points (a clone elsewhere).
SHARED = Path(os.environ.get("SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


def shared(*parts: str) -> Path:
    """A real file under the shared data folder, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present: {path} (no ../shared/data beside this clone; set SHARED_DATA)")
    return path


def read_rows(path: Path, encoding: str = "utf-8") -> list[dict]:
    """Rows of a CSV with plain csv (independent of the importers' reader); `\\r`-only files included."""
    text = path.read_bytes().decode(encoding, errors="replace")
    if "\n" not in text:
        text = text.replace("\r", "\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def small_result(n: int = 3, capacity: dict | None = None) -> ParseResult:
    """A hand-made parse result: one organization, n services each at its own location."""
    result = ParseResult()
    result.organizations.append(OrganizationRecord("org-1", "Harbor Light Shelter Society"))
    result.read["organization"] = 1
    for i in range(1, n + 1):
        result.locations.append(
            LocationRecord(f"loc-{i}", "org-1", latitude=47.6 + i / 1000, longitude=-122.33)
        )
        service = ServiceRecord(f"svc-{i}", "org-1", f"Night Shelter {i}", "housing")
        service.location_ids = (f"loc-{i}",)
        if capacity is not None:
            service.capacity = CapacityRecord(**capacity)
        result.services.append(service)
    result.read["location"] = result.read["service"] = n
    return result
