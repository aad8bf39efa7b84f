"""The rule-file schema (pydantic, Danish keys) and the validated domain objects.

A rule file holds five kinds of blocks, one rule a block:
- `tilbud` (offers on a track's ladder, least intrusive first),
- `regler` (if these facts hold, then: a need level, a legal basis, a
  deadline, a note, a kommune restriction, or an offer the municipality
  must make),
- `forudsaetninger` (preconditions such as afrusning: added beside the
  treatment the need calls for, never chosen instead of it),
- `rettigheder` (rights the citizen holds, such as anonymous alcohol
  treatment: attached to the track's recommendation, never ranked away),
- `personkreds` (who a provision covers: every block that cites the
  provision holds only for those people).

Provisions are cited by their stable name from `regler/love/`. This module
only describes data; it reads no files and evaluates nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.law import PROVISION_ID, Lov
from engine.problems import Position

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
#: Categories that are preconditions (added beside a treatment), never rungs of a ladder.
FORUDSAETNING_KATEGORIER: frozenset[str] = frozenset({"afrusning"})
Kategori = Literal[tuple(KATEGORI_SPOR)]  # type: ignore[valid-type]

_ID_PATTERN = r"^[a-z0-9æøå][a-z0-9æøå-]*$"


def _number_as_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- file schema

BestemmelseId = str  # a stable provision name from regler/love/


def _provision_id(value: Any) -> Any:
    import re

    if isinstance(value, dict) and {"lov", "paragraf"} & set(value):
        raise ValueError("angiv bestemmelsens navn fra regler/love/ (fx 'sel-101-behandlingsgaranti') i stedet for lov, paragraf og stk.; "
                         "stykket findes så ud fra datoen")
    if not isinstance(value, str) or not re.fullmatch(PROVISION_ID, value):
        raise ValueError(f"'{value}' er ikke navnet på en bestemmelse; navne står i regler/love/*.yaml, fx 'sul-141-anonymitet'")
    return value


class Kilde(_Strict):
    """Where a block comes from: a provision (by stable name) and/or a document."""

    bestemmelse: Optional[BestemmelseId] = None
    dokument: Optional[str] = Field(None, min_length=5)
    url: Optional[str] = None
    sikkerhed: Sikkerhed = "verificeret"

    @model_validator(mode="before")
    @classmethod
    def _old_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("lov" in data or "paragraf" in data):
            raise ValueError("kilde: angiv 'bestemmelse' med bestemmelsens navn fra regler/love/ (fx 'sul-141-anonymitet') "
                             "i stedet for lov, paragraf og stk.")
        return data

    @field_validator("bestemmelse")
    @classmethod
    def _valid_id(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else _provision_id(value)

    @model_validator(mode="after")
    def _law_or_document(self) -> "Kilde":
        if self.dokument is None and self.bestemmelse is None:
            raise ValueError("kilde: angiv 'bestemmelse' (en bestemmelse i regler/love/) eller 'dokument'")
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


def _citation_list(value: Any) -> Any:
    if isinstance(value, list):
        return [_provision_id(v) for v in value]
    return value


class Frist(_Strict):
    type: str = Field(pattern=r"^[a-z_]+$")
    dage: int = Field(ge=1, le=365)
    fra: Literal["henvendelsesdato", "vurderingsdato"]
    lovgrundlag: BestemmelseId
    beskrivelse: str = Field(min_length=5)

    _check = field_validator("lovgrundlag")(lambda cls, v: _provision_id(v))


class Udeluk(_Strict):
    kategori: Optional[Kategori] = None  # type: ignore[valid-type]
    tilbud: Optional[str] = None

    @model_validator(mode="after")
    def _one(self) -> "Udeluk":
        if (self.kategori is None) == (self.tilbud is None):
            raise ValueError("udeluk: angiv enten kategori eller tilbud")
        return self


class SkalTilbyde(_Strict):
    tilbud: str
    tekst: str = Field(min_length=10)


class Konklusion(_Strict):
    spor: Optional[Spor] = None
    mindst_indgrebsniveau: Optional[int] = Field(None, ge=1, le=9)
    lovgrundlag: list[BestemmelseId] = []
    frist: Optional[Frist] = None
    advarsel: Optional[str] = Field(None, min_length=5)
    oplysning: Optional[str] = Field(None, min_length=5)
    henvisning: Optional[BestemmelseId] = None
    udeluk: Optional[Udeluk] = None
    ved_kategori: list[Kategori] = []  # type: ignore[valid-type]
    skal_tilbyde: Optional[SkalTilbyde] = None

    _citations = field_validator("lovgrundlag", mode="before")(lambda cls, v: _citation_list(v))
    _henvisning = field_validator("henvisning")(lambda cls, v: None if v is None else _provision_id(v))

    @model_validator(mode="after")
    def _consistent(self) -> "Konklusion":
        needs_track = self.mindst_indgrebsniveau is not None or self.lovgrundlag or self.udeluk or self.skal_tilbyde
        if needs_track and self.spor is None:
            raise ValueError("saa: angiv 'spor', når reglen giver indgrebsniveau, lovgrundlag, udelukkelse eller skal_tilbyde")
        if self.ved_kategori and self.spor is None:
            raise ValueError("saa: angiv 'spor', når reglen har ved_kategori")
        if not any((self.mindst_indgrebsniveau, self.lovgrundlag, self.frist, self.advarsel, self.oplysning, self.udeluk, self.skal_tilbyde)):
            raise ValueError("saa: reglen konkluderer ingenting (angiv mindst ét af mindst_indgrebsniveau, lovgrundlag, frist, "
                             "advarsel, oplysning, udeluk, skal_tilbyde)")
        for text in (self.advarsel, self.oplysning):
            if text and "§" in text:
                raise ValueError("skriv ikke paragraffer i advarsler og oplysninger; angiv bestemmelsen i 'henvisning' "
                                 "(eller i kilde.bestemmelse), så henvisningen altid passer til datoen")
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
    lovgrundlag: list[BestemmelseId] = []
    alder_fra: Optional[int] = Field(None, ge=0, le=120)
    alder_til: Optional[int] = Field(None, ge=0, le=120)
    daekker_op_til_niveau: Optional[int] = Field(None, ge=1, le=9)
    egnet_hvis: list[Betingelse] = []
    #: Offers of the same track and level this one is preferred over when both suit
    #: the citizen equally (the explicit tie-break; see regler/LAESMIG.md section 4).
    foretraekkes_frem_for: list[str] = []

    _citations = field_validator("lovgrundlag", mode="before")(lambda cls, v: _citation_list(v))

    @field_validator("foretraekkes_frem_for")
    @classmethod
    def _offer_ids(cls, value: list[str]) -> list[str]:
        import re

        for v in value:
            if not re.fullmatch(_ID_PATTERN, v):
                raise ValueError(f"'{v}' er ikke et tilbuds id (små bogstaver, tal og bindestreg)")
        if len(set(value)) != len(value):
            raise ValueError("foretraekkes_frem_for nævner det samme tilbud flere gange")
        return value

    @model_validator(mode="after")
    def _track_and_levels(self) -> "Tilbud":
        if self.kategori in FORUDSAETNING_KATEGORIER:
            raise ValueError(f"kategorien '{self.kategori}' er en forudsætning, der lægges ved siden af behandlingen; "
                             "skriv blokken under 'forudsaetninger', ikke under 'tilbud'")
        if KATEGORI_SPOR[self.kategori] != self.spor:
            raise ValueError(f"kategorien '{self.kategori}' hører til sporet '{KATEGORI_SPOR[self.kategori]}', ikke '{self.spor}'")
        if self.daekker_op_til_niveau is not None and self.daekker_op_til_niveau < self.indgrebsniveau:
            raise ValueError("daekker_op_til_niveau må ikke være lavere end indgrebsniveau")
        if self.alder_fra is not None and self.alder_til is not None and self.alder_til < self.alder_fra:
            raise ValueError("alder_til ligger under alder_fra")
        if self.id in self.foretraekkes_frem_for:
            raise ValueError("et tilbud kan ikke foretrækkes frem for sig selv")
        return self


class Forudsaetning(_Dated):
    navn: str = Field(min_length=3)
    kategori: Kategori  # type: ignore[valid-type]
    spor: Spor
    lovgrundlag: list[BestemmelseId] = []
    hvis: list[Betingelse] = Field(min_length=1)

    _citations = field_validator("lovgrundlag", mode="before")(lambda cls, v: _citation_list(v))

    @model_validator(mode="after")
    def _category(self) -> "Forudsaetning":
        if self.kategori not in FORUDSAETNING_KATEGORIER:
            raise ValueError(f"kategorien '{self.kategori}' er et almindeligt tilbud; forudsætninger kan have kategorien "
                             + ", ".join(sorted(FORUDSAETNING_KATEGORIER)))
        if KATEGORI_SPOR[self.kategori] != self.spor:
            raise ValueError(f"kategorien '{self.kategori}' hører til sporet '{KATEGORI_SPOR[self.kategori]}', ikke '{self.spor}'")
        return self


class Konflikt(_Strict):
    spor: Spor
    kategori: list[Kategori] = []  # type: ignore[valid-type]
    tekst: str = Field(min_length=10)


class Rettighed(_Dated):
    navn: str = Field(min_length=3)
    spor: Spor
    hvis: list[Betingelse] = []
    indhold: str = Field(min_length=10)
    gaelder_ved_kategori: list[Kategori] = []  # type: ignore[valid-type]
    konflikter: list[Konflikt] = []

    @model_validator(mode="after")
    def _provision(self) -> "Rettighed":
        if self.kilde.bestemmelse is None:
            raise ValueError("en rettighed skal have sin hjemmel i kilde.bestemmelse")
        if "§" in self.indhold:
            raise ValueError("skriv ikke paragraffer i 'indhold'; henvisningen laves ud fra kilde.bestemmelse og datoen")
        return self


class Personkreds(_Dated):
    bestemmelse: Optional[BestemmelseId] = None
    lov: Optional[Lov] = None
    omfatter: list[Betingelse] = []
    kun_ved_kategori: list[Kategori] = []  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _target(self) -> "Personkreds":
        if (self.bestemmelse is None) == (self.lov is None):
            raise ValueError("personkreds: angiv enten 'bestemmelse' (én bestemmelse) eller 'lov' (hele loven)")
        if self.bestemmelse is not None:
            _provision_id(self.bestemmelse)
        if not self.omfatter and not self.kun_ved_kategori:
            raise ValueError("personkreds: angiv 'omfatter' (hvem bestemmelsen gælder for) og/eller 'kun_ved_kategori'")
        return self


class Regelfil(_Strict):
    regelsaet: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    lag: Lag
    kommune: Optional[str] = None
    beskrivelse: str = Field(min_length=10)
    princip: Optional[str] = None
    tilbud: list[Tilbud] = []
    regler: list[Regel] = []
    forudsaetninger: list[Forudsaetning] = []
    rettigheder: list[Rettighed] = []
    personkreds: list[Personkreds] = []

    @model_validator(mode="after")
    def _layer(self) -> "Regelfil":
        if self.lag == "kommune" and not self.kommune:
            raise ValueError("en fil med lag: kommune skal angive 'kommune'")
        if self.lag == "lov" and self.kommune:
            raise ValueError("en fil med lag: lov må ikke angive 'kommune'")
        if self.lag == "kommune" and (self.rettigheder or self.personkreds):
            raise ValueError("et kommunelag kan ikke give rettigheder eller ændre en bestemmelses personkreds; de kommer fra lovlaget")
        return self


#: Every key a rule file may use (for suggestions on a misspelt key).
ALL_KEYS: tuple[str, ...] = tuple(sorted({k for m in (Regelfil, Regel, Tilbud, Forudsaetning, Rettighed, Personkreds, Konklusion,
                                                        Kilde, Betingelse, Frist, Udeluk, SkalTilbyde, Konflikt)
                                          for k in m.model_fields}))


# --------------------------------------------------------------------------- domain objects


@dataclass(frozen=True, slots=True)
class Source:
    bestemmelse: Optional[str]
    dokument: Optional[str]
    url: Optional[str]
    sikkerhed: str

    def to_canonical(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("bestemmelse", "dokument", "url", "sikkerhed") if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class Condition:
    felt: str
    operator: str
    vaerdi: Any

    def to_canonical(self) -> Any:
        return {"felt": self.felt, "operator": self.operator, "vaerdi": list(self.vaerdi) if isinstance(self.vaerdi, tuple) else self.vaerdi}


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple["Condition | AnyOf", ...]

    def to_canonical(self) -> Any:
        return {"en_af": [c.to_canonical() for c in self.items]}


ConditionNode = Union[Condition, AnyOf]


def condition_from_canonical(data: Any) -> ConditionNode:
    if "en_af" in data:
        return AnyOf(tuple(condition_from_canonical(x) for x in data["en_af"]))
    value = data["vaerdi"]
    return Condition(data["felt"], data["operator"], tuple(value) if isinstance(value, list) else value)


@dataclass(frozen=True, slots=True)
class DeadlineSpec:
    type: str
    dage: int
    fra: str
    lovgrundlag: str  # provision id
    beskrivelse: str


@dataclass(frozen=True, slots=True)
class MustOffer:
    tilbud: str
    tekst: str


@dataclass(frozen=True, slots=True)
class ConflictSpec:
    spor: str
    kategorier: tuple[str, ...]
    tekst: str


@dataclass(frozen=True, eq=False)
class Item:
    """What every block shares: identity, dates, source and place in the files.

    Compared and hashed by identity (eq=False): items are looked up on every
    evaluation, and a structural hash over all their conditions would cost more
    than the lookup saves."""

    id: str
    beskrivelse: str
    lag: str
    position: Position
    gyldig_fra: date
    gyldig_til: Optional[date]
    afventer: bool
    kilde: Source
    conditions: tuple[ConditionNode, ...]

    kind = "?"

    @property
    def placering(self) -> str:
        return f"{self.position.file}:{self.position.line}"

    def in_force(self, day: date, include_pending: bool = False) -> bool:
        if self.afventer and not include_pending:
            return False
        return self.gyldig_fra <= day and (self.gyldig_til is None or day <= self.gyldig_til)

    def citations(self) -> tuple[str, ...]:
        """Every provision this block cites (its source and its conclusions)."""
        return (self.kilde.bestemmelse,) if self.kilde.bestemmelse else ()


@dataclass(frozen=True, eq=False)
class Rule(Item):
    spor: Optional[str] = None
    min_niveau: Optional[int] = None
    lovgrundlag: tuple[str, ...] = ()
    frist: Optional[DeadlineSpec] = None
    advarsel: Optional[str] = None
    oplysning: Optional[str] = None
    henvisning: Optional[str] = None
    udeluk_kategori: Optional[str] = None
    udeluk_tilbud: Optional[str] = None
    ved_kategori: tuple[str, ...] = ()
    skal_tilbyde: Optional[MustOffer] = None

    kind = "regel"

    def citations(self) -> tuple[str, ...]:
        out = list(super().citations()) + list(self.lovgrundlag)
        if self.frist is not None:
            out.append(self.frist.lovgrundlag)
        if self.henvisning:
            out.append(self.henvisning)
        return tuple(dict.fromkeys(out))

    def note_citation(self) -> Optional[str]:
        """The provision a note of this rule refers to: `henvisning`, else the source's."""
        return self.henvisning or self.kilde.bestemmelse


