"""Two municipalities compared on the whole input space (engine.tools.kommuner), and the CLI
around the municipalities: `rules test|verify|check|diff` per municipality (service/cli/kommuner),
`token create --kommune`, `log verify --kommune` and `evaluate --kommune`."""
from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.tools.kommuner import compare_kommuner, html_report, markdown_report, terminal_text
from support.layers import rules_with_test_layers
from support.paths import CASES, REPO, RULES
from support.server import clean_env, run_cli

DAY = date(2025, 10, 6)


@pytest.fixture(scope="module")
def herning_silkeborg() -> Any:
    return compare_kommuner(RULES, "herning", "silkeborg", days=[DAY], workers=1)


@pytest.mark.slow
def test_the_comparison_says_who_gets_another_offer_and_why(herning_silkeborg: Any) -> None:
    c = herning_silkeborg
    assert (c.a_name, c.b_name) == ("Herning Kommune", "Silkeborg Kommune") and c.total > 1000 and c.offer_changed > 0
    (group,) = [g for g in c.offers if g.spor == "behandling"]
    assert group.a == ("misbrugscenter-herning", "Misbrugscenter Herning (ambulant behandling)") and group.b == ("ambulant", "Ambulant behandling")
    assert "alder mindst 18 år" in group.citizens
    (why,) = group.why
    assert why.kommune == "Herning Kommune" and why.id == "misbrugscenter-herning" and why.kilde.startswith("Herning Kommunes strategi")
    assert group.example_texts and all("i Herning Kommune 'Misbrugscenter Herning (ambulant behandling)'" in t for t in group.example_texts)
    assert all(t.startswith("Borgeren er ") for t in group.example_texts)  # plain Danish, not JSON
    notes = {n.rule.id: n.count for n in c.notes}
    assert {"silkeborg-dobbeltdiagnose", "silkeborg-familier", "herning-hjemloese-visitation"} <= set(notes) and min(notes.values()) > 0
    assert c.offer_changed == sum(g.count for g in c.offers)  # one track differs per screening between these two


@pytest.mark.slow
def test_a_restriction_is_named_as_the_reason(tmp_path: Path) -> None:
    c = compare_kommuner(rules_with_test_layers(), "eksempelkommune", "herning", days=[DAY], workers=1)
    group = next(g for g in c.offers if g.spor == "bolig" and g.a is None and g.b is not None and g.b[0] == "forsorgshjem")
    assert [w.id for w in group.why] == ["ingen-unge-paa-forsorgshjem"] and group.why[0].art == "begrænsning"
    assert "alder 18-24 år" in group.citizens and "ingen egnet alternativ; faglig vurdering" in group.example_texts[0]


@pytest.mark.slow
def test_the_reports_render_markdown_and_html(herning_silkeborg: Any) -> None:
    md = markdown_report(herning_silkeborg)
    assert md.startswith("# Herning Kommune og Silkeborg Kommune: hvem får noget andet?") and "misbrugscenter-herning" in md
    assert "## Kommunernes lokale blokke" in md and "silkeborg-familier" in md
    html = html_report(herning_silkeborg)
    assert html.startswith("<!doctype html>") and '<html lang="da">' in html and "Misbrugscenter Herning" in html
    assert terminal_text(herning_silkeborg).startswith("Herning Kommune sammenlignet med Silkeborg Kommune")


# --------------------------------------------------------------------------- the CLI


def _cli(*argv: str) -> tuple[int, str, str]:
    """`visitator ARGV` in-process with the municipality hooks (the line service/cli/rules.py gets)."""
    from service.cli import build_parser
    from service.cli.kommuner import add_kommune_commands

    parser = build_parser()
    command = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rules_parser = command.choices["rules"]
    add_kommune_commands(next(a for a in rules_parser._actions if isinstance(a, argparse._SubParsersAction)))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = parser.parse_args(list(argv)).func(parser.parse_args(list(argv)))
    return int(code or 0), out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_rules_test_runs_every_layer_and_says_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISITATOR_DATA", str(tmp_path / "data"))
    code, out, err = _cli("rules", "test", "--rules", str(RULES), "--cases", str(CASES))
    assert code == 0, out[-3000:] + err
    for label in ("lovlaget alene", "Herning Kommune (herning)", "Silkeborg Kommune (silkeborg)", "Slagelse Kommune (slagelse)",
                  "Thisted Kommune (thisted)"):
        assert f"== {label}:" in out
    assert "Kørt under: lovlaget alene, Herning Kommune (herning)" in out and out.strip().splitlines()[-1].endswith(" bestået, 0 fejlet")
    code, out, _ = _cli("rules", "test", "--rules", str(RULES), "--cases", str(CASES), "--kommune", "thisted")
    assert code == 0 and "== Thisted Kommune (thisted):" in out and "== Herning" not in out and "cases/thisted/datoer.yaml" in out
    code, _, err = _cli("rules", "test", "--rules", str(RULES), "--cases", str(CASES), "--kommune", "hernig")
    assert code == 2 and "mente du 'herning'" in err


