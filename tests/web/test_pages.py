"""The pages in-process (no browser): sign-in, CSRF, roles, the screening form round trip,
errors beside fields, the afgørelse, journal note and letter, Mine vurderinger, the
auditor's list, exports, overview, replay in words, chain errors and the rule pages."""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest
from web.webapp import FORM, TODAY, csrf_of, evaluate, keys_in_env, make_web_app, page_text, without_details

from engine.fields import GROUPS, INPUT_FIELDS

# --------------------------------------------------------------------------- signing in and out


def test_sign_in_by_pasting_the_token_gives_a_strict_httponly_session_cookie(web):
    client = web.client()
    r = client.get("/visitation")
    assert r.status_code == 303 and r.headers["location"].startswith("/log-ind?naeste=%2Fvisitation")
    assert client.post("/log-ind", data={"csrf": "forkert", "token": web.tokens["visitator"]}).status_code == 403
    bad = client.post("/log-ind", data={"csrf": csrf_of(client.get("/log-ind").text), "token": "vst_ukendt"})
    assert bad.status_code == 401 and "ukendt" in bad.text and "vst_ukendt" not in bad.text
    r = client.post("/log-ind", data={"csrf": csrf_of(client.get("/log-ind").text), "token": web.tokens["visitator"], "naeste": "/vurderinger/mine"})
    assert r.status_code == 303 and r.headers["location"] == "/vurderinger/mine"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Secure" not in cookie
    assert web.tokens["visitator"] not in cookie
    assert client.get("/visitation").status_code == 200


