"""The one translator from pydantic's validation errors to Danish messages.

Rule files, law histories and screenings are all validated by pydantic; each
error becomes one Danish sentence here. Values are shown as a caseworker
writes them (ja/nej, never Python's True/False), and a value that could carry
a CPR number is never repeated. Nothing here decides anything.

>>> message({"type": "missing", "loc": ("kilde",)})
"mangler 'kilde'"
>>> message({"type": "bool_type", "loc": ("vaerdi",), "input": "ja"})
"'vaerdi' skal være true eller false"
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Optional

from engine.problems import suggest


def value_text(value: Any) -> str:
    """A value as policy staff write it.

    >>> value_text(True), value_text([1, "a"]), value_text(None)
    ('ja', '1, a', '(intet)')
    """
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if value is None:
        return "(intet)"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    return str(value)


def _allowed_from_ctx(ctx: Mapping[str, Any]) -> list[str]:
    return re.findall(r"'([^']*)'", str(ctx.get("expected", "")))


def message(
    error: Mapping[str, Any],
    *,
    known_keys: Iterable[str] = (),
    echo: Callable[[Any], Optional[str]] = lambda v: value_text(v) if isinstance(v, (str, int, float, bool)) and len(str(v)) < 60 else None,
    name_in_text: bool = True,
) -> str:
    """One pydantic error as a Danish sentence. `name_in_text` puts the key's name
    in the sentence (rule files); screenings name the field in a separate path."""
    kind = error["type"]
    loc = tuple(error.get("loc", ()))
    name = str(loc[-1]) if loc else "filen"
    raw = error.get("input")
    ctx = error.get("ctx") or {}
    subject = f"'{name}' " if name_in_text else ""
    if kind == "missing":
        return f"mangler '{name}'" if name_in_text else "feltet mangler"
    if kind == "extra_forbidden":
        known = sorted(set(known_keys))
        hint = suggest(name, known)
        listing = f"; gyldige nøgler her: {', '.join(known)}" if known and not hint and len(known) <= 25 else ""
        return (f"ukendt nøgle '{name}'" if name_in_text else "ukendt felt") + hint + listing
    if kind in ("literal_error", "enum"):
        allowed = _allowed_from_ctx(ctx)
        shown = echo(raw)
        shown_text = f"'{shown}'" if shown is not None else "værdien"
        target = f" for '{name}'" if name_in_text else ""
        return f"ugyldig værdi {shown_text}{target}; tilladt: {', '.join(allowed)}" + (suggest(raw, allowed) if shown is not None else "")
    if kind == "string_pattern_mismatch":
        if name == "id":
            return f"id '{echo(raw) or ''}' må kun indeholde små bogstaver, tal og bindestreger"
        return f"{subject}har en ugyldig form"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"{subject}skal være en dato på formen ÅÅÅÅ-MM-DD".strip()
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{subject}skal være et helt tal".strip()
    if kind in ("bool_type", "bool_parsing"):
        return f"{subject}skal være true eller false".strip()
    if kind in ("greater_than_equal", "greater_than"):
        return f"{subject}skal være mindst {value_text(ctx.get('ge', ctx.get('gt')))}".strip()
    if kind in ("less_than_equal", "less_than"):
        return f"{subject}må højst være {value_text(ctx.get('le', ctx.get('lt')))}".strip()
    if kind == "string_too_short":
        return f"teksten i '{name}' er for kort (mindst {ctx.get('min_length')} tegn)"
    if kind == "string_too_long":
        return f"teksten i '{name}' er for lang (højst {ctx.get('max_length')} tegn)"
    if kind == "too_short":
        return f"{subject}skal have mindst {ctx.get('min_length')} punkter".strip()
    if kind == "too_long":
        return f"{subject}må højst have {ctx.get('max_length')} punkter".strip()
    if kind == "string_type":
        return f"{subject}skal være en tekst".strip()
    if kind == "list_type":
        return f"{subject}skal være en liste (linjer der starter med '-')".strip()
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{subject}skal være en blok med nøgler".strip()
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "ugyldig værdi")))
    return f"{subject}er ugyldig".strip()
