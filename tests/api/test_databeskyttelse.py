"""Issue 17 over the API: 410 for removed content (read, replay, note, letter, afgørelser), the chain and
the access log in GET /v1/log/verifikation, who read what (GET /v1/adgangslog, every kind of read), and
the citizen's right of access (GET /v1/borgerindsigt) as JSON and as a printable Danish document."""
from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import pytest

from support.app import KOMMUNE, make_app
from support.bodies import example
from support.logdata import sql

PROBLEM = "application/problem+json"
OLD = "2019-05-01T10:00:00Z"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


def decide(svc, body=None, when=None, monkeypatch=None) -> str:
    if when is not None:
        monkeypatch.setattr("service.decisions.utc_now", lambda: when)
    r = svc.post(body or example())
    if when is not None:
        monkeypatch.undo()
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def afgoer(svc, vid: str, **body) -> dict:
    r = svc.client.post(f"/v1/vurderinger/{vid}/afgoerelse", json=body or {"udfald": "fulgt"}, headers=svc.headers("visitator"))
    assert r.status_code == 201, r.text
    return r.json()


def redact_everything(svc) -> int:
    report = svc.store.redact(KOMMUNE, date.today() + timedelta(days=1), "Opbevaringsperioden er udløbet", "dpo@kommune")
    assert report.event_seq is not None
    return report.event_seq


def accesses(svc, **filters) -> list:
    return svc.store.access_log(KOMMUNE, limit=1000, **filters)[1]


# --------------------------------------------------------------------------- removed content


def test_a_removed_decision_answers_410_naming_the_deletion_event_on_every_content_route(tmp_path):
    svc = make_app(tmp_path, kommuner=(KOMMUNE, "herning"))  # another municipality served beside it
    vid = decide(svc)
    afg = afgoer(svc, vid, udfald="afvist_af_borger", begrundelse="Ønsker ikke behandling nu")
    event = redact_everything(svc)
    rev, vis = svc.headers("revisor"), svc.headers("visitator")
    reads_before = len(accesses(svc))
    body = problem(svc.client.get(f"/v1/vurderinger/{vid}", headers=rev), 410)
    assert body["type"].endswith("/slettet") and body["sletning"]["seq"] == event
    assert body["sletning"]["begrundelse"] == "Opbevaringsperioden er udløbet" and "slettet" in body["detail"]
    assert f"sletning nr. {event}" in body["detail"] and "Ønsker" not in json.dumps(body)
    replay = problem(svc.client.post(f"/v1/vurderinger/{vid}/genberegn", headers=rev), 410)
    assert replay["detail"].startswith("Vurderingen kan ikke genberegnes: ") and replay["sletning"]["seq"] == event
    for path in (f"/v1/vurderinger/{vid}/journalnotat", f"/v1/vurderinger/{vid}/brev", f"/v1/vurderinger/{vid}/afgoerelser/{afg['id']}"):
        assert problem(svc.client.get(path, headers=vis), 410)["sletning"]["seq"] == event
    assert problem(svc.client.post(f"/v1/vurderinger/{vid}/afgoerelse", json={"udfald": "fulgt"}, headers=vis), 410)
    assert len(accesses(svc)) == reads_before  # nothing was read, nothing is recorded
    # another municipality's token learns nothing: 404, not 410
    other, _ = svc.store.create_token("revisor", "herning", "anden kommune")
    assert problem(svc.client.get(f"/v1/vurderinger/{vid}", headers={"Authorization": f"Bearer {other}"}), 404)
    # the listing and the export say what is left and which event removed the rest
    row = svc.client.get("/v1/vurderinger", headers=rev).json()["vurderinger"][0]
    assert row["slettet"]["seq"] == event and row["anbefalinger"]
    line = json.loads(svc.client.get("/v1/vurderinger/eksport", headers=rev).text.splitlines()[0])
    assert line["screening"] is None and line["svar"] is None and line["sletning"]["seq"] == event


