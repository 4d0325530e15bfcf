"""JSON sources read through the same column mapping as a spreadsheet, each field named by a dotted path.

    columns:
      id: id
      name: properties.name               # GeoJSON: a feature's own keys
      latitude: geometry.coordinates[1]   # GeoJSON points are [longitude, latitude]
      longitude: geometry.coordinates[0]
      phone: phones[0].number
      languages: languages                # a list of texts is read as "en, es"
    records: data.items                   # a vendor response: where its list of records is
    domain: food

Three shapes are read, detected from the file: JSON lines (one object per line; where = file:LINE), a GeoJSON
FeatureCollection (each feature a record; where = file$.features[N]) and one JSON document whose records are
the top-level list or the list at `records` (where = file$.data.items[N]). A key is found exactly or else
whatever its case. A path missing from a record reads as blank; a path that meets an object or a list of
objects where a value is due is noted on the record and left out; a line that is not JSON, or a record that
is not an object, is rejected with its place. A path the mapping names that no record has is one note for
the file with the closest paths the records do have (feeds leave out keys they have no value for), except
the name's, which stops the file. A `.jsonl` / `.ndjson` file is always read as lines (a one-line file is
not mistaken for a document). Parsing is pure: the rows go to `generic_csv.parse_rows`, the same reader as
a spreadsheet's.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .common import SourceError, decode
from .generic_csv import KEYS, load_mapping, parse_rows
from .mappings import closest
from .records import ParseResult

JSON_KEYS = KEYS | {"records"}
LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
_STEP = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["([^"]*)"\]')
_MISSING = object()


class PathError(ValueError):
    """A dotted path that is not one (`a..b`, `x[`)."""


def split_path(path: str) -> tuple[str | int, ...]:
    """`phones[0].number` as ("phones", 0, "number"); `a["b.c"]` keeps a key with a dot in it."""
    if not isinstance(path, str) or not path.strip():
        raise PathError(f"{path!r} is not a dotted path")
    steps: list[str | int] = []
    position = 0
    text = path.strip()
    while position < len(text):
        match = _STEP.match(text, position)
        if not match or (match.group(1) is not None and position and text[position] != "."):
            raise PathError(f"{path!r} is not a dotted path (at character {position + 1})")
        key, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (quoted if quoted is not None else key.strip()))
        position = match.end()
    if text.endswith(".") or not steps:
        raise PathError(f"{path!r} is not a dotted path")
    return tuple(steps)


def _child(node, step):
    """One step down: a key (exact, else whatever its case) or a list index; _MISSING when absent, or a
    TypeError naming what was met instead of an object or a list."""
    if isinstance(step, int):
        if isinstance(node, list):
            return node[step] if step < len(node) else _MISSING
        raise TypeError(f"{_kind(node)}, not a list")
    if isinstance(node, dict):
        if step in node:
            return node[step]
        folded = step.casefold()
        return next((v for k, v in node.items() if str(k).casefold() == folded), _MISSING)
    raise TypeError(f"{_kind(node)}, not an object")


def _kind(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "text"


def lookup(record, steps: tuple) -> object:
    """The value at a path in a record; _MISSING when a key or index is absent (or null on the way)."""
    node = record
    for depth, step in enumerate(steps):
        if node is None:
            return _MISSING
        try:
            node = _child(node, step)
        except TypeError as exc:
            where = _path_text(steps[:depth]) or "the record"
            raise TypeError(f"{where} is {exc}") from None
        if node is _MISSING:
            return _MISSING
    return node


def _path_text(steps) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def cell(value) -> str:
    """A JSON value as the text a spreadsheet cell would hold: numbers written out, true/false, a list of
    values joined with ", "; TypeError for an object or a list holding objects."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if any(isinstance(v, dict | list) for v in value):
            raise TypeError("a list of objects or lists, not a value")
        return ", ".join(t for t in (cell(v).strip() for v in value) if t)
    raise TypeError(f"{_kind(value)}, not a value")


class JsonRow(dict):
    """A record flattened to {path: text}, with the problems met on the way as (our field, note)."""

    folded: dict[str, str] = {}

    def __init__(self, values: dict, problems: list):
        super().__init__(values)
        self.problems = tuple(problems)


