"""The fact vocabulary: the Danish field names rule files may test, and how a
screening becomes one flat fact.

Rule files can only refer to the fields listed here; the validator uses this
table to refuse unknown fields and values. Nothing here evaluates rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

GRADER = ("ingen", "risikabelt", "skadeligt", "afhaengighed")
STOFFER = ("alkohol", "cannabis", "opioider", "centralstimulerende", "benzodiazepiner", "andet")
BOLIGSITUATIONER = ("egen_bolig", "hos_andre", "midlertidig", "forsorgshjem", "gade", "udskrives")
KOEN = ("kvinde", "mand", "ukendt")

#: Screening flags that default to false; each is also a fact field.
FLAG_FIELDS = (
    "gravid",
    "hjemmeboende_boern",
    "oensker_anonymitet",
    "andre_sociale_problemer",
    "akut_behov",
    "abstinensrisiko",
    "ustabil",
    "behov_for_skaerming",
    "tidligere_forloeb_uden_effekt",
    "foraeldresamtykke",
    "frit_valg",
    "stoettebehov_i_bolig",
    "varig_nedsat_funktionsevne",
)


@dataclass(frozen=True)
class Field:
    """One field a rule condition may test."""

    navn: str
    type: str  # "heltal", "sandhed" or "valg"
    beskrivelse: str
    vaerdier: tuple[str, ...] = ()
    ordnet: bool = False  # values of a "valg" field have an order (grad)
    minimum: int | None = None
    maksimum: int | None = None

    def rank(self, value: str) -> int:
        return self.vaerdier.index(value)


def _flag(name: str, text: str) -> Field:
    return Field(name, "sandhed", text)


FIELDS: dict[str, Field] = {
    f.navn: f
    for f in (
        Field("alder", "heltal", "Borgerens alder i hele år", minimum=0, maksimum=120),
        Field("alkohol_grad", "valg", "Graden af alkoholbrug (ingen hvis alkohol ikke er angivet)", GRADER, True),
        Field("stof_grad", "valg", "Den højeste grad blandt andre rusmidler end alkohol", GRADER, True),
        Field("opioid_grad", "valg", "Graden af brug af opioider", GRADER, True),
        Field("hoejeste_grad", "valg", "Den højeste grad blandt alle angivne rusmidler", GRADER, True),
        Field("boligsituation", "valg", "Borgerens boligsituation", BOLIGSITUATIONER),
        Field("hjemloes", "sandhed", "Borgeren har ikke egen bolig (alle boligsituationer undtagen egen_bolig)"),
        Field("dobbeltdiagnose", "sandhed", "Psykisk lidelse (eller mistanke herom) og samtidigt rusmiddelproblem"),
        Field("koen", "valg", "Køn, bruges kun til Sundhedsstyrelsens genstandsgrænser før 2022-03-07", KOEN),
        Field("genstande_om_ugen", "heltal", "Oplyst antal genstande alkohol om ugen (0 hvis ikke oplyst)", minimum=0, maksimum=1000),
        Field("genstande_paa_en_dag", "heltal", "Oplyst højeste antal genstande på en dag (0 hvis ikke oplyst)", minimum=0, maksimum=200),
        _flag("gravid", "Borgeren er gravid"),
        _flag("hjemmeboende_boern", "Borgeren har hjemmeboende børn"),
        _flag("oensker_anonymitet", "Borgeren ønsker anonym rådgivning eller behandling"),
        _flag("andre_sociale_problemer", "Andre sociale problemer, der gives hjælp til efter Servicelovens afsnit V"),
        _flag("akut_behov", "Akut behov for ophold (SEL § 110 efter 1. oktober 2023)"),
        _flag("abstinensrisiko", "Risiko for abstinenser, der kræver afrusning eller abstinensbehandling"),
        _flag("ustabil", "For ustabil til at ambulant eller dagbehandling kan slå til"),
        _flag("behov_for_skaerming", "Behov for at blive skærmet fra sit nærmiljø"),
        _flag("tidligere_forloeb_uden_effekt", "Tidligere ambulant forløb har været uden effekt"),
        _flag("foraeldresamtykke", "Samtykke fra forældremyndighedsindehaver (under 18 år)"),
        _flag("frit_valg", "Borgeren har valgt et andet tilbud efter reglerne om frit valg"),
        _flag("stoettebehov_i_bolig", "Behov for støtte for at kunne klare sig i egen bolig"),
        _flag("varig_nedsat_funktionsevne", "Betydelig og varigt nedsat funktionsevne, der kræver omfattende hjælp"),
    )
}


def _highest(grades: list[str]) -> str:
    return max(grades, key=GRADER.index, default="ingen")


def facts_from_screening(screening: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a validated screening (API field names) into the fact rules test.

    Derived fields are computed here, once, in plain Python: they are part of the
    vocabulary, not of any rule, so every rule set version sees them the same way.
    """
    rusmidler = screening.get("rusmidler") or []
    alkohol = [r["grad"] for r in rusmidler if r["stof"] == "alkohol"]
    stoffer = [r["grad"] for r in rusmidler if r["stof"] != "alkohol"]
    opioider = [r["grad"] for r in rusmidler if r["stof"] == "opioider"]
    bolig = screening["boligsituation"]
    fact: dict[str, Any] = {
        "alder": int(screening["alder"]),
        "alkohol_grad": _highest(alkohol),
        "stof_grad": _highest(stoffer),
        "opioid_grad": _highest(opioider),
        "hoejeste_grad": _highest(alkohol + stoffer),
        "boligsituation": bolig,
        "hjemloes": bolig != "egen_bolig",
        "dobbeltdiagnose": bool(screening["dobbeltdiagnose"]),
        "koen": screening.get("koen") or "ukendt",
        "genstande_om_ugen": int(screening.get("genstande_om_ugen") or 0),
        "genstande_paa_en_dag": int(screening.get("genstande_paa_en_dag") or 0),
    }
    for name in FLAG_FIELDS:
        fact[name] = bool(screening.get(name) or False)
    return fact
