"""Directory search: validate the query (contract.md query rules), filter in SQL, rank by exact distance.

With a location, a bounding box on the indexed coordinates narrows the candidates inside the
database; the exact WGS84 geodesic distance then decides who is within the radius and the order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..config import SiteConfig
from ..models import (
    Language,
    Location,
    Schedule,
    Service,
    ServiceCapacity,
    ServiceSearchTerm,
    service_at_location,
    service_population,
    service_practice,
    service_taxonomy,
)
from ..words import N_, Words
from . import capacity as cap
from . import disclosure as public
from . import keywords, places, rules
from .disclosure import Disclosure
from .errors import ValidationError
from .geo import (
    Point,
    bounding_box,
    check_coordinates,
    geodesic_km,
    haversine_km,
    parse_latlon,
    resolve_near,
)
from .hours import open_now_sql
from .records import load_records
from .reference import Reference
from .text import words

AVAILABILITY = {
    "lead_funded": (cap.LEAD_FUNDED,),
    "spare": (cap.SPARE_CAPACITY,),
    "open": (cap.LEAD_FUNDED, cap.SPARE_CAPACITY),
    "any": None,
}
# language_access: "any" language, spoken by staff or through an interpreter on request, is no filter.
LANGUAGE_ACCESS = ("staff", "any")
MAX_RADIUS_KM = 200.0
KM_PER_MILE = 1.609344
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_QUERY_WORDS = 8
# The mean-radius sphere is within 0.6% of the WGS84 geodesic at any distance (checked by a test).
SPHERE_ERROR = 0.006
# Below this many locations in the box, keyword matches are checked per candidate (see _filters).
FEW_CANDIDATES = 3000
KNOWN_PARAMS = frozenset(
    {
        "q",
        "category",
        "near",
        "lat",
        "lon",
        "radius_km",
        "radius_mi",
        "language",
        "language_access",
        "population",
        "low_barrier",
        "housing_first",
        "availability",
        "open_now",
        "medication",
        "page",
        "per_page",
    }
)


@dataclass(frozen=True)
class SearchQuery:
    """A validated search."""

    q: str | None = None
    terms: tuple[str, ...] = ()
    category: str | None = None
    center: Point | None = None
    radius_km: float | None = None
    language: str | None = None
    # "staff": only services whose staff speak the language; None ("any"): an interpreter on request will do.
    language_access: str | None = None
    population: str | None = None
    low_barrier: bool | None = None
    housing_first: bool | None = None
    availability: str | None = None
    open_now: bool | None = None
    medication: str | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    # The viewer's disclosure (the public's hides badges and LEAD figures); None: staff, everything.
    disclosure: Disclosure | None = None


@dataclass
class SearchPage:
    """One page of results: services with their distance (km) when the search had a location."""

    items: list[tuple[Service, float | None]]
    total: int
    page: int
    per_page: int
    query: SearchQuery
    statuses: dict[int, str] = field(default_factory=dict)
    # The services on this page listed without regard to the location (confidential: never placed).
    confidential: set[int] = field(default_factory=set)


def parse_bool(value: str, name: str) -> bool:
    """Booleans are true|false|1|0 (contract.md)."""
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValidationError(Words(N_("%(name)s must be true, false, 1 or 0"), name=name), name)


def parse_int(value: str, name: str, low: int, high: int) -> int:
    """A decimal integer in [low, high]; anything else is a ValidationError naming the field."""
    text = value.strip()
    if not text.isascii() or not text.lstrip("+-").isdigit() or len(text) > 12:
        raise ValidationError(Words(N_("%(name)s must be a whole number"), name=name), name)
    number = int(text)
    if not low <= number <= high:
        raise ValidationError(
            Words(N_("%(name)s must be between %(low)s and %(high)s"), name=name, low=low, high=high), name
        )
    return number


def parse_float(value: str, name: str) -> float:
    """A finite decimal number."""
    text = value.strip()
    if len(text) > 30 or not text.isascii():
        raise ValidationError(Words(N_("%(name)s must be a decimal number"), name=name), name)
    try:
        number = float(text)
    except ValueError:
        raise ValidationError(Words(N_("%(name)s must be a decimal number"), name=name), name) from None
    if not math.isfinite(number) or "x" in text.lower() or "_" in text:
        raise ValidationError(Words(N_("%(name)s must be a decimal number"), name=name), name)
    return number


def parse_query(
    params: Mapping[str, str],
    reference: Reference,
    geocode_address: Callable[[str], Point | None] | None = None,
    default_radius_km: float = 10.0,
    site_center: tuple[float, float] | None = None,
) -> SearchQuery:
    """Validate search parameters; raise ValidationError naming the first bad field.

    Fields are read and checked in a fixed order (the order below), so "first" is well defined.
    """
    given = _reader(params)
    values: dict = {}
    values.update(_keywords(given("q")))
    values.update(_category(given("category"), reference))
    values.update(_location(given, reference, geocode_address, default_radius_km, site_center))
    values.update(_coded("language", given("language"), reference.languages))
    values.update(_language_access(given("language_access"), values.get("language")))
    values.update(_coded("population", given("population"), reference.populations))
    for name in ("low_barrier", "housing_first", "open_now"):
        if (raw := given(name)) is not None:
            values[name] = parse_bool(raw, name)
    values.update(_availability(given("availability")))
    values.update(_medication(given("medication")))
    if (page := given("page")) is not None:
        values["page"] = parse_int(page, "page", 1, 1_000_000)
    if (per_page := given("per_page")) is not None:
        values["per_page"] = parse_int(per_page, "per_page", 1, MAX_PER_PAGE)
    return SearchQuery(**values)


def _reader(params: Mapping[str, str]) -> Callable[[str], str | None]:
    """A parameter's value, None when absent or blank; a NUL character is refused, naming the field."""

    def given(name: str) -> str | None:
        value = params.get(name)
        if value is None:
            return None
        if "\x00" in value:
            raise ValidationError(Words(N_("text contains a NUL character")), name)
        return value if value.strip() else None

    return given


