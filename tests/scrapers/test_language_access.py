"""How a source says a language is offered (staff speak it, or an interpreter on request), read from the text
211 listings write ("Creole with translators as needed", "Language line available") and from HSDS notes."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

import pytest

from scrapers import hsds, icarol, samhsa
from scrapers.languages import access_of, language
from tests.scrapers.helpers import FIXTURES, shared


def _accesses(text, code=None, note=None):
    return {lang.code: lang.access for lang in language(code, text, note)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # As the 211 Miami export writes them (one row per text, literal "\n" kept as two characters).
        ("Creole with translators as needed", {"ht": "interpreter"}),
        ("Creole translators available upon request", {"ht": "interpreter"}),
        ("French (with translators available when required)", {"fr": "interpreter"}),
        ("Spanish interpretation may be available at times", {"es": "interpreter"}),
        ("Haitian Creole. Interpretation is also available for other languages.", {"ht": "staff"}),
        ("Creole. Phone interpreters available for other languages.", {"ht": "staff"}),
        ("Spanish and Creole. A telephone translation service is available.", {"es": "staff", "ht": "staff"}),
        ("Creole any other languages upon request.", {"ht": "staff"}),
        ("French Other languages available upon request", {"fr": "staff"}),
        ("Spanish\\n\\nOther languages available upon request", {"es": "staff"}),
        (
            "English\\nBi-lingual volunteers available to translate Spanish\\nCreole - not always available",
            {"en": "staff", "es": "interpreter", "ht": "staff"},
        ),
        ("Language line available\\nSpanish (available by appointment)", {"es": "staff"}),
        ("Spanish (limited)", {"es": "staff"}),
        ("Language line available", {}),
        ("Interpreters available in 150 languages", {}),
        # N-SSATS asks whether a language is offered by a staff counselor or an on-call interpreter.
        ("Spanish (staff counselor)", {"es": "staff"}),
        ("Spanish (on-call interpreter)", {"es": "interpreter"}),
        # Written by hand in the shapes spreadsheets and provider pages use.
        (
            "English, Spanish; Somali by phone interpretation",
            {"en": "staff", "es": "staff", "so": "interpreter"},
        ),
        ("Somali and Vietnamese by phone interpretation", {"so": "interpreter", "vi": "interpreter"}),
        (
            "Interpreters for Amharic, Tigrinya and Oromo",
            {"am": "interpreter", "ti": "interpreter", "om": "interpreter"},
        ),
        ("English, Spanish, and other languages by phone interpretation", {"en": "staff", "es": "staff"}),
        ("Spanish (staff), Vietnamese (interpreter on request)", {"es": "staff", "vi": "interpreter"}),
        ("  SPANISH via LANGUAGE LINE ", {"es": "interpreter"}),
        ("Russian - tele-interpreter", {"ru": "interpreter"}),
        ("Spanish; no interpreter needed, staff are bilingual", {"es": "staff"}),
        # Named twice: staff who speak it outweigh an interpreter.
        ("Spanish. Spanish interpreters by phone for the clinic.", {"es": "staff"}),
        ("", {}),
        (None, {}),
    ],
)
def test_free_text_gives_each_language_and_how_it_is_offered(text, expected):
    assert _accesses(text) == expected


@pytest.mark.parametrize(
    ("code", "name", "note", "expected"),
    [
        ("es", "Spanish", "Interpreter by phone on request", "interpreter"),
        ("es", "Spanish", "Bilingual staff", "staff"),
        ("spa", None, "via Language Line", "interpreter"),
        ("vi", "Vietnamese (interpreter on request)", None, "interpreter"),
        ("es", "Spanish", "Interpreters for other languages", "staff"),
        ("es", "Spanish", None, "staff"),
    ],
)
def test_a_coded_language_takes_its_access_from_its_name_and_note(code, name, note, expected):
    found = language(code, name, note)
    assert [lang.access for lang in found] == [expected]
    # The name stays a language's name, not the sentence around it.
    assert found[0].name in ("Spanish", "Vietnamese")


def test_access_of_reads_a_note_alone():
    assert access_of("Interpreter on request") == "interpreter"
    assert access_of("Interpretación por teléfono") == "interpreter"
    assert access_of("Staff speak it") == "staff"
    assert access_of(None) == "staff"


def test_hsds3_json_language_notes_and_a_language_listed_twice(tmp_path):
    document = {
        "id": "svc-l",
        "name": "Walk-in Clinic",
        "organization": {"id": "org-l", "name": "Rainier Health"},
        "languages": [
            {"id": "l1", "code": "es", "name": "Spanish", "note": "Interpreter by phone on request"},
            {"id": "l2", "code": "so", "name": "Somali", "note": "Interpreter on request"},
            {"id": "l3", "name": "English"},
            # The same language again, this time as staff who speak it: staff wins.
            {"id": "l4", "code": "so", "name": "Somali", "note": "Somali-speaking case managers"},
        ],
    }
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"contents": [document], "total_items": 1}))
    service = hsds.parse(path).services[0]
    assert {lang.code: lang.access for lang in service.languages} == {
        "es": "interpreter",
        "so": "staff",
        "en": "staff",
    }


def test_hsds1_csv_rows_with_windows_text_and_old_mac_line_endings(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "organizations.csv").write_bytes("id,name\ro1,Caf\xe9 Esperanza\r".encode("cp1252"))
    (folder / "services.csv").write_bytes(
        b"id,organization_id,name,description\rs1,o1,Hot meals,Free meals\r"
    )
    (folder / "languages.csv").write_bytes(
        "id,service_id,language\r"
        "1,s1,English\r"
        '2,s1,"Creole with translators as needed"\r'
        "3,s1,Language line available\r"
        '4,s1,"Fran\xe7ais; French (with translators available when required)"\r'.encode("cp1252")
    )
    service = hsds.parse(folder).services[0]
    assert {lang.code: lang.access for lang in service.languages} == {
        "en": "staff",
        "ht": "interpreter",
        "fr": "interpreter",
    }


def test_samhsa_rows_of_one_facility_unite_their_languages(tmp_path):
    header = "name1,name2,street1,street2,city,state,zip,zip4,county,latitude,longitude,language"
    row = "New Dawn Recovery Center,,1 Pine St,,Seattle,WA,98101,,King,47.61,-122.33"
    path = tmp_path / "samhsa.csv"
    path.write_text(
        "\n".join(
            [
                header,
                f'{row},"Spanish (interpreter on request)"',
                f"{row},Spanish",
                f'{row},"Vietnamese via Language Line"',
            ]
        )
        + "\n"
    )
    service = samhsa.parse(path).services[0]
    assert {lang.code: lang.access for lang in service.languages} == {"es": "staff", "vi": "interpreter"}


def test_icarol_languages_offered_list(tmp_path):
    text = FIXTURES.joinpath("icarol.csv").read_text(encoding="utf-8", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"))))
    rows = rows[:1]
    rows[0]["LanguagesOfferedList"] = "English; Spanish; Cantonese (phone interpretation)"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "icarol.csv"
    path.write_text(out.getvalue())
    service = icarol.parse(path).services[0]
    assert {lang.code: lang.access for lang in service.languages} == {
        "en": "staff",
        "es": "staff",
        "yue": "interpreter",
    }


def test_miami_211_interpreter_only_languages_are_read_as_such():
    """In the real export, a service whose only text naming Creole says translators bring it has Creole
    through an interpreter; one with a plain "Creole" row has staff who speak it."""
    folder = shared("hsds1_211miami")
    texts = defaultdict(list)
    raw = (folder / "data" / "languages.csv").read_bytes().decode("utf-8", errors="replace")
    for row in csv.DictReader(io.StringIO(raw)):
        texts[row["service_id"]].append(row["language"] or "")
    translated = {
        sid
        for sid, found in texts.items()
        if found
        and all(t == "Creole with translators as needed" for t in found if "reole" in t)
        and any("reole" in t for t in found)
    }
    plain = {sid for sid, found in texts.items() if "Creole" in found}
    assert translated and plain
    services = {s.source_id: s for s in hsds.parse(folder).services}
    access = {sid: {lang.code: lang.access for lang in s.languages} for sid, s in services.items()}
    assert {access[sid].get("ht") for sid in translated if sid in access} == {"interpreter"}
    assert {access[sid].get("ht") for sid in plain if sid in access} == {"staff"}
