"""Where something stands and what is wrong with it: one type for every finding.

`Position` is a place in a file (rule file, golden case, law history);
`Problem` is one finding a person can act on: where, a Danish message, and a
level. Rule-file problems, golden-case problems, static checks and chain
findings all use it. This module knows nothing of rules or screenings.

>>> p = Problem(Position("regler/misbrug/lov/bolig.yaml", 42, 7), "ukendt nøgle 'beskrivlse' (mente du 'beskrivelse'?)")
>>> str(p)
"regler/misbrug/lov/bolig.yaml:42:7: ukendt nøgle 'beskrivlse' (mente du 'beskrivelse'?)"
>>> str(Problem(Position("x.yaml", 3), "mangler 'id'", FEJL))
"x.yaml:3: mangler 'id'"
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Literal, Optional

FEJL = "fejl"
ADVARSEL = "advarsel"
Level = Literal["fejl", "advarsel"]


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in a file; column 0 means the whole line."""

    file: str
    line: int = 1
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"

    @classmethod
    def parse(cls, text: str) -> "Position":
        """'a/b.yaml:12:3' or 'a/b.yaml:12' back into a Position.

        >>> Position.parse("regler/x.yaml:12:3")
        Position(file='regler/x.yaml', line=12, column=3)
        """
        parts = text.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            return cls(parts[0], int(parts[1]), int(parts[2]))
        head, _, line = text.rpartition(":")
        if head and line.isdigit():
            return cls(head, int(line))
        return cls(text)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: where it is, what is wrong (Danish), and how bad it is."""

    where: Position
    message: str
    level: Level = "fejl"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def with_level(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.where, p.message))


def suggest(word: object, options: Iterable[str]) -> str:
    """' (mente du 'x'?)' for the closest option, or ''.

    >>> suggest("afhængig", ["risikabelt", "skadeligt", "afhaengighed"])
    " (mente du 'afhaengighed'?)"
    """
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (mente du '{close[0]}'?)" if close else ""


class ProblemsFound(Exception):
    """Base for errors that carry a list of problems."""

    def __init__(self, problems: Iterable[Problem], summary: Optional[str] = None):
        self.problems = sort_problems(problems)
        super().__init__(summary or "\n".join(str(p) for p in self.problems))
