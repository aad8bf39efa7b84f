"""The HTTP service through FastAPI's TestClient: contract, errors, auth, read-back, replay, listing."""
from __future__ import annotations

import json
import logging
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest

from test_service_common import EXAMPLE, auth, copy_rules, example, make_client

PROBLEM = "application/problem+json"


@pytest.fixture
def svc(tmp_path: Path):
    client, tokens, app = make_client(tmp_path)
    with client:
        yield client, tokens, app


def server_log(caplog) -> str:
    """The service's log lines as the JSON formatter writes them (the test client's own log left out)."""
    from service.logs import JSONFormatter

    return "\n".join(JSONFormatter().format(r) for r in caplog.records if not r.name.startswith("httpx"))


def post(client, token, body):
    return client.post("/v1/vurderinger", json=body, headers=auth(token))


def assert_problem(response, status: int):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


# --------------------------------------------------------------------------- API.md example


def test_example_request_gives_201_with_location_and_contract_fields(svc):
    client, tokens, _ = svc
    r = post(client, tokens["visitator"], EXAMPLE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/vurderinger/{body['id']}"
    assert r.headers["content-type"] == "application/json"
    assert len(body["id"]) == 26
    assert body["oprettet"].endswith("Z") and body["oprettet"][:4] == "2026"
    assert list(body)[:2] == ["id", "oprettet"]
    for key in ("regelsaet", "anbefalinger", "lovgrundlag", "frister", "advarsler", "forklaring"):
        assert key in body
    assert set(body["regelsaet"]) >= {"navn", "version", "gyldig_fra", "sha256"}
    assert body["regelsaet"]["navn"] == "misbrug" and body["regelsaet"]["version"] == "2026-04-01"
    a = body["anbefalinger"][0]
    assert set(a) >= {"spor", "tilbud", "lovgrundlag", "begrundelse"}
    assert set(a["tilbud"]) >= {"id", "navn", "kategori", "indgrebsniveau"}
    assert {"lov", "paragraf", "stk"} <= set(body["lovgrundlag"][0])
    assert {"type", "dato", "lovgrundlag"} <= set(body["frister"][0])
    regel = body["forklaring"]["regler"][0]
    assert {"id", "lag", "kilde", "beskrivelse", "betingelser"} <= set(regel)
    assert body["forklaring"]["tekst"]


def test_ids_are_sortable_ulids(svc):
    client, tokens, _ = svc
    ids = [post(client, tokens["visitator"], EXAMPLE).json()["id"] for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_read_back_is_byte_identical(svc):
    client, tokens, _ = svc
    r = post(client, tokens["visitator"], EXAMPLE)
    for role in ("visitator", "revisor"):
        back = client.get(r.headers["location"], headers=auth(tokens[role]))
        assert back.status_code == 200
        assert back.content == r.content


def test_vurderingsdato_defaults_to_today_and_is_stored(svc):
    client, tokens, app = svc
    r = post(client, tokens["visitator"], example(vurderingsdato=None, henvendelsesdato="2026-11-20"))
    assert r.status_code == 201
    record = app.state.storage.get_record(r.json()["id"])
    screening = json.loads(record["screening"])
    assert screening["vurderingsdato"] == "2026-11-23"  # the app's "today"
    assert "borger_reference" not in screening
    assert record["borger_reference_hmac"] and len(record["borger_reference_hmac"]) == 64


def test_borger_reference_never_stored_in_clear_and_key_file_is_private(tmp_path):
    client, tokens, app = make_client(tmp_path)
    with client:
        assert post(client, tokens["visitator"], example(borger_reference="hemmelig-sag-77")).status_code == 201
    app.state.storage.close()
    for f in tmp_path.iterdir():
        if f.name.startswith("v.db") and f.is_file() and "hmac" not in f.name:
            assert b"hemmelig-sag-77" not in f.read_bytes(), f
    key = tmp_path / "v.db.hmac-noegle"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_hmac_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VISITATOR_HMAC_KEY", "k" * 40)
    client, tokens, app = make_client(tmp_path)
    with client:
        r = post(client, tokens["visitator"], EXAMPLE)
    import hashlib
    import hmac

    expected = hmac.new(b"k" * 40, b"sag-2026-0042", hashlib.sha256).hexdigest()
    assert app.state.storage.get_record(r.json()["id"])["borger_reference_hmac"] == expected
    assert not (tmp_path / "v.db.hmac-noegle").exists()


# --------------------------------------------------------------------------- errors


def test_validation_errors_are_danish_problem_documents(svc):
    client, tokens, _ = svc
    body = example(alder=130, rusmidler=[{"stof": "alkohol", "grad": "meget"}], ukendt_felt=1)
    problem = assert_problem(post(client, tokens["visitator"], body), 422)
    felter = {f["felt"]: f["besked"] for f in problem["fejl"]}
    assert felter["alder"] == "skal være mellem 0 og 120"
    assert "rusmidler[0].grad" in felter and "tilladt" in felter["rusmidler[0].grad"]
    assert felter["ukendt_felt"].startswith("ukendt felt")


def test_missing_fields_and_date_order(svc):
    client, tokens, _ = svc
    problem = assert_problem(post(client, tokens["visitator"], example(alder=None, boligsituation=None)), 422)
    felter = {f["felt"]: f["besked"] for f in problem["fejl"]}
    assert felter == {"alder": "feltet mangler", "boligsituation": "feltet mangler"}
    problem = assert_problem(post(client, tokens["visitator"], example(vurderingsdato="2026-11-01")), 422)
    assert [f["felt"] for f in problem["fejl"]] == ["vurderingsdato"]


def test_date_before_rules_cover_is_422_on_vurderingsdato(svc):
    client, tokens, _ = svc
    problem = assert_problem(post(client, tokens["visitator"], example(henvendelsesdato="2006-05-01", vurderingsdato="2006-05-02")), 422)
    assert [f["felt"] for f in problem["fejl"]] == ["vurderingsdato"]


def test_cpr_like_reference_is_refused_and_never_echoed_or_logged(svc, caplog):
    client, tokens, app = svc
    caplog.set_level(logging.DEBUG)
    for cpr in ("010203-1234", "0102031234"):
        r = post(client, tokens["visitator"], example(borger_reference=cpr))
        problem = assert_problem(r, 422)
        assert problem["fejl"][0]["felt"] == "borger_reference"
        assert cpr not in r.text
        assert cpr not in server_log(caplog)
    assert app.state.storage.list_records(__import__("service.storage").storage.Filters(), 10, 0)[0] == 0
    r = client.get("/v1/vurderinger", params={"borger_reference": "010203-1234"}, headers=auth(tokens["revisor"]))
    assert_problem(r, 422)
    assert "010203-1234" not in server_log(caplog)
    assert "forespoergsel" in server_log(caplog)


def test_invalid_json_and_non_object(svc):
    client, tokens, _ = svc
    r = client.post("/v1/vurderinger", content=b"{nope", headers={**auth(tokens["visitator"]), "content-type": "application/json"})
    assert assert_problem(r, 400)["fejl"]
    assert assert_problem(post(client, tokens["visitator"], [1, 2]), 422)["fejl"]


def test_body_over_one_megabyte_is_413_before_parsing(svc):
    client, tokens, _ = svc
    big = b"{" + b" " * (1024 * 1024) + b"}"
    assert_problem(client.post("/v1/vurderinger", content=big, headers={**auth(tokens["visitator"]), "content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b" " * 65536

    assert_problem(client.post("/v1/vurderinger", content=chunks(), headers={**auth(tokens["visitator"]), "content-type": "application/json"}), 413)


def test_404_405_are_problem_documents(svc):
    client, tokens, _ = svc
    assert_problem(client.get("/findes/ikke"), 404)
    assert_problem(client.get("/v1/vurderinger/01ZZZZZZZZZZZZZZZZZZZZZZZZ", headers=auth(tokens["revisor"])), 404)
    assert_problem(client.post("/v1/vurderinger/01ZZZZZZZZZZZZZZZZZZZZZZZZ/genberegn", headers=auth(tokens["revisor"])), 404)
    assert_problem(client.delete("/v1/vurderinger", headers=auth(tokens["revisor"])), 405)
    assert_problem(client.get("/v1/vurderinger?limit=0", headers=auth(tokens["revisor"])), 422)
    assert_problem(client.get("/v1/vurderinger?kategori=luksus", headers=auth(tokens["revisor"])), 422)


def test_unexpected_error_is_500_problem_with_error_id_in_log(svc, caplog, monkeypatch):
    client, tokens, app = svc
    caplog.set_level(logging.INFO)

    def boom(data):
        raise RuntimeError("intern detalje der ikke må ses")

    monkeypatch.setattr(app.state.service, "prepare", boom)
    r = post(client, tokens["visitator"], EXAMPLE)
    problem = assert_problem(r, 500)
    assert "intern detalje" not in r.text
    assert problem["fejl_id"] in problem["detail"]
    logged = [rec for rec in caplog.records if getattr(rec, "fejl_id", None) == problem["fejl_id"]]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info


# --------------------------------------------------------------------------- auth


ENDPOINTS = [
    ("post", "/v1/vurderinger", {"visitator"}),
    ("get", "/v1/vurderinger/{id}", {"visitator", "revisor"}),
    ("get", "/v1/vurderinger", {"revisor"}),
    ("get", "/v1/vurderinger/eksport", {"revisor"}),
    ("post", "/v1/vurderinger/{id}/genberegn", {"revisor"}),
    ("get", "/v1/log/verifikation", {"revisor"}),
    ("get", "/v1/regelsaet", {"visitator", "revisor", "redaktoer"}),
    ("post", "/v1/regelsaet/valider", {"redaktoer"}),
    ("post", "/v1/regelsaet/genindlaes", {"redaktoer"}),
]


def test_auth_per_role(svc):
    client, tokens, _ = svc
    rid = post(client, tokens["visitator"], EXAMPLE).json()["id"]
    for method, path, allowed in ENDPOINTS:
        url = path.format(id=rid)
        kwargs = {"json": EXAMPLE} if path == "/v1/vurderinger" and method == "post" else {}
        r = client.request(method, url, **kwargs)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert_problem(client.request(method, url, headers=auth("vst_forkert"), **kwargs), 401)
        assert_problem(client.request(method, url, headers={"Authorization": "Basic abc"}, **kwargs), 401)
        for role, token in tokens.items():
            r = client.request(method, url, headers=auth(token), **kwargs)
            if role in allowed:
                assert r.status_code < 400, (method, url, role, r.text)
            else:
                assert_problem(r, 403)


def test_unauthenticated_garbage_body_is_401_not_422(svc):
    client, _, _ = svc
    assert_problem(client.post("/v1/vurderinger", content=b"{nope"), 401)


# --------------------------------------------------------------------------- rule sets


def test_regelsaet_lists_versions_with_status(svc):
    client, tokens, _ = svc
    body = client.get("/v1/regelsaet", headers=auth(tokens["visitator"])).json()
    statuses = {v["status"] for v in body["versioner"]}
    assert statuses == {"aktiv", "historisk", "afventer"}
    for v in body["versioner"]:
        assert {"gyldig_fra", "gyldig_til", "sha256", "status"} <= set(v)
    aktiv = [v for v in body["versioner"] if v["status"] == "aktiv"]
    assert body["i_kraft_i_dag"] == aktiv[0]["sha256"]


def test_snapshots_are_stored_content_addressed(svc):
    client, tokens, app = svc
    r = post(client, tokens["visitator"], EXAMPLE).json()
    sha = r["regelsaet"]["sha256"]
    snap = client.get(f"/v1/regelsaet/{sha}", headers=auth(tokens["revisor"]))
    assert snap.status_code == 200 and snap.json()["sha256"] == sha
    from engine.versions import sha256_of

    assert sha256_of(snap.json()["indhold"]) == sha


def test_broken_rule_file_refuses_start(tmp_path):
    from engine import RulesInvalid

    rules = copy_rules(tmp_path)
    target = next((rules / "misbrug" / "lov").glob("*.yaml"))
    target.write_text(target.read_text(encoding="utf-8") + "\n  - ødelagt: [\n", encoding="utf-8")
    with pytest.raises(RulesInvalid):
        make_client(tmp_path, rules_dir=rules)


def test_reload_validates_and_keeps_old_rules_on_error(tmp_path):
    rules = copy_rules(tmp_path)
    client, tokens, _ = make_client(tmp_path, rules_dir=rules)
    red = auth(tokens["redaktoer"])
    with client:
        before = post(client, tokens["visitator"], EXAMPLE).json()
        assert client.post("/v1/regelsaet/valider", headers=red).json()["gyldig"] is True
        target = rules / "misbrug" / "lov" / "behandling.yaml"
        original = target.read_text(encoding="utf-8")
        target.write_text(original + "\nregler:\n  - id: [uafsluttet\n", encoding="utf-8")
        for path in ("/v1/regelsaet/valider", "/v1/regelsaet/genindlaes"):
            problem = assert_problem(client.post(path, headers=red), 422)
            assert problem["fejl"] and "behandling.yaml:" in problem["fejl"][0]["felt"]
            assert any("behandling.yaml:" in p for p in problem["problemer"])
        after = post(client, tokens["visitator"], EXAMPLE).json()
        assert after["regelsaet"] == before["regelsaet"]  # the old rules stay in service
        target.write_text(original, encoding="utf-8")
        ok = client.post("/v1/regelsaet/genindlaes", headers=red)
        assert ok.status_code == 200 and ok.json()["genindlaest"] is True


# --------------------------------------------------------------------------- replay


def test_replay_is_identical_under_the_original_version_and_reports_differences(tmp_path):
    client, tokens, _ = make_client(tmp_path, today=date(2026, 11, 23))
    with client:
        old = post(client, tokens["visitator"], example(henvendelsesdato="2024-03-01", vurderingsdato="2024-03-02")).json()
        r = client.post(f"/v1/vurderinger/{old['id']}/genberegn", headers=auth(tokens["revisor"]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["identisk"] is True and body["forskelle_original"] == []
        stored = dict(old)
        del stored["id"], stored["oprettet"]
        assert body["original"] == stored
        assert body["regelsaet_original"]["version"] == "2024-01-01"
        assert body["regelsaet_nu"]["version"] == "2026-04-01"
        assert body["samme_version"] is False
        paths = [d["sti"] for d in body["forskelle"]]
        assert "regelsaet.sha256" in paths
        assert all(p.split(".")[0].split("[")[0] in ("regelsaet", "anbefalinger", "lovgrundlag", "frister", "advarsler", "oplysninger") for p in paths)
        same = post(client, tokens["visitator"], EXAMPLE).json()
        body = client.post(f"/v1/vurderinger/{same['id']}/genberegn", headers=auth(tokens["revisor"])).json()
        assert body["identisk"] is True and body["samme_version"] is True and body["forskelle"] == []


def test_replay_mismatch_is_loud(svc, caplog):
    client, tokens, app = svc
    caplog.set_level(logging.INFO)
    r = post(client, tokens["visitator"], EXAMPLE).json()
    conn = sqlite3.connect(app.state.storage.path)
    svar = json.loads(conn.execute("SELECT svar FROM vurderinger WHERE id = ?", (r["id"],)).fetchone()[0])
    svar["anbefalinger"][0]["tilbud"]["id"] = "noget-andet"
    conn.execute("UPDATE vurderinger SET svar = ? WHERE id = ?", (json.dumps(svar, ensure_ascii=False), r["id"]))
    conn.commit()
    conn.close()
    resp = client.post(f"/v1/vurderinger/{r['id']}/genberegn", headers=auth(tokens["revisor"]))
    problem = assert_problem(resp, 500)
    assert problem["identisk"] is False
    assert [d["sti"] for d in problem["forskelle_original"]] == ["anbefalinger[0].tilbud.id"]
    assert any(getattr(rec, "haendelse", "") == "genberegning_afviger" and rec.levelno == logging.ERROR for rec in caplog.records)


# --------------------------------------------------------------------------- listing and export


def test_listing_filters_and_pagination(svc):
    client, tokens, _ = svc
    v = tokens["visitator"]
    ids = {
        "a": post(client, v, example(borger_reference="sag-a")).json(),
        "b": post(client, v, example(borger_reference="sag-b", henvendelsesdato="2024-03-01", vurderingsdato="2024-03-02")).json(),
        "c": post(client, v, example(borger_reference="sag-a", rusmidler=[], boligsituation="gade")).json(),
    }
    rev = auth(tokens["revisor"])

    def listing(**params):
        r = client.get("/v1/vurderinger", params=params, headers=rev)
        assert r.status_code == 200, r.text
        return r.json()

    everything = listing()
    assert everything["total"] == 3 and [x["id"] for x in everything["vurderinger"]] == [ids[k]["id"] for k in "abc"]
    assert [x["id"] for x in listing(borger_reference="sag-a")["vurderinger"]] == [ids["a"]["id"], ids["c"]["id"]]
    assert listing(borger_reference="ukendt")["total"] == 0
    assert [x["id"] for x in listing(version="2024-01-01")["vurderinger"]] == [ids["b"]["id"]]
    assert listing(version=ids["a"]["regelsaet"]["sha256"])["total"] == 2
    kategori = ids["a"]["anbefalinger"][0]["tilbud"]["kategori"]
    assert {x["id"] for x in listing(kategori=kategori)["vurderinger"]} >= {ids["a"]["id"]}
    bolig = [x["id"] for x in listing(spor="bolig")["vurderinger"]]
    assert ids["c"]["id"] in bolig and ids["a"]["id"] not in bolig
    today = ids["a"]["oprettet"][:10]
    assert listing(fra=today, til=today)["total"] == 3
    assert listing(til="2020-01-01")["total"] == 0
    page = listing(limit=2)
    assert len(page["vurderinger"]) == 2 and page["naeste_offset"] == 2
    page2 = listing(limit=2, offset=2)
    assert len(page2["vurderinger"]) == 1 and page2["naeste_offset"] is None


def test_export_streams_json_lines(svc):
    client, tokens, _ = svc
    made = [post(client, tokens["visitator"], EXAMPLE).json() for _ in range(3)]
    r = client.get("/v1/vurderinger/eksport", headers=auth(tokens["revisor"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["id"] for x in lines] == [m["id"] for m in made]
    assert lines[0]["svar"] == made[0]
    assert "borger_reference" not in lines[0]["screening"] and lines[0]["borger_reference_hmac"]
    assert lines[1]["forrige_hash"] == lines[0]["hash"]
    assert client.get("/v1/vurderinger/eksport?fra=2020-01-01&til=2020-12-31", headers=auth(tokens["revisor"])).text == ""


# --------------------------------------------------------------------------- OpenAPI


def test_openapi_describes_every_endpoint_and_error(svc):
    client, _, app = svc
    spec = client.get("/openapi.json").json()
    expected = {(m, p) for m, p, _ in ENDPOINTS} | {("get", "/v1/regelsaet/{sha256}")}
    documented = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert expected <= documented
    assert "Screening" in spec["components"]["schemas"] and "Problem" in spec["components"]["schemas"]
    post_op = spec["paths"]["/v1/vurderinger"]["post"]
    assert post_op["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Screening"
    assert {"201", "401", "403", "413", "422", "500"} <= set(post_op["responses"])
    for path, item in spec["paths"].items():
        for method, op in item.items():
            errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
            if path not in ("/v1/sundhed", "/healthz", "/readyz", "/metrics"):  # need no token
                assert "401" in errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == [PROBLEM], (method, path, code)
