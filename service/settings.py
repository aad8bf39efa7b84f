"""Service settings, from the command line or the environment, and where the rules are.

The rule folder is found by an explicit setting: --rules, then VISITATOR_RULES,
then ./regler if it exists, then the rules installed with the package; every
command says which one it used. The database is --db, then VISITATOR_DB, then
sqlite:///visitator.db. Nothing here opens a file or a database.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Optional

DEFAULT_DB = "sqlite:///visitator.db"
MAX_BODY_BYTES = 1024 * 1024
#: The municipalities whose layers ship in regler/misbrug/kommune/: one deployment serves them all
#: unless VISITATOR_KOMMUNER (or `serve --kommune`) names others. The first gets serve's first-start token.
SHIPPED_KOMMUNER: tuple[str, ...] = ("herning", "silkeborg", "slagelse", "thisted")
#: VISITATOR_KOMMUNER's default, written as the variable is (comma-separated).
DEFAULT_KOMMUNE = ",".join(SHIPPED_KOMMUNER)


def parse_kommuner(text: Optional[str]) -> tuple[str, ...]:
    """'herning, silkeborg' -> ('herning', 'silkeborg'); empty or missing -> the shipped four.

    >>> parse_kommuner(" herning,silkeborg ,")
    ('herning', 'silkeborg')
    >>> parse_kommuner(None) == SHIPPED_KOMMUNER
    True
    """
    found = tuple(dict.fromkeys(k.strip() for k in (text or "").split(",") if k.strip()))
    return found or SHIPPED_KOMMUNER


def installed_rules_dir() -> Path:
    """The rules shipped with the package: the source tree's regler/, or where
    `pip install .` put them (share/visitator/regler under the prefix)."""
    source = Path(__file__).resolve().parent.parent / "regler"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "visitator" / "regler"


def resolve_rules_dir(explicit: Optional[Path | str] = None) -> tuple[Path, str]:
    """(folder, how it was chosen) - the order is --rules, VISITATOR_RULES, ./regler, installed."""
    if explicit:
        return Path(explicit), "--rules"
    env = os.environ.get("VISITATOR_RULES")
    if env:
        return Path(env), "VISITATOR_RULES"
    local = Path.cwd() / "regler"
    if local.is_dir() and (local / "love").is_dir():
        return local, "./regler i den aktuelle mappe"
    return installed_rules_dir(), "de installerede regler"


def resolve_db(explicit: Optional[str] = None) -> str:
    return explicit or os.environ.get("VISITATOR_DB") or DEFAULT_DB


@dataclass
class Settings:
    db_url: str = DEFAULT_DB
    rules_dir: Optional[Path] = None
    max_body_bytes: int = MAX_BODY_BYTES
    today: Callable[[], date] = field(default=date.today)
    core: str = "durable"
    #: The municipalities this deployment serves (each token belongs to one).
    kommuner: tuple[str, ...] = SHIPPED_KOMMUNER
    #: The service's public address; its scheme decides the cookie's Secure flag.
    public_url: Optional[str] = None
    session_seconds: int = 8 * 3600
    #: Seconds a slow client may take to send its request body.
    body_timeout: float = 10.0
    #: The retention file (VISITATOR_OPBEVARING); the service only shows it (in the citizen's access
    #: document), `visitator log opbevaring` applies it.
    opbevaring: Optional[Path] = None

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_url and self.public_url.lower().startswith("https://"))

    def resolved_rules_dir(self) -> Path:
        return resolve_rules_dir(self.rules_dir)[0]

    @classmethod
    def from_env(cls) -> "Settings":
        rules = os.environ.get("VISITATOR_RULES")
        kommuner = parse_kommuner(os.environ.get("VISITATOR_KOMMUNER"))
        retention = os.environ.get("VISITATOR_OPBEVARING")
        return cls(db_url=resolve_db(), rules_dir=Path(rules) if rules else None, kommuner=kommuner,
                   public_url=os.environ.get("VISITATOR_PUBLIC_URL") or None, opbevaring=Path(retention) if retention else None)
