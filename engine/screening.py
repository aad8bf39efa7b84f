"""The one validation boundary for screenings: CLI, API, web form, golden
cases and impact runs all call `parse_screening`, so they accept exactly the
same inputs.

The model is built from the vocabulary (engine.fields). Types are those of
JSON and nothing else: a date is an ISO text (never a number of seconds), a
number is a number (never a text), a yes/no is true or false. Every problem
becomes one Danish message naming its field (`rusmidler[0].grad`); the list is
capped so a hostile body cannot make the answer huge. A borger_reference
whose digits form a plausible CPR number is refused, and no refused value is
ever repeated in a message.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Mapping, Optional

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from typing_extensions import Annotated

from engine.fields import FIELDS, FIRST_DATE, INPUT_FIELDS, LAST_DATE, STOFFER, facts_from_screening

MAX_PROBLEMS = 20
_FIRST = date.fromisoformat(FIRST_DATE)
_LAST = date.fromisoformat(LAST_DATE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------- CPR numbers


def _digits(text: str) -> str:
    """Every decimal digit in the text (any script, superscripts included), in order,
    with everything that is not a letter dropped: separators never hide a number."""
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        value = unicodedata.decimal(ch, None)
        if value is None:
            value = unicodedata.digit(ch, None)
        if value is not None:
            out.append(str(value))
        elif unicodedata.category(ch).startswith("L"):
            out.append("|")  # a letter ends a run of digits
    return "".join(out)


def _plausible_cpr(ten: str) -> bool:
    day, month = int(ten[0:2]), int(ten[2:4])
    return 1 <= day <= 31 and 1 <= month <= 12


def looks_like_cpr(text: str) -> bool:
    """True when the digits of `text`, separators removed, contain a plausible
    CPR number (DDMMYY followed by four digits). The examples here and in the tests are
    dated 31 February or 30 February: shaped like CPR numbers, never anyone's.

    >>> [looks_like_cpr(t) for t in ("310287-4411", "31 02 87 44 11", "3102874411", "310287\\u00ad4411")]
    [True, True, True, True]
    >>> [looks_like_cpr(t) for t in ("sag-2026-0042", "³¹⁰²⁸⁷⁴⁴¹¹", "990387-4411", "j.nr. 2026-1234")]
    [False, True, False, False]
    """
    for run in _digits(text).split("|"):
        for i in range(0, len(run) - 9):
            if _plausible_cpr(run[i:i + 10]):
                return True
    return False


def safe_echo(value: Any) -> Optional[str]:
    """The value as it may be shown back in a message, or None when it must not be
    (too long, or it could carry a CPR number)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
        return text if len(text) <= 20 else None
    if not isinstance(value, str) or len(value) > 40 or looks_like_cpr(value):
        return None
    return value


# --------------------------------------------------------------------------- the model


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("dato_form")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Rusmiddel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stof: Literal[STOFFER] = Field(description="Rusmidlet: " + ", ".join(STOFFER))  # type: ignore[valid-type]
    grad: Literal["risikabelt", "skadeligt", "afhaengighed"] = Field(
        description="risikabelt (risikabelt brug), skadeligt (ICD-10 F1x.1), afhaengighed (ICD-10 F1x.2)")


def _annotation(name: str) -> tuple[Any, Any]:
    f = FIELDS[name]
    if f.type == "sandhed":
        return (StrictBool, ... if f.paakraevet else Field(False, description=f.beskrivelse))
    if f.type == "heltal":
        integer: Any = Annotated[StrictInt, Field(ge=f.minimum, le=f.maksimum)]
        return (integer, ...) if f.paakraevet else (Optional[integer], Field(None, description=f.beskrivelse))
    if f.type == "valg":
        choice: Any = Literal[f.vaerdier]
        return (choice, ...) if f.paakraevet else (Optional[choice], Field(None, description=f.beskrivelse))
    if f.type == "dato":
        return (IsoDate, ...) if f.paakraevet else (Optional[IsoDate], Field(None, description=f.beskrivelse))
    if f.type == "rusmidler":
        return (list[Rusmiddel], Field(..., description=f.beskrivelse, max_length=len(STOFFER)))
    return (Optional[str], Field(None, max_length=200, description=f.beskrivelse))


