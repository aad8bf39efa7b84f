"""Rule folders with the test layers: a copy of regler/ with the invented layers of
tests/fixtures/kommuner/ (eksempelkommune: local offers and an under-25 restriction;
rsukommune: only the shared RSU layer, from a date) beside the four shipped
municipalities. The shipped rules hold no invented layer."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from support.paths import FIXTURES, RULES

TEST_LAYERS = FIXTURES / "kommuner"
_made: dict[str, Path] = {}


def add_test_layers(rules: Path) -> Path:
    """Put the test layers into a rule folder (a copy, never the shipped one); returns it."""
    assert rules.resolve() != RULES.resolve(), "the shipped rules never get a test layer"
    for layer in sorted(TEST_LAYERS.glob("*.yaml")):
        shutil.copyfile(layer, rules / "misbrug" / "kommune" / layer.name)
    return rules


def copy_with_test_layers(target: Path) -> Path:
    """A copy of regler/ at `target` with the test layers."""
    shutil.copytree(RULES, target)
    return add_test_layers(target)


def rules_with_test_layers() -> Path:
    """One shared, read-only copy per test process (made on first use, removed at exit)."""
    if "dir" not in _made:
        base = Path(tempfile.mkdtemp(prefix="visitator-testlag-"))
        atexit.register(shutil.rmtree, base, True)
        _made["dir"] = copy_with_test_layers(base / "regler")
    return _made["dir"]
