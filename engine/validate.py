"""Stage 2, validate: turn loaded rule files into a RuleBook, or refuse them whole.

Every problem is reported as `file:line:column: message` in Danish, with a
suggestion for a misspelt key or value. Citations are checked against the
law's own history (regler/love/): a block may only cite a provision that
exists on every day the block is in force. If any file has any problem, no
rule from any file is used: the caller keeps the rules it already had.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import ValidationError

from engine.fields import FACT_FIELDS
from engine.law import LawBook, load_lawbook
from engine.load import PosDict, PosList, load_yaml_file, position_of
from engine.messages import message, value_text
from engine.model import (
    ALL_KEYS,
    AnyItem,
    AnyOf,
    Betingelse,
    Condition,
    ConditionNode,
    ConflictSpec,
    DeadlineSpec,
    Forudsaetning,
    Kilde,
    LayerInfo,
    MustOffer,
    Offer,
    Personkreds,
    Precondition,
    Regel,
    Regelfil,
    Rettighed,
    Right,
    Rule,
    RuleBook,
    Scope,
    Source,
    Tilbud,
    _Dated,
)
from engine.problems import Position, Problem, ProblemsFound, suggest

LAW_DIR = "love"


class RulesInvalid(ProblemsFound):
    """Rule files that cannot be used; `problems` lists every finding."""


#: How policy staff may write an operator, and what it means.
OPERATOR_SYNONYMS = {"≤": "<=", "=<": "<=", "≥": ">=", "=>": ">=", "==": "=", "≠": "!=", "<>": "!=",
                     "mindre end": "<", "større end": ">", "højst": "<=", "mindst": ">=", "lig med": "=", "ikke lig med": "!=",
                     "er": "=", "er ikke": "!=", "in": "i", "not in": "ikke_i", "en af": "i", "ikke en af": "ikke_i"}


def _schema_message(error: Any) -> str:
    loc = error.get("loc", ())
    if loc and loc[-1] == "operator" and error["type"] == "literal_error":
        raw = error.get("input")
        hint = OPERATOR_SYNONYMS.get(str(raw).strip().lower()) if isinstance(raw, str) else None
        if hint:
            return f"ugyldig operator '{raw}'; skriv '{hint}' (tilladt: =, !=, >, >=, <, <=, i, ikke_i)"
    return message(error, known_keys=ALL_KEYS)


@dataclass
class _FileContext:
    shown: str
    data: Any
    problems: list[Problem]
    lag: str = "lov"

    def at(self, loc: tuple[Any, ...]) -> Position:
        start = self.data.start if isinstance(self.data, (PosDict, PosList)) else Position(self.shown, 1, 1)
        return position_of(self.data, loc, start)

    def add(self, loc: tuple[Any, ...], text: str) -> None:
        self.problems.append(Problem(self.at(loc), text))


def _check_value(ctx: _FileContext, loc: tuple[Any, ...], field_name: str, value: Any) -> bool:
    spec = FACT_FIELDS[field_name]
    if spec.type == "sandhed":
        if not isinstance(value, bool):
            ctx.add(loc, f"feltet '{field_name}' er ja/nej; skriv true eller false (ikke {value_text(value)!r})")
            return False
        return True
    if spec.type == "heltal":
        if not isinstance(value, int) or isinstance(value, bool):
            ctx.add(loc, f"feltet '{field_name}' er et helt tal")
            return False
        if spec.minimum is not None and spec.maksimum is not None and not (spec.minimum <= value <= spec.maksimum):
            ctx.add(loc, f"værdien {value} ligger uden for {field_name}s mulige værdier ({spec.minimum}-{spec.maksimum})")
            return False
        return True
    if value not in spec.vaerdier:
        ctx.add(loc, f"ugyldig værdi {value_text(value)!r} for feltet '{field_name}'; tilladt: {', '.join(spec.vaerdier)}"
                + suggest(value, spec.vaerdier))
        return False
    return True


def _convert_condition(ctx: _FileContext, loc: tuple[Any, ...], cond: Betingelse, depth: int = 0) -> Optional[ConditionNode]:
    if cond.en_af is not None:
        if depth >= 1:
            ctx.add(loc, "'en_af' kan ikke stå inde i en anden 'en_af'; skriv betingelserne som flere regler")
            return None
        items = [_convert_condition(ctx, loc + ("en_af", i), c, depth + 1) for i, c in enumerate(cond.en_af)]
        if any(i is None for i in items):
            return None
        return AnyOf(tuple(items))  # type: ignore[arg-type]
    assert cond.felt is not None and cond.operator is not None
    if cond.felt not in FACT_FIELDS:
        ctx.add(loc + ("felt",), f"ukendt felt '{cond.felt}'" + suggest(cond.felt, FACT_FIELDS)
                + ("" if suggest(cond.felt, FACT_FIELDS) else f"; gyldige felter: {', '.join(FACT_FIELDS)}"))
        return None
    spec = FACT_FIELDS[cond.felt]
    op = cond.operator
    if op in (">", ">=", "<", "<=") and not (spec.type == "heltal" or spec.ordnet):
        ctx.add(loc + ("operator",), f"operatoren '{op}' kan ikke bruges på feltet '{cond.felt}' (kun =, !=, i, ikke_i)")
        return None
    if spec.type == "sandhed" and op not in ("=", "!="):
        ctx.add(loc + ("operator",), f"feltet '{cond.felt}' er ja/nej; brug '=' eller '!='")
        return None
    if op in ("i", "ikke_i"):
        if not isinstance(cond.vaerdi, list) or not cond.vaerdi:
            ctx.add(loc + ("vaerdi",), f"operatoren '{op}' kræver en liste af værdier, fx [a, b]")
            return None
        if not all([_check_value(ctx, loc + ("vaerdi",), cond.felt, v) for v in cond.vaerdi]):
            return None
        return Condition(cond.felt, op, tuple(cond.vaerdi))
    if not _check_value(ctx, loc + ("vaerdi",), cond.felt, cond.vaerdi):
        return None
    return Condition(cond.felt, op, cond.vaerdi)


def _source(k: Kilde) -> Source:
    return Source(k.bestemmelse, k.dokument, k.url, k.sikkerhed)


def _conditions(ctx: _FileContext, loc: tuple[Any, ...], conds: Sequence[Betingelse]) -> Optional[tuple[ConditionNode, ...]]:
    out = [_convert_condition(ctx, loc + (i,), c) for i, c in enumerate(conds)]
    return tuple(out) if all(n is not None for n in out) else None  # type: ignore[arg-type]


def _common(ctx: _FileContext, loc: tuple[Any, ...], b: _Dated, conds: tuple[ConditionNode, ...]) -> dict[str, Any]:
    return dict(id=b.id, beskrivelse=b.beskrivelse, lag=ctx.lag, position=ctx.at(loc), gyldig_fra=b.gyldig_fra,
                gyldig_til=b.gyldig_til, afventer=b.status == "afventer", kilde=_source(b.kilde), conditions=conds)


def _age(fra: Optional[int], til: Optional[int]) -> tuple[ConditionNode, ...]:
    out: list[ConditionNode] = []
    if fra is not None:
        out.append(Condition("alder", ">=", fra))
    if til is not None:
        out.append(Condition("alder", "<=", til))
    return tuple(out)


def _offer(ctx: _FileContext, i: int, t: Tilbud) -> Optional[Offer]:
    conds = _conditions(ctx, ("tilbud", i, "egnet_hvis"), t.egnet_hvis)
    if conds is None:
        return None
    return Offer(**_common(ctx, ("tilbud", i), t, _age(t.alder_fra, t.alder_til) + conds), navn=t.navn, kategori=t.kategori,
                 spor=t.spor, niveau=t.indgrebsniveau, lovgrundlag=tuple(t.lovgrundlag),
                 daekker_op_til=t.daekker_op_til_niveau or t.indgrebsniveau, alder_fra=t.alder_fra, alder_til=t.alder_til,
                 foretraekkes_frem_for=tuple(t.foretraekkes_frem_for))


def _rule(ctx: _FileContext, i: int, r: Regel) -> Optional[Rule]:
    conds = _conditions(ctx, ("regler", i, "hvis"), r.hvis)
    if conds is None:
        return None
    saa = r.saa
    if ctx.lag == "kommune" and (saa.lovgrundlag or saa.frist or saa.skal_tilbyde):
        ctx.add(("regler", i, "saa"), "en kommunal regel kan ikke give lovgrundlag, frister eller pligt til at tilbyde; de kommer fra lovlaget")
        return None
    frist = None
    if saa.frist is not None:
        f = saa.frist
        frist = DeadlineSpec(f.type, f.dage, f.fra, f.lovgrundlag, f.beskrivelse)
    return Rule(**_common(ctx, ("regler", i), r, conds), spor=saa.spor, min_niveau=saa.mindst_indgrebsniveau,
                lovgrundlag=tuple(saa.lovgrundlag), frist=frist, advarsel=saa.advarsel, oplysning=saa.oplysning,
                henvisning=saa.henvisning, udeluk_kategori=saa.udeluk.kategori if saa.udeluk else None,
                udeluk_tilbud=saa.udeluk.tilbud if saa.udeluk else None, ved_kategori=tuple(saa.ved_kategori),
                skal_tilbyde=MustOffer(saa.skal_tilbyde.tilbud, saa.skal_tilbyde.tekst) if saa.skal_tilbyde else None)


def _precondition(ctx: _FileContext, i: int, f: Forudsaetning) -> Optional[Precondition]:
    conds = _conditions(ctx, ("forudsaetninger", i, "hvis"), f.hvis)
    if conds is None:
        return None
    return Precondition(**_common(ctx, ("forudsaetninger", i), f, conds), navn=f.navn, kategori=f.kategori, spor=f.spor,
                        lovgrundlag=tuple(f.lovgrundlag))


def _right(ctx: _FileContext, i: int, r: Rettighed) -> Optional[Right]:
    conds = _conditions(ctx, ("rettigheder", i, "hvis"), r.hvis)
    if conds is None:
        return None
    return Right(**_common(ctx, ("rettigheder", i), r, conds), navn=r.navn, spor=r.spor, indhold=r.indhold,
                 gaelder_ved_kategori=tuple(r.gaelder_ved_kategori),
                 konflikter=tuple(ConflictSpec(k.spor, tuple(k.kategori), k.tekst) for k in r.konflikter))


def _scope(ctx: _FileContext, i: int, p: Personkreds) -> Optional[Scope]:
    conds = _conditions(ctx, ("personkreds", i, "omfatter"), p.omfatter)
    if conds is None:
        return None
    return Scope(**_common(ctx, ("personkreds", i), p, conds), bestemmelse=p.bestemmelse, lov=p.lov,
                 kun_ved_kategori=tuple(p.kun_ved_kategori))


def _convert_file(ctx: _FileContext, parsed: Regelfil) -> list[AnyItem]:
    items: list[Optional[AnyItem]] = []
    items += [_offer(ctx, i, t) for i, t in enumerate(parsed.tilbud)]
    items += [_rule(ctx, i, r) for i, r in enumerate(parsed.regler)]
    items += [_precondition(ctx, i, f) for i, f in enumerate(parsed.forudsaetninger)]
    items += [_right(ctx, i, r) for i, r in enumerate(parsed.rettigheder)]
    items += [_scope(ctx, i, p) for i, p in enumerate(parsed.personkreds)]
    return [i for i in items if i is not None]


# --------------------------------------------------------------------------- checks across blocks


def _overlap(a: AnyItem, b: AnyItem) -> bool:
    a_end = a.gyldig_til or date.max
    b_end = b.gyldig_til or date.max
    return a.gyldig_fra <= b_end and b.gyldig_fra <= a_end and a.afventer == b.afventer


_KIND_TEXT = {"regel": "reglen", "tilbud": "tilbuddet", "forudsaetning": "forudsætningen", "rettighed": "rettigheden",
              "personkreds": "personkredsen"}


def _id_checks(items: list[AnyItem], problems: list[Problem]) -> None:
    by_id: dict[str, list[AnyItem]] = {}
    for item in items:
        by_id.setdefault(item.id, []).append(item)
    for same in by_id.values():
        kinds = {i.kind for i in same}
        if len(kinds) > 1:
            problems.append(Problem(same[-1].position, f"id '{same[-1].id}' bruges af flere slags blokke ({', '.join(sorted(kinds))}); "
                                    "brug forskellige id'er"))
            continue
        for i, a in enumerate(same):
            for b in same[i + 1:]:
                if _overlap(a, b):
                    problems.append(Problem(b.position, f"{_KIND_TEXT[b.kind]} '{b.id}' gælder i samme periode som en anden udgave "
                                            f"af den på {a.placering}; datoerne må ikke overlappe"))


def _citation_checks(items: list[AnyItem], law: LawBook, problems: list[Problem]) -> None:
    """Every cited provision must exist on every day the citing block is in force."""
    for item in items:
        for pid in item.citations():
            provision = law.get(pid)
            if provision is None:
                problems.append(Problem(item.position, f"'{item.id}' henviser til den ukendte bestemmelse '{pid}'"
                                        + suggest(pid, law.provisions)))
                continue
            if provision.afventer and not item.afventer:
                problems.append(Problem(item.position, f"'{item.id}' er gældende, men bestemmelsen '{pid}' er kun et lovforslag "
                                        "(afventer); marker blokken 'status: afventer'"))
                continue
            if item.gyldig_fra < provision.first_day:
                problems.append(Problem(item.position, f"'{item.id}' gælder fra {item.gyldig_fra.isoformat()}, men bestemmelsen '{pid}' "
                                        f"findes først fra {provision.first_day.isoformat()} ({provision.position}); "
                                        f"ret gyldig_fra, eller henvis til en anden bestemmelse før den dato"))
            end = item.gyldig_til or date.max
            if provision.til is not None and end > provision.til:
                problems.append(Problem(item.position, f"'{item.id}' gælder efter {provision.til.isoformat()}, hvor bestemmelsen '{pid}' "
                                        f"ophørte ({provision.position}); angiv gyldig_til"))
        if isinstance(item, (Rule, Offer, Precondition)):
            legal = list(item.lovgrundlag) + ([item.frist.lovgrundlag] if isinstance(item, Rule) and item.frist else [])
            for pid in legal:
                provision = law.get(pid)
                if provision is not None and any(e.paragraf is None for e in provision.entries):
                    problems.append(Problem(item.position, f"'{item.id}': bestemmelsen '{pid}' har intet paragrafnummer og kan kun "
                                            "bruges som kilde, ikke som lovgrundlag eller frist"))


def _reference_checks(items: list[AnyItem], problems: list[Problem]) -> None:
    offers = [i for i in items if isinstance(i, Offer)]
    offer_ids = {o.id for o in offers}
    for item in items:
        if isinstance(item, Rule):
            if item.udeluk_tilbud and item.udeluk_tilbud not in offer_ids:
                problems.append(Problem(item.position, f"reglen '{item.id}' udelukker det ukendte tilbud '{item.udeluk_tilbud}'"
                                        + suggest(item.udeluk_tilbud, offer_ids)))
            if item.skal_tilbyde is not None:
                target = [o for o in offers if o.id == item.skal_tilbyde.tilbud]
                if not target:
                    problems.append(Problem(item.position, f"reglen '{item.id}' siger, at kommunen skal tilbyde det ukendte tilbud "
                                            f"'{item.skal_tilbyde.tilbud}'" + suggest(item.skal_tilbyde.tilbud, offer_ids)))
                elif item.spor and any(o.spor != item.spor for o in target):
                    problems.append(Problem(item.position, f"reglen '{item.id}': tilbuddet '{item.skal_tilbyde.tilbud}' hører til "
                                            f"sporet '{target[0].spor}', ikke '{item.spor}'"))


def _preference_checks(items: list[AnyItem], problems: list[Problem]) -> None:
    """`foretraekkes_frem_for` names offers of the same track that exist, and never forms a circle."""
    offers = [i for i in items if isinstance(i, Offer)]
    by_id: dict[str, list[Offer]] = {}
    for o in offers:
        by_id.setdefault(o.id, []).append(o)
    for offer in offers:
        for other in offer.foretraekkes_frem_for:
            if other not in by_id:
                problems.append(Problem(offer.position, f"tilbuddet '{offer.id}' foretrækkes frem for det ukendte tilbud '{other}'"
                                        + suggest(other, by_id)))
            elif all(o.spor != offer.spor for o in by_id[other]):
                problems.append(Problem(offer.position, f"tilbuddet '{offer.id}' foretrækkes frem for '{other}', som hører til sporet "
                                        f"'{by_id[other][0].spor}', ikke '{offer.spor}'; en foretrækning gælder kun inden for ét spor"))
    edges = {oid: {p for o in same for p in o.foretraekkes_frem_for if p in by_id} for oid, same in by_id.items()}
    reported: set[frozenset[str]] = set()
    for start in sorted(edges):
        path = _cycle_from(start, edges)
        if path and frozenset(path) not in reported:
            reported.add(frozenset(path))
            problems.append(Problem(by_id[start][0].position, "foretraekkes_frem_for danner en cirkel: "
                                    + " foretrækkes frem for ".join(f"'{p}'" for p in [*path, path[0]])))


def _cycle_from(start: str, edges: dict[str, set[str]]) -> Optional[list[str]]:
    """The ids on a circle of preferences through `start`, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                return path
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def _scope_checks(items: list[AnyItem], problems: list[Problem]) -> None:
    """An offer whose legal basis a provision can never be, is a contradiction in the files."""
    scopes = [i for i in items if isinstance(i, Scope)]
    for offer in (i for i in items if isinstance(i, Offer)):
        for pid in offer.lovgrundlag:
            for scope in scopes:
                if scope.kun_ved_kategori and scope.covers(pid) and offer.kategori not in scope.kun_ved_kategori and _overlap(scope, offer):
                    problems.append(Problem(offer.position, f"tilbuddet '{offer.id}' har kategorien '{offer.kategori}', men '{pid}' kan "
                                            f"efter personkredsen '{scope.id}' ({scope.placering}) kun være grundlag for "
                                            f"{', '.join(scope.kun_ved_kategori)}"))


