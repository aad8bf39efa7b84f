"""The visitator command: evaluate and rules test, as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import CASES, REPO

SCREENING = {"henvendelsesdato": "2026-11-02", "vurderingsdato": "2026-11-03", "alder": 34, "rusmidler": [{"stof": "alkohol", "grad": "afhaengighed"}, {"stof": "cannabis", "grad": "skadeligt"}], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}


def run(*args: str, env_dir: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "VISITATOR_DATA": str(env_dir)}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


def test_evaluate_prints_recommendation_and_explanation(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCREENING))
    out = run("evaluate", str(path), env_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "ambulant" in out.stdout and "SUL § 141, stk. 1" in out.stdout
    assert "Forklaring:" in out.stdout and "mindste" in out.stdout.lower()
    assert list((tmp_path / "regelsaet").glob("*.json")), "the version used is kept as a snapshot"


def test_evaluate_json_is_the_api_body(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCREENING))
    out = run("evaluate", str(path), "--json", env_dir=tmp_path)
    body = json.loads(out.stdout)
    assert set(body) >= {"regelsaet", "anbefalinger", "lovgrundlag", "frister", "advarsler", "forklaring"}
    assert "id" not in body and "oprettet" not in body
    sha = body["regelsaet"]["sha256"]
    again = json.loads(run("evaluate", str(path), "--json", "--sha", sha, env_dir=tmp_path).stdout)
    assert again == body


def test_bad_input_gives_one_line_per_problem_and_exit_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**SCREENING, "alder": 200, "boligsituation": "x", "borger_reference": "010203-1234"}))
    out = run("evaluate", str(path), env_dir=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 3 and all(": " in line for line in lines)
    assert "1234" not in out.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"alder": 3,')
    out = run("evaluate", str(broken), env_dir=tmp_path)
    assert out.returncode == 2 and "ugyldig JSON" in out.stderr
    early = tmp_path / "early.json"
    early.write_text(json.dumps({**SCREENING, "henvendelsesdato": "2006-12-01", "vurderingsdato": "2006-12-31"}))
    out = run("evaluate", str(early), env_dir=tmp_path)
    assert out.returncode == 2 and out.stderr.startswith("vurderingsdato:")


def test_rules_test_reports_and_fails_on_a_wrong_case(tmp_path):
    out = run("rules", "test", env_dir=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:]
    assert out.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")
    wrong = tmp_path / "cases"
    wrong.mkdir()
    case = (CASES / "eksempler.yaml").read_text(encoding="utf-8").replace("kategori: ambulant", "kategori: dagbehandling", 1)
    (wrong / "forkert.yaml").write_text(case, encoding="utf-8")
    out = run("rules", "test", "--cases", str(wrong), env_dir=tmp_path)
    assert out.returncode == 1
    assert out.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"
    assert "kategori forventet dagbehandling" in out.stdout


def test_rules_verify_passes_on_the_shipped_rules(tmp_path):
    out = run("rules", "verify", env_dir=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "punkter kontrolleret" in out.stdout and "Ingen brud" in out.stdout


def test_rules_check_passes_on_the_shipped_rules(tmp_path):
    out = run("rules", "check", env_dir=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "0 fejl, 0 advarsler"
