"""The slip's pure parts: hours as few lines as they read, the text message within two messages, languages."""

from __future__ import annotations

from datetime import UTC, datetime

from directory.web.slips import hours_lines, slip_language, slip_words, text_message

EN, ES = slip_words("en"), slip_words("es")
ALL_DAY = [
    {"byday": d, "opens_at": "00:00", "closes_at": "00:00"}
    for d in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
]


def slot(day, opens, closes):
    return {"byday": day, "opens_at": opens, "closes_at": closes}


def test_open_every_hour_of_every_day_is_said_once():
    assert hours_lines(ALL_DAY, EN) == ["Open 24 hours"]
    assert hours_lines(ALL_DAY, ES) == ["Abierto las 24 horas"]


def test_days_with_the_same_hours_are_one_line_only_when_they_follow_each_other():
    week = [slot(d, "09:00", "17:00") for d in ("MO", "TU", "WE", "TH", "FR")] + [
        slot("SA", "10:00", "14:00")
    ]
    assert hours_lines(week, EN) == ["Mon–Fri 09:00–17:00", "Sat 10:00–14:00"]
    apart = [slot("MO", "09:00", "12:00"), slot("WE", "09:00", "12:00")]
    assert hours_lines(apart, EN) == ["Mon 09:00–12:00", "Wed 09:00–12:00"]
    split = [slot("TU", "08:00", "10:00"), slot("TU", "14:00", "16:00")]
    assert hours_lines(split, ES) == ["mar 08:00–10:00, 14:00–16:00"]


DATA = {
    "name": "Jackson Street Shelter",
    "phones": [{"number": "206-555-0100"}],
    "location": {"address": "410 Jackson St, Seattle, WA 98104", "confidential": False},
    "schedule": ALL_DAY,
}
HELD = datetime(2026, 12, 2, 22, 44, tzinfo=UTC)  # 2:44 PM in Seattle


def test_the_text_message_carries_what_a_participant_needs_without_data():
    text = text_message(DATA, HELD, "America/Los_Angeles", EN, "en_US")
    assert text.splitlines() == [
        "Jackson Street Shelter",
        "Phone: 206-555-0100",
        "410 Jackson St, Seattle, WA 98104",
        "Held until: Wed, Dec 2, 2:44 PM",
        "Hours: Open 24 hours",
    ]


def test_the_text_message_fits_two_messages_in_either_encoding():
    hours = [slot(d, f"0{i}:00", f"1{i}:30") for i, d in enumerate(("MO", "WE", "FR", "SU"))]
    long = {
        **DATA,
        "schedule": hours,
        "name": "Harbor Light Emergency Shelter and Day Center for Adults " * 3,
    }
    english = text_message(long, HELD, "America/Los_Angeles", EN, "en_US")
    # 7-bit text: a long message is 153 characters a part. The name (171 characters) stays, the phone and
    # the address stay; the hours (the least needed) are dropped first.
    assert len(english) <= 2 * 153 and "206-555-0100" in english and "Hours:" not in english
    # "ú" is not in the GSM 7-bit alphabet: the whole text is then UCS-2, 67 characters a part.
    unicode = {**long, "name": "Refugio Ñandú " * 10}
    spanish = text_message(unicode, HELD, "America/Los_Angeles", ES, "es_US")
    assert len(spanish) <= 2 * 67 and spanish.startswith("Refugio Ñandú")
    assert "206-555-0100" in spanish and "410 Jackson St" in spanish  # the name is shortened, not these


def test_a_confidential_place_gives_no_address_in_the_text():
    hidden = {**DATA, "location": {"address": None, "confidential": True}}
    text = text_message(hidden, None, "America/Los_Angeles", EN, "en_US")
    assert "410 Jackson" not in text and EN["confidential"] in text


def test_a_slip_in_a_language_without_sentences_says_so_to_the_case_manager():
    assert slip_language("es", "en").code == "es" and slip_language("es", "en").notice is None
    somali = slip_language("so", "en")
    assert (somali.code, somali.notice) == ("en", "No Somali slip yet: printing in English.")
    assert slip_language(None, "en").code == "en"
