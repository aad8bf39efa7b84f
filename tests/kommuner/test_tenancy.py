"""Tenancy: a token (or signed-in user) of one municipality never reads or writes another's data.

One app serves Herning (A) and Silkeborg (B). A gets decisions, an afgørelse, reads in the access
log and a draft in the rule editor; B gets one decision. Then EVERY route of the app (enumerated
from app.routes, so a new route fails here until it is put in ROUTES) is requested with B's tokens
and sessions:

- a route that names one of A's records (a decision, an afgørelse, a chain post, a rule version,
  a draft, a block of A's layer) answers B exactly as it answers for a record that does not exist:
  404 for the role that may use the route (never 403, so existence does not leak);
- every listing, export, statistic, page and public route shows B nothing of A: no id, no
  version fingerprint of A's layer, no local block or name of A's layer;
- the same requests with A's tokens do show A's records (so the checks are not vacuous);
- afterwards each municipality's hash chain verifies on its own.

Run on SQLite and on PostgreSQL (marked pg and slow).
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from support.app import ROLES, make_app
from support.bodies import example
from support.layers import rules_with_test_layers

A, B = "herning", "silkeborg"
MISSING_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
MISSING_SHA = "f" * 64
REFERENCE_A = "sag-herning-0042"


def all_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI keeps them nested)."""
    out: list[tuple[str, str]] = []

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            ctx = getattr(r, "include_context", None)
            if ctx is not None:
                walk(ctx.included_router.routes, prefix + ctx.prefix)
            elif hasattr(r, "path"):
                for method in sorted(getattr(r, "methods", None) or {"GET"}):
                    if method != "HEAD":
                        out.append((method, prefix + r.path))

    walk(app.routes, "")
    return sorted(set(out))


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    app: Any
    api: TestClient
    tokens: dict[tuple[str, str], str]
    web: dict[tuple[str, str], tuple[TestClient, str]]  # (kommune, role) -> (signed-in client, csrf)
    ids: dict[str, str] = field(default_factory=dict)  # A's records by name
    markers: set[str] = field(default_factory=set)  # text that must never reach B

    def headers(self, kommune: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(kommune, role)]}"}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _session_csrf(client: TestClient) -> str:
    for page in ("/visitation", "/revision", "/redigering", "/regler"):
        r = client.get(page)
        found = re.search(r'name="csrf" value="([^"]+)"', r.text)
        if found:
            return found.group(1)
    raise AssertionError("no page with the session's CSRF token")


def build_world(tmp_path: Path, db_url: Optional[str] = None) -> World:
    svc = make_app(tmp_path, kommuner=(A, B), rules_dir=rules_with_test_layers(), db_url=db_url)
    store = svc.store
    tokens = {(k, role): store.create_token(role, k, f"test-{k}-{role}")[0] for k in (A, B) for role in ROLES}
    world = World(svc.app, svc.client, tokens, {})
    for key, token in tokens.items():
        client = TestClient(svc.app, base_url="http://127.0.0.1", follow_redirects=False)
        page = client.get("/log-ind")
        r = client.post("/log-ind", data={"csrf": _csrf(page.text), "token": token, "naeste": ""})
        assert r.status_code == 303, r.text[:300]
        world.web[key] = (client, _session_csrf(client))
    # A's records
    first = svc.client.post("/v1/vurderinger", json=example(borger_reference=REFERENCE_A), headers=world.headers(A, "visitator"))
    second = svc.client.post("/v1/vurderinger", json=example(alder=52, borger_reference=REFERENCE_A), headers=world.headers(A, "visitator"))
    assert first.status_code == second.status_code == 201, first.text
    world.ids["vurdering"], world.ids["vurdering2"] = first.json()["id"], second.json()["id"]
    afg = svc.client.post(f"/v1/vurderinger/{world.ids['vurdering']}/afgoerelse", json={"udfald": "fulgt"}, headers=world.headers(A, "visitator"))
    assert afg.status_code == 201, afg.text
    world.ids["afgoerelse"] = afg.json()["id"]
    assert svc.client.get(f"/v1/vurderinger/{world.ids['vurdering']}", headers=world.headers(A, "revisor")).status_code == 200
    client, csrf = world.web[(A, "redaktoer")]
    draft = client.post("/redigering/ny", data={"csrf": csrf})
    assert draft.status_code == 303, draft.text[:300]
    world.ids["kladde"] = draft.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    world.ids["sha"] = first.json()["regelsaet"]["sha256"]
    world.ids["kommune_sha"] = first.json()["regelsaet"]["kommune_sha256"]
    world.ids["seq"] = str(store.verify_chain(A).hoved_seq)
    # B's own record (so B's chain and listings are not empty)
    own = svc.client.post("/v1/vurderinger", json=example(borger_reference="sag-silkeborg-1"), headers=world.headers(B, "visitator"))
    assert own.status_code == 201 and own.json()["regelsaet"]["kommune"] == "Silkeborg Kommune", own.text
    world.ids["b_vurdering"] = own.json()["id"]
    assert int(world.ids["seq"]) > store.verify_chain(B).hoved_seq, "A's last post must not exist in B's chain"
    a_shas = {v.sha256 for v in svc.app.state.engines.for_kommune(A).versions()}
    b_shas = {v.sha256 for v in svc.app.state.engines.for_kommune(B).versions()}
    world.markers = {world.ids[k] for k in ("vurdering", "vurdering2", "afgoerelse", "kladde", "sha", "kommune_sha")}
    world.markers |= a_shas - b_shas
    world.markers |= {"Herning Kommune", "Misbrugscenter Herning", "misbrugscenter-herning", "herning-hjemloese-visitation", REFERENCE_A}
    world.markers |= {t.id for t in store.list_tokens(A)}
    return world


