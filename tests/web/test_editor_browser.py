"""The rule editor in a real browser (Debian's Chromium via Playwright, as tests/web/test_browser.py):
the whole policy loop of issue 15 - edit -> test -> preview -> submit -> approve by a second user ->
publish -> a decision under the new version -> replay of an old decision - with axe-core and the
320 px reflow check on every editor page (screenshots in artifacts/screenshots/), and the pictures
for regler/LAESMIG.md (in artifacts/billeder/; with VISITATOR_OPDATER_BILLEDER=1 straight into
regler/billeder/, to refresh the guide after a change to the pages).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from web.test_browser import ARGS, CHROMIUM, WIDE, Served, _missing, check_both_widths, signed_in_page
from web.test_editor import KOMMUNE, SCREENING, UNGE_CASES, make_editor
from web.webapp import keys_in_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / ("regler" if os.environ.get("VISITATOR_OPDATER_BILLEDER") == "1" else "artifacts") / "billeder"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    import os

    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail("browser tests need: " + "; ".join(missing))
        pytest.skip("browser tests need: " + "; ".join(missing))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with keys_in_env():
        ed = make_editor(tmp_path_factory.mktemp("editor-browser"))
        with Served(ed) as server:  # Served needs .app (the WebApp interface); Editor has it
            server.ed = ed  # type: ignore[attr-defined]
            yield server


def sign_in(browser: Any, served: Any, who: str) -> Any:
    return signed_in_page(browser, served.url, served.ed.tokens[who], timeout_ms=60_000)


def doc_shot(page: Any, name: str) -> None:
    """A picture for the documentation (regler/LAESMIG.md): 1100 px wide, the top of the page."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)
    page.set_viewport_size(WIDE)


def click(page: Any, name: str, timeout: float = 60_000) -> None:
    with page.expect_navigation(timeout=timeout):
        page.get_by_role("button", name=name).click()


