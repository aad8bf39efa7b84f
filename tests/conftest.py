"""Shared fixtures: one durable-rules engine and one reference engine per test
session (durable-rules cannot register a rule set name twice, and a process has
one Host), plus a scratch copy of the rule files for tests that edit them."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from engine import Engine

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "regler"
CASES = REPO / "cases"
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(RULES, today=lambda: TODAY)


@pytest.fixture(scope="session")
def ref_engine() -> Engine:
    return Engine(RULES, core="reference", today=lambda: TODAY)


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "regler"
    shutil.copytree(RULES, target)
    return target
