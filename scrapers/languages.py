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


def language(code: str | None, name: str | None, note: str | None = None) -> list[LanguageRecord]:
    """The languages a code or a free-text name gives (possibly several, possibly none)."""
    return list(_language(code, name, note))


@lru_cache(maxsize=8192)
def _language(code: str | None, name: str | None, note: str | None) -> tuple[LanguageRecord, ...]:
    code = (code or "").strip().lower()
    if code in ISO3:
        code = ISO3[code]
    if code and (len(code) in (2, 3)) and code.isalpha():
        label = (name or "").strip() or CODES.get(code, code)
        return (LanguageRecord(code, label.title() if label.islower() else label, note),)
    found = []
    for match in _FINDER.finditer(name or ""):
        iso = NAMES[match.group(1).lower()]
        if iso not in (f.code for f in found):
            found.append(
                LanguageRecord(iso, CODES[iso].title() if iso not in ("ase", "ht") else CODES[iso], note)
            )
    return tuple(found)
