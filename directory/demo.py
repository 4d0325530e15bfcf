"""The deterministic demo site: an invented King County directory on real neighborhoods, in every IIP domain,
with capacity in every state; and the same generator at scale (up to 100,000 services) for benchmarks.

Everything comes from one random.Random(seed); confirmation times are relative to `now`, so the demo does
not go stale overnight. Rows are written with bulk Core inserts (fast at 100,000) and then indexed.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from .config import DATA_DIR, SiteConfig
from .domain.geo import zip_centroids
from .domain.listing import reindex_services
from .domain.rules import LEAD_FUNDABLE
from .models import (
    Address,
    Language,
    Location,
    Organization,
    Participant,
    Phone,
    ReleaseOfInformation,
    RequiredDocument,
    Schedule,
    Service,
    ServiceCapacity,
    SitePlace,
    User,
    service_area,
    service_at_location,
    service_population,
    service_practice,
    service_taxonomy,
)

DEMO_PASSWORD = "demo-password"  # noqa: S105 - development-only demo accounts, refused in production
CHUNK = 5000

DOMAIN_WEIGHTS = {
    "housing": 16,
    "substance_use_treatment": 11,
    "harm_reduction": 9,
    "mental_health": 8,
    "food": 8,
    "medical_care": 7,
    "hygiene": 4,
    "identification_documents": 3,
    "public_benefits": 4,
    "legal_advocacy": 4,
    "education": 3,
    "job_training": 3,
    "job_placement": 3,
    "licensing_assistance": 2,
    "small_business": 2,
    "child_care": 3,
    "transportation": 3,
    "peer_support": 4,
}
TRACKED_SHARE = {
    "housing": 0.85,
    "substance_use_treatment": 0.7,
    "mental_health": 0.6,
    "medical_care": 0.5,
    "child_care": 0.7,
    "job_training": 0.6,
    "legal_advocacy": 0.5,
    "education": 0.5,
    "job_placement": 0.4,
    "identification_documents": 0.3,
    "public_benefits": 0.3,
    "licensing_assistance": 0.3,
    "small_business": 0.3,
}
UNIT_BY_TERM = {
    "housing.emergency_shelter": "shelter_bed",
    "housing.enhanced_shelter": "shelter_bed",
}
UNIT_BY_DOMAIN = {
    "housing": "unit",
    "substance_use_treatment": "bed",
    "mental_health": "appointment",
    "medical_care": "appointment",
    "child_care": "slot",
    "job_training": "slot",
    "education": "slot",
    "job_placement": "slot",
    "legal_advocacy": "appointment",
    "identification_documents": "appointment",
    "public_benefits": "appointment",
    "licensing_assistance": "appointment",
    "small_business": "appointment",
}
NAMES = {
    "housing": [
        "{p} Night Shelter",
        "{a} House",
        "{p} Tiny House Village",
        "{a} Housing First Apartments",
        "{p} Women's Shelter",
        "{a} Transitional Housing",
        "{p} Enhanced Shelter",
        "{a} Commons",
    ],
    "substance_use_treatment": [
        "{a} Recovery Clinic",
        "{p} Bupe Clinic",
        "{a} Opioid Treatment Program",
        "{p} Withdrawal Management",
        "{a} Outpatient Program",
        "{a} Residential Treatment",
    ],
    "harm_reduction": [
        "{p} Syringe Services",
        "{a} Harm Reduction Drop-in",
        "{p} Naloxone Hub",
        "{a} Drug Checking Table",
        "{p} Mobile Outreach Van",
    ],
    "mental_health": [
        "{a} Counseling Center",
        "{p} Crisis Stabilization",
        "{a} ACT Team",
        "{p} Walk-in Counseling",
    ],
    "medical_care": [
        "{p} Community Clinic",
        "{a} Wound Care Clinic",
        "{a} Medical Respite",
        "{p} Mobile Clinic",
        "{a} Dental Clinic",
    ],
    "food": ["{p} Community Meal", "{a} Food Bank", "{p} Free Lunch", "{a} Pantry"],
    "hygiene": ["{p} Hygiene Center", "{a} Showers and Laundry", "{p} Shower Trailer"],
    "identification_documents": ["{a} ID Clinic", "{p} Document Help Desk"],
    "public_benefits": ["{a} Benefits Navigation", "{p} Apple Health Enrollment", "{a} SOAR Disability Help"],
    "legal_advocacy": ["{a} Legal Clinic", "{p} Warrant Help Desk", "{a} Record Relief Project"],
    "education": ["{a} GED Program", "{p} English Classes", "{a} College Navigators"],
    "job_training": ["{a} Pre-Apprenticeship", "{p} Culinary Training", "{a} Digital Skills Lab"],
    "job_placement": ["{a} Day Labor Center", "{p} Supported Employment", "{a} Transitional Jobs"],
    "licensing_assistance": ["{a} License Reinstatement Clinic", "{p} Relicensing Help"],
    "small_business": ["{a} Small Business Counseling", "{p} Microenterprise Lab"],
    "child_care": ["{p} Drop-in Child Care", "{a} Family Center Child Care"],
    "transportation": ["{a} Transit Pass Program", "{p} Ride to Care"],
    "peer_support": ["{a} Recovery Cafe", "{p} Peer Navigation", "{a} Peer Support Groups"],
}
DESCRIPTIONS = {
    "housing": "Beds and housing for people who are homeless. Staff help with next steps toward a home.",
    "substance_use_treatment": "Treatment for drug and alcohol use, including medication where it helps.",
    "harm_reduction": "Supplies and support for people who use drugs: sterile gear, naloxone and testing.",
    "mental_health": "Counseling and psychiatric care, with walk-in hours for people in crisis.",
    "medical_care": "Health care for people without a regular doctor; no insurance needed to be seen.",
    "food": "Free meals and groceries, no questions asked.",
    "hygiene": "Showers, laundry and restrooms, with hygiene supplies.",
    "identification_documents": "Help replacing an ID, birth certificate or Social Security card; fees paid.",
    "public_benefits": "Help applying for health coverage, food and cash benefits, and disability benefits.",
    "legal_advocacy": "Free legal help with warrants, fines, records and housing.",
    "education": "Classes toward a GED, English classes and help getting into college.",
    "job_training": "Paid training for work in the trades, kitchens and offices.",
    "job_placement": "Help finding work, including day labor and jobs with support.",
    "licensing_assistance": "Help getting a driver's license back and professional licenses.",
    "small_business": "Advice and small loans for people starting a business.",
    "child_care": "Child care while parents go to appointments, work or treatment.",
    "transportation": "Transit passes and rides to treatment and medical appointments.",
    "peer_support": "Support from people with lived experience, groups and a place to be.",
}
ADJECTIVES = [
    "Cascade",
    "Evergreen",
    "Salish",
    "Rainier",
    "Puget",
    "Elliott Bay",
    "Duwamish",
    "Cedar",
    "Olympic",
    "Harbor",
    "Lakeside",
    "Madrona",
    "Alder",
    "Heron",
    "Orca",
    "Summit",
    "Skyline",
    "Sound",
    "Tahoma",
    "Juniper",
    "Kestrel",
    "Hemlock",
    "Camas",
    "Snoqualmie",
    "Green River",
    "Larkspur",
]
ORG_NOUNS = [
    "Harm Reduction",
    "Housing",
    "Recovery",
    "Health",
    "Community",
    "Outreach",
    "Legal",
    "Food",
    "Family",
    "Youth",
    "Peer",
    "Neighborhood",
    "Wellness",
]
ORG_SUFFIXES = [
    "Collective",
    "Partners",
    "Alliance",
    "Services",
    "Project",
    "Network",
    "Center",
    "Coalition",
    "Society",
    "Cooperative",
]
STREETS = [
    "1st Ave",
    "2nd Ave",
    "3rd Ave",
    "4th Ave",
    "Jackson St",
    "Yesler Way",
    "Pike St",
    "Pine St",
    "Rainier Ave S",
    "Aurora Ave N",
    "Broadway",
    "Madison St",
    "Cherry St",
    "Main St",
    "King St",
    "Dearborn St",
    "Beacon Ave S",
    "MLK Jr Way S",
    "15th Ave",
    "Holman Rd NW",
    "Lake City Way NE",
    "Delridge Way SW",
]
EXTRA_LANGUAGES = [
    ("es", 30),
    ("vi", 10),
    ("so", 8),
    ("am", 7),
    ("zh", 7),
    ("ti", 5),
    ("ru", 4),
    ("ko", 4),
    ("tl", 4),
    ("ar", 4),
    ("uk", 3),
    ("om", 3),
    ("km", 2),
    ("pa", 2),
    ("fr", 2),
]
STATES = [
    ("spare", 30),
    ("waitlist", 20),
    ("full", 10),
    ("stale", 10),
    ("unknown_waitlist", 9),
    ("never_confirmed", 7),
    ("lead", 14),
]


@dataclass
class Summary:
    """What seed() created."""

    services: int
    organizations: int
    logins: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class _Ids:
    org: int
    service: int
    location: int
    address: int
    phone: int
    schedule: int
    language: int
    document: int
    capacity: int


def _next_ids(session: Session) -> _Ids:
    def top(model) -> int:
        return (session.scalar(select(func.max(model.id))) or 0) + 1

    return _Ids(
        top(Organization),
        top(Service),
        top(Location),
        top(Address),
        top(Phone),
        top(Schedule),
        top(Language),
        top(RequiredDocument),
        top(ServiceCapacity),
    )


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights=weights)[0]


def _read_taxonomy(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


class _Builder:
    """Accumulates rows for bulk inserts."""

    def __init__(self, session: Session, rng: random.Random, now: datetime, site: SiteConfig, taxonomy: dict):
        self.session, self.rng, self.now, self.site = session, rng, now, site
        self.ids = _next_ids(session)
        self.terms = {d["code"]: [t["code"] for t in d.get("terms", [])] for d in taxonomy["domains"]}
        self.language_names = {lang["code"]: lang["name"] for lang in taxonomy["languages"]}
        self.populations = [p["code"] for p in taxonomy["populations"]]
        self.practices = [p["code"] for p in taxonomy["practices"]]
        self.rows: dict[str, list[dict]] = {
            name: []
            for name in (
                "organization",
                "location",
                "address",
                "service",
                "service_at_location",
                "service_taxonomy",
                "language",
                "service_population",
                "service_practice",
                "service_area",
                "schedule",
                "phone",
                "required_document",
                "service_capacity",
            )
        }
        self.service_ids: list[int] = []
        self.orgs: list[tuple[int, str]] = []

    # -- organizations ---------------------------------------------------------------------------------------
    def organization(self, name: str | None = None) -> int:
        rng = self.rng
        org_id = self.ids.org
        self.ids.org += 1
        if name is None:
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(ORG_NOUNS)} {rng.choice(ORG_SUFFIXES)}"
        self.rows["organization"].append(
            {
                "id": org_id,
                "name": name,
                "description": None,
                "source": "demo",
                "source_id": f"demo-org-{org_id}",
                "active": True,
            }
        )
        self.orgs.append((org_id, name))
        return org_id

    # -- services --------------------------------------------------------------------------------------------
    def service(
        self,
        org_id: int,
        domain: str,
        place: tuple[str, float, float, str | None, int | None],
        jitter_km: float,
        **overrides,
    ) -> int:
        """Add one service with its location, phones, hours, languages, attributes and maybe capacity."""
        rng = self.rng
        name_place, lat0, lon0, zip_code, place_id = place
        service_id = self.ids.service
        self.ids.service += 1
        self.service_ids.append(service_id)
        term = overrides.pop("term", None) or (
            rng.choice(self.terms[domain]) if self.terms.get(domain) else None
        )
        template = overrides.pop("name_template", None) or rng.choice(NAMES[domain])
        name = overrides.pop("name", None) or template.format(p=name_place, a=rng.choice(ADJECTIVES))
        low_barrier = rng.random() < {
            "harm_reduction": 0.9,
            "housing": 0.55,
            "peer_support": 0.8,
            "food": 0.85,
            "hygiene": 0.85,
            "medical_care": 0.5,
        }.get(domain, 0.35)
        attrs = {
            "no_sobriety_requirement": low_barrier or rng.random() < 0.3,
            "accepts_active_use": low_barrier or rng.random() < 0.2,
            "accepts_sex_workers": low_barrier or rng.random() < 0.3,
            "no_id_required": low_barrier or rng.random() < 0.4,
            "criminal_record_ok": low_barrier or rng.random() < 0.5,
            "housing_first": False,
            "trauma_informed": rng.random() < 0.55,
            "peer_run": rng.random() < (0.6 if domain == "peer_support" else 0.15),
            "coordinated_entry": False,
            "religious_requirement": domain in ("housing", "food") and rng.random() < 0.06,
            "conversion_therapy": False,
        }
        if domain == "housing":
            attrs["housing_first"] = term in (
                "housing.permanent_supportive",
                "housing.rapid_rehousing",
                "housing.tiny_house_village",
            ) or (low_barrier and rng.random() < 0.5)
        attrs.update({k: overrides.pop(k) for k in list(overrides) if k in attrs})
        if attrs["religious_requirement"]:
            attrs["housing_first"] = False
        fundable = LEAD_FUNDABLE.holds(attrs.__getitem__, domain)
        confidential = overrides.pop("confidential", False)
        unit = UNIT_BY_TERM.get(term) or UNIT_BY_DOMAIN.get(domain)
        self.rows["service"].append(
            {
                "id": service_id,
                "organization_id": org_id,
                "name": name,
                "description": overrides.pop("description", None) or DESCRIPTIONS[domain],
                "status": "active",
                "primary_domain": domain,
                "eligibility_description": overrides.pop("eligibility", None)
                or self._eligibility(domain, attrs),
                "application_process": None,
                "intake_mode": rng.choice(["walk_in", "walk_in_or_referral", "referral_only", "appointment"])
                if domain not in ("food", "hygiene", "harm_reduction")
                else "walk_in",
                "intake_times": "Intake daily 8-10 am and 4-6 pm" if unit == "shelter_bed" else None,
                "curfew": "Doors close at 10 pm" if unit == "shelter_bed" and rng.random() < 0.5 else None,
                "fees_description": "Free",
                "insurance": "Medicaid (Apple Health), uninsured welcome"
                if domain in ("medical_care", "substance_use_treatment", "mental_health")
                else None,
                "alert": overrides.pop("alert", None)
                or ("Call before you go: intake moved to the side door." if rng.random() < 0.04 else None),
                "moud_buprenorphine": domain == "substance_use_treatment" and rng.random() < 0.6,
                "moud_methadone": term == "substance_use_treatment.moud_methadone",
                "moud_naltrexone": domain == "substance_use_treatment" and rng.random() < 0.3,
                "pets_allowed": rng.random() < 0.4 if domain == "housing" else None,
                "partners_allowed": rng.random() < 0.5 if domain == "housing" else None,
                "wheelchair_accessible": rng.random() < 0.7
                if domain in ("housing", "medical_care")
                else None,
                "lead_fundable": fundable,
                "source": "demo",
                "source_id": f"demo-svc-{service_id}",
                "created_at": self.now,
                "updated_at": self.now,
                **attrs,
            }
        )
        if term:
            self.rows["service_taxonomy"].append({"service_id": service_id, "taxonomy_term_id": term})
        # Location: jittered around the place; a confidential location sits at its neighborhood's centroid.
        location_id = self.ids.location
        self.ids.location += 1
        if confidential:
            lat, lon = lat0, lon0
        else:
            distance = jitter_km * math.sqrt(rng.random())
            bearing = rng.uniform(0, 2 * math.pi)
            lat = lat0 + distance / 111.2 * math.cos(bearing)
            lon = lon0 + distance / (111.2 * math.cos(math.radians(lat0))) * math.sin(bearing)
        self.rows["location"].append(
            {
                "id": location_id,
                "organization_id": org_id,
                "name": None,
                "latitude": round(lat, 6),
                "longitude": round(lon, 6),
                "precision": "exact",
                "neighborhood_id": place_id,
                "confidential": confidential,
                "source": "demo",
                "source_id": f"demo-loc-{location_id}",
            }
        )
        if not confidential:
            self.rows["address"].append(
                {
                    "id": self.ids.address,
                    "location_id": location_id,
                    "address_1": f"{rng.randint(100, 9900)} {rng.choice(STREETS)}",
                    "address_2": None,
                    "city": overrides.pop("city", None)
                    or ("Seattle" if place_id is None or lat0 > 47.49 else name_place),
                    "state_province": overrides.pop("region", "WA"),
                    "postal_code": zip_code,
                    "country": "US",
                }
            )
            self.ids.address += 1
        self.rows["service_at_location"].append({"service_id": service_id, "location_id": location_id})
        if place_id is not None:
            self.rows["service_area"].append({"service_id": service_id, "site_place_id": place_id})
        area = "206" if lat0 > 47.49 else "253"
        self.rows["phone"].append(
            {
                "id": self.ids.phone,
                "service_id": service_id,
                "location_id": None,
                "number": f"{area}-555-01{rng.randint(0, 99):02d}",
                "extension": None,
                "type": "hotline" if confidential else "voice",
                "description": "24-hour line" if confidential else None,
            }
        )
        self.ids.phone += 1
        self._schedules(service_id, domain, unit, term)
        self._languages(service_id, overrides.pop("languages", None), overrides.pop("interpreted", ()))
        populations = overrides.pop("populations", None)
        if populations is None and rng.random() < 0.3:
            populations = rng.sample(self.populations, k=rng.choice([1, 1, 2]))
        for code in populations or []:
            self.rows["service_population"].append({"service_id": service_id, "population_code": code})
        if domain in ("substance_use_treatment", "mental_health", "peer_support"):
            for code in rng.sample(self.practices, k=rng.randint(1, 3)):
                self.rows["service_practice"].append({"service_id": service_id, "practice_code": code})
        if rng.random() < 0.35 and domain not in ("food", "hygiene", "harm_reduction"):
            self.rows["required_document"].append(
                {
                    "id": self.ids.document,
                    "service_id": service_id,
                    "document": rng.choice(
                        [
                            "Photo ID if you have one (not required)",
                            "Proof of income, if any",
                            "Any court paperwork you have",
                            "Insurance card if you have one",
                        ]
                    ),
                    "uri": None,
                }
            )
            self.ids.document += 1
        state = overrides.pop("state", None)
        tracked = overrides.pop("tracked", None)
        if tracked is None:
            tracked = unit is not None and rng.random() < TRACKED_SHARE.get(domain, 0)
        if tracked:
            self._capacity(service_id, unit or "slot", fundable, state, overrides)
        if overrides:
            raise ValueError(f"unknown demo overrides {sorted(overrides)}")
        return service_id

    def _eligibility(self, domain: str, attrs: dict) -> str:
        if domain == "housing" and attrs["housing_first"]:
            return "Adults experiencing homelessness. No sobriety or treatment requirement."
        if attrs["religious_requirement"]:
            return "Adults; guests attend evening chapel."
        return "Adults 18 and over." if self.rng.random() < 0.7 else "Anyone; no questions asked."

    def _schedules(self, service_id: int, domain: str, unit: str | None, term: str | None) -> None:
        rng = self.rng
        days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        if unit == "shelter_bed" and term == "housing.emergency_shelter":
            slots = [(day, time(19), time(7)) for day in days]  # overnight: closes the next morning
        elif domain == "housing" or domain == "transportation" and rng.random() < 0.3:
            slots = [(day, time(0), time(0)) for day in days]  # 24 hours
        elif domain == "food":
            slots = [(day, time(11, 30), time(13, 30)) for day in days] + [
                (day, time(17), time(18, 30)) for day in days[:5]
            ]
        elif domain in ("harm_reduction", "hygiene", "peer_support"):
            slots = [(day, time(10), time(18)) for day in days[:6]]
        else:
            opens = rng.choice([time(8), time(9), time(10)])
            slots = [(day, opens, time(17)) for day in days[:5]]
        for day, opens, closes in slots:
            self.rows["schedule"].append(
                {
                    "id": self.ids.schedule,
                    "service_id": service_id,
                    "freq": "WEEKLY",
                    "byday": day,
                    "opens_at": opens,
                    "closes_at": closes,
                    "description": None,
                }
            )
            self.ids.schedule += 1

    def _languages(self, service_id: int, codes: list[str] | None, interpreted=()) -> None:
        """Its languages: English mostly, some others; about a third of the others through an interpreter
        on request (chosen from the ids, not the random stream, so the rest of the demo stays as it was)."""
        rng = self.rng
        chosen = codes is None
        if codes is None:
            codes = ["en"] if rng.random() < 0.97 else []
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                code = _weighted(rng, EXTRA_LANGUAGES)
                if code not in codes:
                    codes.append(code)
            if not codes:
                codes = [_weighted(rng, EXTRA_LANGUAGES)]
        for code in [*codes, *interpreted]:
            by_interpreter = code in interpreted or (
                chosen and code != "en" and (service_id * 31 + sum(map(ord, code))) % 3 == 0
            )
            self.rows["language"].append(
                {
                    "id": self.ids.language,
                    "service_id": service_id,
                    "code": code,
                    "name": self.language_names.get(code, code),
                    "note": "Interpreter by phone on request" if by_interpreter else None,
                    "access": "interpreter" if by_interpreter else "staff",
                }
            )
            self.ids.language += 1

    def _capacity(
        self, service_id: int, unit: str, fundable: bool, state: str | None, overrides: dict
    ) -> None:
        rng = self.rng
        if state is None:
            state = _weighted(rng, STATES)
            if state == "lead" and not fundable:
                state = "spare"
        window = timedelta(hours=self.site.freshness_hours[unit])
        maximum = rng.randint(6, 80) if unit in ("shelter_bed", "bed", "unit") else rng.randint(4, 30)
        fresh_at = self.now - window * rng.uniform(0.01, 0.6)
        row = {
            "maximum": maximum,
            "available": 0,
            "waitlist": 0,
            "lead_funded_maximum": 0,
            "lead_funded_available": 0,
            "confirmed_at": fresh_at,
        }
        if state == "spare":
            row["waitlist"] = rng.choice([0, 0, 0, 1])
            row["available"] = min(maximum, row["waitlist"] + rng.randint(1, 6))
        elif state == "lead":
            row["lead_funded_maximum"] = rng.randint(2, 6)
            row["lead_funded_available"] = rng.randint(1, row["lead_funded_maximum"])
            row["waitlist"] = rng.randint(0, 8)
            row["available"] = rng.randint(0, 2)
        elif state == "waitlist":
            row["waitlist"] = rng.randint(2, 25)
            row["available"] = rng.randint(0, min(maximum, row["waitlist"]))
        elif state == "full":
            pass
        elif state == "stale":
            row["available"] = rng.randint(1, 5)
            row["confirmed_at"] = self.now - window - timedelta(hours=rng.uniform(2, 96))
        elif state == "unknown_waitlist":
            row["available"] = rng.randint(0, 5)
            row["waitlist"] = None
        elif state == "never_confirmed":
            row.update(available=None, waitlist=None, confirmed_at=None)
        else:
            raise ValueError(f"unknown capacity state {state}")
        if not fundable:
            row["lead_funded_maximum"] = row["lead_funded_available"] = 0
        row.update({k: overrides.pop(k) for k in list(overrides) if k in row})
        row["maximum"] = max(row["maximum"], row["available"] or 0)
        self.rows["service_capacity"].append(
            {
                "id": self.ids.capacity,
                "service_id": service_id,
                "service_lead_fundable": fundable,
                "unit_id": unit,
                "held_general": 0,
                "held_lead": 0,
                "description": None,
                "updated": row["confirmed_at"] or self.now,
                "stale_marked_at": None,
                **row,
            }
        )
        self.ids.capacity += 1

    # -- writing ---------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Insert everything gathered, parents first, in chunks."""
        tables = {
            "organization": Organization.__table__,
            "location": Location.__table__,
            "address": Address.__table__,
            "service": Service.__table__,
            "service_at_location": service_at_location,
            "service_taxonomy": service_taxonomy,
            "language": Language.__table__,
            "service_population": service_population,
            "service_practice": service_practice,
            "service_area": service_area,
            "schedule": Schedule.__table__,
            "phone": Phone.__table__,
            "required_document": RequiredDocument.__table__,
            "service_capacity": ServiceCapacity.__table__,
        }
        for name, table in tables.items():
            rows = self.rows[name]
            for start in range(0, len(rows), CHUNK):
                self.session.execute(insert(table), rows[start : start + CHUNK])
            rows.clear()


