"""Stage 2, validate: turn loaded rule files into a RuleBook, or refuse them whole.

Every problem is reported as `file:line:column: message` in Danish, with a
suggestion for a misspelt key or value. If any file has any problem, no rule
from any file is used: the caller keeps the rules it already had.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Optional

from pydantic import BaseModel, ValidationError

from engine.fields import FIELDS
from engine.load import LoadProblem, PosDict, PosList, Position, load_yaml_file, position_of
from engine.model import (
    AnyOf,
    Betingelse,
    Condition,
    ConditionNode,
    DeadlineSpec,
    Frist,
    Kilde,
    Konklusion,
    LayerInfo,
    LegalRef,
    Lovhenvisning,
    Offer,
    Regel,
    Regelfil,
    Rule,
    RuleBook,
    Source,
    Tilbud,
    Udeluk,
)


class RulesInvalid(Exception):
    """Rule files that cannot be used; `problems` lists every finding."""

    def __init__(self, problems: list[LoadProblem]):
        self.problems = sorted(problems, key=lambda p: (p.position.file, p.position.line, p.position.column))
        super().__init__("\n".join(str(p) for p in self.problems))


def _all_keys(models: Iterable[type[BaseModel]]) -> list[str]:
    keys: set[str] = set()
    for model in models:
        keys.update(model.model_fields)
    return sorted(keys)


_KNOWN_KEYS = _all_keys([Regelfil, Regel, Tilbud, Konklusion, Kilde, Betingelse, Frist, Lovhenvisning, Udeluk])


def _suggest(word: Any, options: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (mente du '{close[0]}'?)" if close else ""


def _danish_schema_error(error: dict[str, Any]) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = str(loc[-1]) if loc else "filen"
    raw = error.get("input")
    ctx = error.get("ctx", {})
    if kind == "missing":
        return f"mangler '{name}'"
    if kind == "extra_forbidden":
        return f"ukendt nøgle '{name}'" + _suggest(name, _KNOWN_KEYS)
    if kind in ("literal_error", "enum"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        shown = f"'{raw}'" if isinstance(raw, (str, int, float)) else "værdien"
        return f"ugyldig værdi {shown} for '{name}'; tilladt: {', '.join(allowed)}" + _suggest(raw, allowed)
    if kind == "string_pattern_mismatch":
        if name == "id":
            return f"id '{raw}' må kun indeholde små bogstaver, tal og bindestreger"
        return f"'{name}' har en ugyldig form: '{raw}'"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"'{name}' skal være en dato på formen ÅÅÅÅ-MM-DD"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"'{name}' skal være et helt tal"
    if kind in ("bool_type", "bool_parsing"):
        return f"'{name}' skal være true eller false"
    if kind == "greater_than_equal":
        return f"'{name}' skal være mindst {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"'{name}' må højst være {ctx.get('le')}"
    if kind == "string_too_short":
        return f"teksten i '{name}' er for kort (mindst {ctx.get('min_length')} tegn)"
    if kind == "string_too_long":
        return f"teksten i '{name}' er for lang (højst {ctx.get('max_length')} tegn)"
    if kind == "string_type":
        return f"'{name}' skal være en tekst"
    if kind == "list_type":
        return f"'{name}' skal være en liste (linjer der starter med '-')"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"'{name}' skal være en blok med nøgler"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "ugyldig værdi")))
    return f"'{name}': {error.get('msg', 'ugyldig værdi')}"


@dataclass
class _FileContext:
    shown: str
    data: Any
    problems: list[LoadProblem]

    def at(self, loc: tuple[Any, ...]) -> Position:
        start = self.data.start if isinstance(self.data, (PosDict, PosList)) else Position(self.shown, 1, 1)
        return position_of(self.data, loc, start)

    def add(self, loc: tuple[Any, ...], message: str) -> None:
        self.problems.append(LoadProblem(self.at(loc), message))


def _check_value(ctx: _FileContext, loc: tuple[Any, ...], field_name: str, value: Any) -> Any:
    spec = FIELDS[field_name]
    if spec.type == "sandhed":
        if not isinstance(value, bool):
            ctx.add(loc, f"feltet '{field_name}' er sand/falsk; skriv true eller false")
        return value
    if spec.type == "heltal":
        if not isinstance(value, int) or isinstance(value, bool):
            ctx.add(loc, f"feltet '{field_name}' er et helt tal")
        elif spec.minimum is not None and not (spec.minimum <= value <= (spec.maksimum or value)):
            ctx.add(loc, f"værdien {value} ligger uden for {field_name}s mulige værdier ({spec.minimum}-{spec.maksimum})")
        return value
    if value not in spec.vaerdier:
        ctx.add(loc, f"ugyldig værdi '{value}' for feltet '{field_name}'; tilladt: {', '.join(spec.vaerdier)}" + _suggest(value, spec.vaerdier))
    return value


def _convert_condition(ctx: _FileContext, loc: tuple[Any, ...], cond: Betingelse) -> Optional[ConditionNode]:
    if cond.en_af is not None:
        items = [_convert_condition(ctx, loc + ("en_af", i), c) for i, c in enumerate(cond.en_af)]
        if any(i is None for i in items):
            return None
        return AnyOf(tuple(items))  # type: ignore[arg-type]
    assert cond.felt is not None and cond.operator is not None
    if cond.felt not in FIELDS:
        ctx.add(loc + ("felt",), f"ukendt felt '{cond.felt}'" + _suggest(cond.felt, FIELDS))
        return None
    spec = FIELDS[cond.felt]
    op = cond.operator
    if op in (">", ">=", "<", "<=") and not (spec.type == "heltal" or spec.ordnet):
        ctx.add(loc + ("operator",), f"operatoren '{op}' kan ikke bruges på feltet '{cond.felt}' (kun =, !=, i, ikke_i)")
        return None
    if spec.type == "sandhed" and op not in ("=", "!="):
        ctx.add(loc + ("operator",), f"feltet '{cond.felt}' er sand/falsk; brug '=' eller '!='")
        return None
    if op in ("i", "ikke_i"):
        if not isinstance(cond.vaerdi, list) or not cond.vaerdi:
            ctx.add(loc + ("vaerdi",), f"operatoren '{op}' kræver en liste af værdier, fx [a, b]")
            return None
        before = len(ctx.problems)
        values = tuple(_check_value(ctx, loc + ("vaerdi",), cond.felt, v) for v in cond.vaerdi)
        if len(ctx.problems) > before:
            return None
        return Condition(cond.felt, op, values)
    before = len(ctx.problems)
    value = _check_value(ctx, loc + ("vaerdi",), cond.felt, cond.vaerdi)
    if len(ctx.problems) > before:
        return None
    return Condition(cond.felt, op, value)


def _legal(ref: Lovhenvisning) -> LegalRef:
    return LegalRef(ref.lov, ref.paragraf, ref.stk)


def _source(k: Kilde) -> Source:
    return Source(k.lov, k.paragraf, k.stk, k.nr, k.lovnummer, k.dokument, k.url, k.sikkerhed)


def _conditions(ctx: _FileContext, loc: tuple[Any, ...], conds: list[Betingelse]) -> Optional[tuple[ConditionNode, ...]]:
    out = []
    ok = True
    for i, cond in enumerate(conds):
        node = _convert_condition(ctx, loc + (i,), cond)
        ok = ok and node is not None
        out.append(node)
    return tuple(out) if ok else None  # type: ignore[arg-type]


def _convert_file(ctx: _FileContext, parsed: Regelfil) -> tuple[list[Rule], list[Offer]]:
    rules: list[Rule] = []
    offers: list[Offer] = []
    for i, t in enumerate(parsed.tilbud):
        conds = _conditions(ctx, ("tilbud", i, "egnet_hvis"), t.egnet_hvis)
        if conds is None:
            continue
        age: list[ConditionNode] = []
        if t.alder_fra is not None:
            age.append(Condition("alder", ">=", t.alder_fra))
        if t.alder_til is not None:
            age.append(Condition("alder", "<=", t.alder_til))
        offers.append(
            Offer(
                id=t.id, beskrivelse=t.beskrivelse, lag=parsed.lag, fil=ctx.shown, linje=ctx.at(("tilbud", i)).line,
                gyldig_fra=t.gyldig_fra, gyldig_til=t.gyldig_til, afventer=t.status == "afventer", kilde=_source(t.kilde),
                conditions=tuple(age) + conds, navn=t.navn, kategori=t.kategori, spor=t.spor, niveau=t.indgrebsniveau,
                lovgrundlag=tuple(_legal(r) for r in t.lovgrundlag),
                daekker_op_til=t.daekker_op_til_niveau or t.indgrebsniveau, alder_fra=t.alder_fra, alder_til=t.alder_til,
            )
        )
    for i, r in enumerate(parsed.regler):
        conds = _conditions(ctx, ("regler", i, "hvis"), r.hvis)
        if conds is None:
            continue
        saa = r.saa
        if parsed.lag == "kommune" and (saa.lovgrundlag or saa.frist):
            ctx.add(("regler", i, "saa"), "en kommunal regel kan ikke give lovgrundlag eller frister; de kommer fra lovlaget")
            continue
        frist = None
        if saa.frist is not None:
            f = saa.frist
            frist = DeadlineSpec(f.type, f.dage, f.fra, _legal(f.lovgrundlag), f.beskrivelse)
        rules.append(
            Rule(
                id=r.id, beskrivelse=r.beskrivelse, lag=parsed.lag, fil=ctx.shown, linje=ctx.at(("regler", i)).line,
                gyldig_fra=r.gyldig_fra, gyldig_til=r.gyldig_til, afventer=r.status == "afventer", kilde=_source(r.kilde),
                conditions=conds, spor=saa.spor, min_niveau=saa.mindst_indgrebsniveau,
                lovgrundlag=tuple(_legal(x) for x in saa.lovgrundlag), frist=frist, advarsel=saa.advarsel,
                oplysning=saa.oplysning, udeluk_kategori=saa.udeluk.kategori if saa.udeluk else None,
                udeluk_tilbud=saa.udeluk.tilbud if saa.udeluk else None, ved_kategori=tuple(saa.ved_kategori),
            )
        )
    return rules, offers


def _overlap(a: Any, b: Any) -> bool:
    a_end = a.gyldig_til or date.max
    b_end = b.gyldig_til or date.max
    return a.gyldig_fra <= b_end and b.gyldig_fra <= a_end and a.afventer == b.afventer


def _cross_checks(rules: list[Rule], offers: list[Offer], problems: list[LoadProblem]) -> None:
    def where(item: Any) -> Position:
        return Position(item.fil, item.linje, 1)

    for kind, items in (("reglen", rules), ("tilbuddet", offers)):
        by_id: dict[str, list[Any]] = {}
        for item in items:
            by_id.setdefault(item.id, []).append(item)
        for same in by_id.values():
            for i, a in enumerate(same):
                for b in same[i + 1:]:
                    if _overlap(a, b):
                        problems.append(LoadProblem(where(b), f"{kind} '{b.id}' gælder i samme periode som en anden udgave af den på {a.placering}; datoerne må ikke overlappe"))
    offer_ids = {o.id for o in offers}
    for r in rules:
        if r.udeluk_tilbud and r.udeluk_tilbud not in offer_ids:
            problems.append(LoadProblem(where(r), f"reglen '{r.id}' udelukker det ukendte tilbud '{r.udeluk_tilbud}'" + _suggest(r.udeluk_tilbud, offer_ids)))
        if r.id in offer_ids:
            problems.append(LoadProblem(where(r), f"id '{r.id}' bruges både af en regel og et tilbud; brug forskellige id'er"))


def rule_files(rules_dir: Path) -> list[Path]:
    return sorted(p for p in rules_dir.rglob("*.yaml") if p.is_file())


def load_rulebook(set_dir: Path, shown_root: Optional[Path] = None) -> RuleBook:
    """Load and validate every `*.yaml` under one rule set's directory.

    Raises RulesInvalid listing every problem if anything is wrong anywhere.
    """
    shown_root = shown_root or set_dir.parent.parent
    problems: list[LoadProblem] = []
    rules: list[Rule] = []
    offers: list[Offer] = []
    layers: list[LayerInfo] = []
    names: dict[str, str] = {}
    kommuner: dict[str, str] = {}
    files = rule_files(set_dir)
    if not files:
        raise RulesInvalid([LoadProblem(Position(str(set_dir), 1, 1), "mappen indeholder ingen regelfiler (*.yaml)")])
    for path in files:
        try:
            shown = path.relative_to(shown_root).as_posix()
        except ValueError:
            shown = path.as_posix()
        data, load_problems = load_yaml_file(path, shown)
        problems.extend(load_problems)
        if data is None and not load_problems:
            problems.append(LoadProblem(Position(shown, 1, 1), "filen er tom"))
            continue
        if load_problems:
            continue
        ctx = _FileContext(shown, data, problems)
        try:
            parsed = Regelfil.model_validate(data)
        except ValidationError as error:
            for e in error.errors(include_url=False):
                ctx.add(tuple(e["loc"]), _danish_schema_error(e))
            continue
        names[parsed.regelsaet] = shown
        if parsed.kommune:
            kommuner[parsed.kommune] = shown
        layers.append(LayerInfo(shown, parsed.lag, parsed.kommune, parsed.beskrivelse, parsed.princip))
        file_rules, file_offers = _convert_file(ctx, parsed)
        rules.extend(file_rules)
        offers.extend(file_offers)
    if len(names) > 1:
        problems.append(LoadProblem(Position(sorted(names.values())[-1], 1, 1), f"filerne i én mappe skal høre til samme regelsæt; fundet: {', '.join(sorted(names))}"))
    if len(kommuner) > 1:
        problems.append(LoadProblem(Position(sorted(kommuner.values())[-1], 1, 1), f"et regelsæt kan kun have ét kommunelag; fundet: {', '.join(sorted(kommuner))}"))
    _cross_checks(rules, offers, problems)
    if problems:
        raise RulesInvalid(problems)
    return RuleBook(navn=next(iter(names)), rules=tuple(rules), offers=tuple(offers), layers=tuple(layers))
