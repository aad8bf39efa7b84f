"""GET /v1/vurderinger/{id}/journalnotat and /brev, and the klagevejledning data beside the law."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from web.webapp import WebApp, keys_in_env, make_web_app, page_text

from support.bodies import example
from support.paths import RULES

ANONYMOUS_DRUGS = example(alder=25, rusmidler=[{"stof": "cannabis", "grad": "skadeligt"}], oensker_anonymitet=True, borger_reference=None)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    with keys_in_env():
        yield make_web_app(tmp_path_factory.mktemp("journal"))


def decide(web: WebApp, body: dict) -> str:
    r = web.client().post("/v1/vurderinger", json=body, headers=web.api("visitator"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_the_journal_note_is_short_plain_utf8_text(web):
    record = decide(web, example())
    r = web.client().get(f"/v1/vurderinger/{record}/journalnotat", headers=web.api("visitator"))
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    text = r.content.decode("utf-8")
    lines = text.splitlines()
    assert len(lines) <= 30 and all(len(line) <= 100 for line in lines)
    flat = " ".join(line.strip() for line in lines)
    assert "Vurderet 3. november 2026 (henvendelse 2. november 2026)" in flat
    assert "Behandling: Misbrugscentret – ambulant behandling. Lovgrundlag: Serviceloven § 101, stk. 1" in flat
    assert "Frist: senest 16. november 2026 (Serviceloven § 101, stk. 4)" in flat
    assert "Afgørelse: ikke registreret endnu." in flat
    assert "sag-2026-0042" not in text and "misbrugscenter-ambulant" not in text and "_" not in text.replace(record, "")


def test_the_journal_note_says_what_the_caseworker_decided(web):
    record = decide(web, example())
    body = {"udfald": "afveget", "tilbud": {"behandling": "dagbehandling"}, "begrundelse": "Borgeren har brug for struktur.", "dato": "2026-11-10"}
    assert web.client().post(f"/v1/vurderinger/{record}/afgoerelse", json=body, headers=web.api("visitator")).status_code == 201
    text = web.client().get(f"/v1/vurderinger/{record}/journalnotat", headers=web.api("revisor")).text
    flat = " ".join(line.strip() for line in text.splitlines())
    assert "Afgørelse 10. november 2026: Der er afveget fra anbefalingen. I stedet: Behandling: Dagbehandling." in flat
    assert "Begrundelse: Borgeren har brug for struktur." in flat


def test_the_letter_is_printable_html_with_the_klagevejledning_or_a_request_to_check_it(web):
    record = decide(web, example())
    r = web.client().get(f"/v1/vurderinger/{record}/brev", headers=web.api("visitator"))
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    html = r.text
    assert html.startswith("<!doctype html>") and "<style>" in html and "@media print" in html and "<script" not in html
    text = page_text(html)
    assert "Afgørelse om tilbud om behandling og støtte" in text
    assert "Afgørelsen er truffet efter Serviceloven § 101, stk. 1" in text and "Du er 34 år" in text
    assert "Kontrollér klagevejledningen" in text and "Ankestyrelsen" not in text  # no verified source: nothing invented


def test_a_decision_under_sel_101_a_cannot_be_appealed(web):
    record = decide(web, ANONYMOUS_DRUGS)
    text = page_text(web.client().get(f"/v1/vurderinger/{record}/brev", headers=web.api("visitator")).text)
    assert "Anonym ambulant stofbehandling" in text
    assert "Serviceloven § 101 a, stk. 1: Afgørelsen om anonym ambulant stofbehandling kan ikke indbringes for anden administrativ myndighed." in text
    assert "Kontrollér klagevejledningen" in text and "Sundhedsloven § 142, stk. 1" in text  # the other track still needs checking


def test_the_letter_names_the_offer_the_caseworker_chose(web):
    record = decide(web, example())
    body = {"udfald": "afveget", "tilbud": {"behandling": "dagbehandling"}, "begrundelse": "Behov for struktur.", "dato": "2026-11-10"}
    web.client().post(f"/v1/vurderinger/{record}/afgoerelse", json=body, headers=web.api("visitator"))
    text = page_text(web.client().get(f"/v1/vurderinger/{record}/brev", headers=web.api("visitator")).text)
    assert "Dagbehandling (Behandling)" in text and "10. november 2026" in text and "Behov for struktur." in text


def test_roles_and_missing_decisions(web):
    record = decide(web, example())
    client = web.client()
    for path in (f"/v1/vurderinger/{record}/journalnotat", f"/v1/vurderinger/{record}/brev"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=web.api("redaktoer")).status_code == 403
        missing = client.get(path.replace(record, "01ABCDEFGHJKMNPQRSTVWXYZ00"), headers=web.api("revisor"))
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_the_endpoints_are_in_the_openapi_document(web):
    paths = web.client().get("/openapi.json").json()["paths"]
    assert "text/plain" in paths["/v1/vurderinger/{id}/journalnotat"]["get"]["responses"]["200"]["content"]
    assert "text/html" in paths["/v1/vurderinger/{id}/brev"]["get"]["responses"]["200"]["content"]


# --------------------------------------------------------------------------- the klagevejledning file


@pytest.fixture(scope="module")
def law():
    from engine.law import load_lawbook

    book, problems = load_lawbook(RULES / "love", RULES.parent)
    assert not problems
    return book


def test_the_shipped_klagevejledning_loads_and_is_only_verified_where_the_project_has_a_source(law):
    from service.api.journal import KLAGE_FILE, load_klagevejledning

    entries, problems = load_klagevejledning(RULES / "love" / KLAGE_FILE, f"regler/love/{KLAGE_FILE}", law)
    assert problems == []
    verified = {k for k, e in entries.items() if e.sikkerhed == "verificeret"}
    assert verified == {"sel-101a"} and entries["sel-101a"].klageadgang == "ingen_klage"
    assert all(e.klageadgang == "ukendt" for k, e in entries.items() if k not in verified)


@pytest.mark.parametrize("text, where, message", [
    ("klagevejledninger:\n  - bestemmelse: sel-101a\n    klageadgang: maaske\n    kilde: En kilde på ti tegn\n    sikkerhed: verificeret\n",
     ":3:", "ugyldig værdi 'maaske'"),
    ("klagevejledninger:\n  - bestemmelse: sel-999\n    klageadgang: ukendt\n    kilde: En kilde på ti tegn\n    sikkerhed: uverificeret\n",
     ":2:", "findes ikke i lovenes historik"),
    ("klagevejledninger:\n  - bestemmelse: sel-101\n    klageadgang: klage\n    kilde: En kilde på ti tegn\n    sikkerhed: verificeret\n",
     ":2:", "'klageinstans', 'hvor' og 'frist'"),
    ("klagevejledninger:\n  - bestemmelse: sel-101\n    klageadgang: ukendt\n    kilde: En kilde på ti tegn\n    sikkerhed: uverificeret\n"
     "    hvem: x\n", ":6:", "ukendt nøgle 'hvem'"),
])
def test_a_broken_klagevejledning_is_reported_with_file_and_line(tmp_path: Path, law, text: str, where: str, message: str):
    from service.api.journal import load_klagevejledning

    path = tmp_path / "klagevejledning.yaml"
    path.write_text(text, encoding="utf-8")
    _, problems = load_klagevejledning(path, "regler/love/klagevejledning.yaml", law)
    assert problems, text
    shown = str(problems[0])
    assert shown.startswith("regler/love/klagevejledning.yaml" + where) and message in shown, shown


def test_a_provision_is_found_under_the_provision_it_is_named_under(law):
    from engine.law import LegalRef
    from service.api.journal import KLAGE_FILE, klage_for, load_klagevejledning

    entries, _ = load_klagevejledning(RULES / "love" / KLAGE_FILE, "x", law)
    found = klage_for(LegalRef("SEL", "101 a", "1", bestemmelse="sel-101a-anonym"), entries)
    assert found is not None and found.bestemmelse == "sel-101a"
    assert klage_for(LegalRef("SEL", "85 a", "3", bestemmelse="sel-85a-selvbestemmelse"), entries) is None  # not listed: unknown
