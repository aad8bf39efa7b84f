"""The law's own history as data: which provision existed when, under which number.

`regler/love/<LOV>.yaml` lists each provision under a stable name
(`sul-141-anonymitet`) with its history: from which date it exists, as which
paragraph and stk., enacted or renumbered by which law, with a verification
marker. Rules cite the stable name; `LegalRef` is the citation rendered for a
date ("SUL § 141, stk. 7"). This module reads the history and renders
citations; it knows nothing of rules.

>>> p = Provision("sul-141-anonymitet", "SUL", "Anonym behandling", "", (
...     Entry(date(2007, 1, 1), "141", "5", None, None, "lov nr. 546 af 24/06/2005", "verificeret", None, None),
...     Entry(date(2016, 1, 1), "141", "7", None, None, "L 44 (2015-16)", "delvist_verificeret", None, None)),
...     None, False, Position("regler/love/SUL.yaml", 10))
>>> p.at(date(2015, 12, 31)).short(), p.at(date(2016, 1, 1)).short()
('SUL § 141, stk. 5', 'SUL § 141, stk. 7')
>>> p.at(date(2006, 12, 31)) is None
True
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.load import PosDict, load_yaml_file, position_of
from engine.problems import Position, Problem

Lov = Literal["SEL", "SUL", "BL", "TBL"]
Sikkerhed = Literal["verificeret", "delvist_verificeret", "uverificeret"]

LOV_NAVN = {
    "SEL": "Serviceloven",
    "SUL": "Sundhedsloven",
    "BL": "Barnets lov",
    "TBL": "Lov om tilbageholdelse af stofmisbrugere i behandling",
}
PROVISION_ID = r"^(sel|sul|bl|tbl)(-[a-z0-9]+)*$"


# --------------------------------------------------------------------------- file schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HistorikPost(_Strict):
    fra: date
    paragraf: Optional[str] = Field(None, min_length=1, max_length=12)
    stk: Optional[str] = Field(None, max_length=12)
    nr: Optional[str] = Field(None, max_length=12)
    kapitel: Optional[str] = Field(None, max_length=12)
    lovnummer: str = Field(min_length=3)
    sikkerhed: Sikkerhed
    url: Optional[str] = None
    note: Optional[str] = None

    @model_validator(mode="after")
    def _number(self) -> "HistorikPost":
        if self.paragraf is None and self.kapitel is None:
            raise ValueError("angiv 'paragraf' (eller 'kapitel', hvis paragrafnummeret ikke kendes)")
        return self


class BestemmelseBlok(_Strict):
    id: str = Field(pattern=PROVISION_ID, max_length=60)
    titel: str = Field(min_length=3)
    beskrivelse: str = Field(min_length=10)
    historik: list[HistorikPost] = Field(min_length=1)
    til: Optional[date] = None
    afventer: bool = False

    @model_validator(mode="after")
    def _order(self) -> "BestemmelseBlok":
        days = [h.fra for h in self.historik]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("historikken skal stå i datoorden, én post pr. dato")
        if self.til is not None and self.til < days[-1]:
            raise ValueError("'til' ligger før den sidste post i historikken")
        return self


class LovFil(_Strict):
    lov: Lov
    navn: str = Field(min_length=3)
    beskrivelse: str = Field(min_length=10)
    bestemmelser: list[BestemmelseBlok]


# --------------------------------------------------------------------------- domain objects


@dataclass(frozen=True, slots=True)
class LegalRef:
    """A provision as cited on one date."""

    lov: str
    paragraf: Optional[str]
    stk: Optional[str] = None
    nr: Optional[str] = None
    kapitel: Optional[str] = None
    bestemmelse: Optional[str] = None
    sikkerhed: str = "verificeret"

    def _number(self) -> str:
        if self.paragraf is None:
            return f"kapitel {self.kapitel}"
        text = f"§ {self.paragraf}"
        if self.stk:
            text += f", stk. {self.stk}"
        if self.nr:
            text += f", nr. {self.nr}"
        return text

    def short(self) -> str:
        """'SEL § 101, stk. 4'"""
        return f"{self.lov} {self._number()}"

    def danish(self) -> str:
        """'Serviceloven § 101, stk. 4'"""
        return f"{LOV_NAVN[self.lov]} {self._number()}"

    def sort_key(self) -> tuple[Any, ...]:
        digits = "".join(ch for ch in (self.paragraf or "") if ch.isdigit())
        stk = self.stk or ""
        return (self.lov, int(digits or 0), self.paragraf or "", int(stk) if stk.isdigit() else 0, stk)

    def to_api(self) -> dict[str, Any]:
        return {"lov": self.lov, "paragraf": self.paragraf, "stk": self.stk, "bestemmelse": self.bestemmelse}


@dataclass(frozen=True, slots=True)
class Entry:
    fra: date
    paragraf: Optional[str]
    stk: Optional[str]
    nr: Optional[str]
    kapitel: Optional[str]
    lovnummer: str
    sikkerhed: str
    url: Optional[str]
    note: Optional[str]


@dataclass(frozen=True)
class Provision:
    id: str
    lov: str
    titel: str
    beskrivelse: str
    entries: tuple[Entry, ...]
    til: Optional[date]
    afventer: bool
    position: Position

    @property
    def first_day(self) -> date:
        return self.entries[0].fra

    def exists(self, day: date) -> bool:
        return self.first_day <= day and (self.til is None or day <= self.til)

    def entry_at(self, day: date) -> Optional[Entry]:
        if not self.exists(day):
            return None
        current = None
        for e in self.entries:
            if e.fra <= day:
                current = e
        return current

    def at(self, day: date) -> Optional[LegalRef]:
        """The citation on `day`, or None if the provision did not exist then."""
        e = self.entry_at(day)
        if e is None:
            return None
        return LegalRef(self.lov, e.paragraf, e.stk, e.nr, e.kapitel, self.id, e.sikkerhed)

    def change_days(self) -> list[date]:
        """Days on which the citation starts, changes or ends."""
        days = [e.fra for e in self.entries]
        if self.til is not None:
            days.append(self.til + timedelta(days=1))
        return days

@dataclass(frozen=True)
class LawBook:
    """Every provision of every law, by stable name."""

    provisions: dict[str, Provision]

    def get(self, provision_id: str) -> Optional[Provision]:
        return self.provisions.get(provision_id)


# --------------------------------------------------------------------------- loading


def load_lawbook(love_dir: Path, shown_root: Path) -> tuple[LawBook, list[Problem]]:
    """Read every `<LOV>.yaml` in `love_dir`; return the book and every problem found."""
    from engine.messages import message

    problems: list[Problem] = []
    provisions: dict[str, Provision] = {}
    if not love_dir.is_dir():
        return LawBook({}), [Problem(Position(love_dir.as_posix()), "mappen med lovenes historik (love/) findes ikke")]
    # Only the laws' own files: other data beside them (e.g. klagevejledning.yaml) is not a law.
    for path in sorted(p for p in love_dir.glob("*.yaml") if p.stem in LOV_NAVN):
        try:
            shown = path.relative_to(shown_root).as_posix()
        except ValueError:
            shown = path.as_posix()
        data, load_problems = load_yaml_file(path, shown)
        problems.extend(load_problems)
        if load_problems or data is None:
            if data is None and not load_problems:
                problems.append(Problem(Position(shown), "filen er tom"))
            continue
        start = data.start if isinstance(data, PosDict) else Position(shown)
        try:
            parsed = LovFil.model_validate(data)
        except ValidationError as error:
            for e in error.errors(include_url=False):
                problems.append(Problem(position_of(data, tuple(e["loc"]), start), message(e)))
            continue
        if path.stem != parsed.lov:
            problems.append(Problem(start, f"filen hedder {path.name}, men angiver lov: {parsed.lov}; navnet skal være {parsed.lov}.yaml"))
        for i, b in enumerate(parsed.bestemmelser):
            where = position_of(data, ("bestemmelser", i), start)
            if not b.id.startswith(parsed.lov.lower() + "-"):
                problems.append(Problem(where, f"bestemmelsen '{b.id}' skal begynde med '{parsed.lov.lower()}-'"))
            if b.id in provisions:
                problems.append(Problem(where, f"bestemmelsen '{b.id}' står to gange (også på {provisions[b.id].position})"))
                continue
            entries = tuple(Entry(h.fra, h.paragraf, h.stk, h.nr, h.kapitel, h.lovnummer, h.sikkerhed, h.url, h.note) for h in b.historik)
            provisions[b.id] = Provision(b.id, parsed.lov, b.titel, b.beskrivelse, entries, b.til, b.afventer, where)
    return LawBook(provisions), problems
