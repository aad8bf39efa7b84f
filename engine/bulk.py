"""Stage 5b, bulk: the third core, which answers "which blocks hold?" for whole
columns of screenings at once.

A `FactTable` holds one numpy array per fact field: integer codes for choice
fields (the index in engine.fields' `vaerdier`), integers, booleans. Each
compiled condition becomes one column operation (a lookup table for a choice
field, an integer comparison, `en_af` as OR), each block the AND of its
effective conditions (its own plus its provisions' personkreds), and the
result is a points x blocks boolean matrix.

Decisions are never made here. Points whose fired rows are identical are
grouped (`Groups`), and the one selection code (engine.select: `choose`, and
`select` where a full Decision is needed) runs once per distinct fired set;
its results are broadcast back through the inverse index. Whatever a tool
derives from a decision that also depends on the fact itself is a vector
expression over the fact columns, combined with the per-group attributes.

`BulkCore` offers the same evaluation for one fact behind the `Core`
protocol, so the engine can run it beside durable-rules and the reference
evaluator; tests/tools/test_bulk.py proves it equal to the reference over
the entire input space of every shipped version.

>>> from engine.model import Condition
>>> table = FactTable.from_facts([{"alder": 17, "hjemloes": True, "boligsituation": "gade"},
...                               {"alder": 40, "hjemloes": False, "boligsituation": "egen_bolig"}],
...                              fields=("alder", "hjemloes", "boligsituation"))
>>> table.columns["boligsituation"].tolist(), table.row(0)["boligsituation"]
([4, 0], 'gade')
>>> condition_vector(table, Condition("alder", ">=", 18)).tolist()
[False, True]
>>> condition_vector(table, AnyOf((Condition("hjemloes", "=", True), Condition("alder", ">", 30)))).tolist()
[True, True]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from engine.compile import CompiledVersion, _expand
from engine.decision import Decision
from engine.fields import FACT_FIELDS
from engine.model import AnyOf, ConditionNode
from engine.select import Choice, choose, select

#: numpy dtypes per vocabulary type.
_DTYPES = {"valg": np.int8, "heltal": np.int32, "sandhed": np.bool_}


def encode(name: str, value: Any) -> Any:
    """A fact value as it is stored in a column (a choice as its index in `vaerdier`)."""
    spec = FACT_FIELDS[name]
    if spec.type == "valg":
        return spec.vaerdier.index(value)
    if spec.type == "sandhed":
        return bool(value)
    return int(value)


def decode(name: str, code: Any) -> Any:
    spec = FACT_FIELDS[name]
    if spec.type == "valg":
        return spec.vaerdier[int(code)]
    if spec.type == "sandhed":
        return bool(code)
    return int(code)


class FactTable:
    """Many facts as columns: `columns[name][i]` is field `name` of point i.

    `dates` optionally holds per-point dates (`henvendelsesdato`, `vurderingsdato`)
    as numpy datetime64[D] arrays, for the date arithmetic of deadlines."""

    __slots__ = ("columns", "size", "dates", "vectors")

    def __init__(self, columns: dict[str, np.ndarray], size: int, dates: Optional[dict[str, np.ndarray]] = None):
        self.columns = columns
        self.size = size
        self.dates = dates or {}
        #: Condition vectors already computed on this table (by normalised condition), so a table
        #: shared between versions evaluates each distinct condition once.
        self.vectors: dict[tuple[Any, ...], np.ndarray] = {}

    @classmethod
    def from_facts(cls, facts: Sequence[Mapping[str, Any]], fields: Iterable[str] = tuple(FACT_FIELDS)) -> "FactTable":
        """Columns from fact dicts (each as engine.fields.facts_from_screening makes them)."""
        columns: dict[str, np.ndarray] = {}
        for name in fields:
            spec = FACT_FIELDS[name]
            if spec.type == "valg":
                codes = {v: i for i, v in enumerate(spec.vaerdier)}
                columns[name] = np.fromiter((codes[f[name]] for f in facts), dtype=np.int8, count=len(facts))
            else:
                columns[name] = np.fromiter((f[name] for f in facts), dtype=_DTYPES[spec.type], count=len(facts))
        return cls(columns, len(facts))

    @classmethod
    def from_columns(cls, values: Mapping[str, np.ndarray], size: int) -> "FactTable":
        """A table from already encoded columns (a scalar is repeated over every point)."""
        columns: dict[str, np.ndarray] = {}
        for name, column in values.items():
            array: np.ndarray = np.asarray(column, dtype=_DTYPES[FACT_FIELDS[name].type])
            columns[name] = np.broadcast_to(array, (size,)) if array.ndim == 0 else array
        return cls(columns, size)

    def row(self, i: int) -> dict[str, Any]:
        """Point i as the fact dict the reference evaluator reads."""
        return {name: decode(name, column[i]) for name, column in self.columns.items()}

    def rows(self, index: Sequence[int] | np.ndarray) -> list[dict[str, Any]]:
        """Several points as fact dicts (one column operation per field)."""
        index = np.asarray(index, dtype=np.int64)
        names = list(self.columns)
        values = []
        for name in names:
            spec = FACT_FIELDS[name]
            picked = self.columns[name][index].tolist()
            values.append([spec.vaerdier[c] for c in picked] if spec.type == "valg" else picked)
        return [dict(zip(names, row)) for row in zip(*values)]

    def take(self, index: np.ndarray) -> "FactTable":
        return FactTable({k: v[index] for k, v in self.columns.items()}, len(index), {k: v[index] for k, v in self.dates.items()})


# --------------------------------------------------------------------------- conditions as column operations


def _leaf(table: FactTable, felt: str, op: str, value: Any) -> np.ndarray:
    spec = FACT_FIELDS[felt]
    column = table.columns[felt]
    if spec.type == "valg":
        lookup = np.zeros(len(spec.vaerdier), dtype=np.bool_)
        wanted = value if op in ("in", "not in") else (value,)
        for v in wanted:
            if v in spec.vaerdier:
                lookup[spec.vaerdier.index(v)] = True
        if op in ("!=", "not in"):
            lookup = ~lookup
        elif op not in ("==", "in"):
            raise ValueError(f"operatoren {op!r} kan ikke bruges på valgfeltet {felt}")
        result: np.ndarray = lookup[column]
        return result
    if op == "in":
        return np.isin(column, np.asarray(value))
    if op == "not in":
        return ~np.isin(column, np.asarray(value))
    if spec.type == "sandhed" and not isinstance(value, bool):
        return np.zeros(table.size, dtype=np.bool_) if op == "==" else np.ones(table.size, dtype=np.bool_)
    compare: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
        "==": np.equal, "!=": np.not_equal, ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
    out: np.ndarray = compare[op](column, value)
    return out


def _key(node: ConditionNode) -> tuple[Any, ...]:
    if isinstance(node, AnyOf):
        return ("en_af", tuple(_key(n) for n in node.items))
    op, value = _expand(node)
    return (node.felt, op, value)


def _evaluate(table: FactTable, key: tuple[Any, ...], memo: dict[tuple[Any, ...], np.ndarray]) -> np.ndarray:
    found = memo.get(key)
    if found is None:
        if key[0] == "en_af":
            found = np.logical_or.reduce([_evaluate(table, k, memo) for k in key[1]])
        else:
            found = _leaf(table, *key)
        memo[key] = found
    return found


def condition_vector(table: FactTable, *conditions: ConditionNode) -> np.ndarray:
    """Where all the given conditions hold (every point when there are none)."""
    memo: dict[tuple[Any, ...], np.ndarray] = {}
    out = np.ones(table.size, dtype=np.bool_)
    for c in conditions:
        out &= _evaluate(table, _key(c), memo)
    return out


class BulkProgram:
    """One compiled version's effective conditions as column operations (built once per version)."""

    def __init__(self, compiled: CompiledVersion):
        self.compiled = compiled
        self.blocks: tuple[tuple[tuple[Any, ...], ...], ...] = tuple(
            tuple(dict.fromkeys(_key(c) for c, _ in eff.conditions)) for eff in compiled.effective)
        self.fields: frozenset[str] = frozenset(_fields_of(k) for keys in self.blocks for key in keys for k in _leaves(key))

    def fired_matrix(self, table: FactTable, blocks: Optional[Sequence[int]] = None) -> np.ndarray:
        """points x blocks: which blocks hold for each point (only the given blocks are
        evaluated; the others' columns are false)."""
        out = np.zeros((len(self.blocks), table.size), dtype=np.bool_)
        self._fill(table, out, range(len(self.blocks)) if blocks is None else sorted(blocks), False)
        return out.T

    def _fill(self, table: FactTable, out: np.ndarray, blocks: Iterable[int], compact: bool) -> None:
        memo = table.vectors
        for row_index, b in enumerate(blocks):
            keys = self.blocks[b]
            row = out[row_index if compact else b]
            if not keys:
                row[:] = True
                continue
            np.copyto(row, _evaluate(table, keys[0], memo))
            for key in keys[1:]:
                row &= _evaluate(table, key, memo)

    def groups(self, table: FactTable, blocks: Optional[Sequence[int]] = None) -> "Groups":
        """The points grouped by the set of blocks that hold for them; with `blocks`, by
        which of those blocks hold (the fired sets then hold only those blocks)."""
        columns = np.arange(len(self.blocks)) if blocks is None else np.asarray(sorted(set(blocks)), dtype=np.int64)
        rows = np.zeros((len(columns), table.size), dtype=np.bool_)
        self._fill(table, rows, columns.tolist(), True)
        fired = rows.T
        packed = np.packbits(fired, axis=1)
        width = max(8, -(-packed.shape[1] // 8) * 8)
        if packed.shape[1] < width:
            packed = np.concatenate([packed, np.zeros((table.size, width - packed.shape[1]), dtype=np.uint8)], axis=1)
        packed = np.ascontiguousarray(packed)
        keys = packed.view(np.uint64).ravel() if width == 8 else packed.view(np.dtype((np.void, width))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        sets = [tuple(columns[np.flatnonzero(fired[i])].tolist()) for i in first]
        return Groups(self.compiled, table, inverse.reshape(-1).astype(np.int64), first.astype(np.int64), sets)


def _leaves(key: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
    if key[0] == "en_af":
        for k in key[1]:
            yield from _leaves(k)
    else:
        yield key


def _fields_of(key: tuple[Any, ...]) -> str:
    return str(key[0])


def program_for(compiled: CompiledVersion) -> BulkProgram:
    program = compiled.memo.get("bulk")
    if program is None:
        program = BulkProgram(compiled)
        compiled.memo["bulk"] = program
    return program


# --------------------------------------------------------------------------- groups of points with one fired set


@dataclass
class Groups:
    """Points grouped by their fired set: group g holds the points with `inverse == g`;
    `fired[g]` is its fired set (block indices, sorted) and `first[g]` its first point."""

    compiled: CompiledVersion
    table: FactTable
    inverse: np.ndarray
    first: np.ndarray
    fired: list[tuple[int, ...]]
    _choices: Optional[list[Choice]] = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.fired)

    @property
    def sizes(self) -> np.ndarray:
        sizes: np.ndarray = np.bincount(self.inverse, minlength=len(self.fired))
        return sizes

    def fired_matrix(self) -> np.ndarray:
        """points x blocks again (from the groups; for tests and reports)."""
        per_group = np.zeros((len(self.fired), len(self.compiled.items)), dtype=np.bool_)
        for g, blocks in enumerate(self.fired):
            per_group[g, list(blocks)] = True
        out: np.ndarray = per_group[self.inverse]
        return out

    def choices(self) -> list[Choice]:
        """`choose` (the mindste indgrebs princip) once per distinct fired set."""
        if self._choices is None:
            self._choices = [choose(self.compiled, set(f)) for f in self.fired]
        return self._choices

    def decisions(self, henvendelsesdato: date, vurderingsdato: date, trace: bool = False,
                  only: Optional[Iterable[int]] = None) -> dict[int, Decision]:
        """`select` once per group (or for the groups in `only`), with the group's first point
        as the representative fact. Without `trace` the decision has no per-condition trace,
        so nothing in it depends on the fact beyond the fired set."""
        wanted = list(range(len(self.fired)) if only is None else only)
        choices = self.choices()
        facts = self.table.rows(self.first[wanted]) if wanted else []
        return {g: select(self.compiled, fact, list(self.fired[g]), henvendelsesdato, vurderingsdato, trace=trace, choice=choices[g])
                for g, fact in zip(wanted, facts)}

    def broadcast(self, per_group: Sequence[Any], dtype: Any = None) -> np.ndarray:
        """A per-group attribute as a per-point array."""
        out: np.ndarray = np.asarray(per_group, dtype=dtype)[self.inverse]
        return out

    def points_of(self, groups: Iterable[int]) -> np.ndarray:
        """A mask of the points in any of the given groups."""
        mask = np.zeros(len(self.fired), dtype=np.bool_)
        mask[list(groups)] = True
        out: np.ndarray = mask[self.inverse]
        return out

    def refine(self, fields_of: Mapping[int, Iterable[str]]) -> "Groups":
        """Split groups further by the values of the given fields (per group): for parts of
        a decision that read the fact itself (a failed condition's value in a note)."""
        key = self.inverse.astype(np.int64)
        todo = {g: sorted(set(f)) for g, f in fields_of.items() if f}
        if not todo:
            return self
        extra = np.zeros(self.table.size, dtype=np.int64)
        order = np.argsort(self.inverse, kind="stable")
        bounds = np.searchsorted(self.inverse[order], np.arange(len(self.fired) + 1))
        for g, names in todo.items():
            idx = order[bounds[g]:bounds[g + 1]]
            stacked = np.stack([self.table.columns[n][idx].astype(np.int64) for n in names], axis=1)
            _, sub = np.unique(stacked, axis=0, return_inverse=True)
            extra[idx] = sub.reshape(-1)
        combined = np.stack([key, extra], axis=1)
        keys = np.ascontiguousarray(combined).view(np.dtype((np.void, 16))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1).astype(np.int64)
        fired = [self.fired[int(self.inverse[i])] for i in first]
        return Groups(self.compiled, self.table, inverse, first.astype(np.int64), fired)


# --------------------------------------------------------------------------- the core


class BulkCore:
    """The bulk evaluator behind the `Core` protocol: one fact as a table of one row.

    Correct but not fast for single decisions (a numpy call per condition); the
    bulk tools use BulkProgram on whole tables."""

    name = "bulk"

    def prepare(self, compiled: CompiledVersion) -> None:
        program_for(compiled)

    def fired(self, compiled: CompiledVersion, fact: dict[str, Any]) -> list[int]:
        program = program_for(compiled)
        row = program.fired_matrix(FactTable.from_facts([fact], fields=program.fields))[0]
        out: list[int] = np.flatnonzero(row).tolist()
        return out
