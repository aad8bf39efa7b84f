"""The two secrets beside the log, never stored in the database: the HMAC key for borger_reference
(VISITATOR_HMAC_KEY, else `<db>.hmac-noegle`) and the log-signing key for signed chain heads
(VISITATOR_LOG_KEY, else `<db>.log-noegle`; PostgreSQL requires the environment variable)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional

from service.log.store import StoreError

HMAC_ENV = "VISITATOR_HMAC_KEY"
LOG_ENV = "VISITATOR_LOG_KEY"
MIN_LENGTH = 32


def _from_file(path: Path, create: bool) -> Optional[bytes]:
    """The key in a 0600 file, generated on first use (O_EXCL: two processes never make two keys)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600) if create else -1
    except FileExistsError:
        fd = -1
    if fd < 0:
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        if len(text) < MIN_LENGTH:
            raise StoreError(f"{path}: nøglen er for kort eller tom (mindst {MIN_LENGTH} tegn)")
        return text.encode("ascii")
    text = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return text.encode("ascii")


def _key(env: str, suffix: str, db_path: Optional[Path], create: bool, what: str) -> Optional[bytes]:
    value = os.environ.get(env)
    if value:
        if len(value) < MIN_LENGTH:
            raise StoreError(f"{env} er for kort (mindst {MIN_LENGTH} tegn)")
        return value.encode("utf-8")
    if db_path is None:
        raise StoreError(f"sæt {env} ({what}); databasen ligger ikke i en fil, som nøglen kan ligge ved siden af")
    return _from_file(db_path.with_name(db_path.name + suffix), create)


def hmac_key(db_path: Optional[Path]) -> bytes:
    """The key behind borger_reference_hmac (created beside the SQLite file on first use)."""
    key = _key(HMAC_ENV, ".hmac-noegle", db_path, True, "nøglen til borgerreferencer")
    assert key is not None
    return key


def log_key(db_path: Optional[Path], create: bool = True) -> Optional[bytes]:
    """The key that signs chain heads; None only when create=False and no key exists yet."""
    return _key(LOG_ENV, ".log-noegle", db_path, create, "nøglen, der signerer loggens hoved")
