"""Configuration: defaults, then instance/config.py, then the environment, then test overrides."""

from __future__ import annotations

import math
import os
import secrets
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

ENV_KEYS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "DIRECTORY_ENV",
    "SITE_CONFIG",
    "GEOCODER",
    "GEOCODER_DOMAIN",
    "GEOCODER_USER_AGENT",
    "MAP_TILES",
    "SCHEDULER",
    "MAIL_URL",
    "TRUSTED_PROXIES",
    "KEY_STORE_URL",
)

DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
UNIT_TYPES = ("shelter_bed", "bed", "unit", "slot", "appointment")
TRANSPARENCY_PERIODS = ("month", "quarter")


class ConfigError(RuntimeError):
    """The configuration cannot be used (bad site file, production without a real key, ...)."""


def defaults(instance_path: str) -> dict:
    """Return the default configuration for an app whose instance folder is instance_path."""
    return {
        "DATABASE_URL": "sqlite:///" + os.path.join(instance_path, "directory.sqlite3"),
        "DIRECTORY_ENV": "development",
        "SITE_CONFIG": str(DATA_DIR / "site.toml"),
        "GEOCODER": "offline",
        "GEOCODER_DOMAIN": None,
        "GEOCODER_USER_AGENT": "lead-directory",
        "MAP_TILES": DEFAULT_TILES,
        "SCHEDULER": None,  # resolved: on in development, off in production
        "MAIL_URL": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "JSON_SORT_KEYS": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # CSRF is checked by our own hook (directory/web/auth.py): session writes only, not bearer requests.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "SQLITE_BUSY_TIMEOUT_MS": 5000,
        # How many reverse proxies in front of the app to believe X-Forwarded-For/-Proto from (ProxyFix).
        "TRUSTED_PROXIES": 0,
    }


def from_environment() -> dict:
    """Return the configuration keys that are set in the process environment."""
    return {key: os.environ[key] for key in ENV_KEYS if os.environ.get(key)}


def development_secret_key(instance_path: str) -> str:
    """Return the development key kept in instance/, generating it once."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Place:
    """A named place of the site (neighborhood, landmark, or internal outreach label)."""

    name: str
    kind: str
    latitude: float
    longitude: float
    zip: str | None
    internal: bool


@dataclass(frozen=True)
class SiteConfig:
    """The site file: name, time zone, map centre, places, freshness windows, holds, public badges."""

    name: str
    time_zone: str
    language: str
    center: tuple[float, float]
    default_radius_km: float
    public_read: bool
    retention_days: int
    freshness_hours: dict[str, float]
    hold_hours: dict[str, float]
    reminder_hours_before: dict[str, float]
    public_badges: dict[str, bool]
    places: tuple[Place, ...] = field(default_factory=tuple)
    slip_languages: tuple[str, ...] = ("en", "es")  # the languages a case manager may print a slip in
    session_idle_minutes: float = 60.0  # a session unused this long ends
    session_absolute_hours: float = 12.0  # and every session ends this long after its sign-in
    transparency_period: str = "month"  # "month" or "quarter": the periods the public figures cover
    public_counts: bool = False  # whether non-staff see capacity counts (else the status word and its age)
    distance_unit: str = "mi"  # "mi" or "km": how result distances and the search radius read on pages
    # [imports] fetch_allow: exact origins (scheme://host:port) an import may fetch although not public.
    fetch_allow: tuple[str, ...] = ()
    # [imports] missing_services: "flag" (relied-on services missing from a full import stay active and are
    # flagged) or "switch_off" (they are switched off, their holds marked at risk, everyone concerned told).
    missing_services: str = "flag"


MISSING_SERVICES = ("flag", "switch_off")


def _slip_languages(site: dict) -> tuple[str, ...]:
    """The site's language first, then the others the site file lists (Spanish when it lists none)."""
    language = site.get("language", "en")
    return tuple(dict.fromkeys([language, *site.get("slip_languages", ["es"])]))


def _session_lifetimes(sessions: dict) -> dict:
    """The [sessions] table: idle minutes and absolute hours, both positive (defaults 60 and 12)."""
    idle = float(sessions.get("idle_minutes", 60))
    absolute = float(sessions.get("absolute_hours", 12))
    if not (0 < idle <= 24 * 60 and 0 < absolute <= 24 * 30):
        raise ValueError("sessions: idle_minutes must be in (0, 1440] and absolute_hours in (0, 720]")
    return {"session_idle_minutes": idle, "session_absolute_hours": absolute}


def _fetch_allow(imports: dict) -> tuple[str, ...]:
    """The [imports] fetch_allow list: each an exact origin such as `http://127.0.0.1:8080`."""
    from scrapers.common import SourceError
    from scrapers.fetch import origin_text, parse_origin

    origins = imports.get("fetch_allow", [])
    if not isinstance(origins, list):
        raise ValueError("imports.fetch_allow must be a list of origins (scheme://host:port)")
    try:
        return tuple(origin_text(parse_origin(str(o))) for o in origins)
    except SourceError as exc:
        raise ValueError(str(exc)) from exc