KOMMUNE_DIR = "kommune"
#: Shared layers (e.g. faelles/rsu.yaml) that a municipality's layer may include by name.
FAELLES_DIR = "faelles"
INCLUDE_KEY = "inkluder"


def rule_files(set_dir: Path, kommune: Optional[str] = None) -> list[Path]:
    """The law layer's files, plus the one municipality's layer (`kommune/<kommune>.yaml`).

    Without a kommune only the law layer is read. Shared layers (`faelles/`) are never read
    here: a municipality's layer includes them by name (`inkluder: [rsu]`)."""
    files = sorted(p for p in set_dir.rglob("*.yaml") if p.is_file())
    layer_dir, shared_dir = set_dir / KOMMUNE_DIR, set_dir / FAELLES_DIR
    law = [p for p in files if layer_dir not in p.parents and shared_dir not in p.parents]
    if kommune is None:
        return law
    return law + [p for p in files if p.parent == layer_dir and p.stem == kommune]


def shared_layers(set_dir: Path) -> dict[str, Path]:
    """{name: file} of the shared layers a municipality may include."""
    shared_dir = set_dir / FAELLES_DIR
    return {p.stem: p for p in sorted(shared_dir.glob("*.yaml")) if p.is_file()} if shared_dir.is_dir() else {}


