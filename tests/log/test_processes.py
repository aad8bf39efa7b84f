"""Several writer processes on one chain, and SIGKILL mid-stream: every acknowledged record is in
the log, nothing is half-written, and the chain verifies (SQLite and PostgreSQL)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.log import open_store

REPO = Path(__file__).resolve().parents[2]
WRITER = """
import sys
sys.path.insert(0, {tests!r})
from support.logdata import dec
from service.log import open_store
store = open_store(sys.argv[1])
name, n, group = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for start in range(0, n, group):
    records = [dec(i, id=f"{{name}}-{{i:06d}}") for i in range(start, start + group)]
    store.append_decisions(records)
    print(" ".join(r.id for r in records), flush=True)  # acknowledged only after the commit
store.close()
"""


def writer(url: str, name: str, n: int, group: int) -> subprocess.Popen:
    code = WRITER.format(tests=str(Path(__file__).resolve().parents[1]))
    return subprocess.Popen([sys.executable, "-c", code, url, name, str(n), str(group)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))


@pytest.mark.slow
def test_two_processes_write_one_unbroken_chain(url):
    open_store(url).close()
    procs = [writer(url, name, 200, 4) for name in ("a", "b")]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    store = open_store(url, readonly=True)
    try:
        report = store.verify_chain("herning")
        assert report.intakt and report.antal == 400
        acknowledged = {i for out in outs for line in out.split() for i in [line]}
        assert len(acknowledged) == 400 and all(store.get_decision("herning", i) for i in list(acknowledged)[:20])
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_mid_stream_leaves_no_record_without_its_chain_entry(url):
    open_store(url).close()
    proc = writer(url, "k", 100_000, 3)
    acknowledged: list[str] = []
    deadline = time.time() + 60
    while len(acknowledged) < 90 and time.time() < deadline:
        acknowledged += proc.stdout.readline().split()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = open_store(url)  # a restart on the same database
    try:
        report = store.verify_chain("herning")
        assert report.intakt, report
        for record_id in acknowledged:
            assert store.get_decision("herning", record_id) is not None
        assert report.antal >= len(acknowledged) and report.antal % 3 == 0  # whole groups only
        store.append_decision(__import__("support.logdata", fromlist=["dec"]).dec(999_999, id="after-restart"))
        assert store.verify_chain("herning").intakt
    finally:
        store.close()
