"""Danish wording shared by the trace and the narrative: values, dates, conditions.

Only formatting lives here; no decisions are made.
"""
from __future__ import annotations

from datetime import date
from typing import Any

MAANEDER = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december")

_OPERATOR_TEXT = {
    "=": "skal være",
    "!=": "må ikke være",
    ">": "skal være over",
    ">=": "skal være mindst",
    "<": "skal være under",
    "<=": "må højst være",
    "i": "skal være en af",
    "ikke_i": "må ikke være en af",
}


def dansk_dato(day: date) -> str:
    return f"{day.day}. {MAANEDER[day.month - 1]} {day.year}"


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    return str(value)


#: Plain Danish for each fact field, for text a caseworker reads aloud.
FIELD_LABELS = {
    "alder": "alder",
    "alkohol_grad": "alkoholbrug",
    "stof_grad": "brug af andre rusmidler",
    "opioid_grad": "brug af opioider",
    "hoejeste_grad": "den højeste grad af rusmiddelbrug",
    "boligsituation": "boligsituationen",
    "hjemloes": "uden egen bolig",
    "dobbeltdiagnose": "dobbeltdiagnose",
    "koen": "køn",
    "genstande_om_ugen": "genstande om ugen",
    "genstande_paa_en_dag": "genstande på en dag",
    "gravid": "gravid",
    "hjemmeboende_boern": "hjemmeboende børn",
    "oensker_anonymitet": "ønsker anonymitet",
    "andre_sociale_problemer": "andre sociale problemer",
    "akut_behov": "akut behov",
    "abstinensrisiko": "risiko for abstinenser",
    "ustabil": "ustabil",
    "behov_for_skaerming": "behov for skærmning",
    "tidligere_forloeb_uden_effekt": "tidligere forløb uden effekt",
    "foraeldresamtykke": "forældresamtykke",
    "frit_valg": "frit valg",
    "stoettebehov_i_bolig": "støttebehov i egen bolig",
    "varig_nedsat_funktionsevne": "varigt nedsat funktionsevne",
}


def condition_text(result: dict[str, Any], plain: bool = False) -> str:
    """One condition result as a sentence fragment: 'alder skal være mindst 18 (er 16)'.

    With `plain`, the field is named in everyday Danish instead of its field name."""
    if result["operator"] == "en_af":
        parts = "; ".join(condition_text(p, plain) for p in result["forventet"])
        return f"mindst én af disse skal gælde: {parts}"
    name = FIELD_LABELS.get(result["felt"], result["felt"]) if plain else result["felt"]
    return f"{name} {_OPERATOR_TEXT[result['operator']]} {value_text(result['forventet'])} (er {value_text(result['faktisk'])})"
