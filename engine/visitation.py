"""The engine's front door: load a rule set, pick the version for a date, and
run a screening through evaluate -> select -> trace -> explain.

The CLI and the HTTP service are thin shells around `Engine`; neither
evaluates anything itself. Reloading validates the new files completely
before they replace the rules in service.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

from engine.compile import CompiledVersion, compile_version
from engine.evaluate import Core, ReferenceCore, durable_core
from engine.explain import narrative
from engine.fields import facts_from_screening
from engine.model import RuleBook
from engine.screening import Screening, parse_screening
from engine.select import select
from engine.trace import Decision
from engine.validate import RulesInvalid, load_rulebook
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


@dataclass(frozen=True)
class _Loaded:
    book: RuleBook
    versions: tuple[RuleSetVersion, ...]
    first: date


def _load(rules_dir: Path, name: str) -> _Loaded:
    set_dir = rules_dir / name
    if not set_dir.is_dir():
        from engine.load import LoadProblem, Position

        raise RulesInvalid([LoadProblem(Position(str(set_dir), 1, 1), f"regelsættet '{name}' findes ikke i {rules_dir}")])
    book = load_rulebook(set_dir, shown_root=rules_dir.parent)
    return _Loaded(book, tuple(versions_of(book)), first_covered_date(book))


class Engine:
    """Evaluates screenings against versioned rule files."""

    def __init__(
        self,
        rules_dir: Optional[Path] = None,
        *,
        rule_set: str = DEFAULT_RULE_SET,
        core: str = "durable",
        store: Optional[SnapshotStore] = None,
        today: Callable[[], date] = date.today,
    ):
        self.rules_dir = Path(rules_dir) if rules_dir else default_rules_dir()
        self.rule_set = rule_set
        self.store: SnapshotStore = store if store is not None else MemorySnapshotStore()
        self.today = today
        self._core: Core = durable_core() if core == "durable" else ReferenceCore()
        self._compiled: dict[str, CompiledVersion] = {}
        self._stored: set[str] = set()  # versions already in the snapshot store
        self._compile_lock = threading.Lock()
        self._loaded = _load(self.rules_dir, rule_set)
        for version in self._loaded.versions:
            if not version.afventer:
                self._prepare(version)

    # ------------------------------------------------------------------ versions

    @property
    def book(self) -> RuleBook:
        return self._loaded.book

    @property
    def core_name(self) -> str:
        return self._core.name

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
        """Validate the files on disk without putting them in service.

        Raises RulesInvalid listing every problem; returns the versions they give."""
        return _load(self.rules_dir, self.rule_set).versions

    def reload(self) -> tuple[RuleSetVersion, ...]:
        """Validate the files on disk and only then put them in service.

        Raises RulesInvalid (and keeps the current rules) if any file is wrong."""
        loaded = _load(self.rules_dir, self.rule_set)
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
                self._core.prepare(compiled)
                self._compiled[version.sha256] = compiled
        return compiled

    # ------------------------------------------------------------------ evaluation

    def decide(self, screening: Screening, *, sha256: Optional[str] = None, core: Optional[Core] = None) -> Decision:
        """Evaluate one validated screening; `sha256` pins an exact past version."""
        vurderingsdato = screening.effective_date(self.today())
        version = self.version_by_sha(sha256) if sha256 else self.version_for(vurderingsdato)
        compiled = self._prepare(version)
        if version.sha256 not in self._stored:
            if self.store.get(version.sha256) is None:
                self.store.put(version.snapshot())
            self._stored.add(version.sha256)
        fact = facts_from_screening(screening.model_dump())
        runner = core or self._core
        fired = runner.fired(compiled, fact)
        selection = select(compiled, fact, fired, screening.henvendelsesdato, vurderingsdato)
        return Decision(compiled, fact, screening.henvendelsesdato, vurderingsdato, selection, runner.name)

    def evaluate(self, screening: Screening | dict[str, Any], *, sha256: Optional[str] = None, core: Optional[Core] = None) -> dict[str, Any]:
        """The API response body (without `id` and `oprettet`) for a screening."""
        if not isinstance(screening, Screening):
            screening = parse_screening(screening)
        decision = self.decide(screening, sha256=sha256, core=core)
        return decision.to_api(narrative(decision))
