"""Issue 17 on the pages: every page that shows a decision is in the access log, the revisor sees who read
a decision (its page and /revision/adgangslog), the citizen's access document (/revision/borgerindsigt),
and removed content said in Danish (the caseworker's page, the revisor's page, the chain page)."""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Iterator

import pytest
from web.webapp import KOMMUNE, WebApp, csrf_of, evaluate, keys_in_env, make_web_app, page_text


@pytest.fixture
def web(tmp_path) -> Iterator[WebApp]:
    with keys_in_env():
        yield make_web_app(tmp_path)


def entries(web: WebApp) -> list:
    return web.app.state.store.access_log(KOMMUNE, limit=1000)[1]


def test_every_page_that_shows_a_decision_is_in_the_access_log(web):
    visitator, revisor = web.login("visitator"), web.login("revisor")
    vid = evaluate(visitator)
    assert entries(web) == []
    pages = [
        (visitator, "get", f"/vurdering/{vid}", "GET /vurdering/{id}"),
        (visitator, "get", f"/vurdering/{vid}?print=1", "GET /vurdering/{id}"),
        (visitator, "get", f"/vurdering/{vid}/journalnotat", "GET /vurdering/{id}/journalnotat"),
        (visitator, "get", f"/vurdering/{vid}/journalnotat.txt", "GET /vurdering/{id}/journalnotat.txt"),
        (visitator, "get", f"/vurdering/{vid}/brev", "GET /vurdering/{id}/brev"),
        (visitator, "get", "/vurderinger/mine", "GET /vurderinger/mine"),
        (revisor, "get", f"/vurdering/{vid}", "GET /vurdering/{id}"),
        (revisor, "get", "/revision", "GET /revision"),
        (revisor, "get", f"/revision/{vid}", "GET /revision/{id}"),
        (revisor, "get", "/revision/eksport?format=csv", "GET /revision/eksport"),
    ]
    for client, method, path, formaal in pages:
        before = len(entries(web))
        r = client.request(method, path)
        assert r.status_code == 200, (path, r.text[:500])
        after = entries(web)
        assert len(after) == before + 1 and after[0].formaal == formaal and after[0].vurdering_ids == (vid,), path
    before = len(entries(web))
    csrf = csrf_of(revisor.get("/revision/kaede").text)
    assert revisor.post(f"/revision/{vid}/genberegn", data={"csrf": csrf}).status_code == 200
    assert {e.formaal for e in entries(web)[: len(entries(web)) - before]} == {"POST /revision/{id}/genberegn"}
    # pages that show no single decision are not reads of one
    before = len(entries(web))
    for path in ("/revision/oversigt", "/revision/kaede", "/revision/adgangslog", "/revision?fra=2020-01-01&til=2020-01-02"):
        assert revisor.get(path).status_code == 200, path
    assert len(entries(web)) == before


def test_the_revisor_sees_who_read_a_decision_and_the_access_log(web):
    visitator, revisor = web.login("visitator"), web.login("revisor")
    vid, other = evaluate(visitator), evaluate(visitator)
    visitator.get(f"/vurdering/{vid}/brev")
    page = page_text(revisor.get(f"/revision/{vid}").text)
    section = page[page.rfind("Hvem har læst vurderingen"):]
    assert "2 læsninger i adgangsloggen, også denne visning" in section
    assert "Så vurderingen med fuldt spor (side)" in section and "Så udkastet til afgørelsesbrev (side)" in section
    assert "visitator" in section and "revisor" in section
    log = revisor.get(f"/revision/adgangslog?vurdering={other}")
    assert log.status_code == 200 and "0 læsninger" in page_text(log.text)
    everything = page_text(revisor.get("/revision/adgangslog").text)
    assert "2 læsninger, viser 1–2, nyeste først" in everything and f"/revision/{vid}" in revisor.get("/revision/adgangslog").text
    token = entries(web)[-1].token_id
    assert "1 læsning," in page_text(revisor.get(f"/revision/adgangslog?token={token}").text)
    today = date.today().isoformat()
    assert "2 læsninger" in page_text(revisor.get(f"/revision/adgangslog?fra={today}&til={today}").text)
    bad = revisor.get("/revision/adgangslog?fra=2026-02-01&til=2026-01-01")
    assert bad.status_code == 422 and "ligger før 'fra'" in page_text(bad.text)
    assert web.login("visitator").get("/revision/adgangslog").status_code == 403


