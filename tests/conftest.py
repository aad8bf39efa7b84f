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


@pytest.fixture(scope="session")
def shuffled_engine(tmp_path_factory) -> Engine:
    """The shipped rules with the blocks of every file in a different order."""
    import random

    import yaml

    target = tmp_path_factory.mktemp("shuffled") / "regler"
    shutil.copytree(RULES, target)
    rng = random.Random(20261123)
    for path in sorted(target.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("regler", "tilbud"):
            if key in data:
                rng.shuffle(data[key])
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Engine(target, core="reference", today=lambda: TODAY)


def without_positions(response: dict) -> dict:
    """A response with file:line positions and the content hash taken out:
    the only things that may change when blocks in a rule file are reordered."""
    import json
    import re

    text = re.sub(r"regler/[\w/.-]+\.yaml:\d+", "POS", json.dumps(response, ensure_ascii=False))
    out = json.loads(text)
    out["regelsaet"].pop("sha256")
    return out
