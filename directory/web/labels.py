"""Words for the codes the records keep (classifications, actions, reasons, states, languages, ...): pages
show these labels (in the page's language), never the codes; exports keep the codes beside them."""

from __future__ import annotations

from flask_babel import gettext

from ..domain import capacity as cap
from ..domain import consent, transparency
from ..words import N_
from .serializers import STATUS_LABELS

# The badges' symbols (templates/public/_macros.html): charts draw the same ones beside the same colours.
STATUS_SYMBOLS = {
    cap.LEAD_FUNDED: "★",
    cap.COORDINATED_ENTRY: "⇄",
    cap.SPARE_CAPACITY: "✓",
    cap.DISPLACEMENT: "⚠",
    cap.FULL: "✕",
    cap.UNVERIFIED: "?",
    cap.OPEN_ACCESS: "○",
}
# The badges' colours (static/css/app.css, --lead, --ce, ...), for charts drawn as SVG on the server.
STATUS_COLOURS = {
    cap.LEAD_FUNDED: "#6f2dbd",
    cap.COORDINATED_ENTRY: "#0f6e7a",
    cap.SPARE_CAPACITY: "#1a7f37",
    cap.DISPLACEMENT: "#a35100",
    cap.FULL: "#a40e26",
    cap.UNVERIFIED: "#5f6873",
    cap.OPEN_ACCESS: "#0b5cad",
}
ACTION_LABELS = {
    "claim": N_("Held a unit"),
    "join_waitlist": N_("Joined the waitlist"),
    "override": N_("Override"),
    "request": N_("Request"),
}
REASON_LABELS = {
    "acute_need": N_("Acute need"),
    "safety": N_("Safety"),
    "eligibility": N_("Eligibility"),
    "participant_choice": N_("Participant choice"),
    "other": N_("Other"),
}
DECLINE_LABELS = {
    "too_far": N_("Too far / no ride"),
    "barred": N_("Barred or past conflict"),
    "someone_unsafe": N_("Someone unsafe there"),
    "not_allowed": N_("Partner, pet or belongings not allowed"),
    "schedule": N_("Schedule (work, dosing, curfew)"),
    "identity": N_("Identity not respected"),
    "religious": N_("Religious"),
    "tried_before": N_("Tried before"),
    "other": N_("Other"),
}
STATE_LABELS = {
    "held": N_("Held"),
    "requested": N_("Requested"),
    "waitlisted": N_("On the waitlist"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
    "open": N_("Still open"),
    "not_shared": N_("Outcome not shared (no release on file, or confidential)"),
    # What consent.shown_state says in place of a withheld outcome.
    consent.NOT_SHARED: N_("outcome not shared: no release on file"),
    consent.CONFIDENTIAL_OUTCOME: N_("outcome seen only by the referring case manager"),
}
PARTNER_LABELS = {
    "avoidable": N_("Avoidable: a LEAD-funded or spare unit was free nearby, no reason given"),
    "acute_need_or_safety": N_("Acute need or safety, although such a unit was free nearby"),
    "declined_for_own_reasons": N_("The participant declined the alternatives for a reason of their own"),
    "no_lead_funded_or_spare_alternative": N_("No LEAD-funded or spare unit free nearby"),
    "measured": N_("Measured by the check"),
    "unmeasured_over_a_waitlist": N_("Not measured, and people were waiting"),
    "unmeasured_other": N_("Not measured, nobody waiting or not known"),
}
# The words the transparency report stores among its figures (domain/transparency.py), as the page says them.
PUBLISHED_LABELS = {
    transparency.HIDDEN: N_("fewer than 5"),
    transparency.NOT_SHOWN: N_("not shown"),
    "no referrals": N_("no referrals"),
}
FIXED = {
    "classification": STATUS_LABELS,
    "action": ACTION_LABELS,
    "reason": REASON_LABELS,
    "decline": DECLINE_LABELS,
    "state": STATE_LABELS,
    "partner": PARTNER_LABELS,
    "published": PUBLISHED_LABELS,
}
# The names of the shipped taxonomy's needs and populations (data/taxonomy.toml), marked here so that the
# catalogs have them: a page shows a site's names through gettext, so these read in the page's language and
# a site's own names (not in the catalog) read as the site wrote them.
SHIPPED_NAMES = (
    N_("Housing"),
    N_("Substance-use treatment"),
    N_("Mental health"),
    N_("Medical care"),
    N_("Harm reduction"),
    N_("Food"),
    N_("Hygiene"),
    N_("Identification and documents"),
    N_("Public benefits enrollment"),
    N_("Legal advocacy"),
    N_("Education"),
    N_("Job training"),
    N_("Job placement"),
    N_("Licensing assistance"),
    N_("Small-business counseling"),
    N_("Child care"),
    N_("Transportation"),
    N_("Peer support"),
    N_("Black / African American"),
    N_("Latino/a/x"),
    N_("American Indian / Alaska Native"),
    N_("Asian / Pacific Islander"),
    N_("East African"),
    N_("Women"),
    N_("Men"),
    N_("Transgender and non-binary people"),
    N_("LGBTQ+ affirming"),
    N_("Immigrants (regardless of status)"),
    N_("Young adults (18-24)"),
    N_("Elders (55+)"),
    N_("Veterans"),
    N_("Families with children"),
    N_("People leaving jail or prison"),
)
NOT_RECORDED = ("(not recorded)", "(none)", "(not said)", None, "")


def label(code: object, kind: str) -> str:
    """The words for a code of a kind (classification, action, reason, decline, state, domain, language,
    population); a code without words shows as text with its underscores as spaces."""
    if code in NOT_RECORDED:
        return gettext("Not said") if kind == "decline" else gettext("Not recorded")
    text = str(code)
    names = FIXED.get(kind)
    if names is None and kind in ("domain", "language", "population"):
        from . import context

        reference = context.reference()
        names = {
            "domain": reference.domains,
            "language": reference.language_names,
            "population": reference.population_names,
        }[kind]
    if kind == "domain" and text == transparency.UNKNOWN_DOMAIN and not (names and text in names):
        return gettext("Need not recorded")
    if kind == "language":
        return language_name(text, (names or {}).get(text))
    if names and text in names:
        # Marked words read in the page's language (a site's own names, not in the catalog, as written).
        return gettext(names[text])
    return text.replace("_", " ")


def language_name(code: str, site_name: str | None = None) -> str:
    """A language's name: the site's (English) name on an English page, else Babel's name for it in the page's
    language ("Vietnamese" reads "vietnamita"), capitalized; the code when neither knows it."""
    from babel import Locale, UnknownLocaleError
    from flask import has_request_context

    from .. import i18n

    page = None
    if has_request_context():
        from .language import page_language

        page = page_language()
    if page in (None, i18n.SOURCE_LANGUAGE) and site_name:
        return site_name
    try:
        name = Locale.parse(code).get_display_name(page or i18n.SOURCE_LANGUAGE)
    except (UnknownLocaleError, ValueError):
        name = None
    if not name:
        return site_name or code
    return name[:1].upper() + name[1:]


ORDINAL_WORDS = {
    "1": N_("1st"),
    "2": N_("2nd"),
    "3": N_("3rd"),
    "4": N_("4th"),
    "5": N_("5th"),
    "-1": N_("last"),
}


def day_name(byday: str) -> str:
    """An HSDS weekday (`WE`) or monthly weekday (`1WE`, `-1FR`) in the page's language: "Wednesday",
    "1st Wednesday of the month" ("miércoles", "1.er miércoles del mes"), the day's name from Babel."""
    from babel.dates import get_day_names

    from scrapers.hours import WEEK

    from .context import reader_locale

    name = get_day_names("wide", locale=reader_locale())[WEEK.index(byday[-2:])]
    if len(byday) == 2:
        return name
    ordinal = ORDINAL_WORDS.get(byday[:-2], byday[:-2])
    return gettext("%(ordinal)s %(day)s of the month", ordinal=gettext(ordinal), day=name)


def install(app) -> None:
    """The `label` and `day_name` filters and the decline reasons' words, for every template."""
    app.add_template_filter(label, "label")
    app.add_template_filter(day_name, "day_name")
    app.add_template_global(DECLINE_LABELS, "decline_labels")