def test_the_access_document_page(web):
    visitator, revisor = web.login("visitator"), web.login("revisor")
    ids = [evaluate(visitator, borger_reference="sag-web-1", alder=age) for age in ("41", "42")]
    evaluate(visitator, borger_reference="sag-web-2")
    form = revisor.get("/revision/borgerindsigt")
    assert form.status_code == 200 and 'method="post"' in form.text and "sag-web-1" not in form.text
    r = revisor.post("/revision/borgerindsigt", data={"csrf": csrf_of(form.text), "borger_reference": "sag-web-1", "format": "html"})
    assert r.status_code == 200 and '<link rel="stylesheet" href="/static/indsigt.css">' in r.text
    text = page_text(r.text)
    assert "Oplysninger registreret i visitationssystemet" in text and "2 vurderinger" in text
    assert "Du er 41 år" in text and "Du er 42 år" in text and "Besvarede en anmodning om indsigt (side)" in text
    [entry] = [e for e in entries(web) if e.formaal == "POST /revision/borgerindsigt"]
    assert sorted(entry.vurdering_ids) == sorted(ids)
    download = revisor.post("/revision/borgerindsigt", data={"csrf": csrf_of(form.text), "borger_reference": "sag-web-1", "format": "json"})
    assert download.headers["content-disposition"].startswith("attachment") and json.loads(download.text)["antal_vurderinger"] == 2
    refused = revisor.post("/revision/borgerindsigt", data={"csrf": csrf_of(form.text), "borger_reference": "310287-4411"})
    assert refused.status_code == 422 and "ligner et CPR-nummer" in page_text(refused.text) and "4411" not in refused.text
    assert revisor.post("/revision/borgerindsigt", data={"csrf": "forkert", "borger_reference": "sag-web-1"}).status_code == 403
    assert revisor.get("/static/indsigt.css").status_code == 200


def test_removed_content_is_said_in_danish_on_every_page(web):
    visitator, revisor = web.login("visitator"), web.login("revisor")
    vid = evaluate(visitator)
    report = web.app.state.store.redact(KOMMUNE, date.today() + timedelta(days=1), "Opbevaringsperioden er udløbet", "dpo@kommune")
    for path in (f"/vurdering/{vid}", f"/vurdering/{vid}/journalnotat", f"/vurdering/{vid}/brev"):
        r = visitator.get(path)
        assert r.status_code == 410, path
        text = page_text(r.text)
        assert "Slettet efter reglerne" in text and "efter reglerne om opbevaring" in text and f"sletning nr. {report.event_seq}" in text
    page = revisor.get(f"/revision/{vid}")
    assert page.status_code == 410
    text = page_text(page.text)
    assert "Indholdet er slettet efter reglerne om opbevaring" in text and "Opbevaringsperioden er udløbet" in text and "dpo@kommune" in text
    assert "Det, der er tilbage" in text and "Misbrugscentret – ambulant behandling" in text and "Hvem har læst vurderingen" in text
    assert "Screeningen" not in text.replace("Screeningen, svaret", "")  # no screening table
    listing = revisor.get("/revision").text
    assert f'href="/revision/{vid}"' in listing and "indholdet er slettet efter reglerne" in page_text(listing)
    chain = page_text(revisor.get("/revision/kaede").text)
    assert "Loggen er intakt" in chain and f"(sletning i post {report.event_seq})" in chain
    assert "Sletninger efter reglerne om opbevaring" in chain and "1 vurdering og 0 afgørelser" in chain
    assert "Adgangsloggen er intakt" in chain
