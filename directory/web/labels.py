"""Words for the codes the records keep (classifications, actions, reasons, states, languages, ...): pages
show these labels, never the codes; exports keep the codes beside them."""

from __future__ import annotations

from ..domain import capacity as cap
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
    "claim": "Held a unit",
    "join_waitlist": "Joined the waitlist",
    "override": "Override",
    "request": "Request",
}
REASON_LABELS = {
    "acute_need": "Acute need",
    "safety": "Safety",
    "eligibility": "Eligibility",
    "participant_choice": "Participant choice",
    "other": "Other",
}
DECLINE_LABELS = {
    "too_far": "Too far / no ride",
    "barred": "Barred or past conflict",
    "someone_unsafe": "Someone unsafe there",
    "not_allowed": "Partner, pet or belongings not allowed",
    "schedule": "Schedule (work, dosing, curfew)",
    "identity": "Identity not respected",
    "religious": "Religious",
    "tried_before": "Tried before",
    "other": "Other",
}
STATE_LABELS = {
    "held": "Held",
    "requested": "Requested",
    "waitlisted": "On the waitlist",
    "accepted": "Accepted",
    "declined": "Declined",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "open": "Still open",
    "not_shared": "Outcome not shared (no release on file, or confidential)",
}
PARTNER_LABELS = {
    "avoidable": "Avoidable: a LEAD-funded or spare unit was free nearby, no reason given",
    "acute_need_or_safety": "Acute need or safety, although such a unit was free nearby",
    "declined_for_own_reasons": "The participant declined the alternatives for a reason of their own",
    "no_lead_funded_or_spare_alternative": "No LEAD-funded or spare unit free nearby",
    "measured": "Measured by the check",
    "unmeasured_over_a_waitlist": "Not measured, and people were waiting",
    "unmeasured_other": "Not measured, nobody waiting or not known",
}
FIXED = {
    "classification": STATUS_LABELS,
    "action": ACTION_LABELS,
    "reason": REASON_LABELS,
    "decline": DECLINE_LABELS,
    "state": STATE_LABELS,
    "partner": PARTNER_LABELS,
}
NOT_RECORDED = ("(not recorded)", "(none)", "(not said)", None, "")


def label(code: object, kind: str) -> str:
    """The words for a code of a kind (classification, action, reason, decline, state, domain, language,
    population); a code without words shows as text with its underscores as spaces."""
    if code in NOT_RECORDED:
        return "Not said" if kind == "decline" else "Not recorded"
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
    if names and text in names:
        return names[text]
    return text.replace("_", " ")


def install(app) -> None:
    """The `label` filter and the decline reasons' words, for every template."""
    app.add_template_filter(label, "label")
    app.add_template_global(DECLINE_LABELS, "decline_labels")
