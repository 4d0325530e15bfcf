"""Language names and codes as sources write them ("Creole", "English and Spanish", "es")."""

from __future__ import annotations

import re
from functools import lru_cache

from .records import LanguageRecord

NAMES = {
    "english": "en",
    "spanish": "es",
    "haitian creole": "ht",
    "creole": "ht",
    "french": "fr",
    "portuguese": "pt",
    "hebrew": "he",
    "russian": "ru",
    "american sign language": "ase",
    "sign language": "ase",
    "asl": "ase",
    "arabic": "ar",
    "italian": "it",
    "greek": "el",
    "yiddish": "yi",
    "german": "de",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "yue",
    "vietnamese": "vi",
    "korean": "ko",
    "japanese": "ja",
    "tagalog": "tl",
    "filipino": "tl",
    "somali": "so",
    "amharic": "am",
    "tigrinya": "ti",
    "oromo": "om",
    "ukrainian": "uk",
    "punjabi": "pa",
    "khmer": "km",
    "cambodian": "km",
    "lao": "lo",
    "samoan": "sm",
    "hindi": "hi",
    "persian": "fa",
    "farsi": "fa",
    "marshallese": "mh",
    "swahili": "sw",
    "polish": "pl",
    "urdu": "ur",
    "bengali": "bn",
    "turkish": "tr",
    "hmong": "hmn",
    "thai": "th",
}
CODES = {code: name for name, code in NAMES.items()}
CODES.update({"en": "English", "ht": "Haitian Creole", "ase": "American Sign Language", "zh": "Chinese"})
ISO3 = {
    "eng": "en",
    "spa": "es",
    "fra": "fr",
    "fre": "fr",
    "por": "pt",
    "rus": "ru",
    "zho": "zh",
    "chi": "zh",
}
_FINDER = re.compile(r"\b(" + "|".join(sorted(map(re.escape, NAMES), key=len, reverse=True)) + r")\b", re.I)
STAFF, INTERPRETER = "staff", "interpreter"
# Words that say a language is reached through an interpreter (in person, by phone, a language line), not
# spoken by staff: as 211 listings write it ("Creole translators available upon request", "Language line").
_INTERPRETER = re.compile(
    r"int[eé]rpret|translat|tranlat|traduc|language\s*line|tele-?\s*interp|by\s+(tele)?phone|over the phone"
    r"|(up)?on\s+request|at\s+(the\s+)?(client'?s?\s+)?request|when\s+required|as\s+needed|if\s+needed",
    re.I,
)
# ... unless they are about languages the text does not name ("Spanish; other languages by interpreter").
_OTHERS = re.compile(
    r"\b(other|others|any|all|more)\b(\s+\w+)?\s+languages?\b|\bothers\b|\d+\+?\s+languages", re.I
)
_NONE = re.compile(r"\bno\s+(int[eé]rpret|translat)", re.I)
# Sentences and lines (some exports keep a line break as the two characters backslash and n).
_SENTENCES = re.compile(r"\\n|[\n\r;.]+")
# What may stand between two languages that share what follows them ("Somali and Vietnamese by phone").
_JOINER = re.compile(r"^[\s,/&+]*(\b(and|or|y)\b)?[\s,/&+]*$", re.I)


def access_of(text: str | None) -> str:
    """How a text says a language is offered: "interpreter" when it names an interpreter, a translator or a
    language line for it (not for "other languages"), else "staff"."""
    text = text or ""
    if _INTERPRETER.search(text) and not _OTHERS.search(text) and not _NONE.search(text):
        return INTERPRETER
    return STAFF


def accesses(text: str | None) -> dict[str, str]:
    """Each language a free text names, with how it is offered (see access_of): what follows a language in
    its sentence says how ("Creole with translators as needed"); languages joined by "and" or commas share
    it; a sentence that starts with an interpreter ("Interpreters for Somali") gives it to languages that
    have nothing of their own. A language named twice is "staff" if either mention says so."""
    found: dict[str, str] = {}
    for sentence in _SENTENCES.split(text or ""):
        matches = list(_FINDER.finditer(sentence))
        if not matches:
            continue
        head = access_of(sentence[: matches[0].start()])
        tails = [
            sentence[m.end() : (matches[i + 1].start() if i + 1 < len(matches) else len(sentence))]
            for i, m in enumerate(matches)
        ]
        shared = head
        own: list[str] = [head] * len(matches)
        # Right to left, so a joined language takes what the next one has.
        for i in range(len(matches) - 1, -1, -1):
            if _JOINER.match(tails[i]):
                own[i] = shared
            else:
                own[i] = INTERPRETER if INTERPRETER in (access_of(tails[i]),) else head
            shared = own[i]
        for match, access in zip(matches, own, strict=True):
            iso = NAMES[match.group(1).lower()]
            found[iso] = STAFF if STAFF in (found.get(iso), access) else access
    return found


def unique(languages) -> tuple[LanguageRecord, ...]:
    """Each language once, in first-seen order; when one is listed twice ("Spanish", then "Spanish
    interpretation may be available"), staff who speak it outweigh an interpreter."""
    kept: dict[str, LanguageRecord] = {}
    for lang in languages:
        if lang.code not in kept or (lang.access == STAFF and kept[lang.code].access != STAFF):
            kept[lang.code] = lang
    return tuple(kept.values())


def language(code: str | None, name: str | None, note: str | None = None) -> list[LanguageRecord]:
    """The languages a code or a free-text name gives (possibly several, possibly none), each with how it is
    offered: from the text around its name, or from its note ("Interpreter on request")."""
    return list(_language(code, name, note))


@lru_cache(maxsize=8192)
def _language(code: str | None, name: str | None, note: str | None) -> tuple[LanguageRecord, ...]:
    code = (code or "").strip().lower()
    if code in ISO3:
        code = ISO3[code]
    by_note = access_of(note)
    if code and (len(code) in (2, 3)) and code.isalpha():
        label = (name or "").strip() or CODES.get(code, code)
        named = accesses(name).get(code, access_of(name)) if name else STAFF
        access = INTERPRETER if INTERPRETER in (named, by_note) else STAFF
        label = _FINDER.search(label).group(1) if access == INTERPRETER and _FINDER.search(label) else label
        return (LanguageRecord(code, label.title() if label.islower() else label, note, access),)
    found = []
    for iso, access in accesses(name).items():
        found.append(
            LanguageRecord(
                iso,
                CODES[iso].title() if iso not in ("ase", "ht") else CODES[iso],
                note,
                INTERPRETER if INTERPRETER in (access, by_note) else STAFF,
            )
        )
    return tuple(found)
