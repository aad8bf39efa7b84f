"""Operations endpoints in-process: /healthz, /readyz, /metrics, a database that does not
answer (503 with Retry-After, never a 201 without its record), and the export that
validates before it streams and ends a failed stream so a reader can tell."""
from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from service.log import Filters, StoreUnavailable
from support.app import KOMMUNE, make_app
from support.bodies import EXAMPLE, example
from support.server import serve_in_thread

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and "Traceback" not in response.text
    return body


def samples(text: str) -> dict[str, float]:
    """Prometheus text format as {name{labels}: value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    """One app for the tests that change nothing lasting (monkeypatches are undone after each)."""
    return make_app(tmp_path_factory.mktemp("ops"))


def count_decisions(svc) -> int:
    return svc.store.list_decisions(KOMMUNE, Filters(), 1, 0)[0]


def test_healthz_needs_no_token_and_touches_nothing(svc, monkeypatch):

    def down() -> None:
        raise StoreUnavailable("nede")

    monkeypatch.setattr(svc.store, "ping", down)
    r = svc.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_ok_and_503_when_the_database_or_the_rules_are_missing(svc, monkeypatch):
    r = svc.client.get("/readyz")
    assert r.status_code == 200 and r.json()["tjek"] == {"regler": "ok", "database": "ok"}

    def down() -> None:
        raise StoreUnavailable("nede")

    monkeypatch.setattr(svc.store, "ping", down)
    problem = assert_problem(svc.client.get("/readyz"), 503)
    assert problem["tjek"]["database"].startswith("svarer ikke") and problem["tjek"]["regler"] == "ok"
    monkeypatch.undo()
    monkeypatch.setattr(svc.app.state.engines.for_kommune(KOMMUNE), "versions", lambda: [])
    r = svc.client.get("/readyz")
    problem = assert_problem(r, 503)
    assert problem["tjek"]["regler"] != "ok" and problem["tjek"]["database"] == "ok"
    assert r.headers["retry-after"] == "1"


def test_a_database_that_does_not_answer_is_a_503_problem_never_a_201_without_its_record(tmp_path, monkeypatch):
    svc = make_app(tmp_path)
    assert svc.post(EXAMPLE).status_code == 201
    before = count_decisions(svc)

    def lost(records):
        raise StoreUnavailable("forbindelsen er tabt")

    monkeypatch.setattr(svc.store, "append_decisions", lost)  # the writer thread's commit fails
    r = svc.post(EXAMPLE)
    assert_problem(r, 503)
    assert r.headers["retry-after"] == "1" and "location" not in r.headers
    monkeypatch.undo()
    assert count_decisions(svc) == before  # nothing was stored for the 503
    ok = svc.post(EXAMPLE)
    assert ok.status_code == 201
    assert svc.store.get_decision(KOMMUNE, ok.json()["id"]).svar == ok.text  # the 201 has its record, byte for byte
    assert samples(svc.client.get("/metrics").text)["visitator_storage_unavailable_total"] == 1
    assert svc.store.verify_chain(KOMMUNE).intakt


def test_metrics_are_prometheus_text_with_routes_decisions_and_the_rule_set(tmp_path):
    svc = make_app(tmp_path)
    made = [svc.post(example(alder=30 + i)) for i in range(3)]
    assert [r.status_code for r in made] == [201] * 3
    svc.client.post("/v1/vurderinger", json=EXAMPLE)  # 401
    svc.client.get("/v1/vurderinger/NOPE", headers=svc.headers("revisor"))  # 404, labelled with the route template
    r = svc.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    s = samples(r.text)
    assert s['visitator_http_requests_total{method="POST",route="/v1/vurderinger",status="201"}'] == 3
    assert s['visitator_http_requests_total{method="POST",route="/v1/vurderinger",status="401"}'] == 1
    assert s['visitator_http_requests_total{method="GET",route="/v1/vurderinger/{id}",status="404"}'] == 1
    assert s['visitator_http_request_duration_seconds_count{method="POST",route="/v1/vurderinger"}'] == 4
    assert 'visitator_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/vurderinger"}' in s
    expected = Counter((a["spor"], a["tilbud"]["kategori"]) for r in made for a in r.json()["anbefalinger"])
    assert expected
    for (spor, kategori), n in expected.items():
        assert s[f'visitator_decisions_total{{kategori="{kategori}",spor="{spor}"}}'] == n
    versions = svc.client.get("/v1/regelsaet", headers=svc.headers("revisor")).json()
    current = next(v for v in versions["versioner"] if v["sha256"] == versions["i_kraft_i_dag"])
    key = (f'visitator_rule_set_info{{navn="{versions["navn"]}/{KOMMUNE}",sha256="{current["sha256"]}",'
           f'version="{current["version"]}"}}')
    assert s[key] == 1


def test_a_core_disagreement_is_a_500_that_stores_nothing_and_is_counted(tmp_path, monkeypatch):
    from engine import CoresDisagree

    svc = make_app(tmp_path)
    engine = svc.app.state.engines.for_kommune(KOMMUNE)

    def disagree(*args, **kwargs):
        raise CoresDisagree("misbrug@2026-04-01", ("durable", "reference"), ["tracks"])

    monkeypatch.setattr(engine, "decide", disagree)
    problem = assert_problem(svc.post(EXAMPLE), 500)
    assert problem["fejl_id"] in problem["detail"] and count_decisions(svc) == 0
    s = samples(svc.client.get("/metrics").text)
    assert s['visitator_kerner_uenige_total{version="misbrug@2026-04-01"}'] == 1


def test_ops_endpoints_are_documented_as_needing_no_token(svc):
    spec = svc.client.get("/openapi.json").json()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert spec["paths"][path]["get"]["security"] == []
        assert svc.client.get(path).status_code == 200
        assert_problem(svc.client.post(path), 405)


# --------------------------------------------------------------------------- the export


@pytest.mark.parametrize("query, felt", [
    ("til=9999-12-31", "til"),
    ("fra=2026-02-30", "fra"),
    ("fra=2026-05-01&til=2026-04-01", "til"),
    ("borger_reference=310287-4411", "borger_reference"),
    ("format=xml", "format"),
])
def test_the_export_validates_before_it_streams(svc, query, felt):
    svc.post(EXAMPLE)
    r = svc.client.get(f"/v1/vurderinger/eksport?{query}", headers=svc.headers("revisor"))
    problem = assert_problem(r, 422)
    assert felt in [f["felt"] for f in problem["fejl"]] and "4411" not in r.text


def test_the_export_answers_503_before_streaming_when_the_database_does_not_answer(svc, monkeypatch):
    svc.post(EXAMPLE)

    def down() -> None:
        raise StoreUnavailable("nede")

    monkeypatch.setattr(svc.store, "ping", down)
    assert_problem(svc.client.get("/v1/vurderinger/eksport", headers=svc.headers("revisor")), 503)


def _failing_half_way(svc, monkeypatch, after: int) -> None:
    real = svc.store.iter_decisions
    # The export sends a batch only once the access log records it (issue 17); one record a batch here,
    # so the records before the failure are sent.
    monkeypatch.setattr("service.api.vurderinger.EXPORT_BATCH", 1)

    def iter_then_fail(kommune, filters, *args, **kwargs):
        for i, record in enumerate(real(kommune, filters, *args, **kwargs)):
            if i == after:
                raise StoreUnavailable("forbindelsen blev tabt midt i eksporten")
            yield record

    monkeypatch.setattr(svc.store, "iter_decisions", iter_then_fail)


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_export_that_fails_half_way_ends_with_a_line_that_says_so(tmp_path, monkeypatch, fmt):
    svc = make_app(tmp_path)
    ids = [svc.post(example(alder=20 + i)).json()["id"] for i in range(4)]
    _failing_half_way(svc, monkeypatch, after=2)
    r = svc.client.get(f"/v1/vurderinger/eksport?format={fmt}", headers=svc.headers("revisor"))
    lines = [line for line in r.text.splitlines() if line.strip()]
    if fmt == "ndjson":
        assert [json.loads(x)["id"] for x in lines[:2]] == ids[:2]
        assert "fejl" in json.loads(lines[-1]) and "ufuldstændig" in lines[-1]
    else:
        assert len(lines) == 1 + 2 + 1 and lines[-1].startswith("# EKSPORTEN BLEV AFBRUDT")


def test_an_export_that_fails_half_way_is_a_broken_http_body_not_a_complete_200(tmp_path, monkeypatch):
    """Over real HTTP the chunked body is never terminated: a client sees an error, not a short file."""
    svc = make_app(tmp_path)
    for i in range(4):
        svc.post(example(alder=20 + i))
    with serve_in_thread(svc.app) as url:
        whole = httpx.get(url + "/v1/vurderinger/eksport", headers=svc.headers("revisor"), timeout=30)
        assert whole.status_code == 200 and len(whole.text.splitlines()) == 4
        _failing_half_way(svc, monkeypatch, after=2)
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            with httpx.stream("GET", url + "/v1/vurderinger/eksport", headers=svc.headers("revisor"), timeout=30) as r:
                assert r.status_code == 200
                for chunk in r.iter_bytes():
                    received += chunk
    assert b"ufuldst" in received  # what did arrive ends with the line that says so
