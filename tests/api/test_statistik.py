"""GET /v1/statistik: decisions per month by track and category, the versions in force, and the
share of afgørelser that deviate from the recommendation, per track and per offer."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import pytest
from web.webapp import WebApp, keys_in_env, make_web_app

from support.bodies import example

HOUSING = example(boligsituation="gade", borger_reference=None)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """Three decisions and two afgørelser (one follows, one deviates)."""
    with keys_in_env():
        app = make_web_app(tmp_path_factory.mktemp("statistik"))
    client, auth = app.client(), app.api("visitator")
    ids = [client.post("/v1/vurderinger", json=body, headers=auth).json()["id"] for body in (example(), example(), HOUSING)]
    client.post(f"/v1/vurderinger/{ids[0]}/afgoerelse", json={"udfald": "fulgt"}, headers=auth)
    client.post(f"/v1/vurderinger/{ids[1]}/afgoerelse", json={"udfald": "afvist_af_borger", "begrundelse": "Vil ikke nu."}, headers=auth)
    yield app


def stats(web: WebApp, query: str = "") -> dict:
    r = web.client().get("/v1/statistik" + query, headers=web.api("revisor"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_decisions_are_counted_per_month_track_and_category(web):
    body = stats(web)
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    assert body["gruppering"] == "maaned" and body["maaneder"] == [month]
    counts = {(r["spor"], r["kategori"]): r["antal"] for r in body["vurderinger"]}
    assert counts[("behandling", "ambulant")] == 3 and counts[("bolig", "housing_first_icm")] == 1


def test_the_share_of_deviating_afgoerelser_per_track_and_per_offer(web):
    body = stats(web)
    behandling = next(a for a in body["afgoerelser_pr_spor"] if a["noegle"] == "behandling")
    assert (behandling["i_alt"], behandling["fulgt"], behandling["afvist_af_borger"], behandling["andel_afvigelser"]) == (2, 1, 1, 0.5)
    offer = next(a for a in body["afgoerelser_pr_tilbud"] if a["noegle"] == "misbrugscenter-ambulant")
    assert offer["spor"] == "behandling" and offer["andel_afvigelser"] == 0.5


def test_the_versions_in_force_over_the_period_are_listed_for_the_timeline(web):
    body = stats(web, "?fra=2024-01-01&til=2026-12-31")
    assert body["maaneder"][0] == "2024-01" and body["maaneder"][-1] == "2026-12" and len(body["maaneder"]) == 36
    starts = [v["gyldig_fra"] for v in body["regelsaet"]]
    assert "2024-09-01" in starts and "2026-04-01" in starts and "2026-07-01" not in starts  # a pending law is not in force


def test_filters_by_track_and_category(web):
    assert {r["spor"] for r in stats(web, "?spor=bolig")["vurderinger"]} == {"bolig"}
    body = stats(web, "?kategori=ambulant")
    assert {r["kategori"] for r in body["vurderinger"]} == {"ambulant"}
    assert [a["noegle"] for a in body["afgoerelser_pr_spor"]] == ["behandling"]
    assert stats(web, "?fra=2010-01-01&til=2010-12-31")["vurderinger"] == []


@pytest.mark.parametrize("query, felt", [("?gruppering=uge", "gruppering"), ("?fra=igaar", "fra"), ("?fra=2026-02-01&til=2026-01-01", "til"),
                                         ("?spor=ingen", "spor")])
def test_bad_parameters_are_refused_naming_the_field(web, query, felt):
    r = web.client().get("/v1/statistik" + query, headers=web.api("revisor"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert felt in [f["felt"] for f in r.json()["fejl"]]


def test_only_auditors_see_the_figures(web):
    assert web.client().get("/v1/statistik").status_code == 401
    assert web.client().get("/v1/statistik", headers=web.api("visitator")).status_code == 403


def test_months_between_fills_the_gaps():
    from service.api.statistik import months_between

    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