def _keywords(q: str | None) -> dict:
    """The keywords `q` and the words searched for."""
    if q is None:
        return {}
    if len(q) > 200:
        raise ValidationError(Words(N_("keywords are too long (200 characters at most)")), "q")
    terms = tuple(words(q))
    if len(terms) > MAX_QUERY_WORDS:
        raise ValidationError(
            Words(N_("use at most %(max_query_words)s keywords"), max_query_words=MAX_QUERY_WORDS), "q"
        )
    return {"q": q.strip(), "terms": terms}


def _category(category: str | None, reference: Reference) -> dict:
    """An IIP domain or a taxonomy term id."""
    if category is None:
        return {}
    key = category.strip()
    if key not in reference.domains and key not in reference.terms:
        raise ValidationError(
            Words(N_("unknown category %(key)r: use an IIP domain or taxonomy term id"), key=key), "category"
        )
    return {"category": key}


def _location(
    given: Callable[[str], str | None],
    reference: Reference,
    geocode_address: Callable[[str], Point | None] | None,
    default_radius_km: float,
    site_center: tuple[float, float] | None = None,
) -> dict:
    """The center (near, or lat and lon) and the radius around it (radius_km, or the site's default)."""
    values: dict = {}
    center = _center(given("near"), given("lat"), given("lon"), reference, geocode_address, site_center)
    if center is not None:
        values["center"] = center
    miles = given("radius_mi")
    if (radius := given("radius_km")) is not None:
        if miles is not None:
            raise ValidationError(Words(N_("give either radius_km or radius_mi, not both")), "radius_mi")
        values["radius_km"] = _radius(radius, center)
    elif miles is not None:
        values["radius_km"] = _radius(miles, center, "radius_mi")
    elif center is not None:
        values["radius_km"] = default_radius_km
    return values


