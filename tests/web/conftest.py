"""Fixtures of the page tests (see webapp.py)."""
from __future__ import annotations

from typing import Iterator

import pytest
from web.webapp import WebApp, keys_in_env, make_web_app


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """One app with a fresh log for a test module; tests add decisions and never break the chain."""
    with keys_in_env():
        yield make_web_app(tmp_path_factory.mktemp("web"))