def test_the_first_start_link_signs_in_and_redirects_without_the_token(web):
    client = web.client()
    r = client.get("/log-ind?noegle=" + web.tokens["revisor"])
    assert r.status_code == 303 and r.headers["location"] == "/revision" and "noegle" not in r.headers["location"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/revision").status_code == 200
    unknown = web.client().get("/log-ind?noegle=vst_forkert")
    assert unknown.status_code == 401 and "vst_forkert" not in unknown.text


def test_a_redirect_after_sign_in_never_leaves_the_site(web):
    client = web.client()
    r = client.post("/log-ind", data={"csrf": csrf_of(client.get("/log-ind").text), "token": web.tokens["visitator"],
                                      "naeste": "//evil.example/x"})
    assert r.headers["location"] == "/visitation"


def test_sign_out_ends_the_server_side_session_so_a_replayed_cookie_is_refused(web):
    client = web.login("visitator")
    cookie = client.cookies.get("visitator_session")
    r = client.post("/log-ud", data={"csrf": csrf_of(client.get("/visitation").text)})
    assert r.status_code == 303 and r.headers["location"] == "/log-ind"
    replay = web.client()
    replay.cookies.set("visitator_session", cookie)
    assert replay.get("/visitation").status_code == 303


def test_the_cookie_is_secure_when_the_public_url_is_https(tmp_path):
    with keys_in_env():
        app = make_web_app(tmp_path, public_url="https://visitation.example.dk")
    r = app.client().get("/log-ind?noegle=" + app.tokens["revisor"])
    assert "Secure" in r.headers["set-cookie"]


def test_every_post_needs_the_sessions_csrf_token(web):
    client = web.login("visitator")
    record = evaluate(client)
    for path, data in (("/visitation", FORM), (f"/vurdering/{record}/afgoerelse", {"udfald": "fulgt"}), ("/log-ud", {})):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf": "x" * 43}).status_code == 403, path
    revisor = web.login("revisor")
    assert revisor.post(f"/revision/{record}/genberegn", data={"csrf": "x"}).status_code == 403


def test_roles_are_enforced_with_a_danish_page(web):
    visitator = web.login("visitator")
    for path in ("/revision", "/revision/oversigt", "/revision/eksport?format=csv", "/regler/konsekvens", "/regler"):
        r = visitator.get(path)
        assert r.status_code == 403 and "Ingen adgang" in r.text, path
    revisor = web.login("revisor")
    assert revisor.get("/visitation").status_code == 403 and revisor.get("/vurderinger/mine").status_code == 403
    redaktoer = web.login("redaktoer")
    assert redaktoer.get("/vurdering/01ABCDEFGHJKMNPQRSTVWXYZ00").status_code == 403


def test_pages_carry_a_strict_csp_and_no_javascript(web):
    client = web.login("visitator")
    record = evaluate(client)
    for path in ("/visitation", f"/vurdering/{record}", f"/vurdering/{record}/brev", f"/vurdering/{record}/journalnotat", "/log-ind"):
        r = client.get(path)
        assert "script-src" not in r.headers["content-security-policy"] and "default-src 'none'" in r.headers["content-security-policy"]
        assert "<script" not in r.text.lower() and " onclick" not in r.text.lower(), path


# --------------------------------------------------------------------------- the screening form


def test_the_form_has_every_input_of_the_vocabulary_with_its_label_and_group(web):
    html = web.login("visitator").get("/visitation").text
    for _, legend in GROUPS:
        assert f"<legend>{legend}</legend>" in html
    for name, field in INPUT_FIELDS.items():
        if name != "rusmidler":
            assert f'id="{name}"' in html and field.label in html, name
    assert 'id="rusmidler-0-stof"' in html and "Tilføj rusmiddel" in html


def test_a_decision_is_logged_and_shown_in_plain_danish(web):
    client = web.login("visitator")
    record = evaluate(client)
    page = client.get(f"/vurdering/{record}")
    text = page_text(page.text)
    assert "Misbrugscentret – ambulant behandling" in text and "Serviceloven § 101, stk. 1" in text
    assert "Senest 16. november 2026" in text and "Hvorfor ikke mindre indgribende?" in text
    assert re.search(r"gemt \d{1,2}\. \w+ 2026 kl\. \d\d\.\d\d", text)
    plain = page_text(without_details(page.text))
    for code in ("regler/misbrug", ".yaml", "oensker_anonymitet", "misbrugscenter-ambulant", "behov-behandling", "egen_bolig",
                 "kategori ambulant", "T0", "Z "):
        assert code not in plain, code
    assert "misbrugscenter-ambulant" in page.text  # the codes are there for auditors, under "Detaljer"
    printable = client.get(f"/vurdering/{record}?print=1").text
    assert "<details open>" in printable and 'class="udskrift"' in printable


def test_add_and_remove_substances_keep_the_input_and_the_focus(web):
    client = web.login("visitator")
    csrf = csrf_of(client.get("/visitation").text)
    r = client.post("/visitation", data={**FORM, "csrf": csrf, "handling": "tilfoej", "alder": "abc"})
    assert r.status_code == 200 and 'value="abc"' in r.text
    assert re.search(r'<select id="rusmidler-2-stof"[^>]*autofocus', r.text)
    r = client.post("/visitation", data={**FORM, "csrf": csrf, "handling": "fjern-0"})
    assert 'id="rusmidler-1-stof"' not in r.text
    assert re.search(r'id="rusmidler-0-stof".*?<option value="cannabis" selected>', r.text, re.S)
    assert re.search(r'id="rusmidler-0-fjern"[^>]*autofocus', r.text)  # focus stays where the removed row's button was
    r = client.post("/visitation", data={**FORM, "csrf": csrf, "handling": "fjern-1"})
    assert re.search(r'id="rusmidler-tilfoej"[^>]*autofocus', r.text)
    assert len(re.findall(r"\sautofocus", r.text)) == 1


def test_errors_sit_beside_their_fields_and_in_a_focused_summary_and_nothing_typed_is_lost(web):
    client = web.login("visitator")
    csrf = csrf_of(client.get("/visitation").text)
    data = {**FORM, "csrf": csrf, "alder": "130", "rusmidler-1-grad": "", "gravid": "ja", "borger_reference": "sag-17",
            "boligsituation": "hos_andre"}
    r = client.post("/visitation", data=data)
    assert r.status_code == 422
    assert re.search(r'<div class="fejlboks"[^>]*tabindex="-1"[^>]*autofocus', r.text)
    assert 'href="#alder">Alder: skal være mellem 0 og 120' in r.text
    assert 'href="#rusmidler-1-grad">Rusmiddel 2, grad: feltet mangler' in r.text
    assert 'id="alder-fejl"' in r.text and 'id="rusmidler-1-grad-fejl"' in r.text
    assert re.search(r'id="alder"[^>]*aria-describedby="alder-hjaelp alder-fejl" aria-invalid="true"', r.text)
    assert 'value="130"' in r.text and 'value="sag-17"' in r.text and '<option value="hos_andre" selected>' in r.text
    assert re.search(r'id="gravid" name="gravid" value="ja" checked', r.text)
    assert len(re.findall(r"\sautofocus", r.text)) == 1
    cpr = client.post("/visitation", data={**FORM, "csrf": csrf, "borger_reference": "310299-9999"})
    assert cpr.status_code == 422 and "CPR" in cpr.text and "9999" not in cpr.text  # refused and never written back
    assert 'id="borger_reference-fejl"' in cpr.text
    hidden = client.post("/visitation", data={**FORM, "csrf": csrf, "alder": "310299 9999"})  # in another field too
    assert hidden.status_code == 422 and "9999" not in hidden.text


# --------------------------------------------------------------------------- the afgørelse


def test_the_afgoerelse_is_recorded_with_errors_beside_the_fields(web):
    client = web.login("visitator")
    record = evaluate(client)
    csrf = csrf_of(client.get(f"/vurdering/{record}").text)
    r = client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf, "udfald": "afveget", "dato": "2026-11-20"})
    assert r.status_code == 422 and 'id="tilbud-fejl"' in r.text and re.search(r'class="fejlboks"[^>]*autofocus', r.text)
    r = client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf, "udfald": "afvist_af_borger", "begrundelse": "cpr 310299-9999"})
    assert r.status_code == 422 and 'id="begrundelse-fejl"' in r.text and "CPR" in r.text and "9999" not in r.text
    r = client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf})
    assert r.status_code == 422 and "vælg, hvad der blev afgjort" in r.text
    r = client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf, "udfald": "afveget", "tilbud-behandling": "dagbehandling",
                                                            "begrundelse": "Borgeren har brug for struktur i hverdagen.", "dato": "2026-11-20"})
    assert r.status_code == 303 and r.headers["location"] == f"/vurdering/{record}#afgoerelse"
    r = client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf, "udfald": "fulgt", "dato": "2026-11-21"})
    assert r.status_code == 303
    text = page_text(client.get(f"/vurdering/{record}").text)
    assert "Anbefalingen er fulgt (gældende)" in text and "afløst af en senere afgørelse" in text
    assert "Behandling: Dagbehandling" in text or "Behandling: " in text
    api = web.client().get(f"/v1/vurderinger/{record}", headers=web.api("revisor")).json()
    assert [a["udfald"] for a in api["afgoerelser"]] == ["afveget", "fulgt"]