class _ScreeningBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    if TYPE_CHECKING:  # the fields themselves are built from the vocabulary below
        borger_reference: Optional[str]
        henvendelsesdato: date
        vurderingsdato: Optional[date]
        alder: int
        rusmidler: list[Rusmiddel]
        dobbeltdiagnose: bool
        boligsituation: str

    @field_validator("borger_reference", check_fields=False)
    @classmethod
    def _not_cpr(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and looks_like_cpr(value):
            raise ValueError("cpr")
        return value

    @field_validator("henvendelsesdato", "vurderingsdato", check_fields=False)
    @classmethod
    def _in_range(cls, value: Optional[date]) -> Optional[date]:
        if value is not None and not (_FIRST <= value <= _LAST):
            raise ValueError("dato_uden_for")
        return value

    @field_validator("rusmidler", check_fields=False)
    @classmethod
    def _one_entry_per_substance(cls, value: list[Rusmiddel]) -> list[Rusmiddel]:
        seen: set[str] = set()
        for r in value:
            if r.stof in seen:
                raise ValueError(f"dublet:{r.stof}")
            seen.add(r.stof)
        return value

    @model_validator(mode="after")
    def _dates_in_order(self, info: ValidationInfo) -> "_ScreeningBase":
        henvendelse, vurdering = self.henvendelsesdato, self.vurderingsdato
        if vurdering is not None and vurdering < henvendelse:
            raise ValueError("vurderingsdato_foer_henvendelse")
        today = (info.context or {}).get("today")
        if vurdering is None and today is not None and henvendelse > today:
            raise ValueError("henvendelse_i_fremtiden")
        return self

    def effective_date(self, today: date) -> date:
        """The vurderingsdato, which defaults to today."""
        return self.vurderingsdato or today

    def fact(self) -> dict[str, Any]:
        return facts_from_screening(self.model_dump())

    def stored(self, today: date) -> dict[str, Any]:
        """The screening as it is logged: the effective vurderingsdato, without the reference."""
        body = self.model_dump(mode="json", exclude={"borger_reference"})
        body["vurderingsdato"] = self.effective_date(today).isoformat()
        return body


#: A screening as a visitation team enters it (API.md's request body), built from the vocabulary.
Screening: type[_ScreeningBase] = create_model(  # type: ignore[call-overload]
    "Screening",
    __base__=_ScreeningBase,
    __doc__="En screening, som visitationen indtaster den (API'ets forespørgsel).",
    **{name: _annotation(name) for name in INPUT_FIELDS},
)


# --------------------------------------------------------------------------- problems in Danish


class FieldProblem(BaseModel):
    """One validation problem: the field path and a Danish message."""

    felt: str
    besked: str


class ScreeningInvalid(Exception):
    """A screening that cannot be evaluated; `problems` names every field (capped)."""

    def __init__(self, problems: list[FieldProblem], total: Optional[int] = None):
        total = len(problems) if total is None else total
        shown = problems[:MAX_PROBLEMS]
        if total > len(shown):
            shown = shown + [FieldProblem(felt="(hele forespørgslen)", besked=f"og {total - len(shown)} problemer mere")]
        super().__init__("; ".join(f"{p.felt}: {p.besked}" for p in shown))
        self.problems = shown
        self.total = total


def field_path(loc: tuple[Any, ...]) -> str:
    """('rusmidler', 0, 'grad') -> 'rusmidler[0].grad'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _suggest(word: Any, options: tuple[str, ...] | list[str]) -> str:
    from engine.problems import suggest

    return suggest(word, options) if safe_echo(word) is not None else ""


def _allowed(name: str) -> tuple[str, ...]:
    if name == "stof":
        return STOFFER
    if name == "grad":
        return ("risikabelt", "skadeligt", "afhaengighed")
    f = FIELDS.get(name)
    return f.vaerdier if f else ()


_VALUE_MESSAGES = {
    "cpr": "ligner et CPR-nummer; brug en sagsreference uden personnummer",
    "dato_form": "skal være en dato på formen ÅÅÅÅ-MM-DD",
    "dato_uden_for": f"skal ligge mellem {FIRST_DATE} og {LAST_DATE}",
}


def _danish(error: Mapping[str, Any]) -> FieldProblem:
    loc = tuple(p for p in error["loc"] if p != "body")
    kind = error["type"]
    name = str(loc[-1]) if loc else ""
    raw = error.get("input")
    path = field_path(loc) or "(hele forespørgslen)"
    if kind == "missing":
        return FieldProblem(felt=path, besked="feltet mangler")
    if kind == "extra_forbidden":
        known = Rusmiddel.model_fields if len(loc) > 1 and isinstance(loc[-2], int) else INPUT_FIELDS
        return FieldProblem(felt=path, besked="ukendt felt" + _suggest(name, list(known)))
    if kind in ("literal_error", "enum"):
        options = _allowed(name)
        echo = safe_echo(raw)
        shown = f"'{echo}'" if isinstance(raw, str) and echo is not None else "værdien"
        return FieldProblem(felt=path, besked=f"ugyldig værdi {shown}; tilladt: {', '.join(options)}" + _suggest(raw, options))
    if kind in ("bool_type", "bool_parsing"):
        return FieldProblem(felt=path, besked="skal være true eller false")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return FieldProblem(felt=path, besked="skal være et helt tal")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        f = FIELDS.get(name)
        low, high = (f.minimum, f.maksimum) if f else (None, None)
        return FieldProblem(felt=path, besked=f"skal være mellem {low} og {high}")
    if kind.startswith("date") or kind.startswith("datetime"):
        return FieldProblem(felt=path, besked="skal være en dato på formen ÅÅÅÅ-MM-DD")
    if kind == "list_type":
        return FieldProblem(felt=path, besked="skal være en liste (må være tom)")
    if kind == "too_long" and name == "rusmidler":
        return FieldProblem(felt=path, besked=f"højst {len(STOFFER)} rusmidler, hvert stof én gang")
    if kind in ("string_type", "string_too_long"):
        return FieldProblem(felt=path, besked="skal være en tekst på højst 200 tegn")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return FieldProblem(felt=path, besked="skal være et objekt med felter")
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", ""))
        if message in _VALUE_MESSAGES:
            return FieldProblem(felt=path, besked=_VALUE_MESSAGES[message])
        if message.startswith("dublet:"):
            return FieldProblem(felt=path, besked=f"stoffet '{message.split(':', 1)[1]}' er angivet mere end én gang")
        if message == "vurderingsdato_foer_henvendelse":
            return FieldProblem(felt="vurderingsdato", besked="må ikke ligge før henvendelsesdato")
        if message == "henvendelse_i_fremtiden":
            return FieldProblem(felt="henvendelsesdato",
                                besked="ligger efter i dag; en henvendelse kan ikke ligge i fremtiden "
                                       "(angiv en vurderingsdato, hvis det er en planlagt vurdering)")
    return FieldProblem(felt=path, besked="ugyldig værdi")


def problems_from_validation_error(error: ValidationError | list[dict[str, Any]]) -> list[FieldProblem]:
    """Danish, field-named problems for a pydantic error (never echoing a CPR value)."""
    errors = error.errors(include_url=False) if isinstance(error, ValidationError) else error
    return [_danish(e) for e in errors]


def parse_screening(data: Any, today: Optional[date] = None) -> _ScreeningBase:
    """Validate a decoded JSON body; raise ScreeningInvalid with Danish messages.

    `today` (when given) refuses a henvendelsesdato in the future without a vurderingsdato.
    Unknown keys are counted before validation, so a body with thousands of them
    costs no more than a normal one.
    """
    if not isinstance(data, dict):
        raise ScreeningInvalid([FieldProblem(felt="(hele forespørgslen)", besked="skal være et JSON-objekt")])
    unknown = [k for k in data if k not in INPUT_FIELDS]
    problems: list[FieldProblem] = []
    if unknown:
        for key in unknown[:MAX_PROBLEMS]:
            shown = key if safe_echo(key) is not None else "(et ukendt felt)"
            problems.append(FieldProblem(felt=shown, besked="ukendt felt" + _suggest(key, list(INPUT_FIELDS))))
        data = {k: v for k, v in data.items() if k in INPUT_FIELDS}
    try:
        screening = Screening.model_validate(data, context={"today": today})
    except ValidationError as error:
        found = problems_from_validation_error(error)
        raise ScreeningInvalid(problems + found, total=len(unknown) + len(found)) from None
    if problems:
        raise ScreeningInvalid(problems, total=len(unknown))
    return screening