def _center(
    near: str | None,
    lat: str | None,
    lon: str | None,
    reference: Reference,
    geocode_address: Callable[[str], Point | None] | None,
    site_center: tuple[float, float] | None = None,
) -> Point | None:
    """The point searched around: coordinates as given, or a place, ZIP code or address resolved."""
    if near is not None and (lat is not None or lon is not None):
        raise ValidationError(Words(N_("give either near or lat and lon, not both")), "near")
    if (lat is None) != (lon is None):
        raise ValidationError(Words(N_("lat and lon go together")), "lat" if lat is None else "lon")
    if lat is not None and lon is not None:
        latitude, longitude = parse_float(lat, "lat"), parse_float(lon, "lon")
        check_coordinates(latitude, 0.0, "lat")
        check_coordinates(0.0, longitude, "lon")
        return Point(latitude, longitude, f"{latitude:.4f}, {longitude:.4f}")
    if near is not None:
        return _resolve(near, reference, geocode_address, site_center)
    return None


def _resolve(
    near: str,
    reference: Reference,
    geocode_address: Callable[[str], Point | None] | None,
    site_center: tuple[float, float] | None,
) -> Point:
    """near as people write it: lat,lon or a ZIP first, then site places (by their start, with
    abbreviations), cross streets and towns of the site's state, then the address geocoder if any."""
    if parse_latlon(near) is None and len(near) <= 300:
        named = {name: reference.places[name.casefold()] for name in reference.place_names.values()}
        found = places.find_place(near, named, site_center, town_fallback=geocode_address is None)
        if found is not None:
            return found
    try:
        return resolve_near(near, reference.places, geocode_address)
    except ValidationError as exc:
        if geocode_address is not None or not str(exc).startswith("could not find"):
            raise
        examples = sorted(reference.place_names.values())
        state = places.site_state(*site_center) if site_center else None
        raise ValidationError(places.offline_help(near, examples, state), "near") from None


def _radius(radius: str, center: Point | None, name: str = "radius_km") -> float:
    """radius_km (or radius_mi, in miles): more than 0, at most MAX_RADIUS_KM, and only with a location."""
    value = parse_float(radius, name)
    radius_km = value * KM_PER_MILE if name == "radius_mi" else value
    if not 0 < radius_km <= MAX_RADIUS_KM:
        most = MAX_RADIUS_KM / KM_PER_MILE if name == "radius_mi" else MAX_RADIUS_KM
        raise ValidationError(
            Words(
                N_("%(name)s must be more than 0 and at most %(most)s"), name=name, most=format(most, ".4g")
            ),
            name,
        )
    if center is None:
        raise ValidationError(Words(N_("%(name)s needs a location (near, or lat and lon)"), name=name), name)
    return radius_km


def _coded(name: str, value: str | None, codes: Mapping[str, str]) -> dict:
    """A language or population, by code or name (any case), as its code."""
    if value is None:
        return {}
    code = codes.get(value.strip().casefold())
    if code is None:
        raise ValidationError(Words(N_("unknown %(name)s %(value)r"), name=name, value=value.strip()), name)
    return {name: code}


def _language_access(access: str | None, language: str | None) -> dict:
    """staff (staff speak the language) or any (staff, or an interpreter on request: no filter); staff only
    with a language."""
    if access is None:
        return {}
    key = access.strip().lower()
    if key not in LANGUAGE_ACCESS:
        raise ValidationError("language_access must be staff or any", "language_access")
    if key == "staff" and language is None:
        raise ValidationError("language_access=staff needs a language", "language_access")
    return {"language_access": None if key == "any" else key}


def _availability(availability: str | None) -> dict:
    """lead_funded, spare, open or any (any: no filter)."""
    if availability is None:
        return {}
    key = availability.strip().lower()
    if key not in AVAILABILITY:
        raise ValidationError(
            Words(N_("availability must be lead_funded, spare, open or any")), "availability"
        )
    return {"availability": None if key == "any" else key}


def _medication(medication: str | None) -> dict:
    """methadone, buprenorphine or naltrexone (any case; brand names through the synonym table)."""
    if medication is None:
        return {}
    key = medication.strip().casefold()
    # One medication only: "MAT" names all three, which is no filter (use q=MAT for any of them).
    named = {phrase[0] for phrase in keywords.alternatives(key) if phrase[0] in keywords.MEDICATIONS}
    if len(named) == 1:
        return {"medication": named.pop()}
    raise ValidationError(
        Words(N_("medication must be methadone, buprenorphine or naltrexone")), "medication"
    )