def test_mine_vurderinger_lists_only_my_own_newest_first(web):
    mine = web.client()
    mine.get("/log-ind?noegle=" + web.new_token("visitator"))
    assert "0 vurderinger" in page_text(mine.get("/vurderinger/mine").text)
    first = evaluate(mine)
    assert "1 vurdering," in page_text(mine.get("/vurderinger/mine").text)
    second = evaluate(mine, alder="40")
    evaluate(web.login("visitator"))  # somebody else's
    html = mine.get("/vurderinger/mine").text
    assert "2 vurderinger" in page_text(html)
    links = re.findall(r'href="/vurdering/([0-9A-Z]{26})"', html)
    assert links == [second, first]


# --------------------------------------------------------------------------- journal note and letter


def test_the_journal_note_fits_one_screen_and_says_what_was_decided(web):
    client = web.login("visitator")
    record = evaluate(client)
    csrf = csrf_of(client.get(f"/vurdering/{record}").text)
    client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf, "udfald": "fulgt", "dato": "2026-11-20"})
    r = client.get(f"/vurdering/{record}/journalnotat.txt")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    lines = r.text.splitlines()
    assert len(lines) <= 30 and max(len(line) for line in lines) <= 100
    flat = " ".join(line.strip() for line in lines)
    for expected in ("3. november 2026", "2. november 2026", "Borgeren er 34 år", "Misbrugscentret – ambulant behandling",
                     "Serviceloven § 101, stk. 1", "senest 16. november 2026 (Serviceloven § 101, stk. 4)",
                     "Afgørelse 20. november 2026: Anbefalingen er fulgt."):
        assert expected in flat, expected
    page = client.get(f"/vurdering/{record}/journalnotat")
    assert page.status_code == 200 and '<pre class="notat" id="notat">Journalnotat' in page.text


