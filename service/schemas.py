"""Pydantic models for the OpenAPI document (responses are sent as stored JSON text)."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Felt(BaseModel):
    felt: str = Field(description="Feltets sti, fx rusmidler[0].grad (eller fil:linje:kolonne for regelfiler)")
    besked: str = Field(description="Dansk besked")


class Problem(_Open):
    """RFC 9457 problem document (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    fejl: Optional[list[Felt]] = Field(None, description="Ved valideringsfejl: hvert felt med sin fejl")
    fejl_id: Optional[str] = Field(None, description="Ved 500: id'et, som også står i serverens log")


class Lovgrundlag(_Open):
    lov: Literal["SEL", "SUL", "BL", "TBL"]
    paragraf: str
    stk: Optional[str] = None


class RegelsaetHoved(_Open):
    navn: str
    version: str
    gyldig_fra: str
    sha256: str


class Tilbud(_Open):
    id: str
    navn: str
    kategori: str
    indgrebsniveau: int


class Anbefaling(_Open):
    spor: Literal["behandling", "medicinsk", "bolig", "koordinering"]
    tilbud: Tilbud
    lovgrundlag: list[Lovgrundlag]
    begrundelse: str


class Frist(_Open):
    type: str
    dato: str
    lovgrundlag: Lovgrundlag


class Betingelse(_Open):
    felt: str
    operator: str
    forventet: Any = None
    faktisk: Any = None
    opfyldt: bool


class ForklaretRegel(_Open):
    id: str
    lag: Literal["lov", "kommune"]
    kilde: str
    beskrivelse: str
    betingelser: list[Betingelse]


class Fravalgt(_Open):
    spor: str
    tilbud: str
    grund: str


class Forklaring(_Open):
    regler: list[ForklaretRegel]
    fravalgt: list[Fravalgt]
    tekst: str


class Vurdering(_Open):
    """The decision as returned by POST /v1/vurderinger and stored in the log."""

    id: str = Field(description="ULID: sorterbar efter oprettelsestid")
    oprettet: str = Field(description="UTC-tidspunkt, ISO 8601")
    regelsaet: RegelsaetHoved
    anbefalinger: list[Anbefaling]
    lovgrundlag: list[Lovgrundlag]
    frister: list[Frist]
    advarsler: list[str]
    oplysninger: list[str] = []
    forklaring: Forklaring


class Regelsaetversion(_Open):
    navn: str
    version: str
    gyldig_fra: str
    gyldig_til: Optional[str]
    sha256: str
    status: Literal["aktiv", "historisk", "afventer"]


class RegelsaetListe(BaseModel):
    navn: str
    i_kraft_i_dag: Optional[str] = Field(description="sha256 for den version, der gælder i dag")
    versioner: list[Regelsaetversion]


class RegelsaetValidering(BaseModel):
    gyldig: bool
    genindlaest: bool
    versioner: list[Regelsaetversion]


class AnbefalingKort(BaseModel):
    spor: str
    tilbud: str
    kategori: str


class VurderingKort(BaseModel):
    seq: int
    id: str
    oprettet: str
    regelsaet: RegelsaetHoved
    henvendelsesdato: str
    vurderingsdato: str
    anbefalinger: list[AnbefalingKort]
    href: str


class VurderingListe(BaseModel):
    total: int
    limit: int
    offset: int
    naeste_offset: Optional[int]
    vurderinger: list[VurderingKort]


class Forskel(BaseModel):
    sti: str = Field(description="JSON-sti, fx anbefalinger[0].tilbud.id")
    foer: Any = Field(description="Værdien i den oprindelige afgørelse (null hvis den ikke fandtes)")
    nu: Any = Field(description="Værdien under den anden version (null hvis den ikke findes)")


class Genberegning(BaseModel):
    id: str
    identisk: bool = Field(description="Gav den oprindelige version præcis samme resultat? (skal altid være true)")
    original: dict[str, Any] = Field(description="Resultatet under den oprindelige version (uden id og oprettet)")
    nu: dict[str, Any] = Field(description="Resultatet under den version, der gælder i dag")
    regelsaet_original: RegelsaetHoved
    regelsaet_nu: RegelsaetHoved
    samme_version: bool
    forskelle: list[Forskel] = Field(description="Forskelle mellem original og nu i regelsaet, anbefalinger, lovgrundlag, frister, advarsler og oplysninger")
    forskelle_original: list[Forskel] = Field(description="Forskelle mellem den gemte afgørelse og genberegningen under samme version (skal være tom)")


class Kaedefejl(BaseModel):
    seq: Optional[int]
    art: Literal["aendret", "slettet", "indsat", "flyttet"]
    besked: str


class KaedeHoved(BaseModel):
    seq: Optional[int]
    hash: Optional[str]


class LogVerifikation(BaseModel):
    intakt: bool
    antal: int
    hoved: KaedeHoved
    foerste_fejl: Optional[Kaedefejl]


class Sundhed(BaseModel):
    status: Literal["ok"]
    regelsaet: str


class Healthz(BaseModel):
    status: Literal["ok"]


class Readyz(BaseModel):
    status: Literal["klar"]
    tjek: dict[str, str]
