"""The `visitator` command: thin shells around the engine, its tools and the service.

Exit codes: 0 success, 1 failed golden cases or checks, 2 bad input or a rule
set or database that cannot be used. Messages are Danish, one line per problem.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from service.cli import evaluate, logcmd, rules, serve, tokens


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visitator", description="Regelmotor for visitation efter mindste indgrebs princip.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (evaluate, rules, serve, tokens, logcmd):
        module.add_commands(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
