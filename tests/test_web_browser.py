"""The web pages in a real browser: Debian's Chromium driven by Playwright against
a real `visitator serve` process, with axe-core injected on every main page.

Needs /usr/bin/chromium (apt-get install chromium), the playwright wheel (no
browser download) and tests/.axe/node_modules/axe-core/axe.min.js
(npm install --no-save --prefix tests/.axe axe-core@4). When CI is set a missing
piece is a failure; locally the tests are skipped instead.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_service_common import Server  # the one test server helper


REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not AXE.exists():
        missing.append(f"{AXE} (npm install --no-save --prefix tests/.axe axe-core@4)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    return missing


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail("browser tests need: " + "; ".join(missing))
        pytest.skip("browser tests need: " + "; ".join(missing))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("websrv")).start()
    srv.tokens = {role: srv.token(role) for role in ("visitator", "revisor", "redaktoer")}
    yield srv
    srv.stop()


def new_page(browser, server, role: str):
    # bypass_csp only so that axe-core can be injected as an inline script.
    context = browser.new_context(base_url=server.url, bypass_csp=True, locale="da-DK")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/log-ind")
    page.get_by_label("Adgangsnøgle").fill(server.tokens[role])
    with page.expect_navigation():
        page.get_by_role("button", name="Log ind").click()
    return page


def axe_check(page, name: str) -> None:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {name}:\n" + "\n".join(bad)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fill_screening(page, *, alder: str, rusmidler: list[tuple[str, str]], bolig: str, flags: tuple[str, ...] = ()) -> None:
    page.goto("/visitation")
    page.fill("#alder", alder)
    page.fill("#henvendelsesdato", "2026-11-02")
    page.fill("#vurderingsdato", "2026-11-03")
    page.select_option("#boligsituation", bolig)
    for i, (stof, grad) in enumerate(rusmidler):
        if i > 0:
            with page.expect_navigation():
                page.get_by_role("button", name="Tilføj rusmiddel").click()
        page.select_option(f"#rusmidler-{i}-stof", stof)
        page.select_option(f"#rusmidler-{i}-grad", grad)
    for flag in flags:
        page.check(f"#{flag}")


def submit(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Vurder og gem").last.click()


def test_sign_in_page_is_accessible(browser, server):
    page = browser.new_context(base_url=server.url).new_page()
    page.goto("/")
    assert page.url.endswith("/log-ind")
    shot(page, "01-log-ind")
    page.context.close()
    context = browser.new_context(base_url=server.url, bypass_csp=True)
    page = context.new_page()
    page.goto("/log-ind")
    axe_check(page, "log-ind")
    page.get_by_label("Adgangsnøgle").fill("vst_forkert")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Adgangsnøglen er ukendt" in page.content()
    context.close()


def test_three_citizens_get_the_right_offers_and_legal_bases(browser, server):
    page = new_page(browser, server, "visitator")
    assert page.url.endswith("/visitation")
    axe_check(page, "visitation")
    shot(page, "02-visitation")

    fill_screening(page, alder="34", rusmidler=[("alkohol", "afhaengighed"), ("cannabis", "skadeligt")], bolig="egen_bolig")
    submit(page)
    assert re.search(r"/vurdering/[0-9A-Z]{26}$", page.url)
    body = page.locator("main")
    assert "Behandling: Misbrugscentret – ambulant behandling" in body.inner_text()
    assert "Serviceloven § 101, stk. 1" in body.inner_text()
    assert "Senest 16. november 2026" in body.inner_text()
    why = page.locator("details").first
    assert not why.locator("h4").first.is_visible()
    why.locator("summary").click()
    assert why.get_by_text("Hvorfor ikke mindre indgribende?").is_visible()
    assert why.get_by_text("Anonym ambulant behandling").is_visible()
    axe_check(page, "vurdering")
    shot(page, "03-vurdering")
    page.goto(page.url + "?print=1")
    shot(page, "04-udskrift")

    fill_screening(page, alder="40", rusmidler=[("opioider", "afhaengighed")], bolig="gade")
    submit(page)
    text = page.locator("main").inner_text()
    assert "Lægelig behandling: Substitutionsbehandling (ambulant)" in text
    assert "Sundhedsloven § 142, stk. 3" in text
    assert "Bolig: Hjemløseteamet – Housing First (ICM)" in text and "Serviceloven § 85 a" in text

    fill_screening(page, alder="22", rusmidler=[("cannabis", "risikabelt")], bolig="egen_bolig", flags=("oensker_anonymitet",))
    submit(page)
    text = page.locator("main").inner_text()
    assert "Behandling: Anonym rådgivning og ad hoc-samtaler" in text and "Serviceloven § 101 a" in text
    page.context.close()


def test_wrong_age_is_reported_beside_the_field_and_input_is_kept(browser, server):
    page = new_page(browser, server, "visitator")
    fill_screening(page, alder="130", rusmidler=[("alkohol", "skadeligt")], bolig="hos_andre", flags=("gravid",))
    page.fill("#borger_reference", "sag-2026-17")
    submit(page)
    assert page.url.endswith("/visitation")
    message = page.locator("#alder-fejl")
    assert "skal være mellem 0 og 120" in message.inner_text()
    assert page.locator("#alder").get_attribute("aria-describedby").split().count("alder-fejl") == 1
    assert page.locator("#alder").input_value() == "130"
    assert page.locator("#borger_reference").input_value() == "sag-2026-17"
    assert page.locator("#boligsituation").input_value() == "hos_andre"
    assert page.locator("#rusmidler-0-grad").input_value() == "skadeligt"
    assert page.locator("#gravid").is_checked()
    axe_check(page, "visitation med fejl")
    shot(page, "05-visitation-fejl")
    # Keyboard only: the summary link moves focus to the field; fixing it and pressing Enter evaluates.
    page.locator(".fejlboks a").first.focus()
    page.keyboard.press("Enter")
    page.locator("#alder").fill("67")
    with page.expect_navigation():
        page.locator("#alder").press("Enter")
    assert "/vurdering/" in page.url
    page.context.close()


def test_revisor_opens_a_decision_and_replays_it(browser, server):
    page = new_page(browser, server, "revisor")
    assert page.url.endswith("/revision")
    assert "Loggen er intakt" in page.locator("#kaede").inner_text()
    axe_check(page, "revision")
    shot(page, "06-revision")
    page.select_option("#spor", "bolig")
    with page.expect_navigation():
        page.get_by_role("button", name="Søg").click()
    assert "spor=bolig" in page.url
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("Åbn beslutning")).first.click()
    assert "Fuldt spor" in page.content()
    axe_check(page, "beslutning")
    with page.expect_navigation():
        page.get_by_role("button", name="Genberegn").click()
    assert "Identisk med det gemte svar: ja" in page.locator("#genberegning").inner_text()
    shot(page, "07-beslutning-genberegnet")
    page.context.close()


def test_redaktoer_sees_versions_rules_and_impact(browser, server):
    page = new_page(browser, server, "redaktoer")
    assert page.url.endswith("/regler")
    axe_check(page, "regler")
    shot(page, "08-regler")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Version ")).first.click()
    assert "Retskilde" in page.content()
    axe_check(page, "regelversion")
    page.goto("/regler/konsekvens")
    options = page.locator("#fra option").all_inner_texts()[1:]
    page.select_option("#fra", options[0])
    page.select_option("#til", options[-1])
    with page.expect_navigation():
        page.get_by_role("button", name="Sammenlign").click()
    assert "screeninger får et andet resultat" in page.locator("#rapport").inner_text()
    axe_check(page, "konsekvens")
    shot(page, "09-konsekvens")
    page.context.close()