def _text_sql(word: str, few_candidates: bool):
    """SQL: the service's indexed text has a word starting with `word`."""
    upper = word[:-1] + chr(ord(word[-1]) + 1)
    in_range = and_(ServiceSearchTerm.term >= word, ServiceSearchTerm.term < upper)
    if few_candidates:
        # The bounding box holds few services: check each one's own words (indexed by service)
        # instead of gathering every service in the country that has the word.
        return exists(
            select(ServiceSearchTerm.term).where(ServiceSearchTerm.service_id == Service.id, in_range)
        )
    return Service.id.in_(select(ServiceSearchTerm.service_id).where(in_range))


def _tags_sql(tags: keywords.TagMatches) -> list:
    """SQL: the service carries one of these tags (a medication, practice, population, language, category).
    Each tag test is an uncorrelated IN list, built once per query: a correlated EXISTS per service made a
    keyword search in a dense city three times slower."""
    found = [getattr(Service, f"moud_{name}").is_(True) for name in tags.medications]
    if tags.practices:
        found.append(
            Service.id.in_(
                select(service_practice.c.service_id).where(
                    service_practice.c.practice_code.in_(tags.practices)
                )
            )
        )
    if tags.populations:
        found.append(
            Service.id.in_(
                select(service_population.c.service_id).where(
                    service_population.c.population_code.in_(tags.populations)
                )
            )
        )
    if tags.languages:
        found.append(Service.id.in_(select(Language.service_id).where(Language.code.in_(tags.languages))))
    if tags.categories:
        found.append(Service.primary_domain.in_(tags.categories))
        found.append(
            Service.id.in_(
                select(service_taxonomy.c.service_id).where(
                    service_taxonomy.c.taxonomy_term_id.in_(tags.categories)
                )
            )
        )
    return found


def _keyword_sql(term: str, reference: Reference, few_candidates: bool):
    """SQL: the service matches a query word: the word, or every word of one of its synonym phrases, in its
    text or its tags. A word that names no tag and has no synonym stays a plain index lookup."""
    phrases = []
    for phrase in keywords.alternatives(term):
        required = []
        for word in phrase:
            either = [_text_sql(word, few_candidates), *_tags_sql(keywords.tag_matches(word, reference))]
            required.append(either[0] if len(either) == 1 else or_(*either))
        phrases.append(and_(*required))
    return phrases[0] if len(phrases) == 1 else or_(*phrases)


def _filters(
    query: SearchQuery,
    site: SiteConfig,
    now: datetime,
    reference: Reference,
    few_candidates: bool = False,
) -> list:
    """SQL conditions on Service (and its outer-joined capacity) for everything but the location."""
    conditions = [Service.status == "active"]
    conditions.extend(_keyword_sql(term, reference, few_candidates) for term in query.terms)
    if query.medication is not None:
        conditions.append(getattr(Service, f"moud_{query.medication}").is_(True))
    if query.category is not None:
        if query.category in reference.domains:
            # A domain matches its own services and any service tagged with one of its terms.
            wanted = [query.category] + [t for t, d in reference.terms.items() if d == query.category]
            tagged = exists(
                select(service_taxonomy.c.service_id).where(
                    service_taxonomy.c.service_id == Service.id,
                    service_taxonomy.c.taxonomy_term_id.in_(wanted),
                )
            )
            conditions.append(or_(Service.primary_domain == query.category, tagged))
        else:
            conditions.append(
                exists(
                    select(service_taxonomy.c.service_id).where(
                        service_taxonomy.c.service_id == Service.id,
                        service_taxonomy.c.taxonomy_term_id == query.category,
                    )
                )
            )
    if query.language is not None:
        spoken = [Language.service_id == Service.id, Language.code == query.language]
        if query.language_access is not None:
            spoken.append(Language.access == query.language_access)
        conditions.append(exists(select(Language.id).where(*spoken)))
    if query.population is not None:
        conditions.append(
            exists(
                select(service_population.c.service_id).where(
                    service_population.c.service_id == Service.id,
                    service_population.c.population_code == query.population,
                )
            )
        )
    viewer = query.disclosure
    if query.low_barrier is not None and viewer is not None and not viewer.staff:
        # Membership must not reveal a hidden badge: the public filter reads public attributes only.
        conditions.append(public.filter_sql(rules.LOW_BARRIER, Service, query.low_barrier, viewer.hidden))
    elif query.low_barrier is not None:
        low_barrier = rules.sql(rules.LOW_BARRIER, Service)
        conditions.append(low_barrier if query.low_barrier else ~low_barrier)
    if query.housing_first is not None:
        conditions.append(Service.housing_first.is_(query.housing_first))
    if query.availability is not None:
        # Built only when asked for: the CASE with its freshness cutoffs is the costliest part to build.
        status = public.status_sql(
            ServiceCapacity.__table__,
            Service,
            now,
            site.freshness_hours,
            viewer or Disclosure(staff=True),
        )
        conditions.append(status.in_(AVAILABILITY[query.availability]))
    if query.open_now is not None:
        is_open = open_now_sql(Schedule.__table__, Service.id, now, site.time_zone)
        # Hours kept as the provider wrote them are unknown: such a service is neither open nor closed now.
        conditions.append(is_open if query.open_now else and_(~is_open, Service.hours_text.is_(None)))
    return conditions


