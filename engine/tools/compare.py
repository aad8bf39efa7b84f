"""Two decisions compared in words: what a caseworker or auditor would call a difference.

Used by replay (the original decision against today's rules) and impact
reports. A difference is a track's offer, its legal basis, a deadline, a
precondition, a right or a note - never a file position or a version
fingerprint, which can change while the rules do not.

>>> Difference("tilbud", "behandling", "Ambulant behandling", "Dagbehandling").tekst
'Behandling: tilbud var Ambulant behandling, er nu Dagbehandling'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from engine.decision import Decision
from engine.wording import SPOR_NAVN, dansk_dato, note_text

_HVAD = {"tilbud": "tilbud", "lovgrundlag": "lovgrundlag", "frist": "frist", "forudsaetning": "forudsætning",
         "rettighed": "rettighed", "advarsel": "advarsel", "oplysning": "oplysning", "spor": "spor"}


@dataclass(frozen=True)
class Difference:
    hvad: str  # tilbud, lovgrundlag, frist, forudsaetning, rettighed, advarsel, oplysning, spor
    spor: Optional[str]
    foer: Optional[str]
    nu: Optional[str]

    @property
    def tekst(self) -> str:
        where = f"{SPOR_NAVN.get(self.spor, self.spor)}: " if self.spor else ""
        what = _HVAD.get(self.hvad, self.hvad)
        if self.foer is None:
            return f"{where}ny {what}: {self.nu}"
        if self.nu is None:
            return f"{where}{what} bortfalder: {self.foer}"
        return f"{where}{what} var {self.foer}, er nu {self.nu}"

    def to_api(self) -> dict[str, Any]:
        return {"sti": f"{self.hvad}" + (f".{self.spor}" if self.spor else ""), "hvad": self.hvad, "spor": self.spor,
                "foer": self.foer, "nu": self.nu, "tekst": self.tekst}


def _set_difference(hvad: str, spor: Optional[str], before: list[str], after: list[str]) -> list[Difference]:
    out = [Difference(hvad, spor, x, None) for x in before if x not in after]
    out += [Difference(hvad, spor, None, x) for x in after if x not in before]
    return out


def differences(a: Decision, b: Decision) -> list[Difference]:
    """What differs between decision a (before) and b (now), in the words a caseworker uses."""
    out: list[Difference] = []
    ta, tb = {t.spor: t for t in a.tracks}, {t.spor: t for t in b.tracks}
    for spor in [s for s in SPOR_NAVN if s in ta or s in tb]:
        x, y = ta.get(spor), tb.get(spor)
        name_x = x.chosen.navn if x and x.chosen else ("ingen egnet alternativ" if x and x.no_alternative else None)
        name_y = y.chosen.navn if y and y.chosen else ("ingen egnet alternativ" if y and y.no_alternative else None)
        if name_x != name_y:
            out.append(Difference("tilbud", spor, name_x, name_y))
        out += _set_difference("lovgrundlag", spor, [r.danish() for r in (x.lovgrundlag if x else ())],
                               [r.danish() for r in (y.lovgrundlag if y else ())])
        out += _set_difference("rettighed", spor, [r.navn + ("" if r.opfyldt else " (kan ikke opfyldes)") for r in (x.rights if x else ())],
                               [r.navn + ("" if r.opfyldt else " (kan ikke opfyldes)") for r in (y.rights if y else ())])
    out += _set_difference("frist", None, [f"{d.beskrivelse} senest {dansk_dato(d.dato)} ({d.citation.danish()})" for d in a.deadlines],
                           [f"{d.beskrivelse} senest {dansk_dato(d.dato)} ({d.citation.danish()})" for d in b.deadlines])
    out += _set_difference("forudsaetning", None, [p.offer.navn for p in a.preconditions], [p.offer.navn for p in b.preconditions])
    for art in ("advarsel", "oplysning"):
        out += _set_difference(art, None, [note_text(n) for n in a.notes if n.art == art], [note_text(n) for n in b.notes if n.art == art])
    return out
