"""Shared helpers for the service tests (no tests here)."""
from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Optional

import warnings

import httpx

with warnings.catch_warnings():  # starlette's TestClient warns about httpx vs httpx2 on import
    warnings.simplefilter("ignore")
    import fastapi.testclient  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "regler"

#: API.md's request example.
EXAMPLE: dict[str, Any] = {
    "borger_reference": "sag-2026-0042",
    "henvendelsesdato": "2026-11-02",
    "vurderingsdato": "2026-11-03",
    "alder": 34,
    "rusmidler": [
        {"stof": "alkohol", "grad": "afhaengighed"},
        {"stof": "cannabis", "grad": "skadeligt"},
    ],
    "dobbeltdiagnose": False,
    "boligsituation": "egen_bolig",
}


def example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def make_client(tmp_path: Path, today: date = date(2026, 11, 23), rules_dir: Optional[Path] = None):
    """A TestClient on a fresh database, with one token per role: (client, tokens, app)."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_token
    from service.settings import Settings

    settings = Settings(db_url=f"sqlite:///{tmp_path / 'v.db'}", rules_dir=rules_dir, today=lambda: today)
    app = create_app(settings)
    tokens = {role: create_token(app.state.storage, role) for role in ("visitator", "revisor", "redaktoer")}
    return TestClient(app), tokens, app


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "regler"
    shutil.copytree(RULES, target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env: Optional[dict[str, str]] = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=env or os.environ.copy(), cwd=REPO)


class Server:
    """`visitator serve` in a subprocess on a free loopback port."""

    def __init__(self, tmp_path: Path, *extra: str, rules_dir: Optional[Path] = None):
        self.tmp = tmp_path
        self.db = f"sqlite:///{tmp_path / 'server.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, VISITATOR_DATA=str(tmp_path / "data"))
        self.env.pop("VISITATOR_HMAC_KEY", None)
        self.extra = list(extra)
        if rules_dir is not None:
            self.extra += ["--rules", str(rules_dir)]
        self.stderr_path = tmp_path / "server.stderr"
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def token(self, role: str) -> str:
        result = run_cli("token", "create", "--role", role, "--db", self.db, env=self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def start(self, wait: bool = True) -> "Server":
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", self.db, *self.extra],
            stdout=subprocess.DEVNULL, stderr=self._stderr, env=self.env, cwd=REPO,
        )
        if wait:
            deadline = time.time() + 60
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited {self.proc.returncode}: {self.stderr_text()}")
                try:
                    if httpx.get(self.url + "/v1/sundhed", timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            raise RuntimeError("server did not start: " + self.stderr_text())
        return self

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace") if self.stderr_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_stderr"):
            self._stderr.close()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _load_rawclient():  # the benchmark's client, shared; loaded by path so bench/ never shadows a package
    import importlib.util

    spec = importlib.util.spec_from_file_location("rawclient", Path(__file__).resolve().parent.parent / "bench" / "rawclient.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.RawConnection


RawConnection = _load_rawclient()



def stream_then_signal(srv: "Server", token: str, sig: int, after: int) -> tuple[list[tuple[int, bytes]], list[str]]:
    """8 clients post screenings to a running server; once `after` answers
    have come back, send `sig` to the server process. Returns the answers
    (status, body) and the errors of connections the signal cut off."""
    answered: list[tuple[int, bytes]] = []
    errors: list[str] = []

    async def client(i: int) -> None:
        try:
            conn = await RawConnection(srv.port, token).open()
        except OSError as error:
            errors.append(repr(error))
            return
        try:
            for j in range(100_000):
                answered.append(await conn.post("/v1/vurderinger", json.dumps(example(alder=18 + (i + j) % 50)).encode()))
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as error:
            errors.append(repr(error))  # cut off: no response, so nothing promised
        finally:
            await conn.close()

    async def run() -> None:
        tasks = [asyncio.create_task(client(i)) for i in range(8)]
        while len(answered) < after:
            await asyncio.sleep(0.01)
        srv.proc.send_signal(sig)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)

    asyncio.run(run())
    return answered, errors
