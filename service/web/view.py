"""What the templates show: the screening form's state and a decision made readable."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from engine.fields import FIELDS
from engine.model import LOV_NAVN, LegalRef
from engine.wording import condition_text, dansk_dato

SPOR_TEKST = {"behandling": "Behandling", "medicinsk": "Lægelig behandling", "bolig": "Bolig", "koordinering": "Koordinering"}

CHOICES: dict[str, list[tuple[str, str]]] = {
    "stof": [("alkohol", "Alkohol"), ("cannabis", "Cannabis"), ("opioider", "Opioider (fx heroin, metadon)"),
             ("centralstimulerende", "Centralstimulerende stoffer (fx kokain, amfetamin)"),
             ("benzodiazepiner", "Benzodiazepiner"), ("andet", "Andet rusmiddel")],
    "grad": [("risikabelt", "Risikabelt brug"), ("skadeligt", "Skadeligt brug (ICD-10 F1x.1)"),
             ("afhaengighed", "Afhængighed (ICD-10 F1x.2)")],
    "boligsituation": [("egen_bolig", "Egen bolig"), ("hos_andre", "Bor midlertidigt hos andre"),
                       ("midlertidig", "Midlertidig bolig"), ("forsorgshjem", "Forsorgshjem eller herberg"),
                       ("gade", "Lever på gaden"), ("udskrives", "Udskrives uden bolig (fx fra hospital eller fængsel)")],
    "koen": [("kvinde", "Kvinde"), ("mand", "Mand"), ("ukendt", "Ukendt")],
}

# Each fieldset: (legend, [(field, kind, label, hint)]); kind: text, int, date, select, flag.
_F = FIELDS


def _flag(name: str) -> tuple[str, str, str, str]:
    return (name, "flag", _F[name].beskrivelse, "")


GROUPS: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [
    ("borger", "Borger", [
        ("borger_reference", "text", "Sagsreference (valgfri)", "Aldrig et CPR-nummer."),
        ("alder", "int", "Alder i hele år", "Et helt tal fra 0 til 120."),
        ("koen", "select", "Køn (valgfrit)", "Bruges kun til Sundhedsstyrelsens genstandsgrænser."),
        _flag("gravid"), _flag("hjemmeboende_boern"), _flag("foraeldresamtykke"),
    ]),
    ("rusmidler", "Rusmidler", [
        ("genstande_om_ugen", "int", "Genstande alkohol om ugen (valgfrit)", "Et helt tal fra 0 til 1000."),
        ("genstande_paa_en_dag", "int", "Højeste antal genstande på én dag (valgfrit)", "Et helt tal fra 0 til 200."),
        _flag("abstinensrisiko"), _flag("tidligere_forloeb_uden_effekt"),
    ]),
    ("psykiatri", "Psykiatri", [
        ("dobbeltdiagnose", "flag", "Psykisk lidelse (eller mistanke herom) samtidig med rusmiddelproblemet (dobbeltdiagnose)", ""),
        _flag("ustabil"), _flag("behov_for_skaerming"),
    ]),
    ("bolig", "Bolig", [
        ("boligsituation", "select", "Boligsituation", ""),
        _flag("akut_behov"), _flag("stoettebehov_i_bolig"), _flag("varig_nedsat_funktionsevne"),
    ]),
    ("saerlige", "Særlige forhold", [
        _flag("oensker_anonymitet"), _flag("frit_valg"), _flag("andre_sociale_problemer"),
    ]),
    ("datoer", "Datoer", [
        ("henvendelsesdato", "date", "Henvendelsesdato", "Dagen borgeren henvendte sig (ÅÅÅÅ-MM-DD). Fristerne regnes herfra."),
        ("vurderingsdato", "date", "Vurderingsdato (valgfri)", "Standard er i dag. Vælger det regelsæt, der gælder på datoen."),
    ]),
]

FIELD_KIND = {name: kind for _, _, fields in GROUPS for name, kind, _, _ in fields}
_ROW_PROBLEM = re.compile(r"^rusmidler\[(\d+)\](?:\.(stof|grad))?$")


@dataclass
class FormState:
    """Everything the user typed, exactly as typed, plus the problems found."""

    values: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # input id -> message
    other_problems: list[str] = field(default_factory=list)
    focus: Optional[str] = None

    @classmethod
    def empty(cls, today: date) -> "FormState":
        return cls(values={"henvendelsesdato": today.isoformat()}, rows=[("", "")])

    @classmethod
    def from_form(cls, form: Any) -> "FormState":
        state = cls()
        for name, kind in FIELD_KIND.items():
            if kind == "flag":
                if form.get(name):
                    state.flags.add(name)
            else:
                state.values[name] = str(form.get(name, ""))[:500]
        try:
            count = min(20, max(0, int(form.get("antal_rusmidler", "0"))))
        except ValueError:
            count = 0
        state.rows = [(str(form.get(f"rusmidler-{i}-stof", "")), str(form.get(f"rusmidler-{i}-grad", ""))) for i in range(count)]
        return state

    def body(self) -> tuple[dict[str, Any], list[int]]:
        """The API request body, and for each sent substance the row it came from."""
        body: dict[str, Any] = {}
        for name, kind in FIELD_KIND.items():
            if kind == "flag":
                body[name] = name in self.flags
                continue
            raw = self.values.get(name, "").strip()
            if not raw:
                continue
            if kind == "int":
                body[name] = int(raw) if re.fullmatch(r"-?\d{1,9}", raw) else raw
            else:
                body[name] = raw
        rusmidler, index_map = [], []
        for i, (stof, grad) in enumerate(self.rows):
            if not stof and not grad:
                continue
            entry = {}
            if stof:
                entry["stof"] = stof
            if grad:
                entry["grad"] = grad
            rusmidler.append(entry)
            index_map.append(i)
        body["rusmidler"] = rusmidler
        return body, index_map

    def set_problems(self, problems: list[tuple[str, str]], index_map: list[int]) -> None:
        for felt, besked in problems:
            match = _ROW_PROBLEM.match(felt)
            if match:
                sent = int(match.group(1))
                row = index_map[sent] if sent < len(index_map) else sent
                key = f"rusmidler-{row}-{match.group(2)}" if match.group(2) else f"rusmidler-{row}-stof"
            elif felt in FIELD_KIND or felt == "rusmidler":
                key = felt
            else:
                self.other_problems.append(f"{felt}: {besked}" if felt else besked)
                continue
            self.problems.setdefault(key, besked)
        if self.problems:
            self.focus = None

    def error_list(self) -> list[tuple[str, str, str]]:
        """(input id, label, message) for the summary at the top of the form."""
        labels = {name: label for _, _, fields in GROUPS for name, _, label, _ in fields}
        out = []
        for key, message in self.problems.items():
            if key.startswith("rusmidler-"):
                _, row, part = key.split("-")
                label = f"Rusmiddel {int(row) + 1}, {'rusmiddel' if part == 'stof' else 'grad'}"
            elif key == "rusmidler":
                label, key = "Rusmidler", "rusmidler-tilfoej"
            else:
                label = labels.get(key, key)
            out.append((key, label, message))
        return out


# --------------------------------------------------------------------------- decisions


def dansk_dato_text(value: Any) -> str:
    try:
        return dansk_dato(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def legal_danish(ref: dict[str, Any]) -> str:
    if ref.get("lov") in LOV_NAVN and ref.get("paragraf"):
        return LegalRef(ref["lov"], str(ref["paragraf"]), ref.get("stk")).danish()
    return " ".join(str(v) for v in ref.values() if v)


def source_danish(src: Any) -> str:
    """A rule's lovkilde (API dict) or an engine Source, written out."""
    if not isinstance(src, dict):
        return src.danish()
    if src.get("lov") in LOV_NAVN and src.get("paragraf"):
        text = legal_danish(src)
        if src.get("nr"):
            text += f", nr. {src['nr']}"
        if src.get("lovnummer"):
            text += f" ({src['lovnummer']})"
        if src.get("dokument"):
            text += f"; {src['dokument']}"
        return text
    return src.get("dokument") or ""


