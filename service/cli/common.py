"""What every `visitator` command shares: Danish failure lines with exit code 2,
plain tables, a progress bar that appears only for work longer than a second,
and the rule folder (said on the command's first line)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from service.settings import resolve_rules_dir

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(lines: Sequence[str], code: int = EXIT_BAD_INPUT) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return code


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in out)


class Progress:
    """A one-line progress bar on stderr, shown only on a terminal and only once the
    work has run for more than a second."""

    def __init__(self, label: str, delay: float = 1.0):
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.started = time.monotonic()
        self.delay = delay
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.started < self.delay:
            return
        self.shown = True
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def rules_dir(args: argparse.Namespace, announce: bool = True) -> Path:
    """The rule folder for this command, announced on the first line of output."""
    folder, how = resolve_rules_dir(getattr(args, "rules", None))
    if announce:
        print(f"Regler: {folder} ({how})")
    return folder


def data_dir() -> Path:
    return Path(os.environ.get("VISITATOR_DATA") or Path.home() / ".local" / "share" / "visitator")


def default_cases_dir() -> Path:
    local = Path.cwd() / "cases"
    return local if local.is_dir() else Path(__file__).resolve().parent.parent.parent / "cases"


def add_rules_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, default=None,
                        help="mappen med regelfiler (standard: VISITATOR_RULES, ellers ./regler, ellers de installerede)")
    parser.add_argument("--kommune", default=None, help="kommunelaget (filnavnet i regler/misbrug/kommune/ uden .yaml)")


def kommune_of(args: argparse.Namespace, folder: Path) -> Optional[str]:
    """The --kommune given, or the only municipality layer in the folder, or none."""
    if getattr(args, "kommune", None):
        return str(args.kommune)
    layers = sorted((folder / "misbrug" / "kommune").glob("*.yaml"))
    return layers[0].stem if len(layers) == 1 else None


def engine(args: argparse.Namespace, core: str = "durable", announce: bool = True) -> Any:
    from engine import Engine
    from engine.versions import FileSnapshotStore

    folder = rules_dir(args, announce)
    return Engine(folder, kommune=kommune_of(args, folder), core=core, store=FileSnapshotStore(data_dir() / "regelsaet"))