@dataclass(frozen=True)
class Include:
    """One entry of a layer's `inkluder`: a shared layer, optionally adopted from a date."""

    navn: str
    fra: Optional[date]
    position: Position


def _shown(path: Path, shown_root: Path) -> str:
    try:
        return path.relative_to(shown_root).as_posix()
    except ValueError:
        return path.as_posix()


def _take_includes(data: Any, shown: str, problems: list[Problem]) -> list[Include]:
    """Remove `inkluder` from a file's data and read it: a list of names, or {lag: name, fra: date}."""
    if not isinstance(data, PosDict) or INCLUDE_KEY not in data:
        return []
    where = data.key_pos.get(INCLUDE_KEY, data.start)
    raw = data.pop(INCLUDE_KEY)
    data.key_pos.pop(INCLUDE_KEY, None)
    data.value_pos.pop(INCLUDE_KEY, None)
    if not isinstance(raw, PosList) or not raw:
        problems.append(Problem(where, "'inkluder' skal være en liste af fælles lag, fx [rsu] eller [{lag: rsu, fra: 2026-01-01}]"))
        return []
    out: list[Include] = []
    for i, entry in enumerate(raw):
        at = raw.item_pos[i]
        if isinstance(entry, str):
            out.append(Include(entry, None, at))
            continue
        if isinstance(entry, PosDict) and set(entry) <= {"lag", "fra"} and isinstance(entry.get("lag"), str):
            fra = _include_date(entry.get("fra"))
            if entry.get("fra") is not None and fra is None:
                problems.append(Problem(entry.value_pos.get("fra", at),
                                        f"'fra' skal være en dato (ÅÅÅÅ-MM-DD), ikke {value_text(entry.get('fra'))!r}"))
                continue
            out.append(Include(entry["lag"], fra, at))
            continue
        problems.append(Problem(at, "et element i 'inkluder' er navnet på et fælles lag (fx rsu) eller {lag: <navn>, fra: <dato>}"))
    return out


