"""The one vocabulary: every field a screening has and every fact a rule may
test, with its type, allowed values, ranges, Danish labels and form group.

The screening model (engine.screening), the rule-file validator, the web
form, the narrative and the input-space enumeration are all built from this
table; nothing else names a field. `facts_from_screening` turns a validated
screening into the flat fact the rules see. Nothing here evaluates rules.

>>> FIELDS["alder"].label
'Alder'
>>> FIELDS["boligsituation"].value_label("gade")
'lever på gaden'
>>> FIELDS["hoejeste_grad"].rank("skadeligt") > FIELDS["hoejeste_grad"].rank("risikabelt")
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional

FieldType = Literal["heltal", "sandhed", "valg", "dato", "tekst", "rusmidler"]

GRADER = ("ingen", "risikabelt", "skadeligt", "afhaengighed")
STOFFER = ("alkohol", "cannabis", "opioider", "centralstimulerende", "benzodiazepiner", "andet")
BOLIGSITUATIONER = ("egen_bolig", "hos_andre", "midlertidig", "forsorgshjem", "gade", "udskrives")
KOEN = ("kvinde", "mand", "ukendt")

GRAD_LABELS = {
    "ingen": "intet brug",
    "risikabelt": "risikabelt brug",
    "skadeligt": "skadeligt brug (ICD-10 F1x.1)",
    "afhaengighed": "afhængighed (ICD-10 F1x.2)",
}
STOF_LABELS = {
    "alkohol": "alkohol",
    "cannabis": "cannabis",
    "opioider": "opioider (fx heroin, metadon)",
    "centralstimulerende": "centralstimulerende stoffer (fx kokain, amfetamin)",
    "benzodiazepiner": "benzodiazepiner",
    "andet": "andet rusmiddel",
}
#: The substance as a narrative names it ("opioider", never "andre rusmidler").
STOF_KORT = {
    "alkohol": "alkohol",
    "cannabis": "cannabis",
    "opioider": "opioider",
    "centralstimulerende": "centralstimulerende stoffer",
    "benzodiazepiner": "benzodiazepiner",
    "andet": "et andet rusmiddel",
}
BOLIG_LABELS = {
    "egen_bolig": "har egen bolig",
    "hos_andre": "bor midlertidigt hos familie eller venner",
    "midlertidig": "bor i en midlertidig bolig",
    "forsorgshjem": "bor på forsorgshjem eller herberg",
    "gade": "lever på gaden",
    "udskrives": "udskrives uden bolig (fx fra hospital eller fængsel)",
}
KOEN_LABELS = {"kvinde": "kvinde", "mand": "mand", "ukendt": "ukendt"}

#: Web form groups in order: (id, Danish legend).
GROUPS: tuple[tuple[str, str], ...] = (
    ("borger", "Borger"),
    ("rusmidler", "Rusmidler"),
    ("psykiatri", "Psykiatri"),
    ("bolig", "Bolig"),
    ("saerlige", "Særlige forhold"),
    ("datoer", "Datoer"),
)


@dataclass(frozen=True)
class Field:
    """One field: of the screening (`input`), of the fact rules test (`fakta`), or both."""

    navn: str
    type: FieldType
    label: str  # form label / heading ("Alder")
    plain: str  # in a sentence ("alder", "alkoholbrug")
    beskrivelse: str
    vaerdier: tuple[str, ...] = ()
    value_labels: Mapping[str, str] = field(default_factory=dict)
    ordnet: bool = False
    minimum: Optional[int] = None
    maksimum: Optional[int] = None
    input: bool = True
    fakta: bool = True
    paakraevet: bool = False
    gruppe: Optional[str] = None
    hint: str = ""

    def rank(self, value: str) -> int:
        return self.vaerdier.index(value)

    def value_label(self, value: Any) -> str:
        """A value as a caseworker reads it."""
        if isinstance(value, bool):
            return "ja" if value else "nej"
        if isinstance(value, str):
            return self.value_labels.get(value, value)
        return str(value)


def _flag(navn: str, label: str, plain: str, gruppe: str, beskrivelse: Optional[str] = None) -> Field:
    return Field(navn, "sandhed", label, plain, beskrivelse or label, gruppe=gruppe)


def _grade(navn: str, label: str, plain: str, beskrivelse: str) -> Field:
    return Field(navn, "valg", label, plain, beskrivelse, GRADER, GRAD_LABELS, ordnet=True, input=False)


_ALL: tuple[Field, ...] = (
    Field("borger_reference", "tekst", "Sagsreference (valgfri)", "sagsreference",
          "Uigennemsigtig sagsreference; aldrig et CPR-nummer", fakta=False, gruppe="borger",
          hint="Aldrig et CPR-nummer eller et navn."),
    Field("alder", "heltal", "Alder", "alder", "Borgerens alder i hele år", minimum=0, maksimum=120,
          paakraevet=True, gruppe="borger", hint="Et helt tal fra 0 til 120."),
    Field("koen", "valg", "Køn (valgfrit)", "køn", "Køn; bruges kun til Sundhedsstyrelsens genstandsgrænser før 2022-03-07",
          KOEN, KOEN_LABELS, gruppe="borger", hint="Bruges kun til Sundhedsstyrelsens genstandsgrænser."),
    _flag("gravid", "Borgeren er gravid", "gravid", "borger"),
    _flag("hjemmeboende_boern", "Borgeren har hjemmeboende børn", "hjemmeboende børn", "borger"),
    _flag("foraeldresamtykke", "Samtykke fra forældremyndighedsindehaver (under 18 år)", "forældresamtykke", "borger"),
    Field("rusmidler", "rusmidler", "Rusmidler", "rusmidler", "De rusmidler, borgeren bruger, med graden af brug",
          fakta=False, paakraevet=True, gruppe="rusmidler"),
    Field("genstande_om_ugen", "heltal", "Genstande alkohol om ugen (valgfrit)", "genstande om ugen",
          "Oplyst antal genstande alkohol om ugen (0 hvis ikke oplyst)", minimum=0, maksimum=1000,
          gruppe="rusmidler", hint="Et helt tal fra 0 til 1000."),
    Field("genstande_paa_en_dag", "heltal", "Højeste antal genstande på én dag (valgfrit)", "genstande på en dag",
          "Oplyst højeste antal genstande på en dag (0 hvis ikke oplyst)", minimum=0, maksimum=200,
          gruppe="rusmidler", hint="Et helt tal fra 0 til 200."),
    _flag("abstinensrisiko", "Risiko for abstinenser, der kræver afrusning eller abstinensbehandling",
          "risiko for abstinenser", "rusmidler"),
    _flag("tidligere_forloeb_uden_effekt", "Tidligere ambulant forløb har været uden effekt",
          "tidligere forløb uden effekt", "rusmidler"),
    Field("dobbeltdiagnose", "sandhed", "Psykisk lidelse (eller mistanke herom) samtidig med rusmiddelproblemet (dobbeltdiagnose)",
          "dobbeltdiagnose", "Psykisk lidelse (eller mistanke herom) og samtidigt rusmiddelproblem",
          paakraevet=True, gruppe="psykiatri"),
    _flag("ustabil", "For ustabil til at ambulant eller dagbehandling kan slå til", "for ustabil til ambulant eller dagbehandling", "psykiatri"),
    _flag("behov_for_skaerming", "Behov for at blive skærmet fra sit nærmiljø", "behov for skærmning", "psykiatri"),
    Field("boligsituation", "valg", "Boligsituation", "boligsituationen", "Borgerens boligsituation",
          BOLIGSITUATIONER, BOLIG_LABELS, paakraevet=True, gruppe="bolig"),
    _flag("akut_behov", "Akut behov for ophold (forsorgshjem)", "akut behov for ophold", "bolig",
          "Akut behov for ophold (SEL § 110 efter 1. oktober 2023)"),
    _flag("stoettebehov_i_bolig", "Behov for støtte for at kunne klare sig i egen bolig", "støttebehov i egen bolig", "bolig"),
    _flag("varig_nedsat_funktionsevne", "Betydelig og varigt nedsat funktionsevne, der kræver omfattende hjælp",
          "varigt nedsat funktionsevne", "bolig"),
    _flag("oensker_anonymitet", "Borgeren ønsker anonym rådgivning eller behandling", "ønsker anonymitet", "saerlige"),
    _flag("frit_valg", "Borgeren har valgt et andet tilbud efter reglerne om frit valg", "frit valg af tilbud", "saerlige"),
    _flag("andre_sociale_problemer", "Andre sociale problemer, der gives hjælp til efter Servicelovens afsnit V",
          "andre sociale problemer", "saerlige"),
    Field("henvendelsesdato", "dato", "Henvendelsesdato", "henvendelsesdatoen",
          "Dagen borgeren henvendte sig; fristerne regnes herfra", fakta=False, paakraevet=True, gruppe="datoer",
          hint="Dagen borgeren henvendte sig (ÅÅÅÅ-MM-DD). Fristerne regnes herfra."),
    Field("vurderingsdato", "dato", "Vurderingsdato (valgfri)", "vurderingsdatoen",
          "Standard er i dag. Vælger det regelsæt, der gælder på datoen", fakta=False, gruppe="datoer",
          hint="Standard er i dag. Vælger det regelsæt, der gælder på datoen."),
    # Facts derived from the screening (not inputs).
    _grade("alkohol_grad", "Alkoholbrug", "alkoholbrug", "Graden af alkoholbrug (ingen hvis alkohol ikke er angivet)"),
    _grade("stof_grad", "Brug af andre rusmidler", "brug af andre rusmidler end alkohol",
           "Den højeste grad blandt andre rusmidler end alkohol"),
    _grade("opioid_grad", "Brug af opioider", "brug af opioider", "Graden af brug af opioider"),
    _grade("hoejeste_grad", "Højeste grad af rusmiddelbrug", "den højeste grad af rusmiddelbrug",
           "Den højeste grad blandt alle angivne rusmidler"),
    Field("hjemloes", "sandhed", "Uden egen bolig", "uden egen bolig",
          "Borgeren har ikke egen bolig (alle boligsituationer undtagen egen_bolig)", input=False),
)

FIELDS: dict[str, Field] = {f.navn: f for f in _ALL}
#: Fields a rule condition may test.
FACT_FIELDS: dict[str, Field] = {n: f for n, f in FIELDS.items() if f.fakta}
#: Fields of the screening (API request body), in form order.
INPUT_FIELDS: dict[str, Field] = {n: f for n, f in FIELDS.items() if f.input}
#: Screening flags that default to false.
FLAG_FIELDS: tuple[str, ...] = tuple(n for n, f in INPUT_FIELDS.items() if f.type == "sandhed" and not f.paakraevet)

#: The earliest and latest dates a screening may carry.
FIRST_DATE = "2007-01-01"
LAST_DATE = "2100-12-31"


def _highest(grades: list[str]) -> str:
    return max(grades, key=GRADER.index, default="ingen")


def facts_from_screening(screening: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a validated screening (API field names) into the fact rules test.

    Derived fields are computed here, once, in plain Python: they are part of the
    vocabulary, not of any rule, so every rule set version sees them the same way.

    >>> f = facts_from_screening({"alder": 30, "rusmidler": [{"stof": "opioider", "grad": "afhaengighed"}],
    ...                           "dobbeltdiagnose": False, "boligsituation": "gade"})
    >>> (f["stof_grad"], f["opioid_grad"], f["alkohol_grad"], f["hjemloes"])
    ('afhaengighed', 'afhaengighed', 'ingen', True)
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
