"""Engines for tests: one per process and kind (durable-rules registers a ruleset
name once per process, and building an engine compiles every version)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import Engine
from support.paths import RULES, TODAY


@pytest.fixture(scope="session")
def engine() -> Engine:
    """Both cores, compared on every decision (as the service runs)."""
    return Engine(RULES, today=lambda: TODAY)


@pytest.fixture(scope="session")
def ref_engine() -> Engine:
    """The reference evaluator only (bulk tools)."""
    return Engine(RULES, core="reference", today=lambda: TODAY)


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    """A scratch copy of regler/ for tests that edit rule files."""
    target = tmp_path / "regler"
    shutil.copytree(RULES, target)
    return target