def load_site(path: str | os.PathLike) -> SiteConfig:
    """Read and validate a site TOML file."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read site file {path}: {exc}") from exc
    site = raw.get("site", {})
    try:
        windows = {u: float(raw["freshness_hours"][u]) for u in UNIT_TYPES}
        holds = {u: float(raw["hold_hours"][u]) for u in UNIT_TYPES}
        reminders = {u: float(raw.get("reminder_hours_before", {}).get(u, 0)) for u in UNIT_TYPES}
        places = tuple(
            Place(
                name=p["name"],
                kind=p.get("kind", "neighborhood"),
                latitude=float(p["latitude"]),
                longitude=float(p["longitude"]),
                zip=p.get("zip"),
                internal=bool(p.get("internal", False)),
            )
            for p in raw.get("places", [])
        )
        center = site.get("center", [47.6062, -122.3321])
        transparency_period = site.get("transparency_period", "month")
        if transparency_period not in TRANSPARENCY_PERIODS:
            raise ConfigError(f"site file {path}: transparency_period must be month or quarter")
        missing_services = raw.get("imports", {}).get("missing_services", "flag")
        if missing_services not in MISSING_SERVICES:
            raise ConfigError(f"site file {path}: imports.missing_services must be flag or switch_off")
        distance_unit = site.get("distance_unit", "mi")
        if distance_unit not in ("mi", "km"):
            raise ConfigError(f"site file {path}: distance_unit must be mi or km")
        return SiteConfig(
            name=site.get("name", "Resource directory"),
            time_zone=site.get("time_zone", "UTC"),
            language=site.get("language", "en"),
            slip_languages=tuple(
                dict.fromkeys([site.get("language", "en"), *site.get("slip_languages", ["es"])])
            ),
            center=(float(center[0]), float(center[1])),
            default_radius_km=float(site.get("default_radius_km", 10)),
            public_read=bool(site.get("public_read", True)),
            retention_days=int(site.get("retention_days", 1095)),
            freshness_hours=windows,
            hold_hours=holds,
            reminder_hours_before=reminders,
            public_badges={k: bool(v) for k, v in raw.get("public_badges", {}).items()},
            places=places,
            **_session_lifetimes(raw.get("sessions", {})),
            transparency_period=transparency_period,
            public_counts=bool(site.get("public_counts", False)),
            distance_unit=distance_unit,
            fetch_allow=_fetch_allow(raw.get("imports", {})),
            missing_services=missing_services,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"site file {path} is incomplete or malformed: {exc!r}") from exc


def refuse_demo_users(app) -> None:
    """In production, refuse to start while demo accounts exist (they have a published password)."""
    if app.config.get("DIRECTORY_ENV") != "production":
        return
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db
    from .models import User

    with app.app_context():
        try:
            demo = db.session.scalar(select(func.count()).select_from(User).where(User.is_demo.is_(True)))
        except SQLAlchemyError:
            demo = 0  # no schema yet: init-db comes first, and it creates no demo users
        finally:
            db.session.remove()
    if demo:
        raise ConfigError(f"production refuses to start: {demo} demo account(s) exist; remove them first")


MIN_KEY_LENGTH = 32
MIN_KEY_DISTINCT = 10
MIN_KEY_BITS_PER_CHARACTER = 3.0


def shortest_period(text: str) -> int:
    """The length of the shortest block whose repetition (the last copy maybe cut short) spells text."""
    # The prefix function of Knuth-Morris-Pratt: text repeats with period n - (longest border).
    border = [0] * len(text)
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + (text[i] == text[k])
    return len(text) - (border[-1] if text else 0)


def secret_key_weakness(key: str) -> str | None:
    """Why a key is too weak to sign sessions with, or None for a random-looking key.

    Three measures, each cheap and each catching what the others miss. Length: at least 32 characters.
    Variety: at least 10 distinct characters (a 64-character hex key has about 16). Shannon entropy of
    the character frequencies: at least 3 bits a character (hex keys measure about 3.8, base64 about 5.3;
    'abcd' repeated measures 2.0). No repetition: the key is not a shorter block repeated ('abc123...'
    repeated has many distinct characters and high entropy per character, but its period gives it away).
    A random 64-character hex key passes all four but with a chance too small to matter (tested on
    thousands of keys); a key a person types rarely does.
    """
    if len(key) < MIN_KEY_LENGTH or key.lower() in {"dev", "changeme", "secret"}:
        return f"at least {MIN_KEY_LENGTH} characters"
    if len(set(key)) < MIN_KEY_DISTINCT:
        return f"at least {MIN_KEY_DISTINCT} distinct characters"
    counts = Counter(key)
    bits = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    if bits < MIN_KEY_BITS_PER_CHARACTER:
        return f"{bits:.1f} bits of entropy per character; at least {MIN_KEY_BITS_PER_CHARACTER} needed"
    if shortest_period(key) <= len(key) // 2:
        return "a shorter block repeated"
    return None


def check_production(config: dict) -> None:
    """Refuse settings that are unsafe in production."""
    if config.get("DIRECTORY_ENV") != "production":
        return
    weakness = secret_key_weakness(config.get("SECRET_KEY") or "")
    if weakness:
        raise ConfigError(
            f"production needs a random SECRET_KEY ({weakness}): "
            "make one with python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if config.get("DEBUG"):
        raise ConfigError("production refuses debug mode")
