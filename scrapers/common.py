"""Shared pure helpers of the parsers: reading messy CSV, and repairing or refusing messy values.

Every repair returns the value and a note (None when nothing was wrong), so a parser records the note as
a problem of the record it is reading; nothing here touches a database.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path

from .records import PhoneRecord

csv.field_size_limit(10_000_000)


class SourceError(Exception):
    """The source cannot be read at all (missing file, not the expected format): the run fails."""


# -- reading ------------------------------------------------------------------------------------------------


def read_config(path: Path | str | dict, what: str) -> object:
    """A site's YAML or JSON file (a column mapping, a selectors file); a dict is taken as already read."""
    if isinstance(path, dict):
        return path
    import json

    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SourceError(f"cannot read the {what} {path}: {exc}") from exc


def decode(data: bytes) -> tuple[str, str | None]:
    """Text from bytes: UTF-8 (with or without BOM), else Windows-1252. Returns (text, note)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "text is Windows-1252, not UTF-8: converted"


def read_text(path: Path) -> tuple[str, list[str]]:
    """A whole text file, decoded, with old-Mac `\\r` line endings made `\\n`. Returns (text, notes)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    text, note = decode(data)
    notes = [note] if note else []
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")
        notes.append("old-Mac \\r line endings: read as lines")
    return text, notes


