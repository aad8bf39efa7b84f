"""Real `visitator serve` processes and the command line, for the operational tests.

`Server` runs `visitator serve` in a subprocess on a free loopback port (stdout and
stderr to files, one worker unless told otherwise); `run_cli` runs any other
command; `stream_then_signal` sends a signal to a server in the middle of a
stream of requests; `stored_decisions` reads the log's (id, svar) rows
straight from SQLite or PostgreSQL. The `servers` fixture makes servers that
are stopped after the test whatever happens.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import httpx
import pytest

from support.bodies import example
from support.paths import REPO

#: The municipality of a server's tokens: a shipped one, which `visitator serve` serves by default
#: (the in-process app of support.app uses the invented test layer instead).
SERVER_KOMMUNE = "herning"
#: Variables that would make a command use something other than what a test gives it.
SETTINGS_ENV = ("VISITATOR_DB", "VISITATOR_RULES", "VISITATOR_KOMMUNER", "VISITATOR_PUBLIC_URL", "VISITATOR_OPBEVARING", "VISITATOR_HMAC_KEY",
                "VISITATOR_LOG_KEY", "PROMETHEUS_MULTIPROC_DIR")
#: The two keys for a database that has no file to keep them beside (PostgreSQL).
PG_KEYS = {"VISITATOR_HMAC_KEY": "h" * 64, "VISITATOR_LOG_KEY": "l" * 64}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without the service's settings, with a private data folder."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env["VISITATOR_DATA"] = str(tmp_path / "data")
    env.update(extra)
    return env


def run_cli(*args: str, env: Optional[dict[str, str]] = None, cwd: Path = REPO, timeout: float = 120,
            process: bool = False) -> subprocess.CompletedProcess[str]:
    """`visitator ARGS`: in this process through `service.cli.main` (same parser, same exit code, the
    given environment and folder; half a second faster per call than a new Python), or with
    process=True as a user runs it (python -m service.cli), where the process itself matters."""
    if process:
        return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, timeout=timeout,
                              env=env if env is not None else os.environ.copy(), cwd=cwd)
    return run_cli_here(list(args), env if env is not None else os.environ.copy(), cwd)


_CLI_LOCK = threading.Lock()


def run_cli_here(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`service.cli.main(args)` with os.environ and the working folder replaced for the call and
    stdout/stderr captured; an argparse exit is its exit code, as in a shell."""
    import contextlib
    import io

    from service.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _CLI_LOCK:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(args)
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
                    if isinstance(stop.code, str):
                        print(stop.code, file=sys.stderr)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
    return subprocess.CompletedProcess(["visitator", *args], code, out.getvalue(), err.getvalue())


def _load_rawclient() -> Any:  # the benchmark's client, shared; loaded by path so bench/ never shadows a package
    spec = importlib.util.spec_from_file_location("rawclient", REPO / "bench" / "rawclient.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RawConnection


RawConnection = _load_rawclient()


class Server:
    """`visitator serve` in a subprocess on a free loopback port.

    SQLite by default (tmp_path/server.db, its keys beside it); a postgresql:// `db` gets the two
    keys in the environment. One worker unless `workers` says otherwise (the command's own
    default is one per CPU)."""

    def __init__(self, tmp_path: Path, *extra: str, db: Optional[str] = None, rules_dir: Optional[Path] = None,
                 workers: int = 1, env: Optional[dict[str, str]] = None, cwd: Path = REPO, name: str = "server"):
        self.tmp = tmp_path
        self.db = db or f"sqlite:///{tmp_path / 'server.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env if env is not None else clean_env(tmp_path)
        if self.db.startswith("postgresql") and env is None:
            self.env.update(PG_KEYS)
        self.extra = [*extra, "--workers", str(workers)]
        if rules_dir is not None:
            self.extra += ["--rules", str(rules_dir)]
        self.cwd = cwd
        self.stdout_path = tmp_path / f"{name}-{self.port}.stdout"
        self.stderr_path = tmp_path / f"{name}-{self.port}.stderr"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.with_db = True

    # ------------------------------------------------------------------ the command line beside it

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env, cwd=self.cwd, timeout=timeout)

    def token(self, role: str, kommune: str = SERVER_KOMMUNE, navn: Optional[str] = None) -> str:
        result = self.cli("token", "create", "--role", role, "--kommune", kommune, "--db", self.db,
                          *(["--navn", navn] if navn else []))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    # ------------------------------------------------------------------ the process

    def command(self) -> list[str]:
        db = ["--db", self.db] if self.with_db else []
        return [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *db, *self.extra]

    def start(self, wait: bool = True, timeout: float = 90) -> "Server":
        self.stop()
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            # Its own session: stop() can end the workers of `--workers N` with the supervisor.
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err, env=self.env, cwd=self.cwd, start_new_session=True)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.proc is not None
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.stderr_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start: " + self.stderr_text()[-3000:])

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace") if self.stderr_path.exists() else ""

    def log_events(self) -> list[dict[str, Any]]:
        """The structured log (one JSON object per stderr line)."""
        return [json.loads(line) for line in self.stderr_text().splitlines() if line.startswith("{")]

    def stop(self, timeout: float = 20) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:  # workers of a supervisor that did not end them (nothing else lives in this session)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A factory of `Server`s in the test's tmp_path (not started), all stopped after the test."""
    made: list[Server] = []

    def make(*extra: str, **kwargs: Any) -> Server:
        kwargs.setdefault("name", f"server{len(made)}")
        srv = Server(tmp_path, *extra, **kwargs)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """An in-process app behind a real uvicorn on a free loopback port (in a thread); yields its URL.
    For what only real HTTP shows (a body that stops arriving, a chunked body that is cut off)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def stream_then_signal(srv: Server, token: str, sig: int, after: int, clients: int = 8) -> tuple[list[tuple[int, bytes]], list[str]]:
    """`clients` clients post screenings to a running server; once `after` answers have come
    back, send `sig` to the server process. Returns the answers (status, body) and the errors
    of the connections the signal cut off."""
    answered: list[tuple[int, bytes]] = []
    errors: list[str] = []
    assert srv.proc is not None
    proc = srv.proc

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
        tasks = [asyncio.create_task(client(i)) for i in range(clients)]
        deadline = time.monotonic() + 120
        while len(answered) < after and time.monotonic() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(0.01)
        proc.send_signal(sig)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

    asyncio.run(run())
    return answered, errors


def stored_decisions(db: str) -> dict[str, Any]:
    """{id: svar} of every decision in the log, read straight from the database."""
    if db.startswith("sqlite:///"):
        conn = sqlite3.connect(db[len("sqlite:///"):])
        try:
            return dict(conn.execute("SELECT id, svar FROM vurderinger").fetchall())
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(db) as pg:
        return {r[0]: r[1] for r in pg.execute("SELECT id, svar FROM vurderinger").fetchall()}
