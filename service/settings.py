"""Service settings (from the command line, or from the environment for `python -m uvicorn`)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Optional

DEFAULT_DB = "sqlite:///visitator.db"
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Settings:
    db_url: str = DEFAULT_DB
    rules_dir: Optional[Path] = None
    max_body_bytes: int = MAX_BODY_BYTES
    today: Callable[[], date] = field(default=date.today)
    core: str = "durable"

    @classmethod
    def from_env(cls) -> "Settings":
        rules = os.environ.get("VISITATOR_RULES")
        return cls(db_url=os.environ.get("VISITATOR_DB", DEFAULT_DB), rules_dir=Path(rules) if rules else None)