# --------------------------------------------------------------------------- what each route is


@dataclass(frozen=True)
class Route:
    """How to request a route: `kind` is public, shared (the law, the same for all), listing (B must
    see nothing of A) or object (names A's record: 404 for B). `path` fills the path parameters
    ({a} = A's record, {missing} = none); `form`/`json` is the body; `shows_a`: A's own request
    shows an A marker (the positive control)."""

    kind: str
    path: str = ""
    query: str = ""
    form: Optional[dict[str, str]] = None
    json: Any = None
    shows_a: bool = False
    note: str = ""


#: (method, route path) -> how to request it. A new route fails test_every_route_is_in_the_table.
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/openapi.json"): Route("public"),
    ("GET", "/healthz"): Route("public"),
    ("GET", "/readyz"): Route("public"),
    ("GET", "/metrics"): Route("public"),
    ("GET", "/v1/sundhed"): Route("public"),
    ("GET", "/static/{name}"): Route("public", "/static/web.css"),
    ("GET", "/"): Route("listing"),
    ("GET", "/log-ind"): Route("public"),
    ("POST", "/log-ind"): Route("public", form={"token": "ikke-en-noegle"}),
    ("POST", "/log-ud"): Route("public", form={}, note="ends B's session: requested last"),
    ("POST", "/v1/vurderinger"): Route("listing", json=example(borger_reference="sag-silkeborg-2")),
    ("GET", "/v1/vurderinger"): Route("listing", shows_a=True),
    ("GET", "/v1/vurderinger/eksport"): Route("listing", shows_a=True),
    ("GET", "/v1/vurderinger/{id}"): Route("object", "/v1/vurderinger/{vurdering}", shows_a=True),
    ("POST", "/v1/vurderinger/{id}/afgoerelse"): Route("object", "/v1/vurderinger/{vurdering}/afgoerelse", json={"udfald": "fulgt"}),
    ("GET", "/v1/vurderinger/{id}/afgoerelser/{afgoerelse_id}"): Route("object", "/v1/vurderinger/{vurdering}/afgoerelser/{afgoerelse}",
                                                                       shows_a=True),
    ("POST", "/v1/vurderinger/{id}/genberegn"): Route("object", "/v1/vurderinger/{vurdering}/genberegn", shows_a=True),
    ("GET", "/v1/vurderinger/{id}/journalnotat"): Route("object", "/v1/vurderinger/{vurdering}/journalnotat"),
    ("GET", "/v1/vurderinger/{id}/brev"): Route("object", "/v1/vurderinger/{vurdering}/brev"),
    ("GET", "/v1/statistik"): Route("listing", shows_a=True),
    ("GET", "/v1/log/verifikation"): Route("listing"),
    ("GET", "/v1/adgangslog"): Route("listing", shows_a=True),
    ("GET", "/v1/borgerindsigt"): Route("listing", query=f"borger_reference={REFERENCE_A}", shows_a=True),
    ("GET", "/v1/regelsaet"): Route("listing", shows_a=True),
    ("GET", "/v1/regelsaet/{sha256}"): Route("object", "/v1/regelsaet/{sha}", shows_a=True),
    ("POST", "/v1/regelsaet/valider"): Route("listing", json={}),
    ("POST", "/v1/regelsaet/genindlaes"): Route("listing", json={}),
    ("GET", "/visitation"): Route("listing"),
    ("POST", "/visitation"): Route("listing", form={"alder": "34", "henvendelsesdato": "2026-11-02", "vurderingsdato": "2026-11-03",
                                                    "boligsituation": "egen_bolig", "antal_rusmidler": "1", "rusmidler-0-stof": "cannabis",
                                                    "rusmidler-0-grad": "afhaengighed", "handling": "vurder"}),
    ("GET", "/vurdering/{id}"): Route("object", "/vurdering/{vurdering}", shows_a=True),
    ("POST", "/vurdering/{id}/afgoerelse"): Route("object", "/vurdering/{vurdering}/afgoerelse", form={"udfald": "fulgt"}),
    ("GET", "/vurderinger/mine"): Route("listing", shows_a=True),
    ("GET", "/vurdering/{id}/journalnotat"): Route("object", "/vurdering/{vurdering}/journalnotat"),
    ("GET", "/vurdering/{id}/journalnotat.txt"): Route("object", "/vurdering/{vurdering}/journalnotat.txt"),
    ("GET", "/vurdering/{id}/brev"): Route("object", "/vurdering/{vurdering}/brev"),
    ("GET", "/revision"): Route("listing", shows_a=True),
    ("GET", "/revision/kaede"): Route("listing"),
    ("GET", "/revision/eksport"): Route("listing", shows_a=True),
    ("GET", "/revision/post/{seq}"): Route("object", "/revision/post/{seq}"),
    ("GET", "/revision/oversigt"): Route("listing"),
    ("GET", "/revision/adgangslog"): Route("listing", shows_a=True),
    ("GET", "/revision/borgerindsigt"): Route("listing"),
    ("POST", "/revision/borgerindsigt"): Route("listing", form={"borger_reference": REFERENCE_A}, shows_a=True),
    ("GET", "/revision/{id}"): Route("object", "/revision/{vurdering}", shows_a=True),
    ("POST", "/revision/{id}/genberegn"): Route("object", "/revision/{vurdering}/genberegn", form={}),
    ("GET", "/redigering"): Route("listing", shows_a=True),
    ("POST", "/redigering/ny"): Route("listing", form={}),
    ("POST", "/redigering/upload"): Route("listing", form={}),
    ("GET", "/redigering/{draft_id}"): Route("object", "/redigering/{kladde}", shows_a=True),
    ("POST", "/redigering/{draft_id}/note"): Route("object", "/redigering/{kladde}/note", form={"note": "fra en anden kommune"}),
    ("POST", "/redigering/{draft_id}/ny-blok"): Route("object", "/redigering/{kladde}/ny-blok", form={"sektion": "regler"}),
    ("GET", "/redigering/{draft_id}/blok/{section}/{index}"): Route("object", "/redigering/{kladde}/blok/tilbud/0"),
    ("POST", "/redigering/{draft_id}/blok/{section}/{index}"): Route("object", "/redigering/{kladde}/blok/tilbud/0", form={}),
    ("POST", "/redigering/{draft_id}/blok/{section}/{index}/yaml"): Route("object", "/redigering/{kladde}/blok/tilbud/0/yaml",
                                                                          form={"yaml": "id: x"}),
    ("GET", "/redigering/{draft_id}/tilfaelde"): Route("object", "/redigering/{kladde}/tilfaelde"),
    ("POST", "/redigering/{draft_id}/tilfaelde"): Route("object", "/redigering/{kladde}/tilfaelde", form={"yaml": "tilfaelde: []"}),
    ("GET", "/redigering/{draft_id}/afproevning"): Route("object", "/redigering/{kladde}/afproevning"),
    ("POST", "/redigering/{draft_id}/indsend"): Route("object", "/redigering/{kladde}/indsend", form={}),
    ("POST", "/redigering/{draft_id}/afgoer"): Route("object", "/redigering/{kladde}/afgoer", form={"beslutning": "afvis"}),
    ("POST", "/redigering/{draft_id}/genaabn"): Route("object", "/redigering/{kladde}/genaabn", form={}),
    ("GET", "/redigering/{draft_id}/filer.zip"): Route("object", "/redigering/{kladde}/filer.zip"),
    ("GET", "/regler"): Route("listing", shows_a=True),
    ("GET", "/regler/alle"): Route("listing", shows_a=True),
    ("GET", "/regler/blok/{kind}/{item_id}"): Route("object", "/regler/blok/tilbud/{blok}", shows_a=True),
    ("GET", "/regler/bestemmelse/{pid}"): Route("shared", "/regler/bestemmelse/sel-101-behandling"),
    ("GET", "/regler/felt/{name}"): Route("shared", "/regler/felt/alder"),
    ("GET", "/regler/soeg"): Route("listing", query="q=misbrugscenter", shows_a=True),
    ("GET", "/regler/historik"): Route("listing"),
    ("GET", "/regler/konsekvens"): Route("listing"),
    ("GET", "/regler/{sha256}"): Route("object", "/regler/{sha}", shows_a=True),
}

