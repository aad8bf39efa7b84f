"""The HTTP API in-process: contract, errors, auth, read-back, afgørelser, replay,
listing and export (API.md, extended)."""
from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date

import pytest

from support.app import copy_rules, make_app
from support.bodies import EXAMPLE, example

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("api"))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_example_request_gives_201_with_location_and_contract_fields(svc):
    r = svc.post(EXAMPLE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/vurderinger/{body['id']}"
    assert r.headers["content-type"] == "application/json"
    assert len(body["id"]) == 26 and body["oprettet"].endswith("Z")
    assert list(body)[:2] == ["id", "oprettet"]
    for key in ("regelsaet", "anbefalinger", "lovgrundlag", "frister", "advarsler", "forklaring", "forudsaetninger", "rettigheder"):
        assert key in body
    assert {"navn", "version", "gyldig_fra", "sha256"} <= set(body["regelsaet"])
    a = body["anbefalinger"][0]
    assert {"spor", "tilbud", "lovgrundlag", "begrundelse"} <= set(a) and {"id", "navn", "kategori", "indgrebsniveau"} <= set(a["tilbud"])
    assert {"lov", "paragraf", "stk"} <= set(body["lovgrundlag"][0])
    regel = body["forklaring"]["regler"][0]
    assert {"id", "lag", "kilde", "beskrivelse", "betingelser"} <= set(regel)
    assert body["forklaring"]["tekst"] and body["forklaring"]["kerner"] == ["durable", "reference"]


def test_read_back_is_byte_identical_and_the_typed_decision_comes_back(svc):
    from engine.api import from_api

    r = svc.post(EXAMPLE)
    back = svc.client.get(r.headers["location"], headers=svc.headers("revisor"))
    assert back.status_code == 200 and back.content == r.content
    assert from_api(back.json()).tracks  # the stored body is the typed decision again


def test_vurderingsdato_defaults_to_today_and_the_reference_is_only_hashed(svc):
    r = svc.post(example(vurderingsdato=None, borger_reference="hemmelig-sag-77"))
    assert r.status_code == 201
    record = svc.store.get_decision("eksempelkommune", r.json()["id"])
    assert json.loads(record.screening)["vurderingsdato"] == "2026-11-23"
    assert "borger_reference" not in record.screening and len(record.borger_reference_hmac) == 64


def test_validation_errors_are_danish_problem_documents(svc):
    body = {**EXAMPLE, "alder": 121, "rusmidler": [{"stof": "alkohol", "grad": "meget"}], "ukendt_felt": 1}
    felter = {f["felt"]: f["besked"] for f in assert_problem(svc.post(body), 422)["fejl"]}
    assert felter["alder"] == "skal være mellem 0 og 120"
    assert "tilladt" in felter["rusmidler[0].grad"] and felter["ukendt_felt"].startswith("ukendt felt")


@pytest.mark.parametrize("raw, status", [
    (b"{nope", 400),
    (b'{"rusmidler": ' + b"[" * 1000 + b"]" * 1000 + b"}", 400),
    (b'{"alder": ' + b"9" * 4301 + b"}", 400),
], ids=["ikke-json", "1000-indlejrede-lister", "4301-cifre"])
def test_hostile_bodies_are_4xx_never_500(svc, raw, status):
    r = svc.client.post("/v1/vurderinger", content=raw, headers={**svc.headers("visitator"), "content-type": "application/json"})
    assert_problem(r, status)


@pytest.mark.parametrize("change, felt", [
    ({"henvendelsesdato": "9999-12-31", "vurderingsdato": "9999-12-31"}, "henvendelsesdato"),
    ({"henvendelsesdato": "2027-02-01", "vurderingsdato": None}, "henvendelsesdato"),
    ({"henvendelsesdato": "2006-05-01", "vurderingsdato": "2006-05-02"}, "henvendelsesdato"),
])
def test_dates_outside_what_the_engine_covers_are_422_naming_the_field(svc, change, felt):
    problem = assert_problem(svc.post(example(**change)), 422)
    assert felt in [f["felt"] for f in problem["fejl"]]


def test_cpr_like_reference_is_refused_and_never_echoed_or_logged(svc, caplog):
    caplog.set_level(logging.INFO)
    for cpr in ("300203-1234", "3002031234", "310287 4411", "31 02 87 44 11"):
        r = svc.post(example(borger_reference=cpr))
        assert assert_problem(r, 422)["fejl"][0]["felt"] == "borger_reference"
        assert cpr not in r.text and cpr not in caplog.text


def test_body_over_one_megabyte_is_413_before_parsing(svc):
    big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    assert_problem(svc.client.post("/v1/vurderinger", content=big, headers={**svc.headers("visitator"), "content-type": "application/json"}), 413)


def test_404_405_422_are_problem_documents(svc):
    rev = svc.headers("revisor")
    assert_problem(svc.client.get("/findes/ikke"), 404)
    assert_problem(svc.client.get("/v1/vurderinger/01ZZZZZZZZZZZZZZZZZZZZZZZZ", headers=rev), 404)
    assert_problem(svc.client.post("/v1/vurderinger/01ZZZZZZZZZZZZZZZZZZZZZZZZ/genberegn", headers=rev), 404)
    assert_problem(svc.client.delete("/v1/vurderinger", headers=rev), 405)
    for query in ("limit=0", "kategori=luksus", "offset=9223372036854775808", "til=9999-12-31", "fra=0"):
        assert_problem(svc.client.get(f"/v1/vurderinger?{query}", headers=rev), 422)


def test_unexpected_error_is_500_problem_with_error_id_in_log(svc, caplog, monkeypatch):
    caplog.set_level(logging.INFO)

    def boom(*args, **kwargs):
        raise RuntimeError("intern detalje der ikke må ses")

    monkeypatch.setattr(svc.app.state.decisions, "prepare", boom)
    r = svc.post(EXAMPLE)
    problem = assert_problem(r, 500)
    assert "intern detalje" not in r.text and problem["fejl_id"] in problem["detail"]
    logged = [rec for rec in caplog.records if getattr(rec, "fejl_id", None) == problem["fejl_id"]]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info


ENDPOINTS = [
    ("post", "/v1/vurderinger", {"visitator"}),
    ("get", "/v1/vurderinger/{id}", {"visitator", "revisor"}),
    ("post", "/v1/vurderinger/{id}/afgoerelse", {"visitator"}),
    ("get", "/v1/vurderinger", {"revisor"}),
    ("get", "/v1/vurderinger/eksport", {"revisor"}),
    ("post", "/v1/vurderinger/{id}/genberegn", {"revisor"}),
    ("get", "/v1/log/verifikation", {"revisor"}),
    ("get", "/v1/regelsaet", {"visitator", "revisor", "redaktoer"}),
    ("post", "/v1/regelsaet/valider", {"redaktoer"}),
    ("post", "/v1/regelsaet/genindlaes", {"redaktoer"}),
]


def test_auth_per_role(svc):
    rid = svc.post(EXAMPLE).json()["id"]
    for method, path, allowed in ENDPOINTS:
        url = path.format(id=rid)
        kwargs = {"json": EXAMPLE} if path == "/v1/vurderinger" and method == "post" else {}
        if path.endswith("afgoerelse"):
            kwargs = {"json": {"udfald": "fulgt"}}
        r = svc.client.request(method, url, **kwargs)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert_problem(svc.client.request(method, url, headers={"Authorization": "Bearer vst_forkert"}, **kwargs), 401)
        assert_problem(svc.client.request(method, url, headers={"Authorization": "Basic abc"}, **kwargs), 401)
        for role in svc.tokens:
            r = svc.client.request(method, url, headers=svc.headers(role), **kwargs)
            if role in allowed:
                assert r.status_code < 400, (method, url, role, r.text)
            else:
                assert_problem(r, 403)


def test_a_revoked_token_stops_working_at_once(tmp_path):
    svc = make_app(tmp_path)
    token, info = svc.store.create_token("visitator", "eksempelkommune", "kortvarig")
    headers = {"Authorization": f"Bearer {token}"}
    assert svc.client.get("/v1/regelsaet", headers=headers).status_code == 200
    svc.store.revoke_token(None, info.id)
    assert_problem(svc.client.get("/v1/regelsaet", headers=headers), 401)


def test_unauthenticated_garbage_body_is_401_not_422(svc):
    assert_problem(svc.client.post("/v1/vurderinger", content=b"{nope"), 401)


# --------------------------------------------------------------------------- afgørelser


def test_afgoerelse_is_appended_and_shown_with_the_decision(svc):
    made = svc.post(EXAMPLE)
    vid = made.json()["id"]
    spor = made.json()["anbefalinger"][0]["spor"]
    ok = svc.client.post(f"/v1/vurderinger/{vid}/afgoerelse", json={"udfald": "fulgt"}, headers=svc.headers("visitator"))
    assert ok.status_code == 201 and ok.headers["location"].startswith(f"/v1/vurderinger/{vid}/afgoerelser/")
    assert svc.client.get(ok.headers["location"], headers=svc.headers("revisor")).json()["udfald"] == "fulgt"
    other = [o for o in ("ambulant", "dagbehandling") if o != made.json()["anbefalinger"][0]["tilbud"]["id"]][0]
    later = svc.client.post(f"/v1/vurderinger/{vid}/afgoerelse", json={"udfald": "afveget", "tilbud": {spor: other},
                                                                       "begrundelse": "Borgeren ønskede et andet sted."},
                            headers=svc.headers("visitator"))
    assert later.status_code == 201, later.text
    back = svc.client.get(f"/v1/vurderinger/{vid}", headers=svc.headers("revisor"))
    assert back.content.startswith(made.content[:-1])  # the stored decision stays byte for byte
    assert [a["udfald"] for a in back.json()["afgoerelser"]] == ["fulgt", "afveget"]
    assert back.json()["afgoerelser"][0]["token_id"].startswith("t-")


@pytest.mark.parametrize("body, felt", [
    ({"udfald": "afveget", "begrundelse": "fordi"}, "tilbud"),
    ({"udfald": "afveget", "tilbud": {"behandling": "ambulant"}}, "begrundelse"),
    ({"udfald": "afvist_af_borger"}, "begrundelse"),
    ({"udfald": "afveget", "tilbud": {"behandling": "findes-ikke"}, "begrundelse": "x"}, "tilbud.behandling"),
    ({"udfald": "afveget", "tilbud": {"behandling": "bostoette"}, "begrundelse": "x"}, "tilbud.behandling"),
    ({"udfald": "afvist_af_borger", "begrundelse": "cpr 310287-4411"}, "begrundelse"),
    ({"udfald": "afvist_af_borger", "begrundelse": "x" * 2001}, "begrundelse"),
    ({"udfald": "maaske"}, "udfald"),
    ({"udfald": "fulgt", "dato": "2030-01-01"}, "dato"),
])
def test_afgoerelse_refuses_bad_input_naming_the_field(svc, body, felt):
    vid = svc.post(EXAMPLE).json()["id"]
    r = svc.client.post(f"/v1/vurderinger/{vid}/afgoerelse", json=body, headers=svc.headers("visitator"))
    problem = assert_problem(r, 422)
    assert felt in [f["felt"] for f in problem["fejl"]], problem
    assert "4411" not in r.text


# --------------------------------------------------------------------------- rule sets


def test_regelsaet_lists_versions_by_date_with_status(svc):
    body = svc.client.get("/v1/regelsaet", headers=svc.headers("visitator")).json()
    assert {"aktiv", "historisk", "afventer"} <= {v["status"] for v in body["versioner"]}
    assert [v["gyldig_fra"] for v in body["versioner"]] == sorted(v["gyldig_fra"] for v in body["versioner"])
    aktiv = [v for v in body["versioner"] if v["status"] == "aktiv"]
    assert body["i_kraft_i_dag"] == aktiv[0]["sha256"]


def test_snapshots_are_stored_content_addressed_and_checked_on_read(svc):
    from engine.versions import sha256_of

    sha = svc.post(EXAMPLE).json()["regelsaet"]["sha256"]
    snap = svc.client.get(f"/v1/regelsaet/{sha}", headers=svc.headers("revisor"))
    assert snap.status_code == 200 and sha256_of(snap.json()["indhold"]) == sha
    assert_problem(svc.client.get("/v1/regelsaet/" + "0" * 64, headers=svc.headers("revisor")), 404)


def test_a_tampered_snapshot_is_refused(tmp_path):
    svc = make_app(tmp_path)
    sha = svc.post(EXAMPLE).json()["regelsaet"]["sha256"]
    conn = sqlite3.connect(svc.store.path)
    text = conn.execute("SELECT indhold FROM regelsaet_snapshots WHERE sha256 = ?", (sha,)).fetchone()[0]
    conn.execute("UPDATE regelsaet_snapshots SET indhold = ? WHERE sha256 = ?", (text.replace("Ambulant", "Ambulatorisk", 1), sha))
    conn.commit()
    conn.close()
    assert_problem(svc.client.get(f"/v1/regelsaet/{sha}", headers=svc.headers("revisor")), 500)


def test_broken_rule_file_refuses_start(tmp_path):
    from engine import RulesInvalid

    rules = copy_rules(tmp_path)
    target = rules / "misbrug" / "lov" / "behandling.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "\n  - ødelagt: [\n", encoding="utf-8")
    with pytest.raises(RulesInvalid):
        make_app(tmp_path, rules_dir=rules)


@pytest.mark.slow
def test_reload_validates_and_keeps_old_rules_on_error(tmp_path):
    rules = copy_rules(tmp_path)
    svc = make_app(tmp_path, rules_dir=rules)
    red = svc.headers("redaktoer")
    before = svc.post(EXAMPLE).json()
    assert svc.client.post("/v1/regelsaet/valider", headers=red).json()["gyldig"] is True
    target = rules / "misbrug" / "lov" / "behandling.yaml"
    original = target.read_text(encoding="utf-8")
    target.write_text(original + "\nregler:\n  - id: [uafsluttet\n", encoding="utf-8")
    for path in ("/v1/regelsaet/valider", "/v1/regelsaet/genindlaes"):
        problem = assert_problem(svc.client.post(path, headers=red), 422)
        assert any("behandling.yaml:" in f["felt"] for f in problem["fejl"])
    assert svc.post(EXAMPLE).json()["regelsaet"] == before["regelsaet"]  # the old rules stay in service
    target.write_text(original, encoding="utf-8")
    ok = svc.client.post("/v1/regelsaet/genindlaes", headers=red)
    assert ok.status_code == 200 and ok.json()["genindlaest"] is True


def test_validation_compiles_what_reload_compiles(tmp_path):
    rules = copy_rules(tmp_path)
    svc = make_app(tmp_path, rules_dir=rules)
    target = rules / "misbrug" / "lov" / "koordinering.yaml"
    text = target.read_text(encoding="utf-8")
    nested = ("      - en_af:\n          - en_af:\n              - {felt: alder, operator: \">\", vaerdi: 1}\n"
              "              - {felt: alder, operator: \">\", vaerdi: 2}\n          - {felt: alder, operator: \">\", vaerdi: 3}\n")
    marker = "    hvis:\n"
    target.write_text(text.replace(marker, marker + nested, 1), encoding="utf-8")
    for path in ("/v1/regelsaet/valider", "/v1/regelsaet/genindlaes"):
        problem = assert_problem(svc.client.post(path, headers=svc.headers("redaktoer")), 422)
        assert any("koordinering.yaml:" in f["felt"] and "en_af" in f["besked"] for f in problem["fejl"])


# --------------------------------------------------------------------------- replay


def test_replay_is_identical_under_the_original_version_and_says_differences_in_words(tmp_path):
    svc = make_app(tmp_path, today=date(2026, 11, 23))
    old = svc.post(example(henvendelsesdato="2024-03-01", vurderingsdato="2024-03-02")).json()
    r = svc.client.post(f"/v1/vurderinger/{old['id']}/genberegn", headers=svc.headers("revisor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["identisk"] is True and body["forskelle_original"] == []
    stored = {k: v for k, v in old.items() if k not in ("id", "oprettet")}
    assert body["original"] == stored
    assert body["regelsaet_original"]["version"] < body["regelsaet_nu"]["version"] and body["samme_version"] is False
    for d in body["forskelle"]:
        assert {"sti", "hvad", "tekst", "foer", "nu"} <= set(d) and "\\u" not in json.dumps(d, ensure_ascii=False)
    same = svc.post(EXAMPLE).json()
    body = svc.client.post(f"/v1/vurderinger/{same['id']}/genberegn", headers=svc.headers("revisor")).json()
    assert body["identisk"] is True and body["samme_version"] is True and body["forskelle"] == []


def test_replay_mismatch_is_loud(tmp_path, caplog):
    svc = make_app(tmp_path)
    caplog.set_level(logging.INFO)
    made = svc.post(EXAMPLE).json()
    conn = sqlite3.connect(svc.store.path)
    svar = json.loads(conn.execute("SELECT svar FROM vurderinger WHERE id = ?", (made["id"],)).fetchone()[0])
    svar["anbefalinger"][0]["tilbud"]["navn"] = "Noget andet"
    conn.execute("UPDATE vurderinger SET svar = ? WHERE id = ?", (json.dumps(svar, ensure_ascii=False), made["id"]))
    conn.commit()
    conn.close()
    problem = assert_problem(svc.client.post(f"/v1/vurderinger/{made['id']}/genberegn", headers=svc.headers("revisor")), 500)
    assert problem["identisk"] is False
    assert any(getattr(rec, "haendelse", "") == "genberegning_afviger" and rec.levelno == logging.ERROR for rec in caplog.records)


# --------------------------------------------------------------------------- listing and export


def test_listing_is_newest_first_with_filters_and_pages(tmp_path):
    svc = make_app(tmp_path)
    made = {
        "a": svc.post(example(borger_reference="sag-a")).json(),
        "b": svc.post(example(borger_reference="sag-b", henvendelsesdato="2024-03-01", vurderingsdato="2024-03-02")).json(),
        "c": svc.post(example(borger_reference="sag-a", rusmidler=[], boligsituation="gade")).json(),
    }

    def listing(**params):
        r = svc.client.get("/v1/vurderinger", params=params, headers=svc.headers("revisor"))
        assert r.status_code == 200, r.text
        return r.json()

    everything = listing()
    assert everything["total"] == 3 and [x["id"] for x in everything["vurderinger"]] == [made[k]["id"] for k in "cba"]
    assert [x["id"] for x in listing(borger_reference="sag-a")["vurderinger"]] == [made["c"]["id"], made["a"]["id"]]
    assert listing(borger_reference="ukendt")["total"] == 0
    assert [x["id"] for x in listing(version=made["b"]["regelsaet"]["version"])["vurderinger"]] == [made["b"]["id"]]
    bolig = [x["id"] for x in listing(spor="bolig")["vurderinger"]]
    assert made["c"]["id"] in bolig and made["a"]["id"] not in bolig
    page = listing(limit=2)
    assert len(page["vurderinger"]) == 2 and page["naeste_offset"] == 2
    assert listing(limit=2, offset=2)["naeste_offset"] is None


def test_export_as_json_lines_and_csv(tmp_path):
    svc = make_app(tmp_path)
    made = [svc.post(EXAMPLE).json() for _ in range(3)]
    r = svc.client.get("/v1/vurderinger/eksport", headers=svc.headers("revisor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["id"] for x in lines] == [m["id"] for m in made]
    assert lines[0]["svar"] == made[0] and "borger_reference" not in lines[0]["screening"]
    csv = svc.client.get("/v1/vurderinger/eksport?format=csv", headers=svc.headers("revisor"))
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.strip().splitlines()) == 4
    empty = svc.client.get("/v1/vurderinger/eksport?fra=2020-01-01&til=2020-12-31", headers=svc.headers("revisor"))
    assert empty.text == ""


def test_every_read_is_in_the_access_log(tmp_path):
    svc = make_app(tmp_path)
    vid = svc.post(EXAMPLE).json()["id"]
    svc.client.get(f"/v1/vurderinger/{vid}", headers=svc.headers("revisor"))
    svc.client.get("/v1/vurderinger/eksport", headers=svc.headers("revisor"))
    total, entries = svc.store.access_log("eksempelkommune", vurdering=vid)
    assert total >= 2 and {e.formaal for e in entries} >= {"GET /v1/vurderinger/{id}", "GET /v1/vurderinger/eksport"}


# --------------------------------------------------------------------------- OpenAPI


def test_openapi_describes_every_endpoint_and_error(svc):
    spec = svc.client.get("/openapi.json").json()
    documented = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert {(m, p) for m, p, _ in ENDPOINTS} | {("get", "/v1/regelsaet/{sha256}")} <= documented
    assert "Screening" in spec["components"]["schemas"] and "VurderingsSvar" in spec["components"]["schemas"]
    post_op = spec["paths"]["/v1/vurderinger"]["post"]
    assert post_op["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Screening"
    assert {"201", "401", "403", "413", "422", "500"} <= set(post_op["responses"])
    for path, item in spec["paths"].items():
        for method, op in item.items():
            errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
            if path not in ("/v1/sundhed", "/healthz", "/readyz", "/metrics"):
                assert "401" in errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == [PROBLEM], (method, path, code)
    assert svc.client.get("/docs").status_code == 404  # no page that loads scripts from outside
