"""The app for the page tests, in-process: a fresh log in a temporary folder, one token per
role, and helpers to sign in and post forms as a browser would (no JavaScript).

Written here because tests/support has no app helper yet; when tests/support/app.py
(make_app) lands these helpers can delegate to it.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Optional

from fastapi.testclient import TestClient

TODAY = date(2026, 11, 23)
ROLES = ("visitator", "revisor", "redaktoer")
KOMMUNE = "eksempelkommune"

#: API.md's example as the form sends it (two substances).
FORM = {"alder": "34", "henvendelsesdato": "2026-11-02", "vurderingsdato": "2026-11-03", "boligsituation": "egen_bolig",
        "antal_rusmidler": "2", "rusmidler-0-stof": "alkohol", "rusmidler-0-grad": "afhaengighed",
        "rusmidler-1-stof": "cannabis", "rusmidler-1-grad": "skadeligt", "handling": "vurder"}


@dataclass
class WebApp:
    app: Any
    tokens: dict[str, str]
    db: Path

    def client(self, host: str = "http://127.0.0.1") -> TestClient:
        return TestClient(self.app, base_url=host, follow_redirects=False)

    def login(self, role: str, host: str = "http://127.0.0.1") -> TestClient:
        """Sign in as a person does: open the form, paste the token, submit."""
        client = self.client(host)
        page = client.get("/log-ind")
        r = client.post("/log-ind", data={"csrf": csrf_of(page.text), "token": self.tokens[role], "naeste": ""})
        assert r.status_code == 303, r.text
        return client

    def api(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def new_token(self, role: str) -> str:
        return self.app.state.store.create_token(role, KOMMUNE, "test")[0]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def evaluate(client: TestClient, **changes: str) -> str:
    """Submit the screening form; the new decision's id."""
    csrf = csrf_of(client.get("/visitation").text)
    r = client.post("/visitation", data={**FORM, **changes, "csrf": csrf})
    assert r.status_code == 303, r.text[:2000]
    return str(r.headers["location"]).rsplit("/", 1)[1]


@contextmanager
def keys_in_env() -> Iterator[None]:
    """The log's two keys from the environment (the app then never writes key files)."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VISITATOR_HMAC_KEY", "h" * 48)
        mp.setenv("VISITATOR_LOG_KEY", "l" * 48)
        yield


def make_web_app(folder: Path, today: date = TODAY, rules_dir: Optional[Path] = None, public_url: Optional[str] = None) -> WebApp:
    from service.app import create_app
    from service.settings import Settings

    db = folder / "web.db"
    from support.layers import rules_with_test_layers

    # The invented test layer (support/layers.py): the shipped rules hold only real municipalities.
    app = create_app(Settings(db_url=f"sqlite:///{db}", today=lambda: today, rules_dir=rules_dir or rules_with_test_layers(),
                              kommuner=(KOMMUNE,), public_url=public_url))
    store = app.state.store
    if not hasattr(store, "token_by_id"):  # interface gap: service.sessions needs Store.token_by_id (reported)
        type(store).token_by_id = lambda self, token_id: next((t for t in self.list_tokens() if t.id == token_id), None)
    tokens = {role: store.create_token(role, KOMMUNE, f"test {role}")[0] for role in ROLES}
    return WebApp(app, tokens, db)


def page_text(html: str) -> str:
    """The visible text of a page's main element (tags removed, whitespace collapsed)."""
    import html as html_lib

    main = html[html.find("<main"):] if "<main" in html else html
    text = re.sub(r"<[^>]+>", " ", main)
    return re.sub(r"\s+", " ", html_lib.unescape(text))


def without_details(html: str) -> str:
    """The page without its 'Detaljer' disclosures (where auditors' codes are allowed)."""
    return re.sub(r'<details class="detaljer".*?</details>', "", html, flags=re.S)
