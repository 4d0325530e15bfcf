"""Which LEAD IIP domain a source's service belongs to: from its taxonomy (AIRS codes, names) or its words."""

from __future__ import annotations

import re

# AIRS / 211 LA taxonomy code prefixes, longest first wins.
AIRS_PREFIXES = {
    "BH-1800.8500": ("housing", "housing.emergency_shelter"),
    "BH-1800": ("housing", "housing.emergency_shelter"),
    "BH-8400": ("housing", "housing.transitional"),
    "BH": ("housing", None),
    "BD-1800": ("food", "food.pantry"),
    "BD-5000": ("food", "food.meal"),
    "BD": ("food", None),
    "BM-3000": ("hygiene", "hygiene.showers"),
    "BM": ("hygiene", None),
    "BT": ("transportation", None),
    "BV": ("public_benefits", None),
    "DF": ("identification_documents", None),
    "DD": ("identification_documents", None),
    "FT": ("legal_advocacy", None),
    "FP": ("legal_advocacy", None),
    "FF": ("legal_advocacy", None),
    "F": ("legal_advocacy", None),
    "HD": ("education", None),
    "HH": ("education", None),
    "HL": ("education", None),
    "H": ("education", None),
    "LH": ("medical_care", None),
    "LN": ("medical_care", None),
    "LT": ("medical_care", None),
    "LV": ("medical_care", "medical_care.dental"),
    "L": ("medical_care", None),
    "RX": ("substance_use_treatment", None),
    "RF": ("mental_health", None),
    "RM": ("mental_health", None),
    "RP": ("mental_health", "mental_health.counseling"),
    "RR": ("mental_health", None),
    "R": ("mental_health", None),
    "ND-2000": ("job_training", None),
    "ND-6500": ("job_placement", None),
    "ND": ("job_placement", None),
    "NL": ("public_benefits", None),
    "NS": ("public_benefits", None),
    "NT": ("public_benefits", None),
    "PH-1250": ("child_care", None),
    "PH-1200": ("child_care", None),
    "PN-8100": ("peer_support", None),
}