#: What a placeholder in Route.path is for A's record and for a record that does not exist.
PLACEHOLDERS = {"vurdering": ("vurdering", MISSING_ID), "afgoerelse": ("afgoerelse", MISSING_ID), "kladde": ("kladde", MISSING_ID),
                "sha": ("sha", MISSING_SHA), "seq": ("seq", "999999"), "blok": (None, "findes-ikke")}


def _path(route: Route, world: World, missing: bool) -> str:
    def fill(match: re.Match[str]) -> str:
        key, absent = PLACEHOLDERS[match.group(1)]
        if missing:
            return absent
        return "misbrugscenter-herning" if key is None else world.ids[key]

    return re.sub(r"\{(\w+)\}", fill, route.path) + (f"?{route.query}" if route.query else "")


def request(world: World, method: str, route: Route, kommune: str, role: str, missing: bool = False) -> Any:
    path = _path(route, world, missing) if route.path else None
    assert path is not None
    if route.form is not None or (method == "GET" and not path.startswith(("/v1/", "/openapi", "/healthz", "/readyz", "/metrics"))):
        client, csrf = world.web[(kommune, role)]
        if method == "GET":
            return client.get(path)
        return client.post(path, data={"csrf": csrf, **(route.form or {})})
    headers = world.headers(kommune, role)
    if method == "GET":
        return world.api.get(path, headers=headers)
    return world.api.post(path, json=route.json, headers=headers)


