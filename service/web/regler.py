"""The rule set pages (redaktør, revisor): versions, one version's rules and offers, and the impact
of moving between versions, always on the app's engines as they are now (a reload shows at once)."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from engine.wording import KATEGORI_NAVN, LAG_NAVN, SPOR_NAVN, STATUS_NAVN, dansk_dato
from service.api.regelsaet import versions_listing
from service.auth import REDAKTOER, REVISOR
from service.sessions import WebSession
from service.web.common import page_router, render, signed_in, state
from service.web.view import Detail, legal_source

router = page_router()


def cases_dir(rules_dir: Path) -> Path:
    """The golden cases beside the rules in use (cases/ next to regler/), else the source tree's, else the installed ones."""
    for folder in (rules_dir.parent / "cases", Path(__file__).resolve().parents[2] / "cases"):
        if folder.is_dir():
            return folder
    return Path(sys.prefix) / "share" / "visitator" / "cases"


@router.get("/regler")
def regler(request: Request, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    info = versions_listing(state(request), session.actor)
    rows = [{"sha256": v["sha256"], "fra": dansk_dato(date.fromisoformat(v["gyldig_fra"])),
             "til": dansk_dato(date.fromisoformat(v["gyldig_til"])) if v["gyldig_til"] else "–",
             "status": STATUS_NAVN.get(v["status"], v["status"]), "i_kraft": v["sha256"] == info["i_kraft_i_dag"],
             "regler": v["antal_regler"], "tilbud": v["antal_tilbud"]} for v in reversed(info["versioner"])]
    return render(request, "regler.html", rows=rows, navn=info["navn"])


def _item_rows(version: Any, law: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rules = [{"beskrivelse": r.beskrivelse, "kilde": legal_source(_ref(r), version.gyldig_fra, law), "lag": LAG_NAVN.get(r.lag, r.lag),
              "spor": SPOR_NAVN.get(r.spor or "", "alle spor"), "details": (Detail("Regel", r.id), Detail("Placering", r.placering))}
             for r in version.rules]
    offers = [{"navn": o.navn, "spor": SPOR_NAVN.get(o.spor, o.spor), "niveau": o.niveau, "kategori": KATEGORI_NAVN.get(o.kategori, o.kategori),
               "kilde": legal_source(_ref(o), version.gyldig_fra, law),
               "details": (Detail("Tilbud", o.id), Detail("Kategori", o.kategori), Detail("Placering", o.placering))}
              for o in sorted(version.offers, key=lambda o: (list(SPOR_NAVN).index(o.spor) if o.spor in SPOR_NAVN else 9, o.niveau))]
    return rules, offers


def _ref(item: Any) -> Any:
    """A rule-file block as the minimal RuleRef legal_source needs (its kilde)."""
    from engine.decision import RuleRef

    return RuleRef(item.id, item.kind, item.lag, item.position, item.beskrivelse, item.kilde, item.gyldig_fra)


# --------------------------------------------------------------------------- impact


def _shown(kind: str, value: Any, names: dict[str, str]) -> str:
    """One side of an example in words: offers by name, tracks by their Danish names."""
    if isinstance(value, dict):
        parts = [f"{SPOR_NAVN.get(k, k)}: {_shown(kind, v, names)}" for k, v in value.items()]
        return "; ".join(parts) or "intet"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "ingen"
    if value is None:
        return "intet tilbud"
    return names.get(str(value), str(value)) if kind == "tilbud" else str(value)


def _impact(state_: Any, kommune: str, fra: str, til: str) -> Any:
    from engine.tools.cases import load_cases
    from engine.tools.diff import Side, diff

    engine = state_.engines.for_kommune(kommune)  # the engine in use now: a reload is reflected
    bodies = [c.screening for c in load_cases(cases_dir(engine.rules_dir)) if "fejl" not in c.forventet]
    a = Side(f"regler i kraft {fra}", engine.rules_dir, date.fromisoformat(fra), kommune=engine.kommune)
    b = Side(f"regler i kraft {til}", engine.rules_dir, date.fromisoformat(til), kommune=engine.kommune)
    return diff(a, b, bodies, "de gyldne tilfælde", workers=1, engines=(engine, engine))


@router.get("/regler/konsekvens")
async def konsekvens(request: Request, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    from engine.tools.diff import KIND_TEXT, KINDS

    s = state(request)
    engine = s.engines.for_kommune(session.actor.kommune)
    dates = [v.version for v in engine.versions() if not v.afventer]
    fra, til = (request.query_params.get(k, "").strip() for k in ("fra", "til"))
    problems = {k: "vælg en af versionernes datoer" for k, v in (("fra", fra), ("til", til)) if v and v not in dates}
    report = None
    if fra and til and not problems:
        report = await run_in_threadpool(_impact, s, session.actor.kommune, fra, til)
    names = {o.id: o.navn for v in engine.versions() for o in v.offers}
    rules = {i.id: i.beskrivelse for v in engine.versions() for i in v.items}
    return render(request, "konsekvens.html", 422 if problems else 200, datoer=[(d, dansk_dato(date.fromisoformat(d))) for d in dates],
                  fra=fra, til=til, problemer=problems, rapport=report, kinds=KINDS, kind_text=KIND_TEXT,
                  vis=lambda kind, value: _shown(kind, value, names), regel=lambda rid: rules.get(rid, rid),
                  dato=lambda d: dansk_dato(date.fromisoformat(d)) if d else "")


@router.get("/regler/{sha256}")
def regelversion(request: Request, sha256: str, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    from service.problems import ProblemException

    s = state(request)
    engine = s.engines.for_kommune(session.actor.kommune)
    version = next((v for v in engine.versions() if v.sha256 == sha256), None)
    if version is None:
        raise ProblemException(404, "Der er ingen version af regelsættet med den sha256.")
    rules, offers = _item_rows(version, engine.law)
    return render(request, "regelversion.html", version=version, fra=dansk_dato(version.gyldig_fra),
                  til=dansk_dato(version.gyldig_til) if version.gyldig_til else None,
                  gyldighed=STATUS_NAVN.get(version.status(s.settings.today()), ""), regler=rules, tilbud=offers)