def test_the_letter_has_decision_legal_basis_facts_and_klagevejledning(web):
    client = web.login("visitator")
    record = evaluate(client)
    page = client.get(f"/vurdering/{record}/brev")
    assert page.status_code == 200 and '<link rel="stylesheet" href="/static/brev.css">' in page.text
    text = page_text(page.text)
    assert "Afgørelse om tilbud om behandling og støtte" in text and "Misbrugscentret – ambulant behandling" in text
    assert "Afgørelsen er truffet efter Serviceloven § 101, stk. 1" in text and "Du er 34 år" in text
    assert "Klagevejledning" in text and "Kontrollér klagevejledningen" in text
    assert "Tilbuddet skal være sat i gang senest 16. november 2026" in text


# --------------------------------------------------------------------------- the auditor's pages


def test_the_list_is_newest_first_with_filters_and_chain_status(web):
    client = web.login("visitator")
    older, newer = evaluate(client), evaluate(client, boligsituation="gade")
    revisor = web.login("revisor")
    html = revisor.get("/revision").text
    assert "Loggen er intakt" in html
    ids = re.findall(r'href="/revision/([0-9A-Z]{26})"', html)
    assert ids.index(newer) < ids.index(older)
    filtered = revisor.get("/revision?spor=bolig&fra=2020-01-01").text
    assert newer in filtered and older not in filtered
    assert revisor.get("/revision?fra=igaar").status_code == 422
    cpr = revisor.get("/revision?borger_reference=310299-9999")
    assert cpr.status_code == 422 and "CPR" in cpr.text and "9999" not in cpr.text


