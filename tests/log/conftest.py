"""Fixtures for the decision-log tests: a store on SQLite and on PostgreSQL (a throwaway cluster),
a factory for decisions, and raw SQL access for tampering."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

# tests/ on the path also for the writer subprocesses of test_processes.py, which import this file.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.log import Store, open_store  # noqa: E402
from support.pg import pg_url  # noqa: E402


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "pg: needs PostgreSQL (a throwaway cluster is started)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(params=BACKENDS)
def url(request: Any, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    return pg_url()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = open_store(url)
    yield s
    s.close()


from support.logdata import afg, dec, sql  # noqa: E402,F401 - re-exported for older imports
