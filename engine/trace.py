"""Stage 6, trace: the decision as a typed record and as API.md's response body.

`Decision` holds everything an auditor needs to check a recommendation: the
version used, the facts seen, every rule that fired (with each condition and
the value it saw), and every offer's verdict. `to_api` renders it exactly in
API.md's shape (without `id` and `oprettet`, which the service adds).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.compile import CompiledVersion
from engine.model import LegalRef, Rule
from engine.select import IKKE_NOEDVENDIGT, VALGT, Selection, sort_legal
from engine.versions import RuleSetVersion


@dataclass(frozen=True, slots=True)
class Decision:
    compiled: CompiledVersion
    fact: dict[str, Any]
    henvendelsesdato: date
    vurderingsdato: date
    selection: Selection
    core: str

    @property
    def version(self) -> RuleSetVersion:
        return self.compiled.version

    def lovgrundlag(self) -> tuple[LegalRef, ...]:
        refs = [ref for t in self.selection.tracks if t.valgt for ref in t.lovgrundlag]
        refs += [d.spec.lovgrundlag for d in self.selection.deadlines]
        return sort_legal(refs)

    def to_api(self, tekst: str) -> dict[str, Any]:
        sel = self.selection
        compiled = self.compiled
        static = _static_parts(compiled)
        fact = self.fact
        anbefalinger = []
        fravalgt = []
        spor = []
        for t in sel.tracks:
            if t.valgt is not None:
                anbefalinger.append({
                    "spor": t.spor,
                    "tilbud": dict(static["tilbud"][t.valgt.id, t.valgt.linje]),
                    "lovgrundlag": [r.to_api() for r in t.lovgrundlag],
                    "begrundelse": _begrundelse(t.behovsniveau, t.behov_fra, t.valgt.navn),
                })
            chosen_seen = False
            offers = []
            for v in t.verdicts:
                if v.verdikt == VALGT:
                    chosen_seen = True
                elif t.valgt is not None or v.verdikt != IKKE_NOEDVENDIGT:
                    entry = {
                        "spor": t.spor,
                        "tilbud": v.offer.id,
                        "grund": v.grund,
                        "retning": "mere_indgribende" if chosen_seen else "mindre_indgribende",
                        "verdikt": v.verdikt,
                    }
                    if v.failed:
                        entry["betingelser"] = list(v.failed)
                    fravalgt.append(entry)
                offer = dict(static["verdikt"][v.index])
                offer["verdikt"] = v.verdikt
                offer["grund"] = v.grund
                offers.append(offer)
            spor.append({
                "spor": t.spor,
                "behovsniveau": t.behovsniveau,
                "behov_fastsat_af": [r.id for r in t.behov_fra],
                "valgt": t.valgt.id if t.valgt else None,
                "tilbud": offers,
            })
        regler = []
        results = compiled.condition_results
        rule_static = static["regel"]
        for a in sel.applied:
            entry = dict(rule_static[a.index])
            entry["betingelser"] = results[a.index](fact)
            entry["anvendt"] = a.anvendt
            if a.grund:
                entry["ikke_anvendt_fordi"] = a.grund
            regler.append(entry)
        return {
            "regelsaet": self.version.header(),
            "anbefalinger": anbefalinger,
            "lovgrundlag": [r.to_api() for r in self.lovgrundlag()],
            "frister": [
                {
                    "type": d.spec.type,
                    "dato": d.dato.isoformat(),
                    "lovgrundlag": d.spec.lovgrundlag.to_api(),
                    "beskrivelse": d.spec.beskrivelse,
                    "regnet_fra": d.fra_dato.isoformat(),
                }
                for d in sel.deadlines
            ],
            "advarsler": list(sel.advarsler),
            "oplysninger": list(sel.oplysninger),
            "forklaring": {
                "regler": regler,
                "fravalgt": fravalgt,
                "spor": spor,
                "fakta": dict(fact),
                "kerne": self.core,
                "tekst": tekst,
            },
        }


def _static_parts(compiled: CompiledVersion) -> dict[str, Any]:
    """Trace fields that never change for a version, built once per version."""
    memo = compiled.memo.get("trace")
    if memo is not None:
        return memo
    regel: dict[int, dict[str, Any]] = {}
    verdikt: dict[int, dict[str, Any]] = {}
    tilbud: dict[tuple[str, int], dict[str, Any]] = {}
    for i, item in enumerate(compiled.items):
        if isinstance(item, Rule):
            regel[i] = {
                "id": item.id,
                "lag": item.lag,
                "kilde": item.placering,
                "beskrivelse": item.beskrivelse,
                "lovkilde": item.kilde.to_api(),
                "gyldig_fra": item.gyldig_fra.isoformat(),
                "konklusion": _conclusion(item),
            }
        else:
            verdikt[i] = {
                "id": item.id, "navn": item.navn, "kategori": item.kategori, "indgrebsniveau": item.niveau,
                "lag": item.lag, "kilde": item.placering,
            }
            tilbud[item.id, item.linje] = {"id": item.id, "navn": item.navn, "kategori": item.kategori, "indgrebsniveau": item.niveau}
    memo = {"regel": regel, "verdikt": verdikt, "tilbud": tilbud}
    compiled.memo["trace"] = memo
    return memo


def _begrundelse(level: int, setters: tuple[Rule, ...], navn: str) -> str:
    why = "; ".join(f"{r.beskrivelse} [{r.id}]" for r in setters)
    return f"Behovsniveau {level}: {why} '{navn}' er det mindst indgribende egnede tilbud, der dækker behovet."


def _conclusion(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.spor:
        out["spor"] = rule.spor
    if rule.min_niveau is not None:
        out["mindst_indgrebsniveau"] = rule.min_niveau
    if rule.lovgrundlag:
        out["lovgrundlag"] = [r.to_api() for r in rule.lovgrundlag]
    if rule.frist is not None:
        out["frist"] = {"type": rule.frist.type, "dage": rule.frist.dage, "fra": rule.frist.fra}
    if rule.advarsel:
        out["advarsel"] = rule.advarsel
    if rule.oplysning:
        out["oplysning"] = rule.oplysning
    if rule.udeluk_kategori or rule.udeluk_tilbud:
        out["udeluk"] = rule.udeluk_kategori or rule.udeluk_tilbud
    if rule.ved_kategori:
        out["ved_kategori"] = list(rule.ved_kategori)
    return out
