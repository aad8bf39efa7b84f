"""The server-rendered pages in-process (no browser): sign-in, CSRF, roles, forms, pages."""
from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import create_token
from service.settings import Settings

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "web.db"
    app = create_app(Settings(db_url=f"sqlite:///{db}", today=lambda: TODAY))
    storage = app.state.storage
    tokens = {role: create_token(storage, role) for role in ("visitator", "revisor", "redaktoer")}
    return app, tokens


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(app, token: str, host: str = "http://127.0.0.1") -> TestClient:
    client = TestClient(app, base_url=host, follow_redirects=False)
    page = client.get("/log-ind")
    r = client.post("/log-ind", data={"csrf": csrf_of(page.text), "token": token, "naeste": ""})
    assert r.status_code == 303, r.text
    return client


FORM = {"alder": "34", "henvendelsesdato": "2026-11-02", "vurderingsdato": "2026-11-03", "boligsituation": "egen_bolig",
        "antal_rusmidler": "2", "rusmidler-0-stof": "alkohol", "rusmidler-0-grad": "afhaengighed",
        "rusmidler-1-stof": "cannabis", "rusmidler-1-grad": "skadeligt", "handling": "vurder"}


def test_sign_in_sets_a_strict_httponly_cookie_without_the_token(web):
    app, tokens = web
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    assert client.get("/visitation").headers["location"].startswith("/log-ind")
    assert client.post("/log-ind", data={"csrf": "forkert", "token": tokens["visitator"]}).status_code == 403
    page = client.get("/log-ind")
    bad = client.post("/log-ind", data={"csrf": csrf_of(page.text), "token": "vst_ukendt"})
    assert bad.status_code == 401 and "ukendt" in bad.text and "vst_ukendt" not in bad.text
    page = client.get("/log-ind")
    r = client.post("/log-ind", data={"csrf": csrf_of(page.text), "token": tokens["visitator"]})
    assert r.status_code == 303 and r.headers["location"] == "/visitation"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Secure" not in cookie
    assert tokens["visitator"] not in cookie
    assert client.get("/visitation").status_code == 200


def test_cookie_is_secure_on_a_non_loopback_host(web):
    app, tokens = web
    client = TestClient(app, base_url="https://visitation.example.dk", follow_redirects=False)
    page = client.get("/log-ind")
    r = client.post("/log-ind", data={"csrf": csrf_of(page.text), "token": tokens["revisor"]})
    assert "Secure" in r.headers["set-cookie"]


def test_posts_without_the_session_csrf_token_are_refused(web):
    app, tokens = web
    client = login(app, tokens["visitator"])
    r = client.post("/visitation", data=FORM)
    assert r.status_code == 403
    r = client.post("/visitation", data={**FORM, "csrf": "x" * 40})
    assert r.status_code == 403


def test_roles_are_enforced(web):
    app, tokens = web
    client = login(app, tokens["visitator"])
    assert client.get("/revision").status_code == 403
    assert client.get("/regler/konsekvens").status_code == 403
    revisor = login(app, tokens["revisor"])
    assert revisor.get("/visitation").status_code == 403


def test_visitation_logs_the_decision_and_shows_the_result(web):
    app, tokens = web
    client = login(app, tokens["visitator"])
    csrf = csrf_of(client.get("/visitation").text)
    r = client.post("/visitation", data={**FORM, "csrf": csrf})
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    text = page.text
    assert "Misbrugscentret – ambulant behandling" in text
    assert "Serviceloven § 101, stk. 1" in text and "Sundhedsloven § 142" in text
    assert "16. november 2026" in text and "Hvorfor ikke mindre indgribende?" in text
    assert "Anonym ambulant behandling" in text  # the less intrusive offer that was not suitable
    assert app.state.storage.verify_chain().antal >= 1
    printable = client.get(r.headers["location"] + "?print=1").text
    assert "<details open>" in printable


def test_add_and_remove_substance_rows_without_javascript(web):
    app, tokens = web
    client = login(app, tokens["visitator"])
    csrf = csrf_of(client.get("/visitation").text)
    r = client.post("/visitation", data={**FORM, "csrf": csrf, "handling": "tilfoej", "alder": "abc"})
    assert r.status_code == 200 and 'id="rusmidler-2-stof"' in r.text and 'value="abc"' in r.text
    r = client.post("/visitation", data={**FORM, "csrf": csrf, "handling": "fjern-0"})
    assert 'id="rusmidler-1-stof"' not in r.text
    assert re.search(r'id="rusmidler-0-stof".*?<option value="cannabis" selected>', r.text, re.S)


def test_validation_messages_sit_beside_their_fields_and_keep_input(web):
    app, tokens = web
    client = login(app, tokens["visitator"])
    csrf = csrf_of(client.get("/visitation").text)
    data = {**FORM, "csrf": csrf, "alder": "130", "rusmidler-1-grad": "", "gravid": "ja", "borger_reference": "sag-17"}
    r = client.post("/visitation", data=data)
    assert r.status_code == 422
    assert 'id="alder-fejl"' in r.text and "skal være mellem 0 og 120" in r.text
    assert 'id="rusmidler-1-grad-fejl"' in r.text and "feltet mangler" in r.text
    assert 'value="130"' in r.text and 'value="sag-17"' in r.text
    assert re.search(r'id="gravid" name="gravid" value="ja" checked', r.text)
    assert 'aria-invalid="true"' in r.text


def test_revisor_list_decision_replay_and_chain(web):
    app, tokens = web
    visitator = login(app, tokens["visitator"])
    visitator.post("/visitation", data={**FORM, "csrf": csrf_of(visitator.get("/visitation").text)})
    client = login(app, tokens["revisor"])
    page = client.get("/revision")
    assert page.status_code == 200 and "Loggen er intakt" in page.text
    record_id = re.search(r'href="/revision/([0-9A-Z]{26})"', page.text).group(1)
    assert client.get("/revision?kategori=ambulant&spor=behandling&fra=2020-01-01").status_code == 200
    assert client.get("/revision?fra=igaar").status_code == 422
    assert "CPR" in client.get("/revision?borger_reference=311299-9999").text
    decision = client.get(f"/revision/{record_id}")
    assert decision.status_code == 200 and "Fuldt spor" in decision.text
    replay = client.post(f"/revision/{record_id}/genberegn", data={"csrf": csrf_of(decision.text)})
    assert replay.status_code == 200 and "Identisk med det gemte svar: ja" in replay.text


def test_redaktoer_versions_rules_and_impact(web):
    app, tokens = web
    client = login(app, tokens["redaktoer"])
    page = client.get("/regler")
    assert page.status_code == 200
    sha = re.search(r'href="/regler/([0-9a-f]{64})"', page.text).group(1)
    rules = client.get(f"/regler/{sha}")
    assert rules.status_code == 200 and "Serviceloven §" in rules.text and ".yaml:" in rules.text
    versions = [v.version for v in app.state.engine.versions() if not v.afventer]
    r = client.get(f"/regler/konsekvens?fra={versions[0]}&til={versions[-1]}")
    assert r.status_code == 200 and "screeninger får et andet resultat" in r.text


def test_sign_out(web):
    app, tokens = web
    client = login(app, tokens["visitator"])
    html = client.get("/visitation").text
    r = client.post("/log-ud", data={"csrf": csrf_of(html)})
    assert r.status_code == 303 and 'visitator_session=""' in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/visitation").status_code == 303