def test_the_verification_reports_removed_records_as_removed_by_their_event(tmp_path):
    svc = make_app(tmp_path)
    first = decide(svc)
    decide(svc)
    afgoer(svc, first)
    event = redact_everything(svc)
    decide(svc)  # after the redaction: kept
    body = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor")).json()
    assert body["intakt"] and body["foerste_fejl"] is None
    [removed] = body["slettede"]
    assert (removed["fra"], removed["til"], removed["haendelse"]) == (4, event - 1, event)  # 1-3: the tokens
    assert removed["hvem"] == "dpo@kommune" and removed["begrundelse"] == "Opbevaringsperioden er udløbet"
    assert "slettet efter reglerne" in removed["besked"] and body["adgangslog"]["intakt"]


def test_content_removed_without_a_sletning_event_is_tampering(tmp_path, caplog):
    svc = make_app(tmp_path)
    decide(svc)
    vid = decide(svc)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    sql(url, "UPDATE vurderinger SET screening = NULL, svar = NULL, salt = NULL WHERE id = :i", i=vid)
    with caplog.at_level(logging.ERROR, logger="visitator"):
        body = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor")).json()
    seq = svc.store.get_decision(KOMMUNE, vid).seq
    assert not body["intakt"] and body["foerste_fejl"]["seq"] == seq and body["foerste_fejl"]["art"] == "aendret"
    assert "sletningshændelse" in body["foerste_fejl"]["besked"] and body["slettede"] == []
    read = problem(svc.client.get(f"/v1/vurderinger/{vid}", headers=svc.headers("revisor")), 500)
    assert read["type"].endswith("/indhold-mangler") and read["fejl_id"]
    assert any(getattr(r, "haendelse", None) == "log_ikke_intakt" for r in caplog.records)


# --------------------------------------------------------------------------- who read what


