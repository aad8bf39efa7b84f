"""The pages in a real browser: Debian's Chromium (/usr/bin/chromium, never a downloaded
browser) driven by Playwright against the app served by uvicorn in this process.

Every page is checked at 320 px (no horizontal scrolling, WCAG 1.4.10) and with
axe-core at 320 and 1280 px, with screenshots of both in artifacts/screenshots/;
focus after a failed submit and after adding or removing a substance; the focus
ring's contrast; and the printed journal note and letter fit one A4 page.
Needs /usr/bin/chromium, the playwright package and tests/.axe/node_modules/axe-core/axe.min.js
(installed by .ci/run); with CI set a missing piece fails the tests, locally they skip.
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from web.webapp import WebApp, keys_in_env, make_web_app

from support.bodies import example

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
NARROW, WIDE = {"width": 320, "height": 720}, {"width": 1280, "height": 900}


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
def browser() -> Iterator[Any]:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """The app under uvicorn on a free loopback port, with decisions to look at."""

    def __init__(self, web: WebApp):
        import uvicorn

        self.web = web
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(web.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Served":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with keys_in_env():
        web = make_web_app(tmp_path_factory.mktemp("browser"))
    client, auth = web.client(), web.api("visitator")
    served_ids = []
    for body in (example(), example(boligsituation="gade", rusmidler=[{"stof": "opioider", "grad": "afhaengighed"}], abstinensrisiko=True)):
        served_ids.append(client.post("/v1/vurderinger", json=body, headers=auth).json()["id"])
    client.post(f"/v1/vurderinger/{served_ids[0]}/afgoerelse", json={"udfald": "afveget", "tilbud": {"behandling": "dagbehandling"},
                                                                     "begrundelse": "Borgeren har brug for struktur i hverdagen."}, headers=auth)
    with Served(web) as served:
        served.ids = served_ids  # type: ignore[attr-defined]
        yield served


def signed_in_page(browser: Any, url: str, token: str, timeout_ms: int = 30_000) -> Any:
    """A new browser page signed in through the login form with this token."""
    # bypass_csp only so that axe-core can be injected as a script; the pages themselves have none.
    context = browser.new_context(base_url=url, bypass_csp=True, locale="da-DK", viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto("/log-ind")
    page.get_by_label("Adgangsnøgle").fill(token)
    with page.expect_navigation():
        page.get_by_role("button", name="Log ind").click()
    return page


def new_page(browser: Any, server: Served, role: str) -> Any:
    return signed_in_page(browser, server.url, server.web.tokens[role])


def axe_check(page: Any, name: str) -> None:
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {name}:\n" + "\n".join(bad)


def check_both_widths(page: Any, name: str) -> None:
    """axe and a screenshot at 1280 px, then at 320 px also no horizontal scrolling."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    axe_check(page, f"{name} (1280 px)")
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(NARROW)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1)
                                   .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""")
    assert widths[0] <= widths[1], f"{name} scrolls sideways at 320 px ({widths}); too wide: {wide}"
    axe_check(page, f"{name} (320 px)")
    page.screenshot(path=str(SHOTS / f"{name}-320.png"), full_page=True)
    page.set_viewport_size(WIDE)


def visit(page: Any, path: str, name: str) -> None:
    page.goto(path)
    check_both_widths(page, name)


# --------------------------------------------------------------------------- every page, both widths


def test_sign_in_and_error_pages(browser, server):
    context = browser.new_context(base_url=server.url, bypass_csp=True, viewport=WIDE)
    page = context.new_page()
    page.goto("/")
    assert page.url.endswith("/log-ind")
    check_both_widths(page, "01-log-ind")
    page.get_by_label("Adgangsnøgle").fill("vst_forkert")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Adgangsnøglen er ukendt" in page.content()
    check_both_widths(page, "01-log-ind-fejl")
    context.close()
    page = new_page(browser, server, "redaktoer")
    visit(page, "/revision", "01-ingen-adgang")
    assert "Ingen adgang" in page.content()
    page.context.close()


def test_caseworker_pages(browser, server):
    page = new_page(browser, server, "visitator")
    first, second = server.ids
    visit(page, "/visitation", "02-visitation")
    visit(page, f"/vurdering/{first}", "03-vurdering")
    visit(page, f"/vurdering/{second}", "03-vurdering-bolig")
    visit(page, f"/vurdering/{first}?print=1", "04-udskrift")
    visit(page, f"/vurdering/{first}/journalnotat", "05-journalnotat")
    visit(page, f"/vurdering/{first}/brev", "06-brev")
    visit(page, "/vurderinger/mine", "07-mine-vurderinger")
    page.context.close()


def test_auditor_pages(browser, server):
    page = new_page(browser, server, "revisor")
    first, _ = server.ids
    visit(page, "/revision", "08-revision")
    visit(page, f"/revision/{first}", "09-beslutning")
    visit(page, "/revision/oversigt?fra=2024-01-01&til=2026-12-31", "10-oversigt")
    visit(page, "/revision/kaede", "11-kaede")
    visit(page, "/revision?fra=igaar", "08-revision-fejl")
    visit(page, "/revision/adgangslog", "12-adgangslog")
    visit(page, "/revision/adgangslog?fra=igaar", "12-adgangslog-fejl")
    visit(page, "/revision/borgerindsigt", "13-borgerindsigt")
    page.get_by_label("Sagsreference").fill("sag-2026-0042")
    with page.expect_navigation():
        page.get_by_role("button", name="Vis indsigten").click()
    assert "Oplysninger registreret i visitationssystemet" in page.content()
    check_both_widths(page, "13-borgerindsigt-dokument")
    page.context.close()


def test_replay_page(browser, server):
    page = new_page(browser, server, "revisor")
    page.goto(f"/revision/{server.ids[0]}")
    with page.expect_navigation():
        page.get_by_role("button", name="Genberegn").click()
    assert page.locator("#genberegning").count() == 1, "the replay did not answer"
    assert "Identisk med det gemte svar: ja" in page.locator("#genberegning").inner_text()
    check_both_widths(page, "09-beslutning-genberegnet")
    page.context.close()


def test_rule_set_pages(browser, server):
    page = new_page(browser, server, "redaktoer")
    visit(page, "/regler", "12-regler")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Version fra")).nth(1).click()
    check_both_widths(page, "13-regelversion")
    page.goto("/regler/konsekvens")
    options = page.locator("#fra option").evaluate_all("els => els.map(e => e.value).filter(Boolean)")
    page.select_option("#fra", options[-3])
    page.select_option("#til", options[-1])
    with page.expect_navigation(timeout=120_000):
        page.get_by_role("button", name="Sammenlign").click()
    assert "får et andet resultat" in page.locator("#rapport").inner_text()
    check_both_widths(page, "14-konsekvens")
    page.context.close()


# --------------------------------------------------------------------------- keyboard and focus


def fill_screening(page: Any, alder: str) -> None:
    page.goto("/visitation")
    page.fill("#alder", alder)
    page.fill("#henvendelsesdato", "2026-11-02")
    page.fill("#vurderingsdato", "2026-11-03")
    page.select_option("#boligsituation", "hos_andre")
    page.select_option("#rusmidler-0-stof", "alkohol")
    page.select_option("#rusmidler-0-grad", "skadeligt")
    page.check("#gravid")


def active_id(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def test_after_a_failed_submit_focus_is_on_the_error_summary_and_the_input_is_kept(browser, server):
    page = new_page(browser, server, "visitator")
    fill_screening(page, "130")
    page.fill("#borger_reference", "sag-2026-17")
    with page.expect_navigation():
        page.get_by_role("button", name="Vurder og gem").last.click()
    assert active_id(page) == "fejlboks"
    assert "skal være mellem 0 og 120" in page.locator("#alder-fejl").inner_text()
    assert page.locator("#alder").input_value() == "130" and page.locator("#borger_reference").input_value() == "sag-2026-17"
    assert page.locator("#boligsituation").input_value() == "hos_andre" and page.locator("#gravid").is_checked()
    check_both_widths(page, "15-visitation-fejl")
    page.locator(".fejlboks a").first.focus()
    page.keyboard.press("Enter")
    page.locator("#alder").fill("67")
    with page.expect_navigation():
        page.locator("#alder").press("Enter")
    assert "/vurdering/" in page.url
    page.context.close()


def test_adding_and_removing_a_substance_keeps_the_focus_where_the_user_was(browser, server):
    page = new_page(browser, server, "visitator")
    fill_screening(page, "40")
    page.locator("#rusmidler-tilfoej").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert active_id(page) == "rusmidler-1-stof"
    assert page.locator("#alder").input_value() == "40" and page.locator("#rusmidler-0-stof").input_value() == "alkohol"
    page.keyboard.press("Tab")
    assert active_id(page) == "rusmidler-1-grad"
    page.locator("#rusmidler-0-fjern").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert active_id(page) == "rusmidler-0-fjern"  # the row that moved up; its button is where the user was
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert active_id(page) == "rusmidler-tilfoej"
    page.context.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = (_luminance(tuple(float(x) for x in re.findall(r"[\d.]+", c)[:3])) for c in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def test_the_focus_ring_has_at_least_3_to_1_contrast(browser, server):
    page = new_page(browser, server, "visitator")
    page.goto("/visitation")
    for selector, background_of in (("#alder", "main"), ("#rusmidler-tilfoej", "main"), (".log-ud button", ".top"),
                                    ("a[href='/vurderinger/mine']", ".top")):
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
        style = page.evaluate("""(s) => { const e = document.querySelector(s); const c = getComputedStyle(e);
                                 return [c.outlineStyle, c.outlineWidth, c.outlineColor]; }""", selector)
        background = page.evaluate("(s) => getComputedStyle(document.querySelector(s)).backgroundColor", background_of)
        background = "rgb(255, 255, 255)" if background in ("rgba(0, 0, 0, 0)", "transparent") else background
        assert style[0] != "none" and float(style[1].rstrip("px")) >= 2, (selector, style)
        assert contrast(style[2], background) >= 3, (selector, style[2], background)
    page.context.close()


# --------------------------------------------------------------------------- print


def pdf_pages(page: Any) -> int:
    pdf = page.pdf(format="A4", print_background=False)
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_the_journal_note_and_the_letter_print_on_one_a4_page(browser, server):
    page = new_page(browser, server, "visitator")
    for record in server.ids:
        for path in (f"/vurdering/{record}/brev", f"/vurdering/{record}/journalnotat"):
            page.goto(path)
            assert pdf_pages(page) == 1, path
    page.goto(f"/vurdering/{server.ids[0]}?print=1")
    assert pdf_pages(page) <= 3
    page.context.close()


def test_the_letter_from_the_api_prints_on_one_a4_page(browser, server):
    import httpx

    html = httpx.get(f"{server.url}/v1/vurderinger/{server.ids[0]}/brev", headers=server.web.api("visitator")).text
    page = browser.new_context(viewport=WIDE).new_page()
    page.set_content(html)
    assert pdf_pages(page) == 1
    page.context.close()
