"""A provider's web page publishing its programs and availability, read with CSS selectors (BeautifulSoup).

The selectors file (YAML or JSON):

    item: div.program            # one element per service
    fields:                      # our field: a CSS selector in the item (`selector@attribute`: an attribute)
      id: "@data-id"             # the item's own attribute
      name: h2
      description: p.about
      address_1: .street
      city: .city
      state: .state
      zip: .zip
      phone: .phone
      hours: .hours
      available: .beds-open
      maximum: .beds-total
      waitlist: .waitlist
      updated: time@datetime     # when the page's numbers are from (else a provider's confirmation wins)
    organization: Harbor Light Shelter Society
    domain: housing
    unit: shelter_bed
    timeout: 10                  # seconds
    user_agent: lead-directory-importer

Pages are fetched safely (scrapers.fetch): public addresses only unless the site allowlists an exact origin,
robots.txt on every host reached, at most 5 MB, and `timeout` seconds in all (redirects included).
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from .common import SourceError, clean_text, parse_datetime, parse_phone, plain, read_config
from .fetch import USER_AGENT, fetch
from .flat import Where, key, place, slug, unplaced
from .hours import KEPT_AS_TEXT, hours_of
from .mappings import check_domain, check_keys, check_pairs
from .records import CapacityRecord, OrganizationRecord, ParseResult, ServiceRecord

KEYS = {"item", "fields", "organization", "domain", "unit", "timeout", "user_agent", "no_location"}
_COUNT = re.compile(
    r"^\s*(\d{1,6})\s*(?:beds?|spots?|slots?|units?|places?|people|open|available|free|\s)*$", re.I
)


def load_selectors(path: str | Path | dict) -> dict:
    """Read and check a selectors file."""
    config = read_config(path, "selectors")
    if not isinstance(config, dict) or not config.get("item") or not isinstance(config.get("fields"), dict):
        raise SourceError("the selectors file needs `item` (a CSS selector) and `fields`")
    if "name" not in config["fields"]:
        raise SourceError("the selectors file must say where the service name is (fields.name)")
    if not config.get("domain"):
        raise SourceError("the selectors file must give the IIP `domain` of the page's services")
    check_keys(config, KEYS, "selectors file")
    check_domain(config["domain"], "the selectors file's domain")
    check_pairs(config["fields"], "selectors file")
    return config


def _select(item, selector: str) -> str:
    selector, _, attribute = selector.partition("@")
    element = item.select_one(selector) if selector.strip() else item
    if element is None:
        return ""
    if attribute:
        return str(element.get(attribute) or "").strip()
    return element.get_text(" ", strip=True)


def parse_html(text: str, config: dict, where: str) -> ParseResult:
    """Services from a page's HTML with the configured selectors; pure."""
    soup = BeautifulSoup(text, "html.parser")
    allowed = bool(config.get("no_location"))
    result = ParseResult(no_location=allowed)
    fields = config["fields"]
    org_name = plain(config.get("organization"), 300) or where
    org = OrganizationRecord(slug(org_name), org_name)
    result.organizations.append(org)
    result.read["organization"] = 1
    seen = set()
    for index, item in enumerate(soup.select(config["item"])):
        here = f"{where} {config['item']}[{index}]"
        values = {name: _select(item, selector) for name, selector in fields.items()}
        result.read["service"] += 1
        name = plain(values.get("name"), 300)
        sid = plain(values.get("id")) or key(name, values.get("address_1"))
        if not name:
            result.reject(here, sid, "no name found with the name selector")
            continue
        if sid in seen:
            result.reject(here, sid, "duplicate id on the page")
            continue
        seen.add(sid)
        service = ServiceRecord(sid, org.source_id, name, config["domain"])
        service.description = clean_text(values.get("description"))[0]
        phone, note = parse_phone(values.get("phone"))
        if note:
            result.note(here, sid, note, "rejected" if phone is None else "repaired", field="phones")
        service.phones = (phone,) if phone else ()
        service.schedules, service.hours_text, note = hours_of(values.get("hours"))
        if note:
            result.note(here, sid, note, KEPT_AS_TEXT, field="schedules")
        cells = Where(
            *(values.get(f) for f in ("address_1", "city", "state", "zip", "latitude", "longitude"))
        )
        location = place(result, here, sid, cells)
        if location is None and unplaced(result, here, sid, allowed):
            continue
        if location is not None:
            location.organization_id = org.source_id
            result.locations.append(location)
            result.read["location"] += 1
            service.location_ids = (sid,)
        if "maximum" in fields or "available" in fields:
            service.capacity = _capacity(result, here, sid, values, config)
        result.services.append(service)
    return result


def _capacity(result, here, sid, values, config) -> CapacityRecord | None:
    counts = {}
    for name in ("maximum", "available", "waitlist"):
        text = values.get(name) or ""
        if not text:
            counts[name] = None
            continue
        match = _COUNT.match(text)
        if not match:
            result.note(
                here, sid, f"{name} {text!r} is not a count: capacity left out", "rejected", field="capacity"
            )
            return None
        counts[name] = int(match.group(1))
    maximum = counts["maximum"] if counts["maximum"] is not None else counts["available"]
    if maximum is None:
        return None
    available = counts["available"]
    if available is not None and available > maximum:
        result.note(
            here, sid, f"available {available} above maximum {maximum}: maximum raised", field="capacity"
        )
        maximum = available
    record = CapacityRecord(config.get("unit", "slot"), maximum, available, counts["waitlist"])
    record.updated = parse_datetime(values.get("updated"))
    return record


def parse(location: str, selectors: str | Path | dict | None, allow=()) -> ParseResult:
    """Fetch (http/https) or read (a file) a page and parse it with the selectors; allow: the origins the
    site lets through although they are not public (scrapers.fetch)."""
    if selectors is None:
        raise SourceError("the html importer needs --mapping FILE with the CSS selectors")
    config = load_selectors(selectors)
    if re.match(r"^https?://", location):
        text = fetch(
            location, allow, config.get("user_agent") or USER_AGENT, float(config.get("timeout", 10))
        )
    else:
        try:
            text = Path(location).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SourceError(f"cannot read {location}: {exc}") from exc
    return parse_html(text, config, location)