def test_the_access_log_grows_with_each_kind_of_read(tmp_path):
    svc = make_app(tmp_path, kommuner=(KOMMUNE, "herning"))  # another municipality served beside it
    vid = decide(svc, example(borger_reference="sag-adgang-1"))
    assert accesses(svc) == []  # creating a decision is in the chain (with its token), not a read
    rev, vis = svc.headers("revisor"), svc.headers("visitator")
    afg = afgoer(svc, vid)
    reads = [
        ("get", f"/v1/vurderinger/{vid}", rev, "GET /v1/vurderinger/{id}"),
        ("get", f"/v1/vurderinger/{vid}", vis, "GET /v1/vurderinger/{id}"),
        ("get", "/v1/vurderinger", rev, "GET /v1/vurderinger"),
        ("get", "/v1/vurderinger?borger_reference=sag-adgang-1", rev, "GET /v1/vurderinger"),
        ("get", "/v1/vurderinger/eksport", rev, "GET /v1/vurderinger/eksport"),
        ("get", "/v1/vurderinger/eksport?format=csv", rev, "GET /v1/vurderinger/eksport"),
        ("post", f"/v1/vurderinger/{vid}/genberegn", rev, "POST /v1/vurderinger/{id}/genberegn"),
        ("get", f"/v1/vurderinger/{vid}/journalnotat", vis, "GET /v1/vurderinger/{id}/journalnotat"),
        ("get", f"/v1/vurderinger/{vid}/brev", vis, "GET /v1/vurderinger/{id}/brev"),
        ("get", f"/v1/vurderinger/{vid}/afgoerelser/{afg['id']}", rev, "GET /v1/vurderinger/{id}/afgoerelser/{afgoerelse_id}"),
        ("get", "/v1/borgerindsigt?borger_reference=sag-adgang-1", rev, "GET /v1/borgerindsigt"),
    ]
    count = len(accesses(svc))
    assert [e.formaal for e in accesses(svc)] == ["POST /v1/vurderinger/{id}/afgoerelse"]
    for method, path, headers, formaal in reads:
        r = svc.client.request(method, path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        entries = accesses(svc)
        assert len(entries) == count + 1, path  # exactly one entry per read
        count += 1
        newest = entries[0]
        assert newest.formaal == formaal and newest.vurdering_ids == (vid,)
        assert newest.rolle == ("revisor" if headers == rev else "visitator") and newest.token_id.startswith("t-")
    # reads that show no decision are not recorded: an empty listing, statistics, the verification
    for path in ("/v1/vurderinger?fra=2020-01-01&til=2020-01-02", "/v1/statistik", "/v1/log/verifikation", "/v1/adgangslog"):
        assert svc.client.get(path, headers=rev).status_code == 200
    assert len(accesses(svc)) == count
    # the revisor's listing of it, per decision, per token, per period, paged
    listing = svc.client.get(f"/v1/adgangslog?vurdering={vid}", headers=rev).json()
    assert listing["total"] == count and listing["adgange"][0]["formaal"] == "GET /v1/borgerindsigt"
    assert listing["adgange"][0]["formaal_tekst"] == "besvarede en anmodning om indsigt (API)"
    vis_token = next(e.token_id for e in accesses(svc) if e.rolle == "visitator")
    by_token = svc.client.get(f"/v1/adgangslog?token={vis_token}", headers=rev).json()
    assert by_token["total"] == 4 and {a["rolle"] for a in by_token["adgange"]} == {"visitator"}
    today = date.today().isoformat()
    assert svc.client.get(f"/v1/adgangslog?fra={today}&til={today}", headers=rev).json()["total"] == count
    assert svc.client.get("/v1/adgangslog?til=2020-01-01", headers=rev).json()["total"] == 0
    page = svc.client.get("/v1/adgangslog?limit=5&offset=5", headers=rev).json()
    assert len(page["adgange"]) == 5 and page["naeste_offset"] == 10 and page["adgange"][0]["seq"] == count - 5
    assert problem(svc.client.get("/v1/adgangslog?fra=2026-02-01&til=2026-01-01", headers=rev), 422)["fejl"][0]["felt"] == "til"
    assert problem(svc.client.get("/v1/adgangslog?fra=igaar", headers=rev), 422)
    assert problem(svc.client.get("/v1/adgangslog", headers=vis), 403)
    assert problem(svc.client.get("/v1/adgangslog"), 401)
    other, _ = svc.store.create_token("revisor", "herning", "anden kommune")
    assert svc.client.get(f"/v1/adgangslog?vurdering={vid}", headers={"Authorization": f"Bearer {other}"}).json()["total"] == 0


def test_an_export_records_what_it_sends_batch_by_batch(tmp_path, monkeypatch):
    monkeypatch.setattr("service.api.vurderinger.EXPORT_BATCH", 2)
    svc = make_app(tmp_path)
    ids = [decide(svc) for _ in range(5)]
    lines = svc.client.get("/v1/vurderinger/eksport", headers=svc.headers("revisor")).text.splitlines()
    assert [json.loads(x)["id"] for x in lines] == ids
    batches = [e.vurdering_ids for e in reversed(accesses(svc))]
    assert batches == [tuple(sorted(ids[0:2])), tuple(sorted(ids[2:4])), (ids[4],)]


def test_a_changed_access_entry_is_detected(tmp_path, caplog):
    svc = make_app(tmp_path)
    vid = decide(svc)
    for _ in range(3):
        svc.client.get(f"/v1/vurderinger/{vid}", headers=svc.headers("revisor"))
    body = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor")).json()
    assert body["adgangslog"]["intakt"] and body["adgangslog"]["antal"] == 3 and body["adgangslog"]["hoved"]["seq"] == 3
    sql(f"sqlite:///{tmp_path / 'v.db'}", "UPDATE adgangslog SET rolle = 'visitator' WHERE seq = 2")
    with caplog.at_level(logging.ERROR, logger="visitator"):
        body = svc.client.get("/v1/log/verifikation", headers=svc.headers("revisor")).json()
    assert body["intakt"] and not body["adgangslog"]["intakt"]  # the decision chain itself is fine
    assert body["adgangslog"]["foerste_fejl"]["seq"] == 2 and body["adgangslog"]["foerste_fejl"]["art"] == "aendret"
    assert any(getattr(r, "haendelse", None) == "adgangslog_ikke_intakt" for r in caplog.records)


# --------------------------------------------------------------------------- the citizen's right of access


@pytest.fixture
def citizen(tmp_path, monkeypatch):
    """Three decisions for one reference (the oldest removed under the retention rules, one with an
    afgørelse and its begrundelse) and one for another reference."""
    svc = make_app(tmp_path)
    ref = "sag-indsigt-77"
    old = decide(svc, example(borger_reference=ref, alder=29), when=OLD, monkeypatch=monkeypatch)
    kept = [decide(svc, example(borger_reference=ref)), decide(svc, example(borger_reference=ref, alder=35))]
    other = decide(svc, example(borger_reference="sag-en-anden"))
    afgoer(svc, kept[0], udfald="afvist_af_borger", begrundelse="Borgeren vil vente til efter jul")
    event = svc.store.redact(KOMMUNE, date(2020, 1, 1), "Opbevaringsperioden er udløbet", "dpo").event_seq
    return svc, ref, old, kept, other, event


def test_the_access_request_returns_every_decision_afgoerelse_removal_and_read_as_json(citizen, caplog):
    svc, ref, old, kept, other, event = citizen
    svc.client.get(f"/v1/vurderinger/{kept[1]}", headers=svc.headers("visitator"))
    with caplog.at_level(logging.DEBUG):
        r = svc.client.get("/v1/borgerindsigt", params={"borger_reference": ref}, headers=svc.headers("revisor"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json" and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert (body["antal_vurderinger"], body["antal_afgoerelser"], body["antal_slettede"]) == (3, 1, 1)
    assert [v["id"] for v in body["vurderinger"]] == [old, *kept] and other not in r.text
    removed, first, second = body["vurderinger"]
    assert removed["screening"] is None and removed["svar"] is None and removed["slettet"]["seq"] == event
    assert removed["oprettet"] == OLD and removed["anbefalinger"] and removed["slettet"]["foer"] == "2020-01-01"
    assert first["screening"]["alder"] == 34 and first["svar"]["id"] == kept[0] and second["screening"]["alder"] == 35
    assert first["afgoerelser"][0]["begrundelse"] == "Borgeren vil vente til efter jul" and first["slettet"] is None
    reads = body["adgange"]
    assert reads[0]["formaal"] == "GET /v1/borgerindsigt" and sorted(reads[0]["vurderinger"]) == sorted([old, *kept])
    assert any(a["formaal"] == "GET /v1/vurderinger/{id}" and a["vurderinger"] == [kept[1]] for a in reads)
    assert body["antal_adgange"] == len(reads) and body["kommune"] == KOMMUNE
    # the reference is never stored or logged in clear (the test client's own log line names its URL)
    service_records = [r for r in caplog.records if r.name.startswith(("visitator", "uvicorn"))]
    assert service_records and not any(ref in repr(r.__dict__) for r in service_records)
    stored = b"".join(p.read_bytes() for p in svc.store.path.parent.glob("v.db*") if p.is_file())
    assert ref.encode() not in stored


def test_the_access_request_is_a_readable_printable_danish_document(citizen):
    svc, ref, old, kept, other, event = citizen
    for kwargs in ({"headers": {**svc.headers("revisor"), "Accept": "text/html"}},
                   {"headers": svc.headers("revisor"), "params": {"format": "html"}}):
        params = {"borger_reference": ref, **kwargs.pop("params", {})}
        r = svc.client.get("/v1/borgerindsigt", params=params, **kwargs)
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"
        html = r.text
        assert html.startswith("<!doctype html>") and '<html lang="da">' in html and "@media print" in html and "<script" not in html
        text = " ".join(html.split())
        assert "Indsigt efter databeskyttelsesforordningens artikel 15" in text and f"sagsreference <strong>{ref}</strong>" in text
        assert "3 vurderinger" in text and "1 afgørelse registreret" in text
        assert "Indholdet blev slettet" in text and "efter reglerne om opbevaring" in text
        assert "Du er 34 år" in text and "Du er 35 år" in text and "Du er 29 år" not in text  # the removed screening is gone
        assert "Borgeren vil vente til efter jul" in text and "Misbrugscentret – ambulant behandling" in text
        assert "Besvarede en anmodning om indsigt (API)" in text and "Datatilsynet" in text
    assert svc.client.get("/v1/borgerindsigt", params={"borger_reference": ref, "format": "json"},
                          headers={**svc.headers("revisor"), "Accept": "text/html"}).headers["content-type"] == "application/json"


def test_the_access_request_shows_the_configured_retention(tmp_path):
    config = tmp_path / "opbevaring.yaml"
    config.write_text("kommuner:\n  eksempelkommune:\n    aar_efter_sidste_afgoerelse: 5\n"
                      "    grundlag: Eksempelkommunes journalplan, beslutning af 1. marts 2026\n", encoding="utf-8")
    svc = make_app(tmp_path, opbevaring=config)
    decide(svc, example(borger_reference="sag-5"))
    body = svc.client.get("/v1/borgerindsigt?borger_reference=sag-5", headers=svc.headers("revisor")).json()
    assert body["opbevaring"] == {"aar_efter_sidste_afgoerelse": 5, "grundlag": "Eksempelkommunes journalplan, beslutning af 1. marts 2026"}
    html = svc.client.get("/v1/borgerindsigt?borger_reference=sag-5&format=html", headers=svc.headers("revisor")).text
    assert "opbevares 5 år efter sidste afgørelse. Grundlag: Eksempelkommunes journalplan" in " ".join(html.split())


def test_the_access_request_refuses_cpr_and_roles_and_is_recorded_even_when_nothing_is_found(tmp_path):
    svc = make_app(tmp_path)
    rev = svc.headers("revisor")
    refused = problem(svc.client.get("/v1/borgerindsigt", params={"borger_reference": "310287-4411"}, headers=rev), 422)
    assert refused["fejl"][0]["felt"] == "borger_reference" and "4411" not in json.dumps(refused)
    assert problem(svc.client.get("/v1/borgerindsigt", params={"borger_reference": "31 02 87 44 11"}, headers=rev), 422)
    assert problem(svc.client.get("/v1/borgerindsigt", headers=rev), 422)
    assert problem(svc.client.get("/v1/borgerindsigt?borger_reference=x", headers=svc.headers("visitator")), 403)
    assert problem(svc.client.get("/v1/borgerindsigt?borger_reference=x"), 401)
    assert accesses(svc) == []
    body = svc.client.get("/v1/borgerindsigt?borger_reference=ukendt-sag", headers=rev).json()
    assert body["antal_vurderinger"] == 0 and body["vurderinger"] == []
    [entry] = accesses(svc)
    assert entry.formaal == "GET /v1/borgerindsigt" and entry.vurdering_ids == () and body["adgange"][0]["seq"] == entry.seq


def test_another_municipality_finds_nothing_for_the_same_reference(tmp_path):
    svc = make_app(tmp_path, kommuner=(KOMMUNE, "herning"))  # another municipality served beside it
    decide(svc, example(borger_reference="sag-1"))
    other, _ = svc.store.create_token("revisor", "herning", "anden kommune")
    body = svc.client.get("/v1/borgerindsigt?borger_reference=sag-1", headers={"Authorization": f"Bearer {other}"}).json()
    assert body["antal_vurderinger"] == 0 and body["kommune"] == "herning"


def test_the_new_endpoints_are_documented(tmp_path):
    spec = make_app(tmp_path).client.get("/openapi.json").json()
    for path in ("/v1/adgangslog", "/v1/borgerindsigt"):
        responses = spec["paths"][path]["get"]["responses"]
        assert {"200", "401", "403", "422", "500", "503"} <= set(responses)
        assert all(list(r["content"]) == [PROBLEM] for c, r in responses.items() if c[0] in "45")
    assert set(spec["paths"]["/v1/borgerindsigt"]["get"]["responses"]["200"]["content"]) == {"application/json", "text/html"}
    assert "410" in spec["paths"]["/v1/vurderinger/{id}/genberegn"]["post"]["responses"]
    schemas = spec["components"]["schemas"]
    assert "adgangslog" in schemas["LogVerifikation"]["properties"] and "slettet" in schemas["VurderingKort"]["properties"]