@dataclass(frozen=True, eq=False)
class Offer(Item):
    navn: str = ""
    kategori: str = ""
    spor: str = ""
    niveau: int = 1
    lovgrundlag: tuple[str, ...] = ()
    daekker_op_til: int = 1
    alder_fra: Optional[int] = None
    alder_til: Optional[int] = None
    #: Ids of offers this one sorts before at the same level (foretraekkes_frem_for).
    foretraekkes_frem_for: tuple[str, ...] = ()

    kind = "tilbud"

    def citations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(list(super().citations()) + list(self.lovgrundlag)))


@dataclass(frozen=True, eq=False)
class Precondition(Item):
    navn: str = ""
    kategori: str = ""
    spor: str = ""
    lovgrundlag: tuple[str, ...] = ()

    kind = "forudsaetning"

    def citations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(list(super().citations()) + list(self.lovgrundlag)))


@dataclass(frozen=True, eq=False)
class Right(Item):
    navn: str = ""
    spor: str = ""
    indhold: str = ""
    gaelder_ved_kategori: tuple[str, ...] = ()
    konflikter: tuple[ConflictSpec, ...] = ()

    kind = "rettighed"


@dataclass(frozen=True, eq=False)
class Scope(Item):
    """Who a provision (or a whole law) covers; `conditions` is `omfatter`."""

    bestemmelse: Optional[str] = None
    lov: Optional[str] = None
    kun_ved_kategori: tuple[str, ...] = ()

    kind = "personkreds"

    def covers(self, provision_id: str) -> bool:
        """A personkreds for a provision covers it and every provision named under it
        (`sel-101a` covers `sel-101a-anonym`); one for a law covers all of the law."""
        if self.bestemmelse is not None:
            return provision_id == self.bestemmelse or provision_id.startswith(self.bestemmelse + "-")
        return provision_id.split("-", 1)[0] == (self.lov or "").lower()


AnyItem = Union[Rule, Offer, Precondition, Right, Scope]


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
    """Every validated block of one rule set, across all dates, with the law history."""

    navn: str
    rules: tuple[Rule, ...]
    offers: tuple[Offer, ...]
    layers: tuple[LayerInfo, ...] = field(default=())
    preconditions: tuple[Precondition, ...] = ()
    rights: tuple[Right, ...] = ()
    scopes: tuple[Scope, ...] = ()

    def items(self) -> tuple[AnyItem, ...]:
        return (*self.rules, *self.offers, *self.preconditions, *self.rights, *self.scopes)