def _leaks(world: World, body: str, asked: str = "") -> set[str]:
    """A's markers in a response, except those the request itself named (a 404 may echo the id it was asked for)."""
    return {m for m in world.markers if m in body and m not in asked}


def _asked(world: World, route: Route) -> str:
    return _path(route, world, False) + json.dumps(route.form or {}, ensure_ascii=False) + json.dumps(route.json, ensure_ascii=False)


def _text(response: Any) -> str:
    try:
        return response.content.decode("utf-8", errors="replace")
    except Exception:  # pragma: no cover
        return ""


def _resolved(method: str, path: str) -> Route:
    route = ROUTES[(method, path)]
    return route if route.path else Route(route.kind, path, route.query, route.form, route.json, route.shows_a, route.note)


# --------------------------------------------------------------------------- the tests


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.pg, pytest.mark.slow])])
def world(request: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    db_url = None
    if request.param == "postgresql":
        from support.pg import pg_url

        monkeypatch.setenv("VISITATOR_HMAC_KEY", "h" * 64)
        monkeypatch.setenv("VISITATOR_LOG_KEY", "l" * 64)
        db_url = pg_url()
    return build_world(tmp_path, db_url)


@pytest.mark.slow
def test_every_route_is_in_the_table(tmp_path: Path) -> None:
    svc = make_app(tmp_path, kommuner=(A, B), rules_dir=rules_with_test_layers())
    missing = [f"{m} {p}" for m, p in all_routes(svc.app) if (m, p) not in ROUTES]
    assert not missing, ("routes without a tenancy check; add each to ROUTES in tests/kommuner/test_tenancy.py: " + ", ".join(missing))
    gone = [f"{m} {p}" for m, p in ROUTES if (m, p) not in set(all_routes(svc.app))]
    assert not gone, "ROUTES names routes the app no longer has: " + ", ".join(gone)


def _object_checks(world: World, method: str, route: Route) -> list[str]:
    problems = []
    got_404 = False
    for role in ROLES:
        theirs = request(world, method, route, B, role)
        absent = request(world, method, route, B, role, missing=True)
        if theirs.status_code != absent.status_code:
            problems.append(f"{method} {route.path} as {B} {role}: {theirs.status_code} for {A}'s record, {absent.status_code} for none")
        if theirs.status_code < 400 and theirs.status_code not in (303,):
            problems.append(f"{method} {route.path} as {B} {role}: {theirs.status_code} for {A}'s record")
        leaks = _leaks(world, _text(theirs), _asked(world, route))
        if leaks:
            problems.append(f"{method} {route.path} as {B} {role} shows {sorted(leaks)}")
        got_404 = got_404 or theirs.status_code == 404
    if not got_404:
        problems.append(f"{method} {route.path}: no role of {B} gets 404 for {A}'s record")
    return problems


def _listing_checks(world: World, method: str, route: Route) -> list[str]:
    problems = []
    for role in ROLES:
        theirs = request(world, method, route, B, role)
        if theirs.status_code >= 500:
            problems.append(f"{method} {route.path} as {B} {role}: {theirs.status_code}")
        leaks = _leaks(world, _text(theirs), _asked(world, route))
        if leaks:
            problems.append(f"{method} {route.path} as {B} {role} shows {sorted(leaks)}")
    return problems


def _positive_control(world: World, method: str, route: Route) -> list[str]:
    """A's own request shows A's record, so B's silence is scoping, not an empty page."""
    asked = _asked(world, route)
    shown = [role for role in ROLES if _leaks(world, _text(request(world, method, route, A, role)), asked)]
    return [] if shown else [f"{method} {route.path}: not even {A}'s own tokens see {A}'s records (the check would be vacuous)"]


@pytest.mark.slow
def test_no_route_shows_or_changes_another_municipalitys_records(world: World) -> None:
    problems: list[str] = []
    routes = sorted(ROUTES, key=lambda mp: (ROUTES[mp].note != "", mp))  # log-ud last: it ends the sessions
    for method, path in routes:
        route = _resolved(method, path)
        if route.kind == "object":
            problems += _object_checks(world, method, route)
        else:
            problems += _listing_checks(world, method, route)
        if route.shows_a:
            problems += _positive_control(world, method, route)
    assert not problems, "\n".join(problems)
    for kommune in (A, B):
        report = world.app.state.store.verify_chain(kommune)
        assert report.intakt and report.antal > 0, (kommune, report)
    # B's requests wrote nothing into A's chain: A's decisions are A's two, B's are B's own.
    store = world.app.state.store
    from service.log import Filters

    total_a, rows_a = store.list_decisions(A, Filters(), 100, 0)
    assert {r.id for r in rows_a} == {world.ids["vurdering"], world.ids["vurdering2"]}
    _, rows_b = store.list_decisions(B, Filters(), 100, 0)
    assert world.ids["b_vurdering"] in {r.id for r in rows_b} and not {r.id for r in rows_b} & {r.id for r in rows_a}


def test_a_decision_names_its_municipality_and_the_sha_of_its_layer(world: World) -> None:
    """regelsaet: kommune (display name) and kommune_sha256 (the layer as in force), beside sha256."""
    a = world.api.get(f"/v1/vurderinger/{world.ids['vurdering']}", headers=world.headers(A, "revisor")).json()["regelsaet"]
    b = world.api.get(f"/v1/vurderinger/{world.ids['b_vurdering']}", headers=world.headers(B, "revisor")).json()["regelsaet"]
    assert a["kommune"] == "Herning Kommune" and b["kommune"] == "Silkeborg Kommune"
    assert re.fullmatch(r"[0-9a-f]{64}", a["kommune_sha256"]) and a["kommune_sha256"] != b["kommune_sha256"]
    assert a["sha256"] != a["kommune_sha256"]
    snapshot = world.api.get(f"/v1/regelsaet/{a['sha256']}", headers=world.headers(A, "revisor"))
    assert snapshot.status_code == 200 and json.loads(snapshot.text).get("kommune_sha256") == a["kommune_sha256"]


def test_a_token_of_a_municipality_the_deployment_does_not_serve_is_refused(tmp_path: Path) -> None:
    svc = make_app(tmp_path, kommuner=(A, B), rules_dir=rules_with_test_layers())
    tokens = {role: svc.store.create_token(role, "thisted", "ikke betjent")[0] for role in ROLES}
    for role, method, path, body in (("visitator", "POST", "/v1/vurderinger", example()), ("revisor", "GET", "/v1/vurderinger", None),
                                     ("revisor", "GET", "/v1/statistik", None), ("redaktoer", "GET", "/v1/regelsaet", None)):
        r = svc.client.request(method, path, json=body, headers={"Authorization": f"Bearer {tokens[role]}"})
        assert r.status_code in (403, 404), (path, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/problem+json"), (path, r.headers)
        assert "thisted" in r.json()["detail"].lower() or "kommune" in r.json()["detail"].lower(), r.json()

