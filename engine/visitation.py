"""The engine's front door: load a rule set, pick the version for a date, and
run a screening through evaluate -> select -> explain, on every core.

Every decision is computed by each core (durable-rules and the plain-Python
reference evaluator) and the typed decisions are compared: the rules that
fired, the need levels, the selection per track, the deadlines, the notes,
everything the response is rendered from. If any two disagree, no decision
is returned (CoresDisagree). The CLI and the HTTP service are thin shells
around `Engine`; neither evaluates anything itself. Reloading validates the
new files completely before they replace the rules in service.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from engine.api import VurderingsSvar, to_api
from engine.compile import CompiledVersion, compile_version
from engine.decision import Decision
from engine.evaluate import Core, ReferenceCore, durable_core
from engine.explain import narrative
from engine.law import LawBook
from engine.model import RuleBook
from engine.problems import Position, Problem
from engine.screening import _ScreeningBase, parse_screening
from engine.select import select
from engine.validate import LAW_DIR, RulesInvalid, load_rulebook
from engine.versions import (
    DateNotCovered,
    MemorySnapshotStore,
    RuleSetVersion,
    SnapshotStore,
    UnknownVersion,
    first_covered_date,
    version_from_snapshot,
    versions_of,
)

DEFAULT_RULE_SET = "misbrug"


def default_rules_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "regler"


class CoresDisagree(Exception):
    """Two cores gave different decisions; nothing may be answered or stored."""

    def __init__(self, version_key: str, cores: tuple[str, str], fields_differing: list[str]):
        self.version_key = version_key
        self.cores = cores
        self.fields = fields_differing
        super().__init__(f"kernerne {cores[0]} og {cores[1]} er uenige under {version_key}: {', '.join(fields_differing)}")


def differences(a: Decision, b: Decision) -> list[str]:
    """The names of the parts in which two decisions differ (never their content)."""
    out: list[str] = []
    for f in fields(Decision):
        if f.name == "cores":
            continue
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if va == vb:
            continue
        if f.name == "tracks":
            ta = {t.spor: t for t in va}
            tb = {t.spor: t for t in vb}
            for spor in sorted(set(ta) | set(tb)):
                if spor not in ta or spor not in tb:
                    out.append(f"spor.{spor}")
                    continue
                for g in ("need", "chosen", "verdicts", "lovgrundlag", "rights", "no_alternative", "need_set_by"):
                    if getattr(ta[spor], g) != getattr(tb[spor], g):
                        out.append(f"spor.{spor}.{g}")
        elif f.name == "rules":
            ids_a = [r.rule.id for r in va]
            ids_b = [r.rule.id for r in vb]
            out.append("regler_fyret" if ids_a != ids_b else "regler_anvendt")
        else:
            out.append(f.name)
    return out


@dataclass(frozen=True)
class _Loaded:
    book: RuleBook
    law: LawBook
    versions: tuple[RuleSetVersion, ...]
    first: date


def load_rules(rules_dir: Path, name: str, kommune: Optional[str] = None) -> _Loaded:
    """Validate a rule set (the law layer and one municipality's layer) and the law history
    beside it; raise RulesInvalid (with file:line) on any problem."""
    set_dir = rules_dir / name
    if not set_dir.is_dir():
        raise RulesInvalid([Problem(Position(str(set_dir), 1, 1), f"regelsættet '{name}' findes ikke i {rules_dir}")])
    book, law = load_rulebook(set_dir, shown_root=rules_dir.parent, law_dir=rules_dir / LAW_DIR, kommune=kommune)
    versions = tuple(versions_of(book, law))
    return _Loaded(book, law, versions, first_covered_date(book, law))


class Engine:
    """Evaluates screenings against versioned rule files, on every core."""

    def __init__(
        self,
        rules_dir: Optional[Path] = None,
        *,
        rule_set: str = DEFAULT_RULE_SET,
        kommune: Optional[str] = None,
        core: str = "durable",
        cores: Optional[Sequence[Core]] = None,
        store: Optional[SnapshotStore] = None,
        today: Callable[[], date] = date.today,
    ):
        """`core="durable"` runs durable-rules and the reference evaluator and compares
        them; `core="reference"` runs only the reference (bulk tools, where `rules
        verify --cores` proves the two equal). `cores` replaces the list (tests)."""
        self.rules_dir = Path(rules_dir) if rules_dir else default_rules_dir()
        self.rule_set = rule_set
        self.kommune = kommune
        self.store: SnapshotStore = store if store is not None else MemorySnapshotStore()
        self.today = today
        if cores is not None:
            self.cores: tuple[Core, ...] = tuple(cores)
        elif core == "durable":
            self.cores = (durable_core(), ReferenceCore())
        else:
            self.cores = (ReferenceCore(),)
        self._compiled: dict[str, CompiledVersion] = {}
        self._stored: set[str] = set()
        self._compile_lock = threading.Lock()
        self._loaded = load_rules(self.rules_dir, rule_set, kommune)
        for version in self._loaded.versions:
            if not version.afventer:
                self._prepare(version)

    # ------------------------------------------------------------------ versions

    @property
    def book(self) -> RuleBook:
        return self._loaded.book

    @property
    def law(self) -> LawBook:
        return self._loaded.law

    @property
    def core_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cores)

    def versions(self) -> tuple[RuleSetVersion, ...]:
        return self._loaded.versions

    def version_for(self, day: date) -> RuleSetVersion:
        loaded = self._loaded
        if day < loaded.first:
            raise DateNotCovered(day, loaded.first)
        current = None
        for version in loaded.versions:
            if not version.afventer and version.gyldig_fra <= day:
                current = version
        assert current is not None
        return current

    def version_by_sha(self, sha256: str) -> RuleSetVersion:
        for version in self._loaded.versions:
            if version.sha256 == sha256:
                return version
        snapshot = self.store.get(sha256)
        if snapshot is None:
            raise UnknownVersion(f"ingen kendt version af regelsættet har sha256 {sha256}")
        return version_from_snapshot(snapshot)

    def check_files(self) -> tuple[RuleSetVersion, ...]:
        """Validate and compile the files on disk (exactly as a reload would) without
        putting them in service. Raises RulesInvalid; returns the versions they give."""
        loaded = load_rules(self.rules_dir, self.rule_set, self.kommune)
        for version in loaded.versions:
            if not version.afventer:
                compile_version(version)
        return loaded.versions

    def reload(self) -> tuple[RuleSetVersion, ...]:
        """Validate the files on disk and only then put them in service.

        Raises RulesInvalid (and keeps the current rules) if any file is wrong."""
        loaded = load_rules(self.rules_dir, self.rule_set, self.kommune)
        for version in loaded.versions:
            if not version.afventer:
                self._prepare(version)
        self._loaded = loaded
        return loaded.versions

    def compiled(self, version: RuleSetVersion) -> CompiledVersion:
        """The compiled form of a version (compiled once, then cached)."""
        return self._prepare(version)

    def _prepare(self, version: RuleSetVersion) -> CompiledVersion:
        compiled = self._compiled.get(version.sha256)
        if compiled is not None:
            return compiled
        with self._compile_lock:
            compiled = self._compiled.get(version.sha256)
            if compiled is None:
                compiled = compile_version(version)
                for core in self.cores:
                    core.prepare(compiled)
                self._compiled[version.sha256] = compiled
        return compiled

    # ------------------------------------------------------------------ evaluation

    def parse(self, data: Any) -> _ScreeningBase:
        """The one validation boundary (raises ScreeningInvalid with Danish messages)."""
        return parse_screening(data, today=self.today())

    def decide(self, screening: _ScreeningBase | dict[str, Any], *, sha256: Optional[str] = None) -> Decision:
        """Evaluate one screening on every core; `sha256` pins an exact past version.

        Raises CoresDisagree when any core's decision differs from the first's."""
        if not isinstance(screening, _ScreeningBase):
            screening = self.parse(screening)
        vurderingsdato = screening.effective_date(self.today())
        version = self.version_by_sha(sha256) if sha256 else self.version_for(vurderingsdato)
        compiled = self._prepare(version)
        if version.sha256 not in self._stored:
            if self.store.get(version.sha256) is None:
                self.store.put(version.snapshot())
            self._stored.add(version.sha256)
        fact = screening.fact()
        rusmidler = tuple((r.stof, r.grad) for r in screening.rusmidler)
        # The cores are compared on what they compute: the blocks that hold. Selection is one
        # deterministic function of those, so it runs once for every distinct answer; when
        # two cores' answers differ, both decisions are made and every differing part named.
        answers = [core.fired(compiled, fact) for core in self.cores]
        first = select(compiled, fact, answers[0], screening.henvendelsesdato, vurderingsdato, rusmidler, self.cores[0].name)
        for core, answer in zip(self.cores[1:], answers[1:]):
            if answer != answers[0]:
                other = select(compiled, fact, answer, screening.henvendelsesdato, vurderingsdato, rusmidler, core.name)
                if not first.same_decision(other):
                    raise CoresDisagree(version.key, (self.cores[0].name, core.name), differences(first, other))
        from dataclasses import replace

        return replace(first, cores=self.core_names)

    def evaluate(self, screening: _ScreeningBase | dict[str, Any], *, sha256: Optional[str] = None) -> VurderingsSvar:
        """The API response body (without `id` and `oprettet`) for a screening."""
        decision = self.decide(screening, sha256=sha256)
        return to_api(decision, narrative(decision))