def mapping_paths(mapping: dict) -> dict[str, str]:
    """Every path the mapping reads, as {path: our field it feeds} (columns, id, domain and hours paths)."""
    paths = {path: field for field, path in mapping["columns"].items()}
    for index, path in enumerate(mapping.get("id_columns") or []):
        paths.setdefault(path, f"id_columns[{index}]")
    if mapping.get("domain_column"):
        paths.setdefault(mapping["domain_column"], "domain_column")
    for entry in mapping.get("hours_columns") or []:
        for part in ("day", "opens", "closes"):
            paths.setdefault(entry[part], "schedules")
    return paths


def check_paths(mapping: dict) -> dict[str, tuple]:
    """Each path of the mapping split into steps, or a SourceError naming the wrong one."""
    split = {}
    for path, field in mapping_paths(mapping).items():
        if not isinstance(path, str):
            raise SourceError(f"the mapping's path for {field} must be text, not {path!r}")
        try:
            split[path] = split_path(path)
        except PathError as exc:
            raise SourceError(f"the mapping's path for {field}: {exc}") from None
    return split


def flatten(record: dict, paths: dict[str, tuple], fields: dict[str, str]) -> tuple[JsonRow, set[str]]:
    """A record as a row of the mapping's paths, and the paths the record has (null values included)."""
    values, problems, present = {}, [], set()
    for path, steps in paths.items():
        try:
            value = lookup(record, steps)
            if value is not _MISSING:
                present.add(path)
            values[path] = cell(value)
        except TypeError as exc:
            present.add(path)
            problems.append((fields[path], f"{path}: {exc}: left out"))
    # hours_columns' `day` is a path only where the record has it (else the day itself, as in a spreadsheet).
    return JsonRow({p: v for p, v in values.items() if p in present}, problems), present


def all_paths(value, prefix: str = "", depth: int = 0) -> list[str]:
    """The paths a record has (lists by their first item), for naming the closest to a wrong one."""
    if depth > 6:
        return []
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found.append(path)
            found.extend(all_paths(child, path, depth + 1))
    elif isinstance(value, list) and value:
        path = f"{prefix}[0]"
        found.append(path)
        found.extend(all_paths(value[0], path, depth + 1))
    return found


def _lists_in(document, prefix: str = "", depth: int = 0) -> list[str]:
    """Paths of the lists of objects in a document (where its records could be), two levels deep."""
    found = []
    if isinstance(document, dict) and depth < 3:
        for key, child in document.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(child, list) and any(isinstance(v, dict) for v in child):
                found.append(path)
            found.extend(_lists_in(child, path, depth + 1))
    return found


def records_of(text: str, name: str, records_path: str | None) -> tuple[list[tuple[str, object]], str]:
    """The file's records as (where, value), and its shape ("json lines", "geojson", "document")."""
    stripped = text.strip()
    if not stripped:
        return [], "empty"
    if name.lower().endswith(LINES_SUFFIXES):
        if records_path:
            raise SourceError(f"{name}: a JSON lines file has no `records` path (each line is a record)")
        return _json_lines(text, name, None), "json lines"
    try:
        document = json.loads(stripped)
    except ValueError as whole:
        if records_path:
            raise SourceError(
                f"{name}: not one JSON document ({whole}), so `records` cannot be read"
            ) from None
        return _json_lines(text, name, whole), "json lines"
    if records_path:
        try:
            found = lookup(document, split_path(records_path))
        except (PathError, TypeError) as exc:
            raise SourceError(f"{name}: records path {records_path!r}: {exc}") from None
        if not isinstance(found, list):
            lists = _lists_in(document)
            raise SourceError(
                f"{name}: records path {records_path!r} is "
                + ("not in the file" if found is _MISSING else f"{_kind(found)}, not a list")
                + (f"; lists of records in the file: {', '.join(lists)}" if lists else "")
            )
        return [(f"{name}$.{records_path}[{i}]", v) for i, v in enumerate(found)], "document"
    if isinstance(document, list):
        return [(f"{name}$[{i}]", v) for i, v in enumerate(document)], "document"
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise SourceError(f"{name}: a GeoJSON FeatureCollection whose `features` is not a list")
        return [(f"{name}$.features[{i}]", v) for i, v in enumerate(features)], "geojson"
    if isinstance(document, dict):
        lists = _lists_in(document)
        if len(document) and all(not isinstance(v, dict | list) for v in document.values()):
            return [(f"{name}$", document)], "document"  # one record alone
        raise SourceError(
            f"{name}: one JSON object: say where its records are with `records: PATH` in the mapping"
            + (
                f" (lists of records in it: {', '.join(lists)})"
                if lists
                else " (it holds no list of records)"
            )
        )
    raise SourceError(f"{name}: a JSON {_kind(document)} holds no records")