# Words, tried in order: the first domain whose pattern matches wins.
KEYWORDS: tuple[tuple[str, str | None, str], ...] = (
    ("harm_reduction", "harm_reduction.syringe_services", r"syringe|needle exchange"),
    ("harm_reduction", "harm_reduction.naloxone", r"naloxone|narcan"),
    ("harm_reduction", None, r"harm reduction"),
    # Twelve-step fellowships are peer-led groups, whatever they recover from (before "alcohol", "drug").
    ("peer_support", "peer_support.support_groups", r"\banonymous\b|twelve[- ]step|12[- ]step"),
    ("substance_use_treatment", "substance_use_treatment.moud_methadone", r"methadone|opioid treatment prog"),
    (
        "substance_use_treatment",
        "substance_use_treatment.withdrawal_management",
        r"detox|withdrawal|sobering",
    ),
    (
        "substance_use_treatment",
        None,
        r"substance|alcohol|drug (?:abuse|treatment|addiction)|addiction|chemical dependen|recovery house|"
        r"(?:residential|addiction) recovery|recovery (?:residence|home|services)|sober (?:living|house)",
    ),
    # Legal aid and benefits help before housing and medical care: "Low Income Taxpayer Clinic" and "Tenant
    # Rights Legal Clinic" are legal help, not clinics; "Legal Aid Society - Housing Unit" is not housing.
    (
        "legal_advocacy",
        None,
        r"legal (?:aid|services?|clinic|assistance|help|representation|counsel|defen[cs]e)|"
        r"\blaw (?:center|centre|clinic|project|office|caucus|school)|taxpayer|defender\b|tenants?'? rights|"
        r"eviction defen[cs]e|expunge|record (?:clean|seal)|pro bono|small claims|court (?:clinic|advoca)|"
        r"criminal defen[cs]e|\blawyers? for",
    ),
    (
        "public_benefits",
        None,
        r"benefits? (?:enrollment|application|assistance|counsel|screening)|free tax (?:prep|help|filing)|"
        r"tax (?:preparation|filing) assistance|\bvita\b|earned income|health insurance enrollment|"
        r"medi-cal\b|apple health",
    ),
    # A clinic for people without a home is health care ("Health Care for the Homeless" programs).
    ("medical_care", None, r"health ?care for (?:the )?homeless"),
    ("housing", "housing.emergency_shelter", r"shelter|emergency bed|overnight bed"),
    ("housing", "housing.transitional", r"transitional housing"),
    ("housing", "housing.permanent_supportive", r"permanent supportive"),
    ("housing", "housing.rapid_rehousing", r"rapid re-?housing"),
    ("housing", None, r"housing|homeless|rent assistance|eviction prevention"),
    ("mental_health", "mental_health.crisis", r"crisis (?:line|intervention|stabili)|suicide"),
    (
        "mental_health",
        None,
        r"mental health|(?<!legal )counsell?ing|psychiatr|psycholog|"
        r"behavioral health|therapy|psychotherap|anger management",
    ),
    ("food", "food.pantry", r"food pantr|food bank|groceries"),
    ("food", "food.meal", r"meal|soup kitchen|hot food"),
    ("food", "food.benefits_help", r"snap|food stamp|wic\b|calfresh|basic food"),
    ("food", None, r"\bfood\b|nutrition"),
    ("hygiene", "hygiene.showers", r"shower"),
    ("hygiene", "hygiene.laundry", r"laundry"),
    ("hygiene", None, r"hygiene|restroom"),
    ("medical_care", "medical_care.dental", r"dental|dentist"),
    (
        "medical_care",
        None,
        r"clinic|medical|health care|healthcare|hospital|primary care|hiv|nursing|health cent(?:er|re)|"
        r"hospice|urgent care|infirmary|immuniz|vaccin|pediatric|tuberculosis",
    ),
    ("identification_documents", None, r"identification|\bid card|birth certificate|social security card"),
    ("public_benefits", None, r"benefit|medicaid|medicare|\bssi\b|ssdi|cash assistance|financial assist"),
    ("legal_advocacy", "legal_advocacy.immigration", r"immigra"),
    ("legal_advocacy", None, r"legal|lawyer|attorney|court|expunge|advoca"),
    # Child care before schools: a preschool or a child development center is care, not school.
    ("child_care", None, r"child ?care|(?<!adult )day ?care|preschool|pre-k\b|head start|child development"),
    ("education", "education.ged", r"\bged\b|high school equivalen"),
    ("education", "education.esl", r"\besl\b|english as a second"),
    ("education", None, r"education|literacy|school|tutor|college"),
    ("job_training", None, r"job training|vocational|apprentice|workforce|skills training|job corps"),
    ("job_placement", None, r"employment|job|career"),
    ("licensing_assistance", None, r"driver'?s licen|licens"),
    ("small_business", None, r"small business|entrepreneur|microloan"),
    ("transportation", None, r"transport|bus pass|transit\b|rides?\b|car (?:loan|repair)"),
    ("peer_support", None, r"peer|support group|mutual aid|recovery cafe"),
)
# Money help that no IIP domain covers (financial coaching is not therapy; a bank branch is not a benefit):
# words that leave a name unplaced rather than filed under "counseling" or "benefits".
NOT_IIP = re.compile(
    r"financial (?:capability|coaching|counsell?ing|literacy|planning)|credit (?:counsell?ing|union)|"
    r"debt (?:counsell?ing|relief|management)",
    re.IGNORECASE,
)
_COMPILED = tuple((domain, term, re.compile(pattern, re.IGNORECASE)) for domain, term, pattern in KEYWORDS)
_AIRS_CODE = re.compile(r"^[A-Z]{1,2}(?:-\d{4}(?:\.\d{4})?(?:-\d{3})?)?")


def from_airs(code: str) -> tuple[str, str | None] | None:
    """The domain (and term) of an AIRS/211 taxonomy code, or None."""
    code = code.strip().upper()
    if not _AIRS_CODE.match(code):
        return None
    for length in range(len(code), 0, -1):
        found = AIRS_PREFIXES.get(code[:length])
        if found:
            return found
    return None


def from_words(*texts: str | None) -> tuple[str, str | None] | None:
    """The domain (and term) that the first matching text's words suggest, or None."""
    for text in texts:
        if not text or NOT_IIP.search(text):
            continue
        for domain, term, pattern in _COMPILED:
            if pattern.search(text):
                return domain, term
    return None


def classify(
    codes: tuple[str, ...] = (), names: tuple[str, ...] = (), text: tuple[str | None, ...] = ()
) -> tuple[str, str | None] | None:
    """Domain and term: from the IIP codes themselves, then AIRS codes, then taxonomy names, then text."""
    from_codes = [from_airs(code) for code in codes]
    found = next((f for f in from_codes if f), None)
    return found or from_words(*names) or from_words(*text)