def _include_date(value: Any) -> Optional[date]:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _dated_from(items: list[AnyItem], fra: Optional[date]) -> list[AnyItem]:
    """An included layer adopted from `fra`: nothing of it applies before that day."""
    if fra is None:
        return items
    out: list[AnyItem] = []
    for item in items:
        if item.gyldig_til is not None and item.gyldig_til < fra:
            continue
        out.append(item if item.gyldig_fra >= fra else replace(item, gyldig_fra=fra))
    return out


def _load_file(path: Path, shown: str, problems: list[Problem]) -> Optional[tuple[Regelfil, _FileContext, list[Include]]]:
    data, load_problems = load_yaml_file(path, shown)
    problems.extend(load_problems)
    if load_problems:
        return None
    if data is None:
        problems.append(Problem(Position(shown, 1, 1), "filen er tom"))
        return None
    includes = _take_includes(data, shown, problems)
    ctx = _FileContext(shown, data, problems)
    try:
        parsed = Regelfil.model_validate(data)
    except ValidationError as error:
        for e in error.errors(include_url=False):
            ctx.add(tuple(e["loc"]), _schema_message(e))
        return None
    ctx.lag = parsed.lag
    return parsed, ctx, includes


def _include_layers(set_dir: Path, shown_root: Path, owner: Regelfil, owner_shown: str, includes: list[Include],
                    problems: list[Problem]) -> tuple[list[AnyItem], list[LayerInfo]]:
    """The blocks of the shared layers a municipality's layer includes (`inkluder`), dated from
    the adoption date when one is given. Every problem is reported at the `inkluder` entry."""
    available = shared_layers(set_dir)
    items: list[AnyItem] = []
    layers: list[LayerInfo] = []
    if includes and owner.lag != "kommune":
        problems.append(Problem(includes[0].position, "kun et kommunelag kan inkludere fælles lag; lovlaget gælder altid for alle"))
        return items, layers
    seen: set[str] = set()
    for inc in includes:
        if inc.navn in seen:
            problems.append(Problem(inc.position, f"det fælles lag '{inc.navn}' er inkluderet to gange"))
            continue
        seen.add(inc.navn)
        path = available.get(inc.navn)
        if path is None:
            known = ", ".join(available) or "ingen"
            problems.append(Problem(inc.position, f"ukendt fælles lag '{inc.navn}' (ventede filen {FAELLES_DIR}/{inc.navn}.yaml; "
                                                  f"fælles lag: {known})" + suggest(inc.navn, available)))
            continue
        shown = _shown(path, shown_root)
        loaded = _load_file(path, shown, problems)
        if loaded is None:
            continue
        parsed, ctx, nested = loaded
        if nested:
            problems.append(Problem(nested[0].position, f"et fælles lag kan ikke selv inkludere andre lag (inkluderet fra {owner_shown})"))
            continue
        if parsed.lag != "kommune":
            problems.append(Problem(ctx.at(("lag",)), "et fælles lag skal have 'lag: kommune': det må kun tilføje tilbud, noter og "
                                                     "begrænsninger, ligesom en kommunes eget lag"))
            continue
        if parsed.regelsaet != owner.regelsaet:
            problems.append(Problem(ctx.at(("regelsaet",)), f"det fælles lag hører til regelsættet '{parsed.regelsaet}', men "
                                                            f"{owner_shown} til '{owner.regelsaet}'"))
            continue
        items.extend(_dated_from(_convert_file(ctx, parsed), inc.fra))
        # An included layer is part of the municipality's layer: it names no municipality of its own.
        layers.append(LayerInfo(shown, parsed.lag, None, parsed.beskrivelse, None))
    return items, layers


