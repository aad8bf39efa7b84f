"""The screening form and the afgørelse form: inputs, labels, hints and choices from the vocabulary
(engine.fields), what the user typed kept as typed, and problems placed beside their inputs.
Nothing here validates a screening: that is the engine's one boundary."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Optional

from engine.fields import FIELDS, GRAD_LABELS, GRADER, GROUPS, INPUT_FIELDS, STOF_LABELS, STOFFER, Field
from engine.screening import looks_like_cpr

MAX_ROWS = len(STOFFER)
_KIND = {"heltal": "int", "sandhed": "flag", "valg": "select", "dato": "date", "tekst": "text"}
_ROW_PROBLEM = re.compile(r"^rusmidler\[(\d+)\](?:\.(stof|grad))?$")
ROW_LABELS = {"stof": "Rusmiddel", "grad": "Grad"}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Input:
    """One input of the form as the template draws it."""

    name: str
    kind: str  # int, flag, select, date, text
    label: str
    hint: str
    choices: tuple[tuple[str, str], ...] = ()
    empty_choice: str = "Vælg"


@dataclass(frozen=True)
class Group:
    id: str
    legend: str
    inputs: tuple[Input, ...]
    substances: bool = False


def _input(f: Field) -> Input:
    kind = _KIND[f.type]
    choices = tuple((v, _capital(f.value_labels.get(v, v))) for v in f.vaerdier) if kind == "select" else ()
    return Input(f.navn, kind, f.label, f.hint, choices, "Ikke oplyst" if not f.paakraevet else "Vælg")


def form_groups() -> tuple[Group, ...]:
    """The fieldsets in the vocabulary's order, with every input field of each."""
    out = []
    for gid, legend in GROUPS:
        fields = [f for f in INPUT_FIELDS.values() if f.gruppe == gid]
        inputs = tuple(_input(f) for f in fields if f.type != "rusmidler")
        out.append(Group(gid, legend, inputs, any(f.type == "rusmidler" for f in fields)))
    return tuple(out)


#: The choices of a substance row: which substance, and how much it is used.
SUBSTANCE_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "stof": tuple((s, _capital(STOF_LABELS[s])) for s in STOFFER),
    "grad": tuple((g, _capital(GRAD_LABELS[g])) for g in GRADER if g != "ingen"),
}
_KINDS = {i.name: i.kind for g in form_groups() for i in g.inputs}
CPR_EMPTIED = "Feltet lignede et CPR-nummer og er tømt. Skriv det igen uden CPR-nummer."


@dataclass
class FormState:
    """Everything the user typed, exactly as typed, plus the problems found and where focus goes."""

    values: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # input id -> message
    other_problems: list[str] = field(default_factory=list)
    focus: Optional[str] = None  # the input id that gets autofocus after add/remove

    @classmethod
    def empty(cls, today: date) -> "FormState":
        return cls(values={"henvendelsesdato": today.isoformat()}, rows=[("", "")])

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> "FormState":
        state = cls()
        for name, kind in _KINDS.items():
            if kind == "flag":
                if form.get(name):
                    state.flags.add(name)
            else:
                state.values[name] = str(form.get(name, ""))[:500]
        try:
            rows = min(MAX_ROWS, max(0, int(str(form.get("antal_rusmidler", "0")))))
        except ValueError:
            rows = 0
        state.rows = [(str(form.get(f"rusmidler-{i}-stof", ""))[:40], str(form.get(f"rusmidler-{i}-grad", ""))[:40]) for i in range(rows)]
        return state

    # ------------------------------------------------------------------ substance rows

    def add_row(self) -> None:
        """A new empty row; focus goes to its first input (where the user continues)."""
        if len(self.rows) >= MAX_ROWS:
            self.problems["rusmidler"] = f"højst {MAX_ROWS} rusmidler, hvert stof én gang"
            self.focus = "rusmidler-tilfoej"
            return
        self.rows.append(("", ""))
        self.focus = f"rusmidler-{len(self.rows) - 1}-stof"

    def remove_row(self, index: int) -> None:
        """Remove a row; focus stays at the same place: the row that moved up, else 'Tilføj rusmiddel'."""
        if 0 <= index < len(self.rows):
            del self.rows[index]
        self.focus = f"rusmidler-{index}-fjern" if index < len(self.rows) else "rusmidler-tilfoej"

    # ------------------------------------------------------------------ to the engine and back

    def body(self) -> tuple[dict[str, Any], list[int]]:
        """The API request body, and for each sent substance the row it came from."""
        body: dict[str, Any] = {}
        for name, kind in _KINDS.items():
            if kind == "flag":
                body[name] = name in self.flags
                continue
            raw = self.values.get(name, "").strip()
            if raw:
                body[name] = int(raw) if kind == "int" and re.fullmatch(r"-?\d{1,9}", raw) else raw
        rusmidler, index_map = [], []
        for i, (stof, grad) in enumerate(self.rows):
            if stof or grad:
                rusmidler.append({k: v for k, v in (("stof", stof), ("grad", grad)) if v})
                index_map.append(i)
        body["rusmidler"] = rusmidler
        return body, index_map

    def without_cpr(self) -> "FormState":
        """The form as it may be shown again: any value that could carry a CPR number is emptied
        and says so beside its field (never written back into the page, whichever field it was in)."""
        for name, value in list(self.values.items()):
            if value and looks_like_cpr(value):
                self.values[name] = ""
                self.problems[name] = CPR_EMPTIED
        for i, (stof, grad) in enumerate(self.rows):
            if looks_like_cpr(stof) or looks_like_cpr(grad):
                self.rows[i] = ("", "")
                self.problems[f"rusmidler-{i}-stof"] = CPR_EMPTIED
        return self

    def set_problems(self, problems: list[tuple[str, str]], index_map: list[int]) -> None:
        """Put each problem beside its input (a row problem on the row the user typed it in)."""
        for felt, besked in problems:
            match = _ROW_PROBLEM.match(felt)
            if match:
                sent = int(match.group(1))
                row = index_map[sent] if sent < len(index_map) else sent
                key = f"rusmidler-{row}-{match.group(2) or 'stof'}"
            elif felt in _KINDS or felt == "rusmidler":
                key = felt
            else:
                self.other_problems.append(f"{FIELDS[felt].label}: {besked}" if felt in FIELDS else besked)
                continue
            self.problems.setdefault(key, _plain_message(key, besked))
        self.focus = None  # the error summary takes focus

    def error_list(self) -> list[tuple[str, str, str]]:
        """(input id, label, message) for the summary at the top of the form."""
        out = []
        for key, message in self.problems.items():
            if key.startswith("rusmidler-"):
                _, row, part = key.split("-")
                out.append((key, f"Rusmiddel {int(row) + 1}, {ROW_LABELS[part].lower()}", message))
            elif key == "rusmidler":
                out.append(("rusmidler-tilfoej", FIELDS["rusmidler"].label, message))
            else:
                out.append((key, FIELDS[key].label, message))
        return out

    @property
    def has_problems(self) -> bool:
        return bool(self.problems or self.other_problems)


