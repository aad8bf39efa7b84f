"""The visitator command as a user runs it: evaluate, the rules tools, and the one
validation boundary shared with the API (the CLI refuses exactly what the API refuses)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.app import make_app
from support.paths import CASES, REPO, RULES
from support.server import run_cli

SCREENING = {"henvendelsesdato": "2026-11-02", "vurderingsdato": "2026-11-03", "alder": 34,
             "rusmidler": [{"stof": "alkohol", "grad": "afhaengighed"}, {"stof": "cannabis", "grad": "skadeligt"}],
             "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}


def run(*args: str, tmp: Path, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "VISITATOR_DATA": str(tmp / "data"), **env}
    environment.pop("VISITATOR_RULES", None) if "VISITATOR_RULES" not in env else None
    return run_cli(*args, env=environment, cwd=cwd)


def test_evaluate_prints_the_folder_recommendation_and_explanation(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCREENING))
    out = run("evaluate", str(path), tmp=tmp_path)
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith("Regler: ") and "regler" in first
    assert "ambulant" in out.stdout.lower() and "SUL § 141" in out.stdout
    assert "Forklaring:" in out.stdout and "mindste" in out.stdout.lower()
    assert list((tmp_path / "data" / "regelsaet").glob("*.json")), "the version used is kept as a snapshot"


def test_evaluate_json_is_the_api_body_and_sha_pins_the_version(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCREENING))
    body = json.loads(run("evaluate", str(path), "--json", tmp=tmp_path).stdout)
    assert set(body) >= {"regelsaet", "anbefalinger", "lovgrundlag", "frister", "advarsler", "forklaring"}
    assert "id" not in body and "oprettet" not in body and body["forklaring"]["kerner"] == ["durable", "reference"]
    again = json.loads(run("evaluate", str(path), "--json", "--sha", body["regelsaet"]["sha256"], tmp=tmp_path).stdout)
    assert again == body


def test_rules_folder_setting_order(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCREENING))
    copy = tmp_path / "mine-regler"
    shutil.copytree(RULES, copy)
    assert f"Regler: {copy} (--rules)" in run("evaluate", str(path), "--rules", str(copy), tmp=tmp_path).stdout
    assert f"Regler: {copy} (VISITATOR_RULES)" in run("evaluate", str(path), tmp=tmp_path, VISITATOR_RULES=str(copy)).stdout
    here = tmp_path / "arbejdsmappe"
    shutil.copytree(RULES, here / "regler")
    out = run("rules", "versions", tmp=tmp_path, cwd=here)
    assert out.returncode == 0, out.stderr
    assert "./regler" in out.stdout.splitlines()[0]


BAD_INPUTS = [
    {**SCREENING, "henvendelsesdato": 1762041600},
    {**SCREENING, "alder": "34"},
    {**SCREENING, "dobbeltdiagnose": "nej"},
    {**SCREENING, "vurderingsdato": "9999-12-31"},
    {**SCREENING, "henvendelsesdato": "2030-01-01", "vurderingsdato": None},
    {**SCREENING, "borger_reference": "310287 4411"},
    {**SCREENING, "rusmidler": [{"stof": "alkohol", "grad": "afhængig"}]},
    {**SCREENING, "ukendt": True},
]


@pytest.mark.slow
def test_the_cli_refuses_every_screening_the_api_refuses(tmp_path):
    svc = make_app(tmp_path)
    for i, bad in enumerate(BAD_INPUTS):
        bad = {k: v for k, v in bad.items() if v is not None}
        api = svc.post(bad)
        path = tmp_path / f"bad{i}.json"
        path.write_text(json.dumps(bad))
        cli = run("evaluate", str(path), tmp=tmp_path)
        assert api.status_code == 422, (bad, api.text)
        assert cli.returncode == 2, (bad, cli.stdout)
        api_fields = sorted(f["felt"] for f in api.json()["fejl"])
        cli_fields = sorted(line.split(": ", 1)[0] for line in cli.stderr.strip().splitlines())
        assert api_fields == cli_fields, (bad, api_fields, cli_fields)
        assert "4411" not in cli.stderr


@pytest.mark.slow
def test_rules_test_reports_and_fails_on_a_wrong_case(tmp_path):
    wrong = tmp_path / "cases"
    wrong.mkdir()
    case = (CASES / "eksempler.yaml").read_text(encoding="utf-8").replace("kategori: ambulant", "kategori: dagbehandling", 1)
    (wrong / "forkert.yaml").write_text(case, encoding="utf-8")
    out = run("rules", "test", "--cases", str(wrong), tmp=tmp_path)
    assert out.returncode == 1
    # once per layer it runs under (the law layer alone, and each municipality when rules test runs them all)
    assert re.fullmatch(r"0 bestået, \d+ fejlet", out.stdout.strip().splitlines()[-1]), out.stdout[-500:]
    assert "kategori forventet dagbehandling" in out.stdout


@pytest.mark.slow
def test_rules_test_passes_on_the_shipped_cases(tmp_path):
    out = run("rules", "test", tmp=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]
    assert out.stdout.strip().splitlines()[-1].endswith(" bestået, 0 fejlet")


@pytest.mark.slow
def test_rules_check_passes_on_the_shipped_rules(tmp_path):
    out = run("rules", "check", tmp=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]
    assert out.stdout.strip().splitlines()[-1].startswith("0 fejl")


@pytest.mark.slow
def test_rules_verify_passes_on_the_shipped_rules(tmp_path):
    # The law layer here; every municipality's layer: tests/kommuner/test_compare.py::test_rules_verify_without_kommune_runs_every_layer.
    out = run("rules", "verify", "--kommune", "lov", tmp=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "punkter kontrolleret" in out.stdout and "Ingen brud under lov:" in out.stdout