def search(
    session: Session, query: SearchQuery, site: SiteConfig, now: datetime, reference: Reference | None = None
) -> SearchPage:
    """Run a validated search and return one page with distances and capacity statuses."""
    reference = reference or Reference.load(session)
    capacity = ServiceCapacity.__table__
    few = query.center is not None and bool(query.terms) and _box_count(session, query) <= FEW_CANDIDATES
    conditions = _filters(query, site, now, reference, few_candidates=few)
    offset = (query.page - 1) * query.per_page
    confidential: set[int] = set()

    if query.center is None:
        base = select(Service.id).outerjoin(capacity, capacity.c.service_id == Service.id).where(*conditions)
        total = session.scalar(select(func.count()).select_from(base.subquery()))
        ids = list(
            session.scalars(base.order_by(Service.name, Service.id).offset(offset).limit(query.per_page))
        )
        distances: dict[int, float | None] = dict.fromkeys(ids)
    else:
        ranked = _rank_by_distance(session, query, conditions, capacity, offset + query.per_page)
        # Confidential services are never placed, so they are selected whatever near and radius are: after
        # the located ones, by name (distance None).
        unplaced = _confidential(session, conditions, capacity)
        ranked.extend((None, name, service_id) for name, service_id in unplaced)
        total = len(ranked)
        page = ranked[offset : offset + query.per_page]
        ids = [service_id for _, _, service_id in page]
        distances = {service_id: distance for distance, _, service_id in page}
        confidential = {service_id for _, service_id in unplaced}

    services = load_records(session, ids)
    return SearchPage(
        items=[(services[i], distances[i]) for i in ids],
        total=total,
        page=query.page,
        per_page=query.per_page,
        query=query,
        confidential=confidential & set(ids),
    )


def _confidential(session: Session, conditions, capacity) -> list[tuple[str, int]]:
    """[(name, id)] of the services matching `conditions` whose every location is confidential, by name."""
    # Driven from the few confidential locations (an IN list the database builds once), not by testing
    # every service of the directory: the check with EXISTS per service cost 120 ms at 100,000 services.
    secret = Service.id.in_(
        select(service_at_location.c.service_id)
        .join(Location, Location.id == service_at_location.c.location_id)
        .where(Location.confidential.is_(True))
    )
    public_place = exists(
        select(service_at_location.c.service_id)
        .join(Location, Location.id == service_at_location.c.location_id)
        .where(service_at_location.c.service_id == Service.id, Location.confidential.is_(False))
    )
    rows = session.execute(
        select(Service.name, Service.id)
        .outerjoin(capacity, capacity.c.service_id == Service.id)
        .where(secret, ~public_place, *conditions)
        .order_by(Service.name, Service.id)
    )
    return [(name, service_id) for name, service_id in rows]


