"""Stage 4, evaluate: find which compiled rules and offers hold for one fact.

Two interchangeable cores answer the same question, "which items hold?":
`DurableCore` runs the rules in durable-rules (the production inference core)
and `ReferenceCore` runs the generated plain-Python predicates (the reference
used for differential tests and bulk work). Selection and tracing happen later.

durable-rules is contained as ANCHORS.md section 4 and ENGINE-BASELINE.md say:
one Host without timer threads, facts via assert_fact, a fresh session id per
evaluation with delete_state on every path, one process-wide lock, raised glibc
malloc thresholds, exceptions inside actions surfaced, and rulesets named by
version and hash because a name cannot be registered twice.
"""
from __future__ import annotations

import ctypes
import gc
import ctypes.util
import itertools
import threading
from typing import Any, Callable, Optional, Protocol

from durable import engine as durable_engine

from engine.compile import MARKER_FIELD, MARKER_VALUE, CompiledVersion
from engine.fields import FIELDS

#: Every call into durable-rules happens under this lock (its C core is not
#: thread-safe: 12 of 20 runs segfaulted with 8 threads and no lock).
DURABLE_LOCK = threading.Lock()


class EngineFault(Exception):
    """The inference core misbehaved; the decision must not be used."""


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


class _TimerlessHost(durable_engine.Host):
    """The stock Host starts two timer threads that call into the engine outside
    any lock and can steal a session's actions (about 1 lost result in 6,000).
    Nothing here uses timers, so none are started."""

    def _run(self) -> None:
        return None


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


class DurableCore:
    """durable-rules behind one lock, one Host and one session per evaluation."""

    name = "durable"

    def __init__(self) -> None:
        tune_malloc()
        self._host = _TimerlessHost()
        self._registered: set[str] = set()
        self._sink: Optional[list[int]] = None
        self._session_ids = itertools.count(1)

    def _action_for(self, index: int) -> Callable[[Any], None]:
        # A one-argument function, so durable-rules runs it synchronously.
        def action(c: Any) -> None:
            sink = self._sink
            if sink is None:
                raise EngineFault("en regel blev udført uden for en evaluering")
            sink.append(index)

        return action

    def prepare(self, compiled: CompiledVersion) -> None:
        """Register a compiled version once, then run one self-check evaluation.

        The self-check matters: durable-rules segfaults on delete_state if the
        first fact a ruleset ever sees is unhandled; a first handled fact avoids it."""
        with DURABLE_LOCK:
            if compiled.key in self._registered:
                return
            self._host.set_rulesets({compiled.key: compiled.durable_definition(self._action_for)})
            self._registered.add(compiled.key)
        probe = {name: _probe_value(name) for name in FIELDS}
        self.fired(compiled, probe)

    def fired(self, compiled: CompiledVersion, fact: dict[str, Any]) -> list[int]:
        if compiled.key not in self._registered:
            self.prepare(compiled)
        base = len(compiled.items)
        message = dict(fact)
        sink: list[int] = []
        with DURABLE_LOCK:
            sid = f"v{next(self._session_ids)}"
            message["sid"] = sid
            message[MARKER_FIELD] = MARKER_VALUE
            self._sink = sink
            try:
                try:
                    state = self._host.assert_fact(compiled.key, message)
                except durable_engine.MessageNotHandledException:
                    # No rule applied. Not reachable while the base rule exists;
                    # no session was created, so there is nothing to delete.
                    return []
                try:
                    if state is None:
                        raise EngineFault("durable-rules returnerede intet resultat (tabt resultat)")
                    if "exception" in state:
                        raise EngineFault(f"en handling i durable-rules fejlede: {str(state['exception'])[:200]}")
                finally:
                    self._host.delete_state(compiled.key, sid)
            finally:
                self._sink = None
        if base not in sink:
            raise EngineFault("durable-rules udførte ikke basisreglen; resultatet kan ikke bruges")
        # A rule whose conditions contain `en_af` fires once per alternative that
        # holds (durable-rules expands $or into branches), so count each once.
        held = set(sink)
        held.discard(base)
        held.update(compiled.always)
        return sorted(held)


def _probe_value(name: str) -> Any:
    spec = FIELDS[name]
    if spec.type == "sandhed":
        return False
    if spec.type == "heltal":
        return 30 if name == "alder" else 0
    return spec.vaerdier[0]


def settle_heap() -> None:
    """Call once after start-up: moves everything built so far (the compiled
    rule sets above all) out of the garbage collector's scans. The durable-rules
    path allocates many short-lived objects per evaluation, and each collection
    would otherwise walk the long-lived rule structures again."""
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