def _public_places(session: Session) -> list[tuple[str, float, float, str | None, int]]:
    places = session.execute(
        select(
            SitePlace.name,
            SitePlace.latitude,
            SitePlace.longitude,
            SitePlace.zip,
            SitePlace.id,
            SitePlace.kind,
        )
        .where(SitePlace.internal.is_(False))
        .order_by(SitePlace.id)
    ).all()
    if not places:
        raise RuntimeError("no site places: run init-db (it loads the site file's places) before seeding")
    return [(name, lat, lon, zip_code, place_id) for name, lat, lon, zip_code, place_id, _ in places]


def _anchors(builder: _Builder, places) -> None:
    """Services placed on purpose so that every state and the README's example searches exist."""
    by_name = {p[0]: p for p in places}
    downtown = [
        by_name.get(n)
        for n in (
            "Pioneer Square",
            "Chinatown-International District",
            "First Hill",
            "Belltown",
            "Capitol Hill",
            "Yesler Terrace",
        )
    ]
    downtown = [p for p in downtown if p is not None] or places[:6]
    low = {
        "no_sobriety_requirement": True,
        "accepts_active_use": True,
        "accepts_sex_workers": True,
        "no_id_required": True,
        "criminal_record_ok": True,
    }
    org = builder.organization("Duwamish Valley Housing Partners")
    for i, label in enumerate(("Jackson Street", "Yesler Commons")):
        builder.service(
            org,
            "housing",
            downtown[i % len(downtown)],
            0.8,
            name=f"{label} Housing First Apartments",
            term="housing.permanent_supportive",
            housing_first=True,
            languages=["en", "es"],
            state="spare",
            tracked=True,
            waitlist=0,
            available=3 + i,
            lead_funded_maximum=0,
            lead_funded_available=0,
            **low,
        )
    lead_org = builder.organization("Cascade Harm Reduction Collective")
    for i, label in enumerate(("Pine Street", "Harbor Light")):
        builder.service(
            lead_org,
            "housing",
            downtown[(i + 2) % len(downtown)],
            0.8,
            name=f"{label} Tiny House Village",
            term="housing.tiny_house_village",
            housing_first=True,
            languages=["en", "es"],
            interpreted=["so"],
            state="lead",
            tracked=True,
            lead_funded_maximum=4,
            lead_funded_available=2,
            **low,
        )
    builder.service(
        lead_org,
        "substance_use_treatment",
        downtown[1],
        0.5,
        name="Pioneer Bupe Clinic",
        term="substance_use_treatment.moud_buprenorphine",
        state="lead",
        tracked=True,
        lead_funded_maximum=3,
        lead_funded_available=1,
        **low,
    )
    ce_org = builder.organization("Rainier Coordinated Housing Alliance")
    builder.service(
        ce_org,
        "housing",
        downtown[3 % len(downtown)],
        1.0,
        name="Rainier Permanent Supportive Housing",
        term="housing.permanent_supportive",
        housing_first=True,
        coordinated_entry=True,
        state="spare",
        tracked=True,
        available=4,
        waitlist=0,
        **low,
    )
    builder.service(
        ce_org,
        "housing",
        downtown[4 % len(downtown)],
        1.0,
        name="Summit Supportive Apartments",
        term="housing.permanent_supportive",
        housing_first=True,
        coordinated_entry=True,
        state="lead",
        tracked=True,
        lead_funded_maximum=2,
        lead_funded_available=1,
        **low,
    )
    dv_org = builder.organization("Safe Harbor Domestic Violence Services")
    builder.service(
        dv_org,
        "housing",
        downtown[2 % len(downtown)],
        0.0,
        name="Safe Harbor Confidential Shelter",
        term="housing.emergency_shelter",
        confidential=True,
        populations=["women", "families"],
        state="spare",
        tracked=True,
        eligibility="Survivors of domestic violence and their children.",
        **low,
    )
    mission = builder.organization("Elliott Bay Rescue Mission")
    builder.service(
        mission,
        "housing",
        downtown[0],
        0.6,
        name="Elliott Bay Mission Night Shelter",
        term="housing.emergency_shelter",
        religious_requirement=True,
        state="waitlist",
        tracked=True,
    )
    counseling = builder.organization("New Direction Christian Counseling")
    builder.service(
        counseling,
        "mental_health",
        downtown[5 % len(downtown)],
        1.0,
        name="New Direction Counseling",
        conversion_therapy=True,
        tracked=False,
        description="Faith-based counseling that practises so-called reparative therapy. "
        "Not LEAD-fundable; listed so that case managers know what it is.",
    )
    waiting = builder.organization("Yesler Recovery House")
    builder.service(
        waiting,
        "substance_use_treatment",
        downtown[0],
        0.8,
        name="Yesler Residential Treatment",
        term="substance_use_treatment.residential",
        state="waitlist",
        tracked=True,
        available=1,
        waitlist=6,
    )
    builder.service(
        waiting,
        "housing",
        downtown[1],
        0.8,
        name="Jackson Street Women's Shelter",
        term="housing.emergency_shelter",
        state="full",
        tracked=True,
        populations=["women"],
    )