def _json_lines(text: str, name: str, whole: ValueError | None) -> list[tuple[str, object]]:
    """One JSON value per line (a trailing comma forgiven); a line that is not JSON is kept as its error."""
    records, parsed = [], 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            records.append((f"{name}:{number}", json.loads(line.rstrip(","))))
            parsed += 1
        except ValueError as exc:
            records.append((f"{name}:{number}", _NotJson(str(exc))))
    if not parsed:
        first = whole or next(r[1].message for r in records if isinstance(r[1], _NotJson))
        raise SourceError(f"{name}: not JSON and not JSON lines ({first})")
    return records


class _NotJson:
    """A line of a JSON lines file that does not parse: rejected with the parser's message."""

    def __init__(self, message: str):
        self.message = message


def parse_text(
    text: str, name: str, mapping_path: str | Path | dict, swap: str = "auto", notes: tuple[str, ...] = ()
) -> ParseResult:
    """Parse a JSON source's text with its mapping; pure. notes: about the file (its encoding)."""
    mapping = load_mapping(mapping_path, JSON_KEYS)
    records_path = mapping.get("records")
    if records_path is not None and not isinstance(records_path, str):
        raise SourceError("`records` must be a dotted path such as data.items")
    paths = check_paths(mapping)
    fields = mapping_paths(mapping)
    records, _shape = records_of(text, name, records_path)
    result = ParseResult(no_location=bool(mapping.get("no_location")))
    for note in notes:
        result.note(name, None, note, kind="file")
    rows, seen_paths, sample = [], set(), None
    for where, record in records:
        if isinstance(record, _NotJson):
            result.read["service"] += 1
            result.reject(where, None, f"line is not JSON: {record.message}")
            continue
        if not isinstance(record, dict):
            result.read["service"] += 1
            result.reject(where, None, f"record is {_kind(record)}, not an object")
            continue
        sample = sample if sample is not None else record
        row, present = flatten(record, paths, fields)
        seen_paths |= present
        rows.append((where, row))
    if rows:
        _check_found(result, mapping, seen_paths, sample, name)
    return parse_rows(result, rows, name, mapping, mapping["columns"], swap)


def _check_found(result: ParseResult, mapping: dict, seen: set[str], sample: dict, name: str) -> None:
    """A path of the mapping that no record has: the name's stops the file (a wrong path, named with the
    closest ones there are); any other is one note for the file, as feeds leave out keys they have no
    value for."""
    days = {e["day"] for e in mapping.get("hours_columns") or []}
    for path, field in mapping_paths(mapping).items():
        if path in seen or path in days:
            continue
        message = f"path {path!r} (for {field}) is in no record{closest(path, all_paths(sample))}"
        if field == "name":
            raise SourceError(f"{name}: {message}")
        result.note(name, None, f"{message}: read as blank", kind="file")


def parse(location: str | Path, mapping_path: str | Path | dict | None, allow=(), swap: str = "auto"):
    """Parse a JSON file, or a URL fetched safely (scrapers.fetch; allow: origins let through), with its
    mapping; pure apart from the fetch."""
    if mapping_path is None:
        raise SourceError("a JSON source needs --mapping FILE")
    text_location = str(location)
    if re.match(r"^https?://", text_location, re.IGNORECASE):
        from .fetch import fetch

        load_mapping(mapping_path, JSON_KEYS)  # a wrong mapping stops before anything is fetched
        text = fetch(text_location, allow)
        name = text_location.rstrip("/").rsplit("/", 1)[-1] or text_location
        return parse_text(text, name, mapping_path, swap)
    path = Path(location)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    text, note = decode(data)
    return parse_text(text, path.name, mapping_path, swap, (note,) if note else ())
