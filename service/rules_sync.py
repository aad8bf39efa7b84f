"""Rules in force, the same in every process.

A reload validates the files, swaps the engines of this process and records
the new fingerprint in the database. Before every evaluation each process
compares its own fingerprint with the recorded one (one indexed read) and
reloads from the files when they differ, so with --workers N or several hosts
on one PostgreSQL a decision never depends on which process answers.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from engine.versions import RuleSetVersion
from service import logs

log = logging.getLogger(logs.LOGGER)
ALL = "*"


def fingerprint(engines: Any) -> str:
    """Every municipality's versions and the published layer it uses (a publication always changes it)."""
    parts = sorted(f"{k}:{v.sha256}" for k, e in engines.all().items() for v in e.versions())
    parts += sorted(f"lag:{k}:{sha}" for k, sha in getattr(engines, "published", {}).items())
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


class RulesSync:
    def __init__(self, engines: Any, store: Any):
        self.engines = engines
        self.store = store
        self._lock = threading.Lock()
        self.current = fingerprint(engines)
        self.store.set_active_rules(ALL, self.current)

    def reload(self) -> dict[str, tuple[RuleSetVersion, ...]]:
        """Validate and apply the files here, then tell every other process (RulesInvalid keeps the old rules)."""
        with self._lock:
            versions = self.engines.reload()
            self.current = fingerprint(self.engines)
            self.store.set_active_rules(ALL, self.current)
            return versions

    def ensure_current(self) -> None:
        """Reload when another process has put different rules in force."""
        recorded = self.store.active_rules(ALL)
        if recorded is None or recorded == self.current:
            return
        with self._lock:
            if self.store.active_rules(ALL) == self.current:
                return
            self.engines.reload()
            self.current = fingerprint(self.engines)
            log.info("regelsæt genindlæst fra en anden proces", extra={"haendelse": "genindlaest_fra_anden_proces",
                                                                        "fingeraftryk": self.current})
            if self.current != recorded:
                # The files changed again since the other process read them: ours are newer; say so to everyone.
                self.store.set_active_rules(ALL, self.current)
