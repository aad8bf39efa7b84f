"""GET /v1/statistik: decisions per month by track and category, the versions in force and the share
of deviating afgørelser per track and offer; the log counts (SQL), this module only arranges."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from typing_extensions import TypedDict

from engine.model import KATEGORI_SPOR, SPOR_ORDER
from service.api.common import json_response, problems, services
from service.auth import REVISOR, Actor, require
from service.params import IsoDate
from service.problems import ProblemException

router = APIRouter(tags=["revision"])
DEVIATING = ("afveget", "afvist_af_borger")
Kategori = Literal[tuple(KATEGORI_SPOR)]  # type: ignore[valid-type]
Spor = Literal[tuple(SPOR_ORDER)]  # type: ignore[valid-type]


class VurderingerIMaaned(TypedDict):
    maaned: str
    spor: str
    kategori: str
    antal: int


class Afvigelser(TypedDict):
    """The newest afgørelse of each decision, counted per track or per recommended offer."""

    noegle: str
    spor: Optional[str]
    i_alt: int
    fulgt: int
    afveget: int
    afvist_af_borger: int
    andel_afvigelser: Optional[float]


class VersionIKraft(TypedDict):
    version: str
    gyldig_fra: str
    gyldig_til: Optional[str]
    sha256: str


class StatistikSvar(TypedDict):
    gruppering: str
    fra: Optional[str]
    til: Optional[str]
    spor: Optional[str]
    kategori: Optional[str]
    maaneder: list[str]
    vurderinger: list[VurderingerIMaaned]
    afgoerelser_pr_spor: list[Afvigelser]
    afgoerelser_pr_tilbud: list[Afvigelser]
    regelsaet: list[VersionIKraft]


@dataclass(frozen=True)
class Scope:
    """What the figures cover: the period (by the decision's creation date) and optionally a track or category."""

    fra: Optional[date] = None
    til: Optional[date] = None
    spor: Optional[str] = None
    kategori: Optional[str] = None


def months_between(first: str, last: str) -> list[str]:
    """Every month 'YYYY-MM' from first to last, inclusive.

    >>> months_between("2026-11", "2027-02")
    ['2026-11', '2026-12', '2027-01', '2027-02']
    """
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _deviations(rows: list[tuple[str, str, int]], spor_of: dict[str, str], per: str) -> list[Afvigelser]:
    totals: dict[str, dict[str, int]] = {}
    for key, udfald, n in rows:
        counts = totals.setdefault(key, {"fulgt": 0, "afveget": 0, "afvist_af_borger": 0})
        counts[udfald] = counts.get(udfald, 0) + n
    out: list[Afvigelser] = []
    for key, c in totals.items():
        total = sum(c.values())
        deviating = sum(c.get(u, 0) for u in DEVIATING)
        out.append({"noegle": key, "spor": key if per == "spor" else spor_of.get(key), "i_alt": total, "fulgt": c["fulgt"],
                    "afveget": c["afveget"], "afvist_af_borger": c["afvist_af_borger"],
                    "andel_afvigelser": round(deviating / total, 4) if total else None})
    order = {s: i for i, s in enumerate(SPOR_ORDER)}
    return sorted(out, key=lambda a: (order.get(a["spor"] or "", 9), a["noegle"]))


def _offers(engine: Any) -> dict[str, tuple[str, str]]:
    """Offer id -> (track, category) over every version of the rules in use."""
    out: dict[str, tuple[str, str]] = {}
    for version in engine.versions():
        out.update({o.id: (o.spor, o.kategori) for o in version.offers})
    return out


def _versions(engine: Any, first: Optional[str], last: Optional[str]) -> list[VersionIKraft]:
    """The versions in force at some day of the months shown (pending laws are not in force)."""
    out: list[VersionIKraft] = []
    for v in sorted(engine.versions(), key=lambda v: v.gyldig_fra):
        if v.afventer:
            continue
        ends = v.gyldig_til.isoformat() if v.gyldig_til else None
        if first and last and (v.version[:7] > last or (ends is not None and ends[:7] < first)):
            continue
        out.append({"version": v.version, "gyldig_fra": v.version, "gyldig_til": ends, "sha256": v.sha256})
    return out


def figures(state: Any, actor: Actor, scope: Scope) -> StatistikSvar:
    """The figures for the actor's kommune (the same for the JSON endpoint and the web overview)."""
    engine = state.engines.for_kommune(actor.kommune)
    offers = _offers(engine)
    stats = state.store.statistik(actor.kommune, scope.fra, scope.til)

    def offer_ok(tilbud_id: str) -> bool:
        spor, kategori = offers.get(tilbud_id, (None, None))
        return (scope.spor is None or spor == scope.spor) and (scope.kategori is None or kategori == scope.kategori)

    decisions = [(m, s, k, n) for m, s, k, n in stats.vurderinger
                 if (scope.spor is None or s == scope.spor) and (scope.kategori is None or k == scope.kategori)]
    by_offer = [(t, u, n) for _, t, u, n in stats.afgoerelser_tilbud if offer_ok(t)]
    if scope.kategori is None:
        by_track = [(s, u, n) for _, s, u, n in stats.afgoerelser_spor if scope.spor is None or s == scope.spor]
    else:  # a category belongs to offers, so the tracks are summed from the offers of that category
        by_track = [(offers[t][0], u, n) for t, u, n in by_offer]
    seen = sorted({r[0] for r in stats.vurderinger} | {r[0] for r in stats.afgoerelser_spor})
    first = scope.fra.isoformat()[:7] if scope.fra else (seen[0] if seen else None)
    last = scope.til.isoformat()[:7] if scope.til else (seen[-1] if seen else None)
    return {
        "gruppering": "maaned", "fra": scope.fra.isoformat() if scope.fra else None, "til": scope.til.isoformat() if scope.til else None,
        "spor": scope.spor, "kategori": scope.kategori,
        "maaneder": months_between(first, last) if first and last and first <= last else [],
        "vurderinger": [{"maaned": m, "spor": s, "kategori": k, "antal": n} for m, s, k, n in decisions],
        "afgoerelser_pr_spor": _deviations(by_track, {}, "spor"),
        "afgoerelser_pr_tilbud": _deviations(by_offer, {t: s for t, (s, _) in offers.items()}, "tilbud"),
        "regelsaet": _versions(engine, first, last),
    }


@router.get("/v1/statistik", response_model=StatistikSvar, summary="Tal pr. måned til revisionens oversigt (rolle: revisor)",
            responses=problems(401, 403, 422, 500, 503))
def statistik(
    request: Request,
    fra: Optional[IsoDate] = Query(None, description="Vurderinger oprettet på eller efter denne dato (UTC)"),
    til: Optional[IsoDate] = Query(None, description="Vurderinger oprettet på eller før denne dato (UTC)"),
    gruppering: Literal["maaned"] = Query("maaned", description="Kun maaned (pr. kalendermåned)"),
    spor: Optional[Spor] = Query(None, description="Kun dette spor"),  # type: ignore[valid-type]
    kategori: Optional[Kategori] = Query(None, description="Kun anbefalinger i denne kategori"),  # type: ignore[valid-type]
    actor: Actor = Depends(require(REVISOR)),
) -> Response:
    if fra is not None and til is not None and til < fra:
        raise ProblemException(422, "Perioden er ugyldig.", slug="valideringsfejl", fejl=[{"felt": "til", "besked": "ligger før 'fra'"}])
    return json_response(figures(services(request), actor, Scope(fra, til, spor, kategori)))