def _plain_message(key: str, besked: str) -> str:
    """The engine lists allowed values by their codes; a form offers them as choices instead."""
    if besked.startswith("ugyldig værdi"):
        return "vælg en af mulighederne på listen"
    return besked


# --------------------------------------------------------------------------- the caseworker's afgørelse

UDFALD_VALG = (("fulgt", "Anbefalingen er fulgt"), ("afveget", "Der er afveget fra anbefalingen (angiv tilbud og begrundelse)"),
               ("afvist_af_borger", "Borgeren har afvist tilbuddet (angiv begrundelse)"))
AFGOERELSE_LABELS = {"udfald": "Afgørelse", "begrundelse": "Begrundelse", "dato": "Afgørelsens dato", "tilbud": "Tilbud i stedet"}


@dataclass
class AfgoerelseForm:
    """The afgørelse form as typed, with problems beside their inputs (ids: udfald, tilbud-<spor>, begrundelse, dato)."""

    udfald: str = ""
    tilbud: dict[str, str] = field(default_factory=dict)
    begrundelse: str = ""
    dato: str = ""
    problems: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Mapping[str, Any], spor: tuple[str, ...]) -> "AfgoerelseForm":
        tilbud = {s: str(form.get(f"tilbud-{s}", ""))[:80] for s in spor if form.get(f"tilbud-{s}")}
        return cls(str(form.get("udfald", ""))[:40], tilbud, str(form.get("begrundelse", ""))[:4000], str(form.get("dato", ""))[:20])

    def body(self) -> dict[str, Any]:
        """The API request body (POST /v1/vurderinger/{id}/afgoerelse)."""
        body: dict[str, Any] = {"udfald": self.udfald}
        if self.udfald == "afveget" and self.tilbud:
            body["tilbud"] = dict(self.tilbud)
        if self.begrundelse.strip():
            body["begrundelse"] = self.begrundelse
        if self.dato.strip():
            body["dato"] = self.dato.strip()
        return body

    def without_cpr(self) -> "AfgoerelseForm":
        """The form as it may be shown again: a begrundelse that could carry a CPR number is emptied."""
        if self.begrundelse and looks_like_cpr(self.begrundelse):
            self.begrundelse = ""
            self.problems.setdefault("begrundelse", CPR_EMPTIED)
        return self

    def set_problem(self, felt: str, besked: str) -> None:
        """A problem from the service ('tilbud.behandling', 'begrundelse', ...) beside its input."""
        key = felt.replace(".", "-") if felt.startswith("tilbud.") else felt
        if key not in ("udfald", "begrundelse", "dato") and not key.startswith("tilbud"):
            key = "udfald"
        self.problems.setdefault(key, besked)

    def error_list(self, spor_navn: Mapping[str, str]) -> list[tuple[str, str, str]]:
        out = []
        for key, message in self.problems.items():
            if key.startswith("tilbud-"):
                spor = key.split("-", 1)[1]
                out.append((key, f"Tilbud i stedet ({spor_navn.get(spor, spor)})", message))
            elif key == "tilbud":
                out.append(("afgoerelse-tilbud", AFGOERELSE_LABELS["tilbud"], message))
            else:
                out.append((key if key != "udfald" else "udfald-fulgt", AFGOERELSE_LABELS[key], message))
        return out