def read_csv(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows of a CSV file as (line number, {column: value}); duplicated headers get a suffix.

    Returns (rows, notes about the file). Values are stripped; empty strings stay empty.
    """
    text, notes = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], notes
    seen: dict[str, int] = {}
    names = []
    for raw in header:
        name = raw.strip().lstrip("\ufeff")
        if name in seen:
            seen[name] += 1
            notes.append(f"duplicated column header {name!r}: the copy is read as {name}__{seen[name]}")
            name = f"{name}__{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    rows = []
    folded = fold_names(names)
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        row = Row({name: blank(values[i]) if i < len(values) else "" for i, name in enumerate(names)})
        row.folded = folded
        rows.append((reader.line_num, row))
    return rows, notes


# Cells that mean "no value" in real exports ("NA" was stored as an alternate name 7,237 times).
BLANKS = frozenset({"na", "n/a", "null", "none", "-", "--", "http://", "https://"})


def blank(value: str) -> str:
    """A cell stripped, with the spellings of "no value" (`NA`, `N/A`, `null`, `-`, bare `http://`) as ""."""
    text = value.strip()
    return "" if text.casefold() in BLANKS else text


def fold_names(names) -> dict[str, str]:
    """Column names by their case-folded form (the first of two spellings wins)."""
    folded: dict[str, str] = {}
    for name in names:
        folded.setdefault(str(name).strip().casefold(), name)
    return folded


class Row(dict):
    """A CSV row whose columns are found whatever their case (`Latitude` for `latitude`)."""

    folded: dict[str, str] = {}

    def _actual(self, key):
        if dict.__contains__(self, key):
            return key
        return self.folded.get(str(key).strip().casefold())

    def get(self, key, default=None):
        """The cell of that column, whatever its case; default when there is no such column."""
        actual = self._actual(key)
        return dict.__getitem__(self, actual) if actual is not None else default

    def __contains__(self, key) -> bool:
        return self._actual(key) is not None


# -- text ---------------------------------------------------------------------------------------------------

_MARKER = re.compile(r"#{2,}\s*[A-Z]{2,}\s*#{2,}")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@lru_cache(maxsize=65536)
def clean_text(value: str | None, limit: int | None = None) -> tuple[str | None, str | None]:
    """Tidy free text: literal `\\n` made real line breaks, `###MON###` markers removed, spaces trimmed."""
    if value is None:
        return None, None
    notes = []
    text = value
    if "\\n" in text:
        text = text.replace("\\r\\n", "\n").replace("\\n", "\n")
        notes.append("literal \\n made line breaks")
    if _MARKER.search(text):
        text = _MARKER.sub("", text)
        notes.append("markup markers like ###MON### removed")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
        notes.append(f"cut to {limit} characters")
    return (text or None), ("; ".join(notes) or None)


def plain(value: str | None, limit: int | None = None) -> str | None:
    """A short text value, stripped; None when blank."""
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    if text.casefold() in BLANKS:
        return None
    if limit and len(text) > limit:
        text = text[:limit]
    return text or None


# Territories often written out in full (their addresses are US addresses: Guam, Puerto Rico, ...).
TERRITORY_NAMES = {
    "PUERTO RICO": "PR",
    "GUAM": "GU",
    "U.S. VIRGIN ISLANDS": "VI",
    "US VIRGIN ISLANDS": "VI",
    "VIRGIN ISLANDS": "VI",
    "AMERICAN SAMOA": "AS",
    "NORTHERN MARIANA ISLANDS": "MP",
}


def state_code(value: str | None) -> tuple[str | None, str | None]:
    """A US state or territory code: `"FL "` -> `FL`, `Guam` -> `GU`; unknown codes are kept as given."""
    text = (value or "").strip().upper()
    if not text:
        return None, None
    note = "state code had surrounding spaces" if value != value.strip() else None
    if text in TERRITORY_NAMES:
        return TERRITORY_NAMES[text], f"territory {value.strip()!r} read as {TERRITORY_NAMES[text]}"
    return text[:50], note


# -- numbers and places -------------------------------------------------------------------------------------

_ZIP = re.compile(r"^(\d{3,5})(?:-?(\d{4}))?$")


def repair_zip(value: str | None) -> tuple[str | None, str | None]:
    """A 5-digit US ZIP: `6708` -> `06708` (a lost leading zero). Unusable values give (None, note)."""
    text = (value or "").strip()
    if not text:
        return None, None
    if text.endswith(".0"):
        text = text[:-2]
    match = _ZIP.match(text)
    if not match:
        return None, f"ZIP {text!r} is not a US ZIP code: dropped"
    digits = match.group(1)
    if len(digits) < 5:
        return digits.zfill(5), f"ZIP {text!r} lost its leading zero: read as {digits.zfill(5)}"
    return digits, None


# The states by the first three digits of their ZIP codes (USPS ranges; military AA/AE/AP codes included).
_ZIP3 = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"),
    (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"),
    (90, 99, "AE"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"),
    (202, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"),
    (290, 299, "SC"), (300, 319, "GA"), (320, 339, "FL"), (340, 340, "AA"), (341, 349, "FL"),
    (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"),
    (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"),
    (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"),
    (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"),
    (716, 729, "AR"), (730, 732, "OK"), (733, 733, "TX"), (734, 749, "OK"), (750, 799, "TX"),
    (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"),
    (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (962, 966, "AP"),
    (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)  # fmt: skip
# 969xx: Guam, the Northern Marianas, American Samoa (96799) and the Pacific freely associated states.
_ZIP969 = frozenset({"GU", "MP", "AS", "FM", "MH", "PW"})
# Territories and the military "states", accepted wherever a state code is read.
TERRITORIES = frozenset({"PR", "VI", "GU", "MP", "AS", "FM", "MH", "PW", "AA", "AE", "AP"})


def zip_states(postal_code: str) -> frozenset[str]:
    """The states a 5-digit ZIP code can belong to (empty when its prefix is unassigned)."""
    prefix = int(postal_code[:3])
    if postal_code == "96799":  # American Samoa, inside Hawaii's block
        return frozenset({"AS"})
    if prefix == 969:
        return _ZIP969
    return frozenset(state for low, high, state in _ZIP3 if low <= prefix <= high)


def check_zip_state(postal_code: str | None, state: str | None) -> str | None:
    """A reason to drop a ZIP that belongs to another state than the address's, or None.

    A Texas address with a Georgia ZIP landed 891 km away; a WA row whose ZIP field held a house number was
    "repaired" to a Massachusetts ZIP. Only a two-letter state is checked (names are kept as given).
    """
    if not postal_code or not state or len(state) != 2 or not postal_code.isdigit():
        return None
    states = zip_states(postal_code)
    if state.upper() in states:
        return None
    belongs = "/".join(sorted(states)) if states else "no state"
    return f"ZIP {postal_code} belongs to {belongs}, not {state.upper()}: dropped"


def parse_count(value: str | None) -> tuple[int | None, str | None]:
    """A count of people or units: (None, None) when blank; (None, reason) when not a whole number."""
    text = (value or "").strip()
    if not text:
        return None, None
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None, f"count {text!r} is not a number"
    if not math.isfinite(number) or number != int(number):
        return None, f"count {text!r} is not a whole number"
    if not 0 <= number <= 100_000:
        return None, f"count {text!r} is outside 0..100000"
    return int(number), None


def parse_float(value) -> float | None:
    """A float, or None when blank or not a number."""
    if value is None or value == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# Where a US source's coordinates must fall: the states with Alaska and Hawaii, Puerto Rico and the Virgin
# Islands (first box), the Aleutians west of 180°, Guam with the Northern Marianas, and American Samoa.
US_LATITUDE = (13.0, 72.0)
US_LONGITUDE = (-180.0, -64.0)
US_BOXES = (
    (US_LATITUDE, US_LONGITUDE),
    ((51.0, 55.5), (172.0, 180.0)),
    ((12.5, 21.0), (144.0, 146.5)),
    ((-15.0, -10.5), (-171.5, -168.0)),
)
# Web Mercator (EPSG:3857): the sphere's radius, and how far its metres reach.
MERCATOR_RADIUS = 6378137.0
MERCATOR_LIMIT = math.pi * MERCATOR_RADIUS


def in_us(lat: float, lon: float) -> bool:
    """True when a point falls in the United States or one of its territories (roughly: US_BOXES)."""
    return any(a[0] <= lat <= a[1] and b[0] <= lon <= b[1] for a, b in US_BOXES)


def from_mercator(northing: float, easting: float) -> tuple[float, float] | None:
    """Degrees (lat, lon) from Web Mercator metres, or None when the values are not Mercator metres."""
    if not (abs(northing) <= MERCATOR_LIMIT * 1.001 and abs(easting) <= MERCATOR_LIMIT * 1.001):
        return None
    lon = math.degrees(easting / MERCATOR_RADIUS)
    lat = math.degrees(2 * math.atan(math.exp(northing / MERCATOR_RADIUS)) - math.pi / 2)
    return lat, lon


def check_coordinates(latitude, longitude, us: bool = True) -> tuple[tuple[float, float] | None, str | None]:
    """Validate a coordinate pair from a source: ((lat, lon), note) or (None, reason to reject them).

    Web Mercator metres are converted to degrees (with a note: coordinates AND a note mean a repair).
    Rejected: values out of range, (0, 0), and latitude/longitude swapped in one row (a guess at the
    right order could still be a wrong place; a file-wide swap is repaired by the file check, see
    `coordinate_order`).
    """
    if (latitude in (None, "")) and (longitude in (None, "")):
        return None, None
    lat, lon = parse_float(latitude), parse_float(longitude)
    if lat is None or lon is None:
        return None, f"coordinates ({latitude!r}, {longitude!r}) are not numbers"
    if lat == 0 and lon == 0:
        return None, "coordinates are 0,0 (a missing value)"
    if abs(lat) > 180 or abs(lon) > 360:
        degrees = from_mercator(lat, lon)
        if degrees is None:
            return None, f"coordinates ({lat}, {lon}) are in projected units, not degrees"
        coords, reason = check_coordinates(*degrees, us=us)
        if coords is None:
            return (
                None,
                f"coordinates ({lat}, {lon}) are in projected units, not degrees (as Web Mercator: {reason})",
            )
        return coords, f"coordinates ({lat}, {lon}) were Web Mercator metres: converted to degrees"
    if abs(lat) > 90 or abs(lon) > 180:
        if abs(lon) <= 90 and abs(lat) <= 180:
            return None, f"latitude and longitude are swapped ({lat}, {lon})"
        return None, f"coordinates ({lat}, {lon}) are out of range"
    if us and not in_us(lat, lon):
        if in_us(lon, lat):
            return None, f"latitude and longitude are swapped ({lat}, {lon})"
        return None, f"coordinates ({lat}, {lon}) are outside the United States"
    return (round(lat, 7), round(lon, 7)), None


def coordinate_order(pairs, us: bool = True) -> str | None:
    """A file-wide check of its (latitude, longitude) cells: a note when the file has them the wrong way
    round (most rows swapped, not one plausible as written), None otherwise.

    One national file had its two headers swapped for all 14,770 rows: read row by row, every point was
    dropped. Only the whole file's evidence makes the swap safe to repair.
    """
    plausible = swapped = given = 0
    for latitude, longitude in pairs:
        lat, lon = parse_float(latitude), parse_float(longitude)
        if lat is None or lon is None or (lat == 0 and lon == 0):
            continue
        given += 1
        if check_coordinates(lat, lon, us)[0] is not None:
            plausible += 1
        elif check_coordinates(lon, lat, us)[0] is not None:
            swapped += 1
    if given and plausible == 0 and swapped * 2 > given:
        return (
            f"latitude and longitude are swapped in the whole file ({swapped} of {given} rows with "
            "coordinates, none plausible as written): read the other way round"
        )
    return None


# -- phones, URLs, emails -----------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d")
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*(\d{1,6})\s*$", re.IGNORECASE)


def parse_phone(
    value: str | None, area_code: str | None = None, type_: str = "voice", description: str | None = None
) -> tuple[PhoneRecord | None, str | None]:
    """A phone in the form 206-555-0100 (extension apart); `((21)) 2-3514` is refused with a reason."""
    text = (value or "").strip()
    if not text:
        return None, None
    extension = None
    match = _EXTENSION.search(text)
    if match:
        extension = match.group(1)
        text = text[: match.start()]
    digits = "".join(_DIGITS.findall(text))
    note = None
    if len(digits) == 7 and area_code and len(re.sub(r"\D", "", area_code)) == 3:
        digits = re.sub(r"\D", "", area_code) + digits
        note = "area code taken from its own column"
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 3 and digits in ("211", "311", "411", "511", "711", "911", "988"):
        return PhoneRecord(digits, extension, type_, description), note
    if len(digits) != 10:
        return None, f"phone {value!r} is not a 10-digit US number: dropped"
    number = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if not note and re.sub(r"\D", "", value or "") not in (digits, "1" + digits) and not extension:
        note = f"phone {value!r} written as {number}"
    return PhoneRecord(number, extension, type_, plain(description, 300)), note


def repair_url(value: str | None) -> tuple[str | None, str | None]:
    """A web address with a scheme: `http//x.org` -> `http://x.org`, `www.x.org` -> `https://www.x.org`."""
    text = blank(value or "")
    if not text:
        return None, None
    fixed = re.sub(r"^(https?)/+(?!/)", r"\1://", text, flags=re.IGNORECASE)
    fixed = re.sub(r"^(https?):/(?!/)", r"\1://", fixed, flags=re.IGNORECASE)
    fixed = re.sub(r"^(https?)//", r"\1://", fixed, flags=re.IGNORECASE)
    if not re.match(r"^https?://", fixed, re.IGNORECASE):
        if " " in fixed or "." not in fixed:
            return None, f"web address {text!r} is not a URL: dropped"
        fixed = "https://" + fixed.lstrip("/")
    if " " in fixed:
        return None, f"web address {text!r} is not a URL: dropped"
    fixed = fixed[:500]
    return fixed, (None if fixed == text else f"web address {text!r} repaired as {fixed}")


def clean_email(value: str | None) -> tuple[str | None, str | None]:
    """An email address, or (None, note) when it is not one."""
    text = (value or "").strip()
    if not text:
        return None, None
    if re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text) and len(text) <= 200:
        return text, None
    return None, f"email {text!r} is not an address: dropped"


# -- hours --------------------------------------------------------------------------------------------------

DAYS = {
    "mo": "MO",
    "mon": "MO",
    "monday": "MO",
    "tu": "TU",
    "tue": "TU",
    "tues": "TU",
    "tuesday": "TU",
    "we": "WE",
    "wed": "WE",
    "wednesday": "WE",
    "th": "TH",
    "thu": "TH",
    "thur": "TH",
    "thurs": "TH",
    "thursday": "TH",
    "fr": "FR",
    "fri": "FR",
    "friday": "FR",
    "sa": "SA",
    "sat": "SA",
    "saturday": "SA",
    "su": "SU",
    "sun": "SU",
    "sunday": "SU",
}
_TIME = re.compile(r"^(\d{1,2})(?::?(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?m?\.?$", re.IGNORECASE)


def parse_day(value: str | None) -> str | None:
    """A weekday as MO..SU, or None."""
    return DAYS.get((value or "").strip().lower().rstrip("."))


@lru_cache(maxsize=4096)
def parse_time(value: str | None) -> time | None:
    """A time of day: `9:00am`, `21:00`, `2100`, `09:00:00`; None if not a time."""
    text = (value or "").strip().replace(" ", "")
    if not text:
        return None
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(2) is None and len(match.group(1)) > 2:
        return None
    if len(match.group(1)) in (3, 4) and match.group(2) is None:
        return None
    if match.group(4):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match.group(4).lower() == "p" else 0)
    if hour == 24 and minute == 0:
        return time(0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


@lru_cache(maxsize=4096)
def parse_compact_time(value: str) -> time | None:
    """`2100` or `930` (HHMM without a colon), or any form parse_time reads."""
    text = value.strip()
    if re.fullmatch(r"\d{3,4}", text):
        hour, minute = int(text[:-2]), int(text[-2:])
        if hour == 24 and minute == 0:
            return time(0)
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return time(hour, minute)
        return None
    return parse_time(text)


def overnight_note(opens: time, closes: time) -> str | None:
    """The note for hours that close before they open (open past midnight)."""
    if closes < opens and closes != time(0):
        return f"hours {opens:%H:%M}-{closes:%H:%M} close before they open: read as open past midnight"
    return None


def parse_datetime(value) -> datetime | None:
    """An ISO date-time (naive ones are UTC), or None."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def truthy(value) -> bool | None:
    """A boolean from a source: true/false/yes/no/1/0; None when blank or unknown."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("true", "t", "yes", "y", "1"):
        return True
    if text in ("false", "f", "no", "n", "0"):
        return False
    return None


def chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of at most size items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
