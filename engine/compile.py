"""Stage 3, compile: turn one rule set version into runnable forms.

From the same validated conditions this builds (1) a durable-rules ruleset
definition, (2) a plain-Python reference predicate per rule and offer, and
(3) one checker per condition for the trace (value seen, held or not).
Generated Python is built only from validated vocabulary values, never from
free text in rule files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Union

from engine.fields import FIELDS
from engine.model import SPOR_ORDER, AnyOf, Condition, ConditionNode, Offer, Rule
from engine.versions import RuleSetVersion

Item = Union[Rule, Offer]

#: Every compiled durable rule also tests this marker, so no rule can ever match
#: durable-rules' own session state (an `$ex` test on `sid` loops forever).
MARKER_FIELD = "fakta"
MARKER_VALUE = "screening"


def _expand(cond: Condition) -> tuple[str, Any]:
    """Normalise to one of: ==, !=, in, not in, or an integer comparison."""
    spec = FIELDS[cond.felt]
    op, value = cond.operator, cond.vaerdi
    if op in (">", ">=", "<", "<=") and spec.type == "valg":
        rank = spec.rank(value)
        keep = {
            ">": lambda r: r > rank,
            ">=": lambda r: r >= rank,
            "<": lambda r: r < rank,
            "<=": lambda r: r <= rank,
        }[op]
        return "in", tuple(v for i, v in enumerate(spec.vaerdier) if keep(i))
    if op == "i":
        return "in", tuple(value)
    if op == "ikke_i":
        return "not in", tuple(value)
    if op == "=":
        return "==", value
    return op, value


def _py(node: ConditionNode) -> str:
    if isinstance(node, AnyOf):
        return "(" + " or ".join(_py(n) for n in node.items) + ")"
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


@dataclass(frozen=True)
class ConditionCheck:
    """Evaluates one condition for the trace: what was expected, seen, and whether it held."""

    node: ConditionNode
    test: Callable[[dict[str, Any]], bool]
    parts: tuple["ConditionCheck", ...] = ()

    def result(self, fact: dict[str, Any]) -> dict[str, Any]:
        node = self.node
        if isinstance(node, AnyOf):
            parts = [p.result(fact) for p in self.parts]
            held = sum(1 for p in parts if p["opfyldt"])
            return {"felt": "en_af", "operator": "en_af", "forventet": parts, "faktisk": held, "opfyldt": held > 0}
        expected = list(node.vaerdi) if isinstance(node.vaerdi, tuple) else node.vaerdi
        return {"felt": node.felt, "operator": node.operator, "forventet": expected, "faktisk": fact[node.felt], "opfyldt": self.test(fact)}


def _check(node: ConditionNode) -> ConditionCheck:
    test = eval(f"lambda f: {_py(node)}", {"__builtins__": {}})  # noqa: S307 - source built from validated vocabulary
    if isinstance(node, AnyOf):
        return ConditionCheck(node, test, tuple(_check(n) for n in node.items))
    return ConditionCheck(node, test)


def _results_function(conditions: tuple[ConditionNode, ...]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """One generated function per item that returns every condition's trace
    entry at once; the trace asks for these on every evaluation, so they are
    built without per-condition calls."""
    if any(isinstance(c, AnyOf) for c in conditions):
        checks = tuple(_check(c) for c in conditions)
        return lambda fact: [c.result(fact) for c in checks]
    entries = []
    for c in conditions:
        expected = list(c.vaerdi) if isinstance(c.vaerdi, tuple) else c.vaerdi
        entries.append(
            f"{{'felt': {c.felt!r}, 'operator': {c.operator!r}, 'forventet': {expected!r}, "
            f"'faktisk': f[{c.felt!r}], 'opfyldt': {_py(c)}}}"
        )
    return eval("lambda f: [" + ", ".join(entries) + "]", {"__builtins__": {}})  # noqa: S307


def predicate(conditions: tuple[ConditionNode, ...]) -> Callable[[dict[str, Any]], bool]:
    """A plain-Python test of all conditions (for the static checks)."""
    test = " and ".join(_py(c) for c in conditions) or "True"
    return eval(f"lambda f: {test}", {"__builtins__": {}})  # noqa: S307 - source built from validated vocabulary


def _sort_key(item: Item) -> tuple[Any, ...]:
    return (item.kind, item.id)


@dataclass(frozen=True)
class CompiledVersion:
    """One version ready to run: items in a fixed order and their compiled forms."""

    version: RuleSetVersion
    items: tuple[Item, ...]
    #: Per item: fact -> the trace entry of every condition (felt, operator,
    #: forventet, faktisk, opfyldt).
    condition_results: tuple[Callable[[dict[str, Any]], list[dict[str, Any]]], ...]
    reference_fired: Callable[[dict[str, Any]], list[int]]
    durable_conditions: tuple[dict[str, Any], ...]
    #: Per track, the offer indices from least to most intrusive (at equal
    #: level a kommune offer before a national one, then by id).
    ladders: dict[str, tuple[int, ...]]
    #: Rule indices in trace order: law before kommune, by track, then by id.
    rule_order: tuple[int, ...]
    #: Items without conditions hold for every screening; they are not sent to
    #: durable-rules (each firing there costs a JSON round trip of the session).
    always: tuple[int, ...]
    #: Per-version memo for later stages (static parts of trace entries).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.version.key

    def durable_definition(self, action_for: Callable[[int], Callable[[Any], None]]) -> dict[str, Any]:
        """The ruleset dict for `Host.set_rulesets`, one durable rule per item
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


def compile_version(version: RuleSetVersion) -> CompiledVersion:
    items: tuple[Item, ...] = tuple(sorted((*version.rules, *version.offers), key=_sort_key))
    results = tuple(_results_function(item.conditions) for item in items)
    lines = ["def fired(f):", "    out = []"]
    for i, item in enumerate(items):
        test = " and ".join(_py(c) for c in item.conditions) or "True"
        lines.append(f"    if {test}: out.append({i})")
    lines.append("    return out")
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from validated vocabulary
    durable_conditions = tuple({"$and": [_durable(c) for c in item.conditions]} for item in items)
    ladders: dict[str, tuple[int, ...]] = {}
    for spor in SPOR_ORDER:
        offers = [i for i, item in enumerate(items) if isinstance(item, Offer) and item.spor == spor]
        offers.sort(key=lambda i: (items[i].niveau, items[i].lag != "kommune", items[i].id))  # type: ignore[union-attr]
        ladders[spor] = tuple(offers)
    rules = [i for i, item in enumerate(items) if isinstance(item, Rule)]
    rules.sort(key=lambda i: (items[i].lag != "lov", _track_rank(items[i].spor), items[i].id))  # type: ignore[union-attr]
    always = tuple(i for i, item in enumerate(items) if not item.conditions)
    return CompiledVersion(version, items, results, namespace["fired"], durable_conditions, ladders, tuple(rules), always)


def _track_rank(spor: str | None) -> int:
    return SPOR_ORDER.index(spor) if spor in SPOR_ORDER else len(SPOR_ORDER)