def test_exports_work_with_the_web_session_and_the_filters(web):
    client = web.login("visitator")
    housing = evaluate(client, boligsituation="gade")
    revisor = web.login("revisor")
    r = revisor.get("/revision/eksport?format=csv&spor=bolig")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][0] == "seq" and housing in {row[1] for row in rows[1:]}
    assert all("bolig" in row[-1] for row in rows[1:])
    r = revisor.get("/revision/eksport?format=ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert housing in {x["id"] for x in lines} and r.headers["content-disposition"].startswith("attachment")
    assert revisor.get("/revision/eksport?format=xml").status_code == 422


def test_the_overview_draws_svg_charts_with_versions_on_the_timeline(web):
    client = web.login("visitator")
    record = evaluate(client)
    csrf = csrf_of(client.get(f"/vurdering/{record}").text)
    client.post(f"/vurdering/{record}/afgoerelse", data={"csrf": csrf, "udfald": "afvist_af_borger", "begrundelse": "Ønsker ikke behandling nu."})
    revisor = web.login("revisor")
    html = revisor.get("/revision/oversigt?fra=2024-01-01&til=2026-12-31").text
    assert html.count("<svg") == 4 and 'role="img"' in html and "<script" not in html
    assert 'class="version"' in html and "regler fra 1. april 2026" in html
    assert "Andel afgørelser, der afviger fra anbefalingen, pr. spor" in html and "Misbrugscentret – ambulant behandling" in html
    assert re.search(r"\d+ af \d+ \(\d+ %\)", html)
    assert revisor.get("/revision/oversigt?version=2026-04-01").status_code == 422


def test_replay_is_shown_in_words(web):
    client = web.login("visitator")
    record = evaluate(client, vurderingsdato="2019-06-01", henvendelsesdato="2019-05-20")
    revisor = web.login("revisor")
    page = revisor.get(f"/revision/{record}")
    assert page.status_code == 200 and "Fuldt spor" in page.text
    r = revisor.post(f"/revision/{record}/genberegn", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200
    text = page_text(r.text)
    assert "Identisk med det gemte svar: ja" in text
    assert "Oprindelig version fra 1. januar 2017" in text and "\\u00" not in r.text
    assert "Det ville dagens regler ændre" in text
    assert "ny frist: Den sociale stofbehandling skal være startet senest 3. juni 2019 (Serviceloven § 101, stk. 4)" in text


def test_replaying_a_decision_under_todays_rules_finds_no_difference(web):
    record = evaluate(web.login("visitator"))
    revisor = web.login("revisor")
    page = revisor.get(f"/revision/{record}")
    text = page_text(revisor.post(f"/revision/{record}/genberegn", data={"csrf": csrf_of(page.text)}).text)
    assert "Identisk med det gemte svar: ja" in text and "(samme regler)" in text
    assert "Ingen forskelle: under dagens regler ville resultatet være det samme." in text


def test_a_chain_error_links_to_the_record_and_its_page_shows_it(tmp_path):
    with keys_in_env():
        app = make_web_app(tmp_path)
    client = app.login("visitator")
    first, second = evaluate(client), evaluate(client, alder="40")
    with sqlite3.connect(app.db) as db:
        db.execute("UPDATE vurderinger SET svar = replace(svar, 'Misbrugscentret', 'Misbrugscentre') WHERE id = ?", (first,))
    revisor = app.login("revisor")
    html = revisor.get("/revision").text
    assert "Loggen er IKKE intakt" in html
    link = re.search(r'href="(/revision/post/\d+)"', html).group(1)
    r = revisor.get(link)
    assert r.status_code == 303 and r.headers["location"] == f"/revision/{first}#kaede"
    page = revisor.get(f"/revision/{first}").text
    assert "Kontrollen af loggen fandt en fejl i denne post" in page
    assert "fandt en fejl i denne post" not in revisor.get(f"/revision/{second}").text
    with sqlite3.connect(app.db) as db:
        db.execute("UPDATE vurderinger SET svar = '{' WHERE id = ?", (second,))
    broken = revisor.get(f"/revision/{second}")
    assert broken.status_code == 200 and "Den gemte vurdering kan ikke læses" in broken.text


# --------------------------------------------------------------------------- rule pages


def test_rule_pages_show_versions_rules_and_offers_in_plain_danish(web):
    client = web.login("redaktoer")
    page = client.get("/regler")
    assert page.status_code == 200 and "(i kraft i dag)" in page.text and "regler," in page.text
    sha = re.search(r'href="/regler/([0-9a-f]{64})"', page.text).group(1)
    version = client.get(f"/regler/{sha}")
    assert version.status_code == 200 and "Serviceloven §" in version.text
    assert ".yaml:" in version.text and ".yaml:" not in without_details(version.text)


@pytest.mark.slow
def test_the_impact_page_uses_the_rules_in_use_after_a_reload(tmp_path):
    import shutil

    from support.paths import RULES

    rules = tmp_path / "regler"
    shutil.copytree(RULES, rules)
    with keys_in_env():
        app = make_web_app(tmp_path, rules_dir=rules)
    client = app.login("redaktoer")
    before = client.get("/regler/konsekvens").text
    assert 'value="2026-06-01"' not in before
    extra = rules / "misbrug" / "lov" / "zz_test_reload.yaml"
    extra.write_text(RELOAD_RULE, encoding="utf-8")
    r = app.client().post("/v1/regelsaet/genindlaes", headers=app.api("redaktoer"))
    assert r.status_code == 200, r.text
    page = client.get("/regler/konsekvens?fra=2026-04-01&til=2026-06-01")
    assert page.status_code == 200 and 'value="2026-06-01"' in page.text
    text = page_text(page.text)
    assert "screeninger får et andet resultat" in text and "En testoplysning om genindlæsning" in text


RELOAD_RULE = """\
regelsaet: misbrug
lag: lov
beskrivelse: En regel, som testen lægger til for at se, at konsekvensanalysen bruger de genindlæste regler.
regler:
  - id: test-genindlaesning
    beskrivelse: En testoplysning om genindlæsning, som kun findes efter genindlæsningen.
    gyldig_fra: 2026-06-01
    kilde: {dokument: "Testens egen kilde", sikkerhed: verificeret}
    hvis:
      - {felt: alder, operator: ">=", vaerdi: 0}
    saa:
      oplysning: Testoplysning efter genindlæsning.
"""


def test_today_is_the_settings_today(web):
    html = web.login("visitator").get("/visitation").text
    assert f'id="henvendelsesdato" name="henvendelsesdato" value="{TODAY.isoformat()}"' in html
