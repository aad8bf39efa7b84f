"""Stage 5, evaluate: find which compiled blocks hold for one fact.

Two interchangeable cores answer the same question, "which blocks hold?":
`DurableCore` runs the rules in durable-rules (the Rete inference core) and
`ReferenceCore` runs the generated plain-Python predicates. The engine runs
both on every decision and refuses to answer when they disagree
(engine.visitation); `rules verify --cores` compares them over the whole
input space. Selection and tracing happen later.

durable-rules is contained as ANCHORS.md section 4 and ENGINE-BASELINE.md
measured: its C core is driven directly (no Host, so no timer threads that
steal a session's actions, no Python action callbacks whose exceptions it
would swallow); facts go in via assert_fact; a fresh session id per
evaluation with delete_state on every path; one process-wide lock; raised
glibc malloc thresholds; and rulesets named by version and hash, because a
name cannot be registered twice.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import json
import threading
from typing import Any, Optional, Protocol

import durable_rules_engine as dre  # the C core of durable-rules

from engine.compile import MARKER_FIELD, MARKER_VALUE, CompiledVersion
from engine.fields import FACT_FIELDS

#: Every call into durable-rules happens under this lock (its C core is not
#: thread-safe: 12 of 20 runs segfaulted with 8 threads and no lock).
DURABLE_LOCK = threading.Lock()

#: durable-rules' answer when no rule matched the fact (ERR_EVENT_NOT_HANDLED).
_NOT_HANDLED = 1


class EngineFault(Exception):
    """An inference core misbehaved; the decision must not be used."""


class Core(Protocol):
    name: str

    def prepare(self, compiled: CompiledVersion) -> None: ...

    def fired(self, compiled: CompiledVersion, fact: dict[str, Any]) -> list[int]: ...


class ReferenceCore:
    """Plain-Python evaluation of the same compiled conditions."""

    name = "reference"

    def prepare(self, compiled: CompiledVersion) -> None:
        return None

    def fired(self, compiled: CompiledVersion, fact: dict[str, Any]) -> list[int]:
        return compiled.reference_fired(fact)


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_malloc_tuned = False


def tune_malloc() -> bool:
    """Raise glibc's trim and mmap thresholds once per process.

    Without it each durable-rules session's index tables are returned to the OS
    and faulted in again on every evaluation (2.4x the cost in ENGINE-BASELINE).
    Returns False where mallopt is not available (not glibc)."""
    global _malloc_tuned
    if _malloc_tuned:
        return True
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        ok = libc.mallopt(_M_TRIM_THRESHOLD, 256 * 1024 * 1024) == 1
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 16 * 1024 * 1024) == 1 and ok
    except (OSError, AttributeError):
        return False
    _malloc_tuned = ok
    return ok


def _rule_name(message: str) -> str:
    """The rule that fired, from durable-rules' action message '{"r12":{...}}'."""
    if not message.startswith('{"'):
        raise EngineFault("durable-rules returnerede en uventet handling")
    return message[2:message.index('"', 2)]


class DurableCore:
    """durable-rules' C core behind one lock, one session per evaluation."""

    name = "durable"

    def __init__(self) -> None:
        tune_malloc()
        self._handles: dict[str, int] = {}
        self._session_ids = itertools.count(1)

    def prepare(self, compiled: CompiledVersion) -> None:
        """Register a compiled version once, then run one self-check evaluation.

        The self-check matters: durable-rules segfaults on delete_state if the
        first fact a ruleset ever sees is unhandled; a first handled fact avoids it."""
        with DURABLE_LOCK:
            if compiled.key in self._handles:
                return
            definition = compiled.durable_definition(lambda i: None)  # type: ignore[arg-type,return-value]
            for rule in definition.values():
                rule.pop("run", None)
            try:
                handle = dre.create_ruleset(compiled.key, json.dumps(definition, ensure_ascii=False))
            except Exception as error:  # the C core reports only a number
                raise EngineFault(f"durable-rules kunne ikke oprette regelsættet {compiled.key}: {error}") from None
            self._handles[compiled.key] = handle
        self.fired(compiled, {name: _probe_value(name) for name in FACT_FIELDS})

    def fired(self, compiled: CompiledVersion, fact: dict[str, Any]) -> list[int]:
        handle = self._handles.get(compiled.key)
        if handle is None:
            self.prepare(compiled)
            handle = self._handles[compiled.key]
        message = dict(fact)
        message[MARKER_FIELD] = MARKER_VALUE
        names: list[str] = []
        with DURABLE_LOCK:
            sid = f"v{next(self._session_ids)}"
            message["sid"] = sid
            code, state = dre.assert_fact(handle, json.dumps(message, ensure_ascii=False))
            if code == _NOT_HANDLED:
                # Not reachable while the base rule exists; no session was created.
                raise EngineFault("durable-rules håndterede ikke faktummet (basisreglen fyrede ikke)")
            try:
                result: Any = dre.start_action_for_state(handle, state)
                while result:
                    names.append(_rule_name(result[1] if isinstance(result, tuple) else result))
                    result = dre.complete_and_start_action(handle, state)
            finally:
                dre.delete_state(handle, sid)
        if "basis" not in names:
            raise EngineFault("durable-rules udførte ikke basisreglen; resultatet kan ikke bruges")
        # A rule whose conditions contain `en_af` fires once per alternative that
        # holds (durable-rules expands $or into branches), so count each once.
        held = {int(n[1:]) for n in names if n != "basis"}
        held.update(compiled.always)
        return sorted(held)


def _probe_value(name: str) -> Any:
    spec = FACT_FIELDS[name]
    if spec.type == "sandhed":
        return False
    if spec.type == "heltal":
        return 30 if name == "alder" else 0
    return spec.vaerdier[0]


def settle_heap() -> None:
    """Call once after start-up: moves everything built so far (the compiled
    rule sets above all) out of the garbage collector's scans."""
    gc.collect()
    gc.freeze()


_shared_durable: Optional[DurableCore] = None
_shared_lock = threading.Lock()


def durable_core() -> DurableCore:
    """The one process-wide durable-rules core (built on first use)."""
    global _shared_durable
    with _shared_lock:
        if _shared_durable is None:
            _shared_durable = DurableCore()
        return _shared_durable
