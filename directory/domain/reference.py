"""Reference data: the IIP taxonomy and vocabularies from data/taxonomy.toml, and the site's places.

`load_reference` is idempotent (init-db runs it each time); `Reference` is the read-only view that
query validation uses.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import SiteConfig
from ..models import LanguageName, Population, Practice, SitePlace, Taxonomy, TaxonomyTerm, Unit


def read_taxonomy(path: Path) -> dict:
    """Parse the taxonomy file."""
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _upsert(session: Session, model, key: str, values: dict) -> None:
    obj = session.get(model, values[key])
    if obj is None:
        session.add(model(**values))
    else:
        for name, value in values.items():
            setattr(obj, name, value)


def load_reference(session: Session, taxonomy_path: Path, site: SiteConfig) -> dict[str, int]:
    """Insert or update the taxonomy, vocabularies, units and site places. Returns counts."""
    raw = read_taxonomy(taxonomy_path)
    tax = raw["taxonomy"]
    _upsert(
        session,
        Taxonomy,
        "id",
        {"id": tax["id"], "name": tax["name"], "version": str(tax.get("version", ""))},
    )
    session.flush()
    terms = 0
    for position, domain in enumerate(raw["domains"]):
        _upsert(
            session,
            TaxonomyTerm,
            "id",
            {
                "id": domain["code"],
                "taxonomy_id": tax["id"],
                "parent_id": None,
                "name": domain["name"],
                "description": domain.get("description"),
                "position": position,
            },
        )
        terms += 1
        session.flush()
        for sub_position, term in enumerate(domain.get("terms", [])):
            _upsert(
                session,
                TaxonomyTerm,
                "id",
                {
                    "id": term["code"],
                    "taxonomy_id": tax["id"],
                    "parent_id": domain["code"],
                    "name": term["name"],
                    "description": term.get("description"),
                    "position": sub_position,
                },
            )
            terms += 1
    for unit in raw["units"]:
        _upsert(
            session,
            Unit,
            "id",
            {"id": unit["code"], "name": unit["name"], "plural": unit["plural"], "scheme": "lead-directory"},
        )
    for population in raw["populations"]:
        _upsert(session, Population, "code", {"code": population["code"], "name": population["name"]})
    for practice in raw["practices"]:
        _upsert(session, Practice, "code", {"code": practice["code"], "name": practice["name"]})
    for language in raw["languages"]:
        _upsert(session, LanguageName, "code", {"code": language["code"], "name": language["name"]})
    existing = {p.name: p for p in session.scalars(select(SitePlace))}
    for place in site.places:
        values = {
            "name": place.name,
            "kind": place.kind,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "zip": place.zip,
            "internal": place.internal,
        }
        if place.name in existing:
            for name, value in values.items():
                setattr(existing[place.name], name, value)
        else:
            session.add(SitePlace(**values))
    session.flush()
    return {
        "taxonomy_terms": terms,
        "units": len(raw["units"]),
        "populations": len(raw["populations"]),
        "practices": len(raw["practices"]),
        "languages": len(raw["languages"]),
        "places": len(site.places),
    }


@dataclass(frozen=True)
class Reference:
    """What query validation needs to know: valid categories, languages, populations and places."""

    domains: dict[str, str]  # code -> name (top-level IIP domains)
    terms: dict[str, str]  # term id -> its domain code (sub-terms only)
    term_names: dict[str, str]  # any term id -> name
    languages: dict[str, str]  # casefolded code or English name -> code
    language_names: dict[str, str]  # code -> English name
    populations: dict[str, str]  # casefolded code or name -> code
    population_names: dict[str, str]  # code -> name
    places: dict[str, tuple[float, float]]  # casefolded public place name -> (lat, lon)
    place_names: dict[int, str]  # id -> name (public places only)
    practice_names: dict[str, str] = field(default_factory=dict)  # code -> name (keyword search)

    @classmethod
    def load(cls, session: Session) -> Reference:
        """Read the reference tables."""
        domains, terms, names = {}, {}, {}
        for term in session.scalars(select(TaxonomyTerm).order_by(TaxonomyTerm.position)):
            names[term.id] = term.name
            if term.parent_id is None:
                domains[term.id] = term.name
            else:
                terms[term.id] = term.parent_id
        languages, language_names = {}, {}
        for lang in session.scalars(select(LanguageName)):
            languages[lang.code.casefold()] = lang.code
            languages[lang.name.casefold()] = lang.code
            language_names[lang.code] = lang.name
        populations, population_names = {}, {}
        for pop in session.scalars(select(Population)):
            populations[pop.code.casefold()] = pop.code
            populations[pop.name.casefold()] = pop.code
            population_names[pop.code] = pop.name
        places, place_names = {}, {}
        for place in session.scalars(select(SitePlace).where(SitePlace.internal.is_(False))):
            places[place.name.casefold()] = (place.latitude, place.longitude)
            place_names[place.id] = place.name
        practice_names = {p.code: p.name for p in session.scalars(select(Practice))}
        return cls(
            domains=domains,
            terms=terms,
            term_names=names,
            languages=languages,
            language_names=language_names,
            populations=populations,
            population_names=population_names,
            places=places,
            place_names=place_names,
            practice_names=practice_names,
        )
