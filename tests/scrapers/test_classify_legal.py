"""The word classifier files legal aid and benefits help as such, not as housing or medical care."""

from __future__ import annotations

import pytest

from scrapers.classify import from_words


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("Low Income Taxpayer Clinic", "legal_advocacy"),
        ("Legal Aid Society - Housing Unit", "legal_advocacy"),
        ("Tenant Rights Legal Clinic", "legal_advocacy"),
        ("Tenants' Rights Hotline", "legal_advocacy"),
        ("Eviction Defense Project", "legal_advocacy"),
        ("Record Expungement Clinic", "legal_advocacy"),
        ("Public Defender - Walk-in Hours", "legal_advocacy"),
        ("Free Tax Preparation (VITA)", "public_benefits"),
        ("Health Insurance Enrollment Help", "public_benefits"),
        ("Benefits Screening for Seniors", "public_benefits"),
        # What was right before stays right.
        ("Homeless Shelter", "housing"),
        ("Community Health Clinic", "medical_care"),
        ("Rent Assistance Program", "housing"),
        ("Food Pantry", "food"),
        ("Dental Clinic", "medical_care"),
        ("Methadone Clinic", "substance_use_treatment"),
    ],
)
def test_legal_and_benefits_words(name, domain):
    found = from_words(name)
    assert found is not None and found[0] == domain
