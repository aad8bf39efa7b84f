"""Where the project's files are, and a fixed 'today' for tests."""
from __future__ import annotations

from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "regler"
CASES = REPO / "cases"
FIXTURES = REPO / "tests" / "fixtures"
TODAY = date(2026, 11, 23)
