"""`visitator rules diff`: impact of a change, by date, by git revision and on a
decision log."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from conftest import CASES, REPO, RULES
from engine.cases import load_cases
from engine.diff import Side, diff, html_report, markdown_report


def _bodies():
    return [c.screening for c in load_cases(CASES) if "fejl" not in c.forventet]


def test_dates_around_2020_change_the_guarantee_paragraph():
    report = diff(Side("A", RULES, date(2019, 12, 31)), Side("B", RULES, date(2020, 1, 1)), _bodies(), "cases")
    assert report.changed > 0
    assert "behandlingsgaranti-sel" in report.groups["frist"].causes
    assert report.groups["tilbud"].count == 0
    example = report.groups["frist"].examples[0]
    assert "stk. 2" in " ".join(example.before) and "stk. 4" in " ".join(example.after)
    assert "Konsekvensanalyse" in markdown_report(report) and "<table>" in html_report(report)


def test_same_rules_change_nothing():
    report = diff(Side("A", RULES), Side("B", RULES), _bodies(), "cases")
    assert report.changed == 0 and report.total > 80


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ})


def test_git_revision_against_the_files_on_disk(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(RULES, repo / "regler")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "regler"], check=True)
    target = repo / "regler/misbrug/lov/frister.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("dage: 14, fra: henvendelsesdato, lovgrundlag: {lov: SUL, paragraf: \"141\", stk: \"2\"}", "dage: 10, fra: henvendelsesdato, lovgrundlag: {lov: SUL, paragraf: \"141\", stk: \"2\"}"), encoding="utf-8")
    report_file = tmp_path / "rapport.html"
    out = _cli("rules", "diff", "--from", "HEAD", "--to", ".", "--rules", str(repo / "regler"), "--report", str(report_file))
    assert out.returncode == 0, out.stderr
    assert "behandlingsgaranti-alkohol" in out.stdout
    assert report_file.read_text(encoding="utf-8").startswith("<!doctype html>")
    bad = _cli("rules", "diff", "--from", "ingen-saadan-revision", "--rules", str(repo / "regler"))
    assert bad.returncode == 2 and "ingen-saadan-revision" in bad.stderr


def test_screenings_in_a_decision_log_are_read_only(tmp_path):
    from service.app import Service
    from service.settings import Settings

    db = tmp_path / "log.db"
    service = Service(Settings(db_url=f"sqlite:///{db}"))
    body = {"henvendelsesdato": "2023-09-20", "vurderingsdato": "2023-09-30", "alder": 40, "rusmidler": [{"stof": "alkohol", "grad": "afhaengighed"}], "dobbeltdiagnose": False, "boligsituation": "gade"}
    for _ in range(3):
        service.decide(body)
    service.storage.close()
    before = db.stat().st_mtime_ns
    out = _cli("rules", "diff", "--from", "2023-09-30", "--to", "2023-10-01", "--db", f"sqlite:///{db}")
    assert out.returncode == 0, out.stderr
    assert "3 af 3 screeninger ændres" in out.stdout
    assert db.stat().st_mtime_ns == before
