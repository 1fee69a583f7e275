"""(pure) The FHIR data types fhir.py builds its resources from: codings under Skinlog's own code
systems, quantities (UCUM where the unit is one), categories, and the resources' name-based ids.
"""

from __future__ import annotations

import uuid
from typing import Any

BASE = "https://skinlog.example/fhir"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
_UCUM_CODES = {"°": "deg", "%": "%"}
# Resource ids are name-based UUIDs (urn): the same export made twice names them the same, so a
# records system can tell a resend from a new record. Skinlog's own UUIDs are in `identifier`.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)


def component(system: str, code: str, label: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": concept(system, code, label), **value}


def quantity(value: float, unit: str, digits: int = 2) -> dict[str, Any]:
    """A valueQuantity; UCUM-coded when the unit is one (° and %), else the unit's symbol only:
    CIELAB has no UCUM unit."""
    measured: dict[str, Any] = {"value": round(value, digits), "unit": unit}
    if unit in _UCUM_CODES:
        measured |= {"system": UCUM, "code": _UCUM_CODES[unit]}
    return {"valueQuantity": measured}


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": f"{BASE}/CodeSystem/{system}", "code": code, "display": display}


def concept(system: str, code: str, text: str) -> dict[str, Any]:
    return {"coding": [coding(system, code, text)], "text": text}


def category(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": display}]}


def urn(*names: str) -> str:
    """A resource's fullUrl: a UUID made from what it is, so that an entry and a session sent
    with the same UUID never clash, and the same records give the same ids."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(names))}"