def load_rulebook(set_dir: Path, shown_root: Optional[Path] = None, law_dir: Optional[Path] = None,
                  kommune: Optional[str] = None) -> tuple[RuleBook, LawBook]:
    """Load and validate one rule set's directory with the law history: the law layer, and
    with `kommune` that municipality's layer and the shared layers it includes.

    Raises RulesInvalid listing every problem if anything is wrong anywhere.
    """
    shown_root = shown_root or set_dir.parent.parent
    law_dir = law_dir or set_dir.parent / LAW_DIR
    law, problems = load_lawbook(law_dir, shown_root)
    items: list[AnyItem] = []
    layers: list[LayerInfo] = []
    names: dict[str, str] = {}
    kommuner: dict[str, str] = {}
    files = rule_files(set_dir, kommune)
    if not files:
        raise RulesInvalid([Problem(Position(str(set_dir), 1, 1), "mappen indeholder ingen regelfiler (*.yaml)")])
    if kommune is not None and not (set_dir / KOMMUNE_DIR / f"{kommune}.yaml").is_file():
        known = sorted(p.stem for p in (set_dir / KOMMUNE_DIR).glob("*.yaml"))
        raise RulesInvalid([Problem(Position(str(set_dir / KOMMUNE_DIR), 1, 1),
                                    f"kommunelaget '{kommune}' findes ikke (ventede filen {KOMMUNE_DIR}/{kommune}.yaml; "
                                    f"kommunelag: {', '.join(known) or 'ingen'})" + suggest(kommune, known))])
    for path in files:
        shown = _shown(path, shown_root)
        loaded = _load_file(path, shown, problems)
        if loaded is None:
            continue
        parsed, ctx, includes = loaded
        names[parsed.regelsaet] = shown
        if parsed.kommune:
            kommuner[parsed.kommune] = shown
        layers.append(LayerInfo(shown, parsed.lag, parsed.kommune, parsed.beskrivelse, parsed.princip))
        items.extend(_convert_file(ctx, parsed))
        shared_items, shared_info = _include_layers(set_dir, shown_root, parsed, shown, includes, problems)
        items.extend(shared_items)
        layers.extend(shared_info)
    if len(names) > 1:
        problems.append(Problem(Position(sorted(names.values())[-1], 1, 1),
                                f"filerne i én mappe skal høre til samme regelsæt; fundet: {', '.join(sorted(names))}"))
    if len(kommuner) > 1:
        problems.append(Problem(Position(sorted(kommuner.values())[-1], 1, 1),
                                f"et regelsæt kan kun have ét kommunelag; fundet: {', '.join(sorted(kommuner))}"))
    _id_checks(items, problems)
    _citation_checks(items, law, problems)
    _reference_checks(items, problems)
    _preference_checks(items, problems)
    _scope_checks(items, problems)
    if problems:
        raise RulesInvalid(problems)
    book = RuleBook(
        navn=next(iter(names)),
        rules=tuple(i for i in items if isinstance(i, Rule)),
        offers=tuple(i for i in items if isinstance(i, Offer)),
        layers=tuple(layers),
        preconditions=tuple(i for i in items if isinstance(i, Precondition)),
        rights=tuple(i for i in items if isinstance(i, Right)),
        scopes=tuple(i for i in items if isinstance(i, Scope)),
    )
    return book, law
