"""The words of the domain: every fixed choice the app offers, with the label a patient reads.

One place for them, so the HTML forms, the JSON API, the validators and the timeline agree. The
facts behind them are in docs/domain.md. No Flask here.
"""

from __future__ import annotations

TRACKS = {"pie": "PIE (red marks)", "pih": "PIH (dark marks)", "both": "Both"}

FITZPATRICK_TYPES = {
    "I": "I – always burns, never tans",
    "II": "II – usually burns, tans minimally",
    "III": "III – sometimes burns, tans uniformly",
    "IV": "IV – burns minimally, always tans well",
    "V": "V – very rarely burns, tans very easily",
    "VI": "VI – never burns",
}

DEVICES = {
    "roller": "Dermaroller",
    "pen": "Microneedling pen",
    "rf": "RF microneedling",
    "other": "Other",
}

SETTINGS = {"clinic": "At a clinic", "home": "At home"}

AREAS = {
    "front": "Whole face (front)",
    "forehead": "Forehead",
    "left_cheek": "Left cheek",
    "right_cheek": "Right cheek",
    "nose": "Nose",
    "chin": "Chin",
    "neck": "Neck",
    "other": "Other",
}

TOPICALS = {
    "hyaluronic_acid": "Hyaluronic acid",
    "vitamin_c": "Vitamin C",
    "growth_factors": "Growth factors",
    "tranexamic_acid": "Tranexamic acid",
    "numbing_cream": "Numbing cream (before)",
    "other": "Other",
}

NEEDLE_DEPTH_MIN_MM = 0.1
NEEDLE_DEPTH_MAX_MM = 3.0

# Daily symptom ratings, 0 (none) to 10 (worst).
RATINGS = {
    "redness": "Redness",
    "swelling": "Swelling",
    "pain": "Pain or tenderness",
    "itching": "Itching",
    "dryness": "Dryness or peeling",
    "bruising": "Bruising",
}
RATING_MAX = 10

# PIE and PIH severity: the same five words every day, so the curve means something (CEA-like).
SEVERITY_WORDS = {0: "Clear", 1: "Almost clear", 2: "Mild", 3: "Moderate", 4: "Severe"}
SEVERITY_MAX = 4

RED_FLAGS = {
    "pus": "Pus or yellow crusting",
    "spreading_redness": "Warmth or redness that is spreading",
    "fever": "Fever or chills",
    "worsening_pain": "Pain getting worse after day 3, or not helped by painkillers",
    "new_dark_patches": "New dark patches appearing",
}

# What a patient reads after reporting a warning sign: where to turn, never what it might be
# (docs/domain.md). The log form carries it for the offline client, so both say the same.
RED_FLAG_ADVICE = (
    "You reported a warning sign. Please contact your clinician or a doctor soon; "
    "if you feel very unwell, seek urgent care."
)

AFTERCARE = {
    "sunscreen": "Wore sunscreen / avoided sun",
    "no_retinoids": "No retinoids or exfoliating acids",
    "gentle_cleanser": "Gentle cleanser and moisturiser",
    "no_makeup": "No makeup",
}

MAX_PHOTOS_PER_ENTRY = 6
MAX_NOTES_LENGTH = 2000
MAX_SHORT_TEXT_LENGTH = 120


def tracks_pie(track: str) -> bool:
    return track in ("pie", "both")


def tracks_pih(track: str) -> bool:
    return track in ("pih", "both")
