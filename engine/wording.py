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


def condition_text(result: dict[str, Any]) -> str:
    """One condition result as a sentence fragment: 'alder skal være mindst 18 (er 16)'."""
    if result["operator"] == "en_af":
        parts = "; ".join(condition_text(p) for p in result["forventet"])
        return f"mindst én af disse skal gælde: {parts}"
    return f"{result['felt']} {_OPERATOR_TEXT[result['operator']]} {value_text(result['forventet'])} (er {value_text(result['faktisk'])})"
