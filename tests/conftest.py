"""Registers the shared fixtures of tests/support (see its modules), and keeps the
inner loop (`pytest -m "not slow"`) free of anything that starts a server: a test
marked pg, browser or process is also slow."""
from typing import Any

import pytest

pytest_plugins = ["support.engines", "support.server", "support.pg"]

_HEAVY = ("pg", "browser", "process")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in _HEAVY) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
