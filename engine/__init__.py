"""Visitation rule engine: versioned rule files in, least intrusive offer per
track with legal basis, deadlines and an explanation trace out.

Stages, one module each, each importing only the ones before it:
load -> validate -> versions -> compile -> evaluate -> select -> explain,
with the typed decision in `decision`, the words in `wording`, the HTTP body
in `api`, and `visitation.Engine` as the front door used by the CLI and the
service. Policy tools (golden cases, check, verify, diff) live in engine.tools.
"""
from engine.screening import Screening, ScreeningInvalid, parse_screening
from engine.validate import RulesInvalid
from engine.versions import DateNotCovered, UnknownVersion
from engine.visitation import CoresDisagree, Engine

__all__ = ["Engine", "Screening", "ScreeningInvalid", "parse_screening", "RulesInvalid", "DateNotCovered", "UnknownVersion",
           "CoresDisagree"]
