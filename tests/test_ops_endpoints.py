"""Operations endpoints: /healthz, /readyz, /metrics, and graceful shutdown of a real `visitator serve`."""
from __future__ import annotations

import json
import signal
import sqlite3

from test_service_common import Server, auth, example, make_client, stream_then_signal

PROBLEM = "application/problem+json"


def test_healthz_needs_no_token(tmp_path):
    client, tokens, app = make_client(tmp_path)
    with client:
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_ok_and_503_when_database_or_rules_missing(tmp_path, monkeypatch):
    client, tokens, app = make_client(tmp_path)
    with client:
        r = client.get("/readyz")
        assert r.status_code == 200 and r.json()["tjek"] == {"regler": "ok", "database": "ok"}
        from service.storage import StorageUnavailable

        def down() -> None:
            raise StorageUnavailable("nede")

        monkeypatch.setattr(app.state.storage, "ping", down)
        r = client.get("/readyz")
        assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["status"] == 503 and r.json()["tjek"]["database"].startswith("svarer ikke")
        monkeypatch.undo()
        monkeypatch.setattr(app.state.engine, "versions", lambda: [])
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["tjek"]["regler"] != "ok" and r.json()["tjek"]["database"] == "ok"


def test_storage_unavailable_is_a_503_problem_not_a_201(tmp_path, monkeypatch):
    client, tokens, app = make_client(tmp_path)
    with client:
        from service.storage import StorageUnavailable

        def fail(record):
            raise StorageUnavailable("forbindelsen er tabt")

        monkeypatch.setattr(app.state.storage, "append", fail)
        r = client.post("/v1/vurderinger", json=example(), headers=auth(tokens["visitator"]))
        assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM) and r.headers["retry-after"] == "1"
        monkeypatch.undo()
        assert client.post("/v1/vurderinger", json=example(), headers=auth(tokens["visitator"])).status_code == 201
        assert "visitator_storage_unavailable_total 1.0" in client.get("/metrics").text


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_metrics_prometheus_text(tmp_path):
    client, tokens, app = make_client(tmp_path)
    with client:
        for _ in range(3):
            assert client.post("/v1/vurderinger", json=example(), headers=auth(tokens["visitator"])).status_code == 201
        client.post("/v1/vurderinger", json=example())  # 401
        client.get("/v1/vurderinger/NOPE", headers=auth(tokens["revisor"]))  # 404, route template label
        r = client.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        s = _samples(r.text)
        assert s['visitator_http_requests_total{method="POST",route="/v1/vurderinger",status="201"}'] == 3
        assert s['visitator_http_requests_total{method="POST",route="/v1/vurderinger",status="401"}'] == 1
        assert s['visitator_http_requests_total{method="GET",route="/v1/vurderinger/{id}",status="404"}'] == 1
        assert s['visitator_http_request_duration_seconds_count{method="POST",route="/v1/vurderinger"}'] == 4
        assert 'visitator_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/vurderinger"}' in s
        assert s['visitator_decisions_total{kategori="ambulant",spor="behandling"}'] == 3
        assert s['visitator_decisions_total{kategori="laegesamtale",spor="medicinsk"}'] == 3
        versions = client.get("/v1/regelsaet", headers=auth(tokens["revisor"])).json()
        current = next(v for v in versions["versioner"] if v["sha256"] == versions["i_kraft_i_dag"])
        key = f'visitator_rule_set_info{{navn="{versions["navn"]}",sha256="{current["sha256"]}",version="{current["version"]}"}}'
        assert s[key] == 1


def test_ops_endpoints_are_documented_without_a_token(tmp_path):
    """Probes and metrics are in /openapi.json like every endpoint, marked as needing no token."""
    client, tokens, app = make_client(tmp_path)
    with client:
        spec = client.get("/openapi.json").json()
        for path in ("/healthz", "/readyz", "/metrics"):
            assert spec["paths"][path]["get"]["security"] == []
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200
            assert client.post(path).status_code == 405


def test_sigterm_finishes_requests_in_flight(tmp_path):
    """SIGTERM during a stream of requests: every request that got a response got 201 and is in the log."""
    srv = Server(tmp_path)
    token = srv.token("visitator")
    srv.start()
    try:
        answered, errors = stream_then_signal(srv, token, signal.SIGTERM, after=40)
        assert srv.proc.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its graceful shutdown
    finally:
        srv.stop()
    assert len(answered) >= 40 and errors  # the stream was cut by the shutdown
    assert {status for status, _ in answered} == {201}
    ids = [json.loads(body)["id"] for _, body in answered]
    conn = sqlite3.connect(srv.db[len("sqlite:///"):])
    stored = {r[0]: r[1] for r in conn.execute("SELECT id, svar FROM vurderinger")}
    conn.close()
    assert len(set(ids)) == len(ids)
    for (_, body), id_ in zip(answered, ids):
        assert stored[id_] == body.decode()
    from service.storage import open_storage

    storage = open_storage(srv.db)
    assert storage.verify_chain().intakt
    storage.close()
