"""The app in-process (FastAPI's TestClient) on a fresh SQLite database, with one
token per role, and copies of the rule folder for tests that edit rules.

The app's rules are a copy of regler/ with the test layers (support/layers.py);
its tokens belong to the invented test layer "eksempelkommune" unless a test
names other municipalities."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Optional

with warnings.catch_warnings():  # starlette's TestClient warns about httpx on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from support.layers import copy_with_test_layers, rules_with_test_layers
from support.paths import TODAY

ROLES = ("visitator", "revisor", "redaktoer")
KOMMUNE = "eksempelkommune"


@dataclass
class App:
    client: TestClient
    tokens: dict[str, str]
    app: Any

    @property
    def store(self) -> Any:
        return self.app.state.store

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def post(self, body: Any, role: str = "visitator") -> Any:
        return self.client.post("/v1/vurderinger", json=body, headers=self.headers(role))


def make_app(tmp_path: Path, today: date = TODAY, rules_dir: Optional[Path] = None, kommuner: tuple[str, ...] = (KOMMUNE,),
             db_url: Optional[str] = None, **settings: Any) -> App:
    from service.app import create_app
    from service.settings import Settings

    url = db_url or f"sqlite:///{tmp_path / 'v.db'}"
    app = create_app(Settings(db_url=url, rules_dir=rules_dir or rules_with_test_layers(), today=lambda: today, kommuner=kommuner,
                              **settings))
    tokens = {role: app.state.store.create_token(role, kommuner[0], f"test-{role}")[0] for role in ROLES}
    return App(TestClient(app), tokens, app)


def copy_rules(tmp_path: Path) -> Path:
    """A scratch copy of regler/ with the test layers."""
    return copy_with_test_layers(tmp_path / "regler")