@pytest.mark.slow
def test_rules_test_fails_when_a_municipalitys_case_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISITATOR_DATA", str(tmp_path / "data"))
    cases = tmp_path / "cases"
    (cases / "slagelse").mkdir(parents=True)
    (cases / "slagelse" / "forkert.yaml").write_text((CASES / "slagelse" / "datoer.yaml").read_text(encoding="utf-8")
                                                      .replace('version: "2019-01-01"', 'version: "2018-01-01"'), encoding="utf-8")
    code, out, _ = _cli("rules", "test", "--rules", str(RULES), "--cases", str(cases))
    rows = {line.split("  ")[0]: line.split()[-2:] for line in out.splitlines() if line.endswith(("0", "1")) and "Kommune (" in line}
    assert code == 1 and rows["Slagelse Kommune (slagelse)"] == ["1", "1"] and rows["Thisted Kommune (thisted)"] == ["0", "0"], out[-1500:]


@pytest.mark.slow
def test_rules_diff_compares_two_municipalities(tmp_path: Path) -> None:
    report = tmp_path / "rapport.html"
    code, out, err = _cli("rules", "diff", "--rules", str(RULES), "--kommune", "slagelse", "--mod", "thisted", "--report", str(report))
    assert code == 0, err
    assert out.splitlines()[1].startswith("Slagelse Kommune sammenlignet med Thisted Kommune på hele inputrummet")
    assert "Ingen borger får et andet tilbud" in out and "slagelse-koordinerende-indsatsplan" in out and "thisted-vaeresteder" in out
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert _cli("rules", "diff", "--rules", str(RULES), "--kommune", "slagelse", "--mod", "slagelse")[0] == 2
    code, _, err = _cli("rules", "diff", "--rules", str(RULES))
    assert code == 2 and "--kommune A --mod B" in err


@pytest.mark.slow
def test_rules_verify_without_kommune_runs_every_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISITATOR_DATA", str(tmp_path / "data"))
    code, out, err = _cli("rules", "verify", "--rules", str(RULES), "--workers", "1")
    assert code == 0, out[-2000:] + err
    assert "Ingen brud under lov, herning, silkeborg, slagelse, thisted" in out


def test_token_create_belongs_to_one_municipality(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    db = f"sqlite:///{tmp_path / 'v.db'}"
    made = run_cli("token", "create", "--role", "revisor", "--kommune", "thisted", "--db", db, env=env, cwd=REPO)
    assert made.returncode == 0 and len(made.stdout.strip().splitlines()) == 1 and "hører til kommunen thisted" in made.stderr
    default = run_cli("token", "create", "--role", "revisor", "--db", db, env=env, cwd=REPO)
    assert default.returncode == 0 and "hører til kommunen herning" in default.stderr  # the first of the shipped four
    odd = run_cli("token", "create", "--role", "revisor", "--kommune", "hernig", "--db", db, env=env, cwd=REPO)
    assert odd.returncode == 0 and "ikke blandt de kommuner" in odd.stderr and "mente du 'herning'" in odd.stderr
    bad = run_cli("token", "create", "--role", "revisor", "--kommune", "Herning Kommune", "--db", db, env=env, cwd=REPO)
    assert bad.returncode == 2 and "ugyldig kommune" in bad.stderr
    listed = run_cli("token", "list", "--kommune", "thisted", "--db", db, env=env, cwd=REPO)
    assert listed.returncode == 0 and "thisted" in listed.stdout and "herning" not in listed.stdout


def test_log_verify_checks_each_municipalitys_chain_alone(tmp_path: Path) -> None:
    from service.log import open_store
    from support.logdata import dec

    db = f"sqlite:///{tmp_path / 'v.db'}"
    store = open_store(db)
    for i in range(3):
        store.append_decision(dec(i, kommune="herning"))
    store.append_decision(dec(9, kommune="thisted"))
    store.close()
    env = clean_env(tmp_path)
    one = run_cli("log", "verify", "--db", db, "--kommune", "thisted", env=env, cwd=REPO)
    assert one.returncode == 0 and "Beslutningsloggen for thisted er intakt: 1 poster" in one.stdout and "herning" not in one.stdout
    both = run_cli("log", "verify", "--db", db, env=env, cwd=REPO)
    assert both.returncode == 0 and "herning, thisted" in both.stdout
    assert "Beslutningsloggen for herning er intakt: 3 poster" in both.stdout and "Beslutningsloggen for thisted er intakt: 1 poster" in both.stdout
    none = run_cli("log", "verify", "--db", db, "--kommune", "silkeborg", env=env, cwd=REPO)
    assert none.returncode == 2 and "ingen poster for silkeborg" in none.stderr


def test_evaluate_takes_the_municipality(tmp_path: Path) -> None:
    body = tmp_path / "s.json"
    body.write_text(json.dumps({"henvendelsesdato": "2025-10-06", "vurderingsdato": "2025-10-06", "alder": 34, "dobbeltdiagnose": False,
                                "rusmidler": [{"stof": "cannabis", "grad": "afhaengighed"}], "boligsituation": "egen_bolig"}))
    env = clean_env(tmp_path)
    herning = run_cli("evaluate", str(body), "--kommune", "herning", "--json", env=env, cwd=REPO)
    assert herning.returncode == 0, herning.stderr
    svar = json.loads(herning.stdout)
    assert svar["regelsaet"]["kommune"] == "Herning Kommune" and len(svar["regelsaet"]["kommune_sha256"]) == 64
    assert svar["anbefalinger"][0]["tilbud"]["id"] == "misbrugscenter-herning"
    law = run_cli("evaluate", str(body), env=env, cwd=REPO)
    assert law.returncode == 0 and "Kommunelag: intet (lovlaget alene)" in law.stdout