def active_id(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def test_edit_test_preview_submit_approve_publish_decide_and_replay(browser, served):
    ed = served.ed
    client = ed.client()
    old = client.post("/v1/vurderinger", json=SCREENING, headers=ed.api("visitator"))
    assert old.status_code == 201, old.text
    old_id = old.json()["id"]

    # Anna starts a draft from the rules in force.
    anna = sign_in(browser, served, "anna")
    anna.goto("/redigering")
    check_both_widths(anna, "20-redigering")
    doc_shot(anna, "redigering-1-kladder")
    click(anna, "Start en ny kladde")
    draft_url = anna.url
    check_both_widths(anna, "21-kladde")
    anna.get_by_label("Ændringsnote").fill("Ungeteam for 18-29-årige fra 1. januar 2027")
    anna.get_by_label("Foreslået gyldig fra").fill("2027-01-01")
    click(anna, "Gem note og dato")
    assert "Ændringsnoten er gemt" in anna.content()

    # A new offer in the form built from the schema; a mistake is shown beside its field, the summary takes the focus.
    click(anna, "Nyt tilbud")
    check_both_widths(anna, "22-blok-ny")
    anna.get_by_label("Id", exact=True).fill("ungeteam")
    anna.get_by_label("Navn", exact=True).fill("Ungeteamet – ambulant behandling for unge")
    anna.get_by_label("Kategori", exact=True).select_option("ambulant")
    anna.get_by_label("Spor", exact=True).first.select_option("behandling")
    anna.get_by_label("Indgrebsniveau", exact=True).fill("tre")
    anna.get_by_label("Beskrivelse", exact=True).fill("Kommunens ungeteam giver unge fra 18 til 29 år ambulant behandling i ungemiljøet.")
    anna.get_by_label("Dokument", exact=True).fill("Testkommune: ungestrategi 2027, afsnit 2")
    anna.get_by_label("Alder fra (valgfri)").fill("18")
    anna.get_by_label("Alder til (valgfri)").fill("29")
    if anna.get_by_label("Foretrækkes frem for (valgfri)").count():
        anna.get_by_label("Foretrækkes frem for (valgfri)").fill("misbrugscenter-ambulant, ambulant")
    click(anna, "Gem og kontrollér")
    assert active_id(anna) == "fejlboks", "the error summary takes the focus after a save with problems"
    assert anna.locator("#f-indgrebsniveau-fejl").count() == 1
    check_both_widths(anna, "23-blok-fejl")
    doc_shot(anna, "redigering-3-fejl-ved-feltet")
    anna.get_by_label("Indgrebsniveau", exact=True).fill("3")
    click(anna, "Gem og kontrollér")
    assert "blokken er gyldig" in anna.locator("#resultat").inner_text()
    check_both_widths(anna, "24-blok-gemt")
    doc_shot(anna, "redigering-2-formular-og-yaml")

    # The municipality's golden cases for the new offer.
    anna.goto(draft_url + "/tilfaelde")
    anna.get_by_label("Filnavn").fill("unge.yaml")
    anna.get_by_label("Indhold", exact=True).fill(UNGE_CASES)
    click(anna, "Gem den nye fil")
    check_both_widths(anna, "25-tilfaelde")

    # Test and preview: golden cases, the whole input space and the stored decisions.
    anna.goto(draft_url)
    with anna.expect_navigation(timeout=180_000):
        anna.get_by_role("link", name="Afprøv kladden: gyldne tilfælde og konsekvenser").click()
    text = anna.locator("main").inner_text()
    assert "Kommunens egne: 3 af 3 består" in text and "18–29 år" in text
    check_both_widths(anna, "26-afproevning")
    doc_shot(anna, "redigering-4-afproevning")

    # Submit; the author is told she cannot approve her own draft.
    anna.goto(draft_url)
    click(anna, "Indsend til godkendelse")
    assert "Du kan ikke godkende din egen kladde" in anna.content()
    check_both_widths(anna, "27-indsendt")
    anna.context.close()

    # Bo approves with the date and a comment: published.
    bo = sign_in(browser, served, "bo")
    bo.goto(draft_url)
    check_both_widths(bo, "28-godkendelse")
    bo.get_by_label("Godkend og tag i brug").check()
    bo.get_by_label("Gyldig fra", exact=True).fill("2027-01-01")
    bo.get_by_label("Kommentar", exact=True).fill("Godkendt efter udvalgets beslutning")
    doc_shot(bo, "redigering-5-godkendelse")
    click(bo, "Afgør kladden")
    assert "publiceret (godkendt og taget i brug)" in bo.content()
    check_both_widths(bo, "29-publiceret")

    # The rule pages: the new offer in words, search and the history.
    bo.goto("/regler/blok/tilbud/ungeteam")
    words = bo.locator("main").inner_text()
    assert "alder er højst 29" in words and "Bo Redaktør" in words
    check_both_widths(bo, "30-regel-i-ord")
    doc_shot(bo, "regelsider-1-tilbud-i-ord")
    bo.goto("/regler/soeg?q=ungeteam")
    check_both_widths(bo, "31-soeg")
    bo.goto("/regler/historik")
    check_both_widths(bo, "32-historik")
    doc_shot(bo, "regelsider-2-historik")
    bo.goto("/regler/alle")
    check_both_widths(bo, "33-regler-i-ord")
    bo.goto("/regler/bestemmelse/sel-110-forsorgshjem")
    check_both_widths(bo, "34-bestemmelse")
    bo.context.close()

    # A caseworker's decision under the new version (vurderingsdato in 2027).
    vera = sign_in(browser, served, "visitator")
    vera.goto("/visitation")
    vera.fill("#alder", "23")
    vera.fill("#henvendelsesdato", "2027-01-04")
    vera.fill("#vurderingsdato", "2027-01-04")
    vera.select_option("#boligsituation", "egen_bolig")
    vera.select_option("#rusmidler-0-stof", "cannabis")
    vera.select_option("#rusmidler-0-grad", "skadeligt")
    click(vera, "Vurder og gem")
    assert "Ungeteamet – ambulant behandling for unge" in vera.locator("main").inner_text()
    vera.context.close()

    # The old decision replays exactly under the rules it was made with.
    rie = sign_in(browser, served, "revisor")
    rie.goto(f"/revision/{old_id}")
    click(rie, "Genberegn")
    assert "Identisk med det gemte svar: ja" in rie.locator("#genberegning").inner_text()
    rie.context.close()
    assert ed.app.state.store.verify_chain(KOMMUNE).intakt
