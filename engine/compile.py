"""Stage 4, compile: turn one rule set version into runnable forms.

First every block's effective conditions are fixed: its own conditions, plus
the personkreds of every provision it cites (so a block citing SEL § 101 a
can never hold for a citizen the provision does not cover), and its category
filter narrowed by the provisions' `kun_ved_kategori`. From those the stage
builds (1) a durable-rules ruleset definition, (2) one plain-Python
reference predicate over all blocks, and (3) per block a function giving
every condition's trace entry. Generated Python is built only from
validated vocabulary values, never from free text in rule files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from engine.decision import ConditionResult, OfferRef, RuleRef
from engine.fields import FACT_FIELDS
from engine.model import SPOR_ORDER, AnyOf, Condition, ConditionNode, Offer, Precondition, Right, Rule, Scope
from engine.versions import RuleSetVersion

Item = Union[Rule, Offer, Precondition, Right]

#: Every compiled durable rule also tests this marker, so no rule can ever match
#: durable-rules' own session state (an `$ex` test on `sid` loops forever).
MARKER_FIELD = "fakta"
MARKER_VALUE = "screening"

_KIND_ORDER = {"regel": 0, "tilbud": 1, "forudsaetning": 2, "rettighed": 3}


def _expand(cond: Condition) -> tuple[str, Any]:
    """Normalise to one of: ==, !=, in, not in, or an integer comparison."""
    spec = FACT_FIELDS[cond.felt]
    op, value = cond.operator, cond.vaerdi
    if op in (">", ">=", "<", "<=") and spec.type == "valg":
        rank = spec.rank(value)
        keep: dict[str, Callable[[int], bool]] = {">": lambda r: r > rank, ">=": lambda r: r >= rank,
                                                  "<": lambda r: r < rank, "<=": lambda r: r <= rank}
        return "in", tuple(v for i, v in enumerate(spec.vaerdier) if keep[op](i))
    if op == "i":
        return "in", tuple(value)
    if op == "ikke_i":
        return "not in", tuple(value)
    if op == "=":
        return "==", value
    return op, value


def py_condition(node: ConditionNode) -> str:
    """A Python expression over the fact `f` for one condition."""
    if isinstance(node, AnyOf):
        return "(" + " or ".join(py_condition(n) for n in node.items) + ")"
    op, value = _expand(node)
    return f"(f[{node.felt!r}] {op} {value!r})"


def _durable(node: ConditionNode) -> dict[str, Any]:
    if isinstance(node, AnyOf):
        return {"$or": [_durable(n) for n in node.items]}
    op, value = _expand(node)
    name = node.felt
    if op == "==":
        return {name: value}
    if op == "!=":
        return {"$neq": {name: value}}
    if op == "in":
        if len(value) == 1:
            return {name: value[0]}
        if not value:  # an ordered test no value can satisfy
            return {"$and": [{name: "__ingen__"}, {"$neq": {name: "__ingen__"}}]}
        return {"$or": [{name: v} for v in value]}
    if op == "not in":
        return {"$and": [{"$neq": {name: v}} for v in value]}
    durable_op = {">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}[op]
    return {durable_op: {name: value}}


def _result_expr(node: ConditionNode, origin: Optional[str]) -> str:
    """Source of a ConditionResult for one condition (CR is bound in the namespace)."""
    if isinstance(node, AnyOf):
        parts = ", ".join(_result_expr(n, origin) for n in node.items)
        return f"_any(({parts},), {origin!r})"
    expected = node.vaerdi
    return f"CR({node.felt!r}, {node.operator!r}, {expected!r}, f[{node.felt!r}], {py_condition(node)}, (), {origin!r})"


def _any(parts: tuple[ConditionResult, ...], origin: Optional[str]) -> ConditionResult:
    held = sum(1 for p in parts if p.opfyldt)
    return ConditionResult("en_af", "en_af", None, held, held > 0, parts, origin)


def predicate(conditions: tuple[ConditionNode, ...]) -> Callable[[dict[str, Any]], bool]:
    """A plain-Python test of all conditions (for the static checks)."""
    test = " and ".join(py_condition(c) for c in conditions) or "True"
    fn: Callable[[dict[str, Any]], bool] = eval(f"lambda f: {test}", {"__builtins__": {}})  # noqa: S307 - validated vocabulary
    return fn


@dataclass(frozen=True)
class Effective:
    """A block as it is evaluated: its conditions with their origin, and its category filter."""

    conditions: tuple[tuple[ConditionNode, Optional[str]], ...]  # (condition, personkreds id or None)
    categories: tuple[str, ...]  # ved_kategori / gaelder_ved_kategori after the provisions' kun_ved_kategori
    scopes: tuple[str, ...]  # personkreds ids applied


def _effective(item: Item, scopes: tuple[Scope, ...]) -> Effective:
    applied: list[Scope] = []
    for pid in item.citations():
        for scope in scopes:
            if scope.covers(pid) and scope not in applied:
                applied.append(scope)
    conditions: list[tuple[ConditionNode, Optional[str]]] = [(c, None) for c in item.conditions]
    for scope in applied:
        conditions.extend((c, scope.id) for c in scope.conditions)
    own: tuple[str, ...] = ()
    if isinstance(item, Rule):
        own = item.ved_kategori
    elif isinstance(item, Right):
        own = item.gaelder_ved_kategori
    categories = own
    for scope in applied:
        if scope.kun_ved_kategori and not isinstance(item, (Offer, Precondition)):
            categories = tuple(c for c in categories if c in scope.kun_ved_kategori) if categories else scope.kun_ved_kategori
            if not categories:
                categories = ("__ingen__",)  # the rule and the provision share no category: it can never apply
    return Effective(tuple(conditions), categories, tuple(s.id for s in applied))


def _conclusion(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.spor:
        out["spor"] = rule.spor
    if rule.min_niveau is not None:
        out["mindst_indgrebsniveau"] = rule.min_niveau
    if rule.lovgrundlag:
        out["lovgrundlag"] = list(rule.lovgrundlag)
    if rule.frist is not None:
        out["frist"] = {"type": rule.frist.type, "dage": rule.frist.dage, "fra": rule.frist.fra, "lovgrundlag": rule.frist.lovgrundlag}
    if rule.advarsel:
        out["advarsel"] = rule.advarsel
    if rule.oplysning:
        out["oplysning"] = rule.oplysning
    if rule.udeluk_kategori or rule.udeluk_tilbud:
        out["udeluk"] = rule.udeluk_kategori or rule.udeluk_tilbud
    if rule.ved_kategori:
        out["ved_kategori"] = list(rule.ved_kategori)
    if rule.skal_tilbyde:
        out["skal_tilbyde"] = rule.skal_tilbyde.tilbud
    return out


def _ref(item: Item) -> RuleRef:
    konklusion = _conclusion(item) if isinstance(item, Rule) else {}
    return RuleRef(item.id, item.kind, item.lag, item.position, item.beskrivelse, item.kilde, item.gyldig_fra,
                   getattr(item, "spor", None), getattr(item, "navn", None), konklusion)


@dataclass(frozen=True)
class CompiledVersion:
    """One version ready to run: blocks in a fixed order and their compiled forms."""

    version: RuleSetVersion
    items: tuple[Item, ...]
    effective: tuple[Effective, ...]
    #: Per block: fact -> every condition's trace entry.
    condition_results: tuple[Callable[[dict[str, Any]], tuple[ConditionResult, ...]], ...]
    reference_fired: Callable[[dict[str, Any]], list[int]]
    durable_conditions: tuple[dict[str, Any], ...]
    #: Per track, the offer indices from least to most intrusive; at equal level
    #: an offer sorts before those it is preferred over (foretraekkes_frem_for),
    #: otherwise by id.
    ladders: dict[str, tuple[int, ...]]
    #: Rule indices in trace order: law before kommune, by track, then by id.
    rule_order: tuple[int, ...]
    preconditions: tuple[int, ...]
    rights: tuple[int, ...]
    #: Blocks without conditions hold for every screening; they are not sent to
    #: durable-rules (each firing there costs a JSON round trip of the session).
    always: tuple[int, ...]
    refs: tuple[RuleRef, ...]
    offer_refs: dict[int, OfferRef]
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.version.key

    def durable_definition(self, action_for: Callable[[int], Callable[[Any], None]]) -> dict[str, Any]:
        """The ruleset dict for `Host.set_rulesets`, one durable rule per block
        plus an always-firing base rule (index len(items)) so that a screening is
        always handled."""
        marker = {MARKER_FIELD: MARKER_VALUE}
        definition: dict[str, Any] = {}
        for i, conds in enumerate(self.durable_conditions):
            if i in self.always:
                continue
            definition[f"r{i}"] = {"all": [{"m": {"$and": [marker, *conds["$and"]]}}], "run": action_for(i)}
        definition["basis"] = {"all": [{"m": marker}], "run": action_for(len(self.items))}
        return definition


def _track_rank(spor: Optional[str]) -> int:
    return SPOR_ORDER.index(spor) if spor in SPOR_ORDER else len(SPOR_ORDER)


def ladder_order(offers: list[Offer]) -> list[Offer]:
    """Offers from least to most intrusive. At equal level an offer comes before every
    offer it is preferred over (`foretraekkes_frem_for`, followed transitively); among
    offers with no preference between them, by id. A circle (refused by validation)
    falls back to id order for the offers on it.

    >>> from engine.problems import Position
    >>> from engine.model import Source
    >>> def o(i, level, *over):
    ...     return Offer(i, "beskrivelse", "lov", Position("f", 1), None, None, False, Source(None, "dok", None, "verificeret"), (),
    ...                  niveau=level, foretraekkes_frem_for=over)
    >>> [x.id for x in ladder_order([o("b", 3), o("c", 3, "a"), o("a", 3), o("d", 1)])]
    ['d', 'b', 'c', 'a']
    """
    out: list[Offer] = []
    for level in sorted({o.niveau for o in offers}):
        waiting = sorted((o for o in offers if o.niveau == level), key=lambda o: o.id)
        ids = {o.id for o in waiting}
        before: dict[str, set[str]] = {o.id: set() for o in waiting}  # id -> ids that must come first
        for o in waiting:
            for other in o.foretraekkes_frem_for:
                if other in ids and other != o.id:
                    before[other].add(o.id)
        placed: set[str] = set()
        while waiting:
            ready = next((o for o in waiting if before[o.id] <= placed), waiting[0])
            waiting.remove(ready)
            placed.add(ready.id)
            out.append(ready)
    return out


def compile_version(version: RuleSetVersion) -> CompiledVersion:
    # By id, not file order: moving a personkreds block within or between files changes neither the
    # fingerprint nor the trace (the order of its conditions in a block's explanation).
    scopes = tuple(sorted((i for i in version.items if isinstance(i, Scope)), key=lambda s: s.id))
    items: tuple[Item, ...] = tuple(sorted((i for i in version.items if not isinstance(i, Scope)),
                                           key=lambda i: (_KIND_ORDER[i.kind], i.id)))
    effective = tuple(_effective(item, scopes) for item in items)
    namespace: dict[str, Any] = {"__builtins__": {}, "CR": ConditionResult, "_any": _any}
    results = []
    for eff in effective:
        body = ", ".join(_result_expr(c, origin) for c, origin in eff.conditions)
        results.append(eval(f"lambda f: ({body}{',' if body else ''})", namespace))  # noqa: S307 - validated vocabulary
    lines = ["def fired(f):", "    out = []"]
    for i, eff in enumerate(effective):
        test = " and ".join(py_condition(c) for c, _ in eff.conditions) or "True"
        lines.append(f"    if {test}: out.append({i})")
    lines.append("    return out")
    exec("\n".join(lines), namespace)  # noqa: S102 - validated vocabulary
    durable_conditions = tuple({"$and": [_durable(c) for c, _ in eff.conditions]} for eff in effective)
    ladders: dict[str, tuple[int, ...]] = {}
    index = {id(item): i for i, item in enumerate(items)}
    for spor in SPOR_ORDER:
        ladder = ladder_order([item for item in items if isinstance(item, Offer) and item.spor == spor])
        ladders[spor] = tuple(index[id(o)] for o in ladder)
    rules = [i for i, item in enumerate(items) if isinstance(item, Rule)]
    rules.sort(key=lambda i: (items[i].lag != "lov", _track_rank(items[i].spor), items[i].id))
    always = tuple(i for i, eff in enumerate(effective) if not eff.conditions)
    refs = tuple(_ref(item) for item in items)
    offer_refs = {i: OfferRef(item.id, item.navn, item.kategori, item.niveau if isinstance(item, Offer) else 0, item.lag, item.position)
                  for i, item in enumerate(items) if isinstance(item, (Offer, Precondition))}
    return CompiledVersion(
        version, items, effective, tuple(results), namespace["fired"], durable_conditions, ladders, tuple(rules),
        tuple(i for i, item in enumerate(items) if isinstance(item, Precondition)),
        tuple(i for i, item in enumerate(items) if isinstance(item, Right)),
        always, refs, offer_refs,
    )
