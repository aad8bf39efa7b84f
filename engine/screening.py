"""The screening: the input schema shared by the CLI and the HTTP service.

A pydantic model validates a request body; every problem becomes one Danish
message naming its field (`rusmidler[0].grad`). A borger_reference that looks
like a CPR number is refused and its value is never repeated in a message.
"""
from __future__ import annotations

import difflib
import re
from datetime import date
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator, model_validator

from engine.fields import BOLIGSITUATIONER, GRADER, KOEN, STOFFER

Stof = Literal["alkohol", "cannabis", "opioider", "centralstimulerende", "benzodiazepiner", "andet"]
Grad = Literal["risikabelt", "skadeligt", "afhaengighed"]
Boligsituation = Literal["egen_bolig", "hos_andre", "midlertidig", "forsorgshjem", "gade", "udskrives"]
Koen = Literal["kvinde", "mand", "ukendt"]

# DDMMYY-XXXX, DDMMYYXXXX, or any run of exactly ten digits.
_CPR_LIKE = re.compile(r"(?<!\d)(\d{6}-?\d{4})(?!\d)")


class Rusmiddel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stof: Stof = Field(description="Rusmidlet: " + ", ".join(STOFFER))
    grad: Grad = Field(description="risikabelt (risikabelt brug), skadeligt (ICD-10 F1x.1), afhaengighed (ICD-10 F1x.2)")


class Screening(BaseModel):
    """A screening as a visitation team enters it (API.md's request body)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    borger_reference: Optional[str] = Field(None, max_length=200, description="Uigennemsigtig sagsreference; aldrig et CPR-nummer")
    henvendelsesdato: date
    vurderingsdato: Optional[date] = Field(None, description="Standard: dags dato. Vælger det regelsæt, der gælder på datoen")
    alder: StrictInt = Field(ge=0, le=120)
    rusmidler: list[Rusmiddel]
    dobbeltdiagnose: StrictBool
    boligsituation: Boligsituation
    gravid: StrictBool = False
    hjemmeboende_boern: StrictBool = False
    oensker_anonymitet: StrictBool = False
    andre_sociale_problemer: StrictBool = False
    akut_behov: StrictBool = False
    abstinensrisiko: StrictBool = False
    ustabil: StrictBool = False
    behov_for_skaerming: StrictBool = False
    tidligere_forloeb_uden_effekt: StrictBool = False
    foraeldresamtykke: StrictBool = False
    frit_valg: StrictBool = False
    stoettebehov_i_bolig: StrictBool = False
    varig_nedsat_funktionsevne: StrictBool = False
    koen: Optional[Koen] = None
    genstande_om_ugen: Optional[StrictInt] = Field(None, ge=0, le=1000)
    genstande_paa_en_dag: Optional[StrictInt] = Field(None, ge=0, le=200)

    @field_validator("borger_reference")
    @classmethod
    def _not_cpr(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and _CPR_LIKE.search(value):
            raise ValueError("cpr")
        return value

    @field_validator("rusmidler")
    @classmethod
    def _one_entry_per_substance(cls, value: list[Rusmiddel]) -> list[Rusmiddel]:
        seen = [r.stof for r in value]
        for stof in seen:
            if seen.count(stof) > 1:
                raise ValueError(f"duplicate:{stof}")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> "Screening":
        if self.vurderingsdato is not None and self.vurderingsdato < self.henvendelsesdato:
            raise ValueError("vurderingsdato_foer_henvendelse")
        return self

    def effective_date(self, today: date) -> date:
        return self.vurderingsdato or today


class FieldProblem(BaseModel):
    """One validation problem: the field path and a Danish message."""

    felt: str
    besked: str


class ScreeningInvalid(Exception):
    """A screening that cannot be evaluated; `problems` names every field."""

    def __init__(self, problems: list[FieldProblem]):
        super().__init__("; ".join(f"{p.felt}: {p.besked}" for p in problems))
        self.problems = problems


_ALLOWED = {
    "stof": STOFFER,
    "grad": GRADER[1:],
    "boligsituation": BOLIGSITUATIONER,
    "koen": KOEN,
}


def field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _suggest(word: Any, options: tuple[str, ...] | list[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (mente du '{close[0]}'?)" if close else ""


def _danish(error: dict[str, Any]) -> FieldProblem:
    loc = tuple(p for p in error["loc"] if p not in ("body",))
    kind = error["type"]
    name = str(loc[-1]) if loc else ""
    raw = error.get("input")
    path = field_path(loc) or "(hele forespørgslen)"
    if name == "borger_reference" and kind == "value_error":
        return FieldProblem(felt=path, besked="ligner et CPR-nummer; brug en sagsreference uden personnummer")
    if kind == "missing":
        return FieldProblem(felt=path, besked="feltet mangler")
    if kind == "extra_forbidden":
        known = Rusmiddel.model_fields if len(loc) > 1 and isinstance(loc[-2], int) else Screening.model_fields
        return FieldProblem(felt=path, besked="ukendt felt" + _suggest(name, list(known)))
    if kind in ("literal_error", "enum"):
        options = _ALLOWED.get(name, ())
        shown = f"'{raw}'" if isinstance(raw, str) and len(raw) < 60 else "værdien"
        return FieldProblem(felt=path, besked=f"ugyldig værdi {shown}; tilladt: {', '.join(options)}" + _suggest(raw, options))
    if kind in ("bool_type", "bool_parsing"):
        return FieldProblem(felt=path, besked="skal være true eller false")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return FieldProblem(felt=path, besked="skal være et helt tal")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        ctx = error.get("ctx", {})
        limits = {"alder": (0, 120), "genstande_om_ugen": (0, 1000), "genstande_paa_en_dag": (0, 200)}
        low, high = limits.get(name, (ctx.get("ge"), ctx.get("le")))
        return FieldProblem(felt=path, besked=f"skal være mellem {low} og {high}")
    if kind.startswith("date") or kind.startswith("datetime"):
        return FieldProblem(felt=path, besked="skal være en dato på formen ÅÅÅÅ-MM-DD")
    if kind == "list_type":
        return FieldProblem(felt=path, besked="skal være en liste (må være tom)")
    if kind in ("string_type", "string_too_long"):
        return FieldProblem(felt=path, besked="skal være en tekst på højst 200 tegn")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return FieldProblem(felt=path, besked="skal være et objekt med felter")
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", ""))
        if message.startswith("duplicate:"):
            return FieldProblem(felt=path, besked=f"stoffet '{message.split(':', 1)[1]}' er angivet mere end én gang")
        if message == "vurderingsdato_foer_henvendelse":
            return FieldProblem(felt="vurderingsdato", besked="må ikke ligge før henvendelsesdato")
    return FieldProblem(felt=path, besked="ugyldig værdi")


def problems_from_validation_error(error: ValidationError | list[dict[str, Any]]) -> list[FieldProblem]:
    """Danish, field-named problems for a pydantic error (never echoing a CPR value)."""
    errors = error.errors(include_url=False) if isinstance(error, ValidationError) else error
    return [_danish(e) for e in errors]


def parse_screening(data: Any) -> Screening:
    """Validate a decoded JSON body; raise ScreeningInvalid with Danish messages."""
    if not isinstance(data, dict):
        raise ScreeningInvalid([FieldProblem(felt="(hele forespørgslen)", besked="skal være et JSON-objekt")])
    try:
        return Screening.model_validate(data)
    except ValidationError as error:
        raise ScreeningInvalid(problems_from_validation_error(error)) from None