def _box_count(session: Session, query: SearchQuery) -> int:
    """How many locations the bounding box holds, counted up to FEW_CANDIDATES + 1 (an index-only scan
    that stops there: only "few or not" chooses the keyword strategy, and a city box holds thousands)."""
    south, north, west, east = bounding_box(query.center.latitude, query.center.longitude, query.radius_km)
    inside = (
        select(Location.id)
        .where(Location.latitude.between(south, north), Location.longitude.between(west, east))
        .limit(FEW_CANDIDATES + 1)
    )
    return session.scalar(select(func.count()).select_from(inside.subquery()))


def _rank_by_distance(
    session: Session, query: SearchQuery, conditions, capacity, needed: int
) -> list[tuple[float, str, int]]:
    """Candidates in the bounding box, then exact distance: [(km, name, service id)] nearest first.

    The exact (WGS84) distance decides membership and order; the sphere, which is within SPHERE_ERROR
    of it, only spares the exact computation where the answer cannot depend on it: candidates surely
    inside or surely outside the radius, and candidates surely ranked after the first `needed`.
    The entries returned past `needed` carry their sphere distance (only the count uses them).
    """
    center, radius = query.center, query.radius_km
    south, north, west, east = bounding_box(center.latitude, center.longitude, radius)
    rows = session.execute(
        select(Service.id, Service.name, Location.latitude, Location.longitude)
        .join(service_at_location, service_at_location.c.service_id == Service.id)
        .join(Location, Location.id == service_at_location.c.location_id)
        .outerjoin(capacity, capacity.c.service_id == Service.id)
        .where(
            Location.latitude.between(south, north),
            Location.longitude.between(west, east),
            # A confidential location must never be placed, even by its distance.
            Location.confidential.is_(False),
            *conditions,
        )
    )
    lat0, lon0 = center.latitude, center.longitude
    low, high = 1 - SPHERE_ERROR, 1 + SPHERE_ERROR
    # service id -> [sphere km, exact km or None, name, service id, lat, lon] of its nearest location.
    found: dict[int, list] = {}
    for service_id, name, lat, lon in rows:
        sphere = haversine_km(lat0, lon0, lat, lon)
        if sphere * low > radius:
            continue  # surely outside
        exact = None
        if sphere * high > radius:  # near the edge: only the exact distance can tell
            exact = geodesic_km(lat0, lon0, lat, lon)
            if exact > radius:
                continue
        kept = found.get(service_id)
        if kept is None or sphere < kept[0]:
            found[service_id] = [sphere, exact, name, service_id, lat, lon]
    by_sphere = sorted(found.values(), key=lambda e: e[0])
    if not by_sphere:
        return []
    # Whatever lies further (on the sphere) than the needed-th entry by more than the error margin is
    # surely ranked after it; the rest gets its exact distance and is sorted by it.
    edge = by_sphere[min(needed, len(by_sphere)) - 1][0] * high / low
    head = [e for e in by_sphere if e[0] <= edge]
    tail = by_sphere[len(head) :]
    for entry in head:
        if entry[1] is None:
            entry[1] = geodesic_km(lat0, lon0, entry[4], entry[5])
    ranked = sorted((e[1], e[2], e[3]) for e in head)
    ranked.extend((e[0], e[2], e[3]) for e in tail)
    return ranked


def _load(session: Session, ids: list[int]) -> dict[int, Service]:
    """Load the page's services with everything a result shows, in a fixed number of queries."""
    if not ids:
        return {}
    stmt = (
        select(Service)
        .where(Service.id.in_(ids))
        .options(
            # One-to-one and many-to-one ride along in the main query; collections come in one query each.
            joinedload(Service.organization),
            joinedload(Service.capacity),
            selectinload(Service.locations).joinedload(Location.address),
            selectinload(Service.locations).joinedload(Location.neighborhood),
            selectinload(Service.phones),
            selectinload(Service.schedules),
            selectinload(Service.languages),
            selectinload(Service.categories),
            selectinload(Service.populations),
            selectinload(Service.practices),
            selectinload(Service.required_documents),
        )
    )
    return {service.id: service for service in session.scalars(stmt).unique()}


def load_service(session: Session, service_id: int) -> Service | None:
    """One service with everything its page shows, or None."""
    return _load(session, [service_id]).get(service_id)
