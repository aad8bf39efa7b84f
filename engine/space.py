"""The finite input space of a rule set version, for verification and impact runs.

Screenings differ only in the facts rules can see. Integer fields are split at
every threshold the rules use (one value per band); categorical fields take
every value. A track's decision depends only on the fields its own rules and
offers test (selection never looks across tracks), so each track is enumerated
over its own fields with all other inputs at their defaults: exhaustive for
that track, without multiplying in fields it cannot see.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

from engine.fields import FIELDS, GRADER
from engine.model import AnyOf, Condition, ConditionNode, Offer, Rule
from engine.versions import RuleSetVersion

GENERAL = "generelt"  # pseudo-track for rules that name no track


def condition_fields(conditions: tuple[ConditionNode, ...]) -> set[str]:
    out: set[str] = set()
    for c in conditions:
        out |= condition_fields(c.items) if isinstance(c, AnyOf) else {c.felt}
    return out


def _conditions_on(conditions: tuple[ConditionNode, ...], name: str) -> Iterator[Condition]:
    for c in conditions:
        if isinstance(c, AnyOf):
            yield from _conditions_on(c.items, name)
        elif c.felt == name:
            yield c


def integer_bands(items: tuple[Rule | Offer, ...], name: str) -> list[int]:
    """One representative per band between the thresholds the rules use."""
    spec = FIELDS[name]
    low, high = spec.minimum or 0, spec.maksimum or 0
    cuts = {low}
    for item in items:
        for c in _conditions_on(item.conditions, name):
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


def decides(item: Rule | Offer) -> bool:
    """Can this item change a track's offer, need level, legal basis or deadline?
    A rule that only adds a warning or a note cannot."""
    if isinstance(item, Offer):
        return True
    return bool(item.min_niveau or item.lovgrundlag or item.frist or item.udeluk_kategori or item.udeluk_tilbud)


def axes_for(version: RuleSetVersion, track: str, everything: bool = False) -> list[Axis]:
    """The input dimensions of one track. For a real track only fields tested by
    items that decide something are varied (unless `everything`); the general
    pass (rules naming no track) varies every field its rules test."""
    items: tuple[Rule | Offer, ...] = tuple(
        i for i in (*version.rules, *version.offers)
        if (i.spor or GENERAL) == track and (everything or track == GENERAL or decides(i))
    )
    used: set[str] = set()
    for item in items:
        used |= condition_fields(item.conditions)
    return axes_for_fields(used, (*version.rules, *version.offers))


def axes_for_fields(used: set[str], all_items: tuple[Rule | Offer, ...]) -> list[Axis]:
    """Axes that vary exactly the given fact fields (integers split at the
    thresholds `all_items` use)."""
    axes = _substance_axes(used)
    if "boligsituation" in used:
        axes.append(Axis("boligsituation", FIELDS["boligsituation"].vaerdier))
    elif "hjemloes" in used:
        axes.append(Axis("boligsituation", ("egen_bolig", "gade")))
    for name in sorted(used):
        spec = FIELDS[name]
        if name in ("alkohol_grad", "stof_grad", "opioid_grad", "hoejeste_grad", "boligsituation", "hjemloes"):
            continue
        if spec.type == "sandhed":
            axes.append(Axis(name, (False, True)))
        elif spec.type == "heltal":
            axes.append(Axis(name, tuple(integer_bands(all_items, name))))
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


def space_size(axes: list[Axis]) -> int:
    size = 1
    for a in axes:
        size *= len(a.values)
    return size


def tracks_of(version: RuleSetVersion) -> list[str]:
    found = {i.spor or GENERAL for i in (*version.rules, *version.offers)}
    order = ["behandling", "medicinsk", "bolig", "koordinering", GENERAL]
    return [t for t in order if t in found]
