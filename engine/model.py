"""The rule-file schema (pydantic, Danish keys) and the validated domain objects.

`Regelfil` and friends describe what policy staff may write in `regler/`;
`Rule`, `Offer` and `Condition` are the frozen objects every later stage uses.
This module only describes data; it reads no files and evaluates nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from typing_extensions import Annotated

Lov = Literal["SEL", "SUL", "BL", "TBL"]
Spor = Literal["behandling", "medicinsk", "bolig", "koordinering"]
Lag = Literal["lov", "kommune"]
Operator = Literal["=", "!=", ">", ">=", "<", "<=", "i", "ikke_i"]
Sikkerhed = Literal["verificeret", "delvist_verificeret", "uverificeret"]

SPOR_ORDER: tuple[str, ...] = ("behandling", "medicinsk", "bolig", "koordinering")

#: API.md's national vocabulary of offer categories, with the track each belongs to.
KATEGORI_SPOR: dict[str, str] = {
    "anonym_raadgivning": "behandling",
    "anonym_ambulant": "behandling",
    "ambulant": "behandling",
    "dagbehandling": "behandling",
    "doegnbehandling": "behandling",
    "doegn_kontrakt": "behandling",
    "integreret_dobbeltdiagnose": "behandling",
    "laegesamtale": "medicinsk",
    "substitution": "medicinsk",
    "afrusning": "medicinsk",
    "koordinerende_indsatsplan": "koordinering",
    "stoette_kontaktperson": "bolig",
    "samvaerstilbud": "bolig",
    "bostoette": "bolig",
    "housing_first_cti": "bolig",
    "housing_first_icm": "bolig",
    "housing_first_act": "bolig",
    "midlertidigt_botilbud": "bolig",
    "forsorgshjem": "bolig",
    "laengerevarende_botilbud": "bolig",
}
Kategori = Literal[tuple(KATEGORI_SPOR)]  # type: ignore[valid-type]

LOV_NAVN = {
    "SEL": "Serviceloven",
    "SUL": "Sundhedsloven",
    "BL": "Barnets lov",
    "TBL": "Lov om tilbageholdelse af stofmisbrugere i behandling",
}

_ID_PATTERN = r"^[a-z0-9æøå][a-z0-9æøå-]*$"


def _number_as_text(value: Any) -> Any:
    # Policy staff write `paragraf: 101`; YAML reads that as a number.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Tekstnummer = Annotated[str, BeforeValidator(_number_as_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- file schema


class Lovhenvisning(_Strict):
    lov: Lov
    paragraf: Tekstnummer = Field(min_length=1, max_length=12)
    stk: Optional[Tekstnummer] = Field(None, max_length=12)


class Kilde(_Strict):
    """Where a rule or offer comes from: a law paragraph or a document."""

    lov: Optional[Lov] = None
    paragraf: Optional[Tekstnummer] = None
    stk: Optional[Tekstnummer] = None
    nr: Optional[Tekstnummer] = None
    lovnummer: Optional[str] = None
    dokument: Optional[str] = None
    url: Optional[str] = None
    sikkerhed: Sikkerhed = "verificeret"

    @model_validator(mode="after")
    def _law_or_document(self) -> "Kilde":
        if self.dokument is None and (self.lov is None or self.paragraf is None):
            raise ValueError("kilde: angiv enten lov og paragraf eller dokument")
        return self


class Betingelse(_Strict):
    """One condition, or a group (`en_af`) of which at least one must hold."""

    felt: Optional[str] = None
    operator: Optional[Operator] = None
    vaerdi: Any = None
    en_af: Optional[list["Betingelse"]] = None

    @model_validator(mode="after")
    def _simple_or_group(self) -> "Betingelse":
        if self.en_af is not None:
            if self.felt is not None or self.operator is not None or self.vaerdi is not None:
                raise ValueError("en betingelse med 'en_af' må ikke også have felt, operator eller vaerdi")
            if len(self.en_af) < 2:
                raise ValueError("'en_af' skal have mindst to betingelser")
        elif self.felt is None or self.operator is None or "vaerdi" not in self.model_fields_set:
            raise ValueError("en betingelse skal have felt, operator og vaerdi (eller en_af)")
        return self


class Frist(_Strict):
    type: str = Field(pattern=r"^[a-z_]+$")
    dage: int = Field(ge=1, le=365)
    fra: Literal["henvendelsesdato", "vurderingsdato"]
    lovgrundlag: Lovhenvisning
    beskrivelse: str = Field(min_length=5)


class Udeluk(_Strict):
    kategori: Optional[Kategori] = None  # type: ignore[valid-type]
    tilbud: Optional[str] = None

    @model_validator(mode="after")
    def _one(self) -> "Udeluk":
        if (self.kategori is None) == (self.tilbud is None):
            raise ValueError("udeluk: angiv enten kategori eller tilbud")
        return self


class Konklusion(_Strict):
    spor: Optional[Spor] = None
    mindst_indgrebsniveau: Optional[int] = Field(None, ge=1, le=9)
    lovgrundlag: list[Lovhenvisning] = []
    frist: Optional[Frist] = None
    advarsel: Optional[str] = Field(None, min_length=5)
    oplysning: Optional[str] = Field(None, min_length=5)
    udeluk: Optional[Udeluk] = None
    ved_kategori: list[Kategori] = []  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _consistent(self) -> "Konklusion":
        if (self.mindst_indgrebsniveau is not None or self.lovgrundlag or self.ved_kategori or self.udeluk) and self.spor is None:
            raise ValueError("saa: angiv 'spor' når reglen giver indgrebsniveau, lovgrundlag, udelukkelse eller ved_kategori")
        if not any((self.mindst_indgrebsniveau, self.lovgrundlag, self.frist, self.advarsel, self.oplysning, self.udeluk)):
            raise ValueError("saa: reglen konkluderer ingenting (angiv mindst ét af mindst_indgrebsniveau, lovgrundlag, frist, advarsel, oplysning, udeluk)")
        return self


class _Dated(_Strict):
    id: str = Field(pattern=_ID_PATTERN, max_length=80)
    beskrivelse: str = Field(min_length=10)
    gyldig_fra: date
    gyldig_til: Optional[date] = None
    status: Literal["gaeldende", "afventer"] = "gaeldende"
    kilde: Kilde

    @model_validator(mode="after")
    def _dates(self) -> "_Dated":
        if self.gyldig_til is not None and self.gyldig_til < self.gyldig_fra:
            raise ValueError("gyldig_til ligger før gyldig_fra")
        return self


class Regel(_Dated):
    hvis: list[Betingelse] = []
    saa: Konklusion


class Tilbud(_Dated):
    navn: str = Field(min_length=3)
    kategori: Kategori  # type: ignore[valid-type]
    spor: Spor
    indgrebsniveau: int = Field(ge=1, le=9)
    lovgrundlag: list[Lovhenvisning] = []
    alder_fra: Optional[int] = Field(None, ge=0, le=120)
    alder_til: Optional[int] = Field(None, ge=0, le=120)
    daekker_op_til_niveau: Optional[int] = Field(None, ge=1, le=9)
    egnet_hvis: list[Betingelse] = []

    @model_validator(mode="after")
    def _track_and_levels(self) -> "Tilbud":
        if KATEGORI_SPOR[self.kategori] != self.spor:
            raise ValueError(f"kategorien '{self.kategori}' hører til sporet '{KATEGORI_SPOR[self.kategori]}', ikke '{self.spor}'")
        if self.daekker_op_til_niveau is not None and self.daekker_op_til_niveau < self.indgrebsniveau:
            raise ValueError("daekker_op_til_niveau må ikke være lavere end indgrebsniveau")
        if self.alder_fra is not None and self.alder_til is not None and self.alder_til < self.alder_fra:
            raise ValueError("alder_til ligger under alder_fra")
        return self


class Regelfil(_Strict):
    regelsaet: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    lag: Lag
    kommune: Optional[str] = None
    beskrivelse: str = Field(min_length=10)
    princip: Optional[str] = None
    tilbud: list[Tilbud] = []
    regler: list[Regel] = []

    @model_validator(mode="after")
    def _layer(self) -> "Regelfil":
        if self.lag == "kommune" and not self.kommune:
            raise ValueError("en fil med lag: kommune skal angive 'kommune'")
        if self.lag == "lov" and self.kommune:
            raise ValueError("en fil med lag: lov må ikke angive 'kommune'")
        return self


# --------------------------------------------------------------------------- domain objects


@dataclass(frozen=True)
class LegalRef:
    lov: str
    paragraf: str
    stk: Optional[str] = None

    def to_api(self) -> dict[str, Any]:
        return {"lov": self.lov, "paragraf": self.paragraf, "stk": self.stk}

    def short(self) -> str:
        return f"{self.lov} § {self.paragraf}" + (f", stk. {self.stk}" if self.stk else "")

    def danish(self) -> str:
        return f"{LOV_NAVN[self.lov]} § {self.paragraf}" + (f", stk. {self.stk}" if self.stk else "")


@dataclass(frozen=True)
class Source:
    lov: Optional[str]
    paragraf: Optional[str]
    stk: Optional[str]
    nr: Optional[str]
    lovnummer: Optional[str]
    dokument: Optional[str]
    url: Optional[str]
    sikkerhed: str

    def to_api(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def danish(self) -> str:
        if self.lov and self.paragraf:
            text = LegalRef(self.lov, self.paragraf, self.stk).danish()
            if self.nr:
                text += f", nr. {self.nr}"
            if self.lovnummer:
                text += f" ({self.lovnummer})"
            return text
        return self.dokument or ""


@dataclass(frozen=True)
class Condition:
    felt: str
    operator: str
    vaerdi: Any

    def to_canonical(self) -> Any:
        return {"felt": self.felt, "operator": self.operator, "vaerdi": list(self.vaerdi) if isinstance(self.vaerdi, tuple) else self.vaerdi}


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Condition | AnyOf", ...]

    def to_canonical(self) -> Any:
        return {"en_af": [c.to_canonical() for c in self.items]}


ConditionNode = Union[Condition, AnyOf]


@dataclass(frozen=True)
class DeadlineSpec:
    type: str
    dage: int
    fra: str
    lovgrundlag: LegalRef
    beskrivelse: str


@dataclass(frozen=True, eq=False)
class Item:
    """What rules and offers share: identity, dates, source and place in the files.

    Compared and hashed by identity (eq=False): items are looked up on every
    evaluation, and a structural hash over all their conditions would cost more
    than the lookup saves."""

    id: str
    beskrivelse: str
    lag: str
    fil: str
    linje: int
    gyldig_fra: date
    gyldig_til: Optional[date]
    afventer: bool
    kilde: Source
    conditions: tuple[ConditionNode, ...]

    @property
    def placering(self) -> str:
        return f"{self.fil}:{self.linje}"

    def in_force(self, day: date, include_pending: bool = False) -> bool:
        if self.afventer and not include_pending:
            return False
        return self.gyldig_fra <= day and (self.gyldig_til is None or day <= self.gyldig_til)


@dataclass(frozen=True, eq=False)
class Rule(Item):
    spor: Optional[str] = None
    min_niveau: Optional[int] = None
    lovgrundlag: tuple[LegalRef, ...] = ()
    frist: Optional[DeadlineSpec] = None
    advarsel: Optional[str] = None
    oplysning: Optional[str] = None
    udeluk_kategori: Optional[str] = None
    udeluk_tilbud: Optional[str] = None
    ved_kategori: tuple[str, ...] = ()

    kind = "regel"


@dataclass(frozen=True, eq=False)
class Offer(Item):
    navn: str = ""
    kategori: str = ""
    spor: str = ""
    niveau: int = 1
    lovgrundlag: tuple[LegalRef, ...] = ()
    daekker_op_til: int = 1
    alder_fra: Optional[int] = None
    alder_til: Optional[int] = None

    kind = "tilbud"


@dataclass(frozen=True)
class LayerInfo:
    """What a file says about its layer (for the narrative and the version)."""

    fil: str
    lag: str
    kommune: Optional[str]
    beskrivelse: str
    princip: Optional[str]


@dataclass(frozen=True)
class RuleBook:
    """Every validated rule and offer of one rule set, across all dates."""

    navn: str
    rules: tuple[Rule, ...]
    offers: tuple[Offer, ...]
    layers: tuple[LayerInfo, ...] = field(default=())