def condition_danish(c: dict[str, Any]) -> str:
    try:
        return condition_text(c)
    except (KeyError, TypeError):
        return json.dumps(c, ensure_ascii=False)


def short_value(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{SPOR_TEKST.get(k, k)}: {short_value(v)}" for k, v in value.items()) or "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(short_value(v) for v in value) or "ingen"
    if value is None:
        return "intet"
    return str(value)


class Result:
    """One stored response (API shape) arranged per track for the result pages."""

    def __init__(self, svar: dict[str, Any]):
        self.svar = svar
        self.id = svar.get("id")
        self.oprettet = svar.get("oprettet")
        self.regelsaet = svar["regelsaet"]
        f = svar.get("forklaring", {})
        self.forklaring = f
        self.advarsler = svar.get("advarsler", [])
        self.oplysninger = svar.get("oplysninger", [])
        self.frister = svar.get("frister", [])
        self.lovgrundlag = svar.get("lovgrundlag", [])
        self.tekst = [line for line in str(f.get("tekst", "")).split("\n") if line.strip()]
        self.regler = f.get("regler", [])
        self.fakta = f.get("fakta", {})
        spor_info = {s["spor"]: s for s in f.get("spor", [])}
        names = {t["id"]: t["navn"] for s in f.get("spor", []) for t in s.get("tilbud", [])}
        self.tracks = []
        used_deadlines: set[int] = set()
        for a in svar.get("anbefalinger", []):
            spor = a["spor"]
            laws = {(r["lov"], r["paragraf"]) for r in a.get("lovgrundlag", [])}
            frister = []
            for i, d in enumerate(self.frister):
                if (d["lovgrundlag"]["lov"], d["lovgrundlag"]["paragraf"]) in laws:
                    frister.append(d)
                    used_deadlines.add(i)
            info = spor_info.get(spor, {})
            self.tracks.append({
                "spor": spor,
                "navn": SPOR_TEKST.get(spor, spor),
                "tilbud": a["tilbud"],
                "lovgrundlag": a.get("lovgrundlag", []),
                "begrundelse": a.get("begrundelse", ""),
                "frister": frister,
                "behovsniveau": info.get("behovsniveau"),
                "behov_fastsat_af": info.get("behov_fastsat_af", []),
                "regler": [r for r in self.regler if (r.get("konklusion") or {}).get("spor") == spor and r.get("anvendt")],
                "fravalgt": [dict(x, navn=names.get(x["tilbud"], x["tilbud"])) for x in f.get("fravalgt", [])
                             if x["spor"] == spor and x.get("retning") == "mindre_indgribende"],
                "tilbud_alle": info.get("tilbud", []),
            })
        self.other_deadlines = [d for i, d in enumerate(self.frister) if i not in used_deadlines]
        track_ids = {t["spor"] for t in self.tracks}
        self.other_rules = [r for r in self.regler if r.get("anvendt") and (r.get("konklusion") or {}).get("spor") not in track_ids]
        self.fravalgt_alle = [dict(x, navn=names.get(x["tilbud"], x["tilbud"])) for x in f.get("fravalgt", [])]