def seed(
    session: Session,
    site: SiteConfig,
    services: int = 300,
    seed: int = 7,
    now: datetime | None = None,
    spread: str | None = None,
    taxonomy_path: Path | None = None,
) -> Summary:
    """Load the deterministic demo site; the caller commits.

    spread: "metro" (around the site's public places), "national" (real US ZIP centroids), or None for
    metro up to 1,000 services and national beyond.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    spread = spread or ("metro" if services <= 1000 else "national")
    if spread not in ("metro", "national"):
        raise ValueError("spread is metro or national")
    rng = random.Random(seed)
    taxonomy = _read_taxonomy(taxonomy_path or DATA_DIR / "taxonomy.toml")
    builder = _Builder(session, rng, now, site, taxonomy)
    places = _public_places(session)
    small = services <= 1000
    if small:
        _anchors(builder, places)
    org_count = max(1, services // 3)
    org_ids = [builder.organization() for _ in range(org_count)]
    domains = list(DOMAIN_WEIGHTS.items())
    zips = sorted(zip_centroids().items()) if spread == "national" else []
    while len(builder.service_ids) < services:
        domain = _weighted(rng, domains)
        if spread == "national":
            code, (lat, lon, city, state) = rng.choice(zips)
            place = (city.title(), lat, lon, code, None)
            builder.service(rng.choice(org_ids), domain, place, 1.0, city=city.title(), region=state)
        else:
            place = rng.choice(places)
            builder.service(rng.choice(org_ids), domain, place, 0.7 if small else 3.0)
        if not small and len(builder.rows["service"]) >= CHUNK:
            builder.flush()
    builder.flush()
    reindex_services(session, builder.service_ids)
    logins = _demo_users(session, builder) if small else []
    session.flush()
    if small:
        _demo_consent(session, builder, now)
    return Summary(services=len(builder.service_ids), organizations=len(builder.orgs), logins=logins)


def _demo_users(session: Session, builder: _Builder) -> list[tuple[str, str, str]]:
    existing = set(session.scalars(select(User.email)))
    lead_org = next(org_id for org_id, name in builder.orgs if name == "Cascade Harm Reduction Collective")
    other_org = next(org_id for org_id, name in builder.orgs if name == "Duwamish Valley Housing Partners")
    password_hash = generate_password_hash(DEMO_PASSWORD)
    accounts = [
        ("cm@demo.lead", "case_manager", None, False, "Demo case manager", "206-555-0190"),
        ("cm2@demo.lead", "case_manager", None, False, "Second demo case manager", "206-555-0191"),
        ("peer@demo.lead", "peer_outreach", None, False, "Demo peer outreach worker", "206-555-0192"),
        ("provider@demo.lead", "provider", lead_org, True, "Demo provider (admin)", None),
        ("provider2@demo.lead", "provider", other_org, False, "Second demo provider", None),
        ("pm@demo.lead", "project_manager", None, False, "Demo project manager", None),
        ("admin@demo.lead", "admin", None, False, "Demo admin", None),
    ]
    logins = []
    for email, role, org_id, org_admin, display, phone in accounts:
        if email not in existing:
            session.add(
                User(
                    email=email,
                    role=role,
                    organization_id=org_id,
                    org_admin=org_admin,
                    password_hash=password_hash,
                    is_demo=True,
                    display_name=display,
                    phone=phone,
                )
            )
        logins.append((email, DEMO_PASSWORD, role))
    return logins


PART2_DEMO = ("Pioneer Bupe Clinic", "Yesler Residential Treatment")


def _demo_consent(session: Session, builder: _Builder, now: datetime) -> None:
    """Two treatment programs marked as 42 CFR Part 2 programs, and two participants of the demo case
    manager whose releases show each path of the check: current, expired, revoked, and none at all."""
    session.execute(update(Service).where(Service.name.in_(PART2_DEMO)).values(part2_program=True))
    cm = session.scalar(select(User).where(User.email == "cm@demo.lead"))
    if cm is None or session.scalar(select(Participant.id).where(Participant.case_manager_id == cm.id)):
        return  # seeded before: the demo participants are there
    orgs = {name: org_id for org_id, name in builder.orgs}
    yesler, cascade = orgs["Yesler Recovery House"], orgs["Cascade Harm Reduction Collective"]
    alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
    today = now.date()
    plans = [
        # Yesler: current; Pioneer (Cascade): expired.
        [
            (yesler, today - timedelta(days=30), today + timedelta(days=335), None),
            (cascade, today - timedelta(days=400), today - timedelta(days=35), None),
        ],
        # Yesler: revoked; Pioneer: no release at all.
        [(yesler, today - timedelta(days=60), today + timedelta(days=305), now - timedelta(days=3))],
    ]
    for releases in plans:
        code = "P-" + "".join(builder.rng.choice(alphabet) for _ in range(6))
        participant = Participant(
            code=code, case_manager_id=cm.id, created_at=now, last_activity_at=now, needs={}
        )
        session.add(participant)
        session.flush()
        for org_id, signed, expires, revoked in releases:
            session.add(
                ReleaseOfInformation(
                    participant_id=participant.id,
                    organization_id=org_id,
                    purpose="referral_outcome",
                    signed_on=signed,
                    expires_on=expires,
                    recorded_at=now,
                    recorded_by=cm.id,
                    revoked_at=revoked,
                    revoked_by=cm.id if revoked else None,
                )
            )
    session.flush()
