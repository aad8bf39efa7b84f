"""The finite input space of a rule set version, for verification and impact runs.

Screenings differ only in the facts rules can see. Integer fields are split at
every threshold the rules use (one value per band); categorical fields take
every value. A track's decision depends only on the fields its own blocks
test (selection never looks across tracks, except a right's conflicts), so
each track is enumerated over its own fields with all other inputs at their
defaults: exhaustive for that track, without multiplying in fields it cannot
see. Conditions are the effective ones (with each provision's personkreds).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Iterator

import numpy as np

from engine.bulk import FactTable, encode
from engine.compile import CompiledVersion, Item
from engine.fields import FACT_FIELDS, GRADER, facts_from_screening
from engine.model import AnyOf, Condition, ConditionNode, Offer, Precondition, Right

GENERAL = "generelt"  # pseudo-track for rules that name no track


def condition_fields(conditions: Iterable[ConditionNode]) -> set[str]:
    out: set[str] = set()
    for c in conditions:
        out |= condition_fields(c.items) if isinstance(c, AnyOf) else {c.felt}
    return out


def _conditions_on(conditions: Iterable[ConditionNode], name: str) -> Iterator[Condition]:
    for c in conditions:
        if isinstance(c, AnyOf):
            yield from _conditions_on(c.items, name)
        elif c.felt == name:
            yield c


def integer_bands(conditions: Iterable[ConditionNode], name: str) -> list[int]:
    """One representative per band between the thresholds the conditions use."""
    spec = FACT_FIELDS[name]
    low, high = spec.minimum or 0, spec.maksimum or 0
    cuts = {low}
    for c in _conditions_on(conditions, name):
        values = c.vaerdi if isinstance(c.vaerdi, tuple) else (c.vaerdi,)
        for v in values:
            cut = {">": v + 1, ">=": v, "<": v, "<=": v + 1, "=": v, "!=": v, "i": v, "ikke_i": v}[c.operator]
            if low < cut <= high:
                cuts.add(cut)
            if c.operator in ("=", "!=", "i", "ikke_i") and low <= v + 1 <= high:
                cuts.add(v + 1)
    bands = sorted(cuts)
    if name == "alder":  # a realistic age for the youngest band rather than 0
        return [b if b > 0 else (bands[1] - 1 if len(bands) > 1 else 16) for b in bands]
    return bands


@dataclass(frozen=True)
class Axis:
    """One input dimension: a name and the screening fragments it can take."""

    name: str
    values: tuple[Any, ...]


def _substance_axes(used: set[str]) -> list[Axis]:
    axes = []
    separate = used & {"alkohol_grad", "stof_grad", "opioid_grad"}
    if not separate:
        # Only the highest grade is tested: one substance carries every value.
        return [Axis("alkohol", GRADER)] if "hoejeste_grad" in used else []
    if "alkohol_grad" in used or "hoejeste_grad" in used:
        axes.append(Axis("alkohol", GRADER))
    if "opioid_grad" in used:
        pairs = [(s, o) for s in GRADER for o in GRADER if GRADER.index(o) <= GRADER.index(s)]
        axes.append(Axis("stof_opioid", tuple(pairs)))
    elif "stof_grad" in used or "hoejeste_grad" in used:
        axes.append(Axis("stof", GRADER))
    return axes


def decides(item: Item) -> bool:
    """Can this block change a track's offer, need level, legal basis, deadline,
    precondition or right? A rule that only adds a note cannot."""
    if isinstance(item, (Offer, Precondition, Right)):
        return True
    return bool(item.min_niveau or item.lovgrundlag or item.frist or item.udeluk_kategori or item.udeluk_tilbud or item.skal_tilbyde)


def _track_of(item: Item) -> str:
    return getattr(item, "spor", None) or GENERAL


def axes_for(compiled: CompiledVersion, track: str, everything: bool = False) -> list[Axis]:
    """The input dimensions of one track. For a real track only fields tested by
    blocks that decide something are varied (unless `everything`); the general
    pass (rules naming no track) varies every field its rules test."""
    # A right's conflict notes look at other tracks' choices, but never change a track's
    # decision; each track's own pass covers its choices, so a track's space stays its own.
    used: set[str] = set()
    all_conditions: list[ConditionNode] = []
    for item, eff in zip(compiled.items, compiled.effective):
        all_conditions.extend(c for c, _ in eff.conditions)
        if _track_of(item) == track and (everything or track == GENERAL or decides(item)):
            used |= condition_fields(c for c, _ in eff.conditions)
    return axes_for_fields(used, all_conditions)


def axes_for_fields(used: set[str], all_conditions: Iterable[ConditionNode]) -> list[Axis]:
    """Axes that vary exactly the given fact fields (integers split at the
    thresholds the conditions use)."""
    conditions = list(all_conditions)
    axes = _substance_axes(used)
    if "boligsituation" in used:
        axes.append(Axis("boligsituation", FACT_FIELDS["boligsituation"].vaerdier))
    elif "hjemloes" in used:
        axes.append(Axis("boligsituation", ("egen_bolig", "gade")))
    for name in sorted(used):
        spec = FACT_FIELDS[name]
        if name in ("alkohol_grad", "stof_grad", "opioid_grad", "hoejeste_grad", "boligsituation", "hjemloes"):
            continue
        if spec.type == "sandhed":
            axes.append(Axis(name, (False, True)))
        elif spec.type == "heltal":
            axes.append(Axis(name, tuple(integer_bands(conditions, name))))
        else:
            axes.append(Axis(name, spec.vaerdier))
    if not any(a.name == "alder" for a in axes):
        axes.append(Axis("alder", (40,)))
    return axes


def screening_for(point: dict[str, Any], day: date) -> dict[str, Any]:
    """A complete, valid screening (API body) for one point of the space."""
    body: dict[str, Any] = {
        "henvendelsesdato": day.isoformat(),
        "vurderingsdato": day.isoformat(),
        "alder": point.get("alder", 40),
        "rusmidler": [],
        "dobbeltdiagnose": bool(point.get("dobbeltdiagnose", False)),
        "boligsituation": point.get("boligsituation", "egen_bolig"),
    }
    if point.get("alkohol", "ingen") != "ingen":
        body["rusmidler"].append({"stof": "alkohol", "grad": point["alkohol"]})
    stof, opioid = point.get("stof_opioid", (point.get("stof", "ingen"), "ingen"))
    if opioid != "ingen":
        body["rusmidler"].append({"stof": "opioider", "grad": opioid})
    if stof != "ingen" and stof != opioid:
        body["rusmidler"].append({"stof": "cannabis", "grad": stof})
    for name, value in point.items():
        if name in ("alder", "alkohol", "stof", "stof_opioid", "boligsituation", "dobbeltdiagnose"):
            continue
        body[name] = value
    return body


def points(axes: list[Axis]) -> Iterator[dict[str, Any]]:
    names = [a.name for a in axes]
    for combo in itertools.product(*(a.values for a in axes)):
        yield dict(zip(names, combo))


_TABLES: dict[tuple[Any, ...], FactTable] = {}
_TABLES_KEPT = 4


def forget_tables() -> None:
    """Drop the kept tables (at the end of a tool's run: they can be large)."""
    _TABLES.clear()


def fact_table(axes: list[Axis], day: date) -> FactTable:
    """Every point of the space as columns, in the order of `points(axes)` (the last axis
    varies fastest), without a dict per point: each column is an axis' values (or the
    facts derived from the coupled axes) spread by index arithmetic. The derived facts
    come from the real derivation (screening_for + facts_from_screening), evaluated once
    per combination of the coupled axes (substances and housing).

    The facts do not depend on the day (only the screening's dates do), so the few most
    recent tables are kept and shared between versions with the same axes (read-only)."""
    key = tuple((a.name, a.values) for a in axes)
    table = _TABLES.pop(key, None)
    if table is None:
        table = _build_table(axes, day)
        for column in table.columns.values():
            column.flags.writeable = False
        while len(_TABLES) >= _TABLES_KEPT:
            _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = table
    return table


def _build_table(axes: list[Axis], day: date) -> FactTable:
    shape = tuple(len(a.values) for a in axes)
    size = space_size(axes)
    index = np.unravel_index(np.arange(size, dtype=np.int64), shape) if axes else ()
    direct = [k for k, a in enumerate(axes) if a.name in FACT_FIELDS and a.name != "boligsituation"]
    coupled = [k for k in range(len(axes)) if k not in direct]
    base = {axes[k].name: axes[k].values[0] for k in direct}
    derived: dict[str, list[Any]] = {name: [] for name in FACT_FIELDS if name not in base}
    for combo in itertools.product(*(axes[k].values for k in coupled)):
        point = {**base, **{axes[k].name: v for k, v in zip(coupled, combo)}}
        fact = facts_from_screening(screening_for(point, day))
        for name in derived:
            derived[name].append(encode(name, fact[name]))
    where = (np.ravel_multi_index(tuple(index[k] for k in coupled), tuple(shape[k] for k in coupled)) if coupled
             else np.zeros(size, dtype=np.int64))
    columns: dict[str, np.ndarray] = {}
    for name, values in derived.items():
        table = np.asarray(values)
        columns[name] = table[where] if len(set(values)) > 1 else np.broadcast_to(table[:1], (size,))
    for k in direct:
        columns[axes[k].name] = np.asarray([encode(axes[k].name, v) for v in axes[k].values])[index[k]]
    return FactTable.from_columns(columns, size)


def space_size(axes: list[Axis]) -> int:
    size = 1
    for a in axes:
        size *= len(a.values)
    return size


def tracks_of(compiled: CompiledVersion) -> list[str]:
    found = {_track_of(i) for i in compiled.items}
    order = ["behandling", "medicinsk", "bolig", "koordinering", GENERAL]
    return [t for t in order if t in found]

