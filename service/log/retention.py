"""Retention as configuration: per kommune, how many years after the last afgørelse a decision's
content is kept, and the municipality's own legal basis and decision for that period (free text).

The project decides no period: a kommune without an entry is never redacted by `visitator log
opbevaring`. The file (`--config` or VISITATOR_OPBEVARING) is YAML:

    kommuner:
      herning:
        aar_efter_sidste_afgoerelse: 5
        grundlag: "Herning Kommunes journalplan, beslutning af 1. marts 2026 (j.nr. 00.01.00-A00-1-26)"

Problems are Danish with file:line, like the rule files'. The legal basis text goes into the chain's
sletning events, which are never removed: a CPR-like text is refused."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.log.tokens import KOMMUNE

ENV = "VISITATOR_OPBEVARING"
MAX_YEARS = 100


class RetentionInvalid(ValueError):
    """The retention file cannot be used; `problems` are 'file:line: message' lines."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0] if problems else "opbevaringsfilen er ugyldig")
        self.problems = problems


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    aar_efter_sidste_afgoerelse: int = Field(ge=1, le=MAX_YEARS, strict=True)
    grundlag: str = Field(min_length=10, max_length=1000)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kommuner: dict[str, _Entry]


@dataclass(frozen=True)
class Retention:
    """One kommune's retention: content is kept `aar` years after the decision's last afgørelse."""

    kommune: str
    aar: int
    grundlag: str
    where: str  # file:line of its entry

    def text(self) -> str:
        return f"{self.aar} år efter sidste afgørelse"

    def begrundelse(self) -> str:
        """The reason written into the sletning event."""
        return f"Opbevaringsperioden er udløbet ({self.text()}). Grundlag: {self.grundlag}"


@dataclass(frozen=True)
class RetentionConfig:
    path: Path
    kommuner: dict[str, Retention]

    def get(self, kommune: str) -> Optional[Retention]:
        return self.kommuner.get(kommune)


def config_path(explicit: Optional[str] = None) -> Optional[Path]:
    """--config, else VISITATOR_OPBEVARING, else None (no implicit default: a deletion is never a guess)."""
    value = explicit or os.environ.get(ENV)
    return Path(value) if value else None


def load_retention(path: Path) -> RetentionConfig:
    """The file's entries by kommune, or RetentionInvalid naming every problem with file:line."""
    from engine.load import PosDict, load_yaml_file, position_of
    from engine.messages import message
    from engine.problems import Position
    from engine.screening import looks_like_cpr

    shown = str(path)
    data, found = load_yaml_file(path, shown)
    if found:
        raise RetentionInvalid([str(p) for p in found])
    start = data.start if isinstance(data, PosDict) else Position(shown)
    if data is None:
        raise RetentionInvalid([f"{shown}:1: filen er tom; skriv 'kommuner:' med en post pr. kommune"])
    try:
        parsed = _File.model_validate(data)
    except ValidationError as error:
        raise RetentionInvalid([f"{position_of(data, tuple(e['loc']), start)}: {message(e)}"
                                for e in error.errors(include_url=False)]) from None
    problems: list[str] = []
    out: dict[str, Retention] = {}
    for kommune, entry in parsed.kommuner.items():
        where = str(position_of(data, ("kommuner", kommune), start))
        if not KOMMUNE.fullmatch(kommune):
            problems.append(f"{where}: ugyldig kommune '{kommune[:40]}': brug små bogstaver, tal og bindestreg (fx 'herning')")
        if looks_like_cpr(entry.grundlag):
            problems.append(f"{where}: 'grundlag' ligner et CPR-nummer; grundlaget skrives i loggen og slettes aldrig")
        out[kommune] = Retention(kommune, entry.aar_efter_sidste_afgoerelse, entry.grundlag.strip(), where)
    if problems:
        raise RetentionInvalid(problems)
    return RetentionConfig(path, out)
