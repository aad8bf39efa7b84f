"""The auditor's pages (revisor): the log newest first with filters and exports, the chain status
(incremental check), one decision's full trace with replay in words and who read it, the overview
charts, the access log (who read what), and the citizen's access document (borgerindsigt)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.responses import Response, StreamingResponse

from engine.fields import FIRST_DATE, LAST_DATE
from engine.model import KATEGORI_SPOR, SPOR_ORDER
from engine.screening import looks_like_cpr
from engine.wording import KATEGORI_NAVN, SPOR_NAVN, count, dansk_dato, dansk_tid
from service.api.adgangslog import formaal_tekst
from service.api.borgerindsigt import citizen_document, citizen_json, reference_problem, utc_now
from service.api.common import dumps, purpose
from service.api.vurderinger import export_lines
from service.auth import REVISOR, ROLE_TEXT
from service.problems import ProblemException
from service.sessions import WebSession
from service.web import view
from service.web.common import Posted, page_router, posted, query_values, redirect, render, signed_in, state

router = page_router()
PAGE_SIZE = 50
FILTER_NAMES = ("fra", "til", "version", "kategori", "spor", "udfald", "borger_reference")
FILTER_LABELS = {"fra": "Oprettet fra", "til": "Oprettet til og med", "version": "Regelsættets version", "kategori": "Anbefalet kategori",
                 "spor": "Spor", "udfald": "Gældende afgørelse", "borger_reference": "Sagsreference"}
UDFALD_FILTER = (("fulgt", "fulgt"), ("afveget", "afveget"), ("afvist_af_borger", "afvist af borgeren"))


@dataclass(frozen=True)
class ListFilters:
    values: dict[str, str]
    problems: dict[str, str]
    filters: Any  # service.log.Filters, None when a value is invalid

    def query(self, **extra: Any) -> str:
        return urlencode({**{k: v for k, v in self.values.items() if v}, **extra})


def _date(value: str, problems: dict[str, str], key: str) -> Optional[date]:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems[key] = "skal være en dato på formen ÅÅÅÅ-MM-DD"
        return None
    if not (date.fromisoformat(FIRST_DATE) <= day <= date.fromisoformat(LAST_DATE)):
        problems[key] = f"skal ligge mellem {FIRST_DATE} og {LAST_DATE}"
    return day


def list_filters(request: Request) -> ListFilters:
    """The list's filters from the query (problems beside their inputs; a CPR-like reference is refused)."""
    from service.log import Filters

    v = query_values(request, FILTER_NAMES)
    problems: dict[str, str] = {}
    fra, til = _date(v["fra"], problems, "fra"), _date(v["til"], problems, "til")
    if fra and til and til < fra and not problems:
        problems["til"] = "ligger før 'fra'"
    if v["kategori"] and v["kategori"] not in KATEGORI_SPOR:
        problems["kategori"] = "vælg en kategori på listen"
    if v["spor"] and v["spor"] not in SPOR_ORDER:
        problems["spor"] = "vælg et spor på listen"
    if v["udfald"] and v["udfald"] not in dict(UDFALD_FILTER):
        problems["udfald"] = "vælg en afgørelse på listen"
    for key, value in list(v.items()):  # a refused CPR-like value is never shown again, whichever field it came in
        if value and looks_like_cpr(value):
            v[key] = ""
            problems[key] = "ligner et CPR-nummer; brug en sagsreference uden personnummer"
    if problems:
        return ListFilters(v, problems, None)
    ref = state(request).decisions.reference_hmac(v["borger_reference"]) if v["borger_reference"] else None
    return ListFilters(v, problems, Filters(fra=fra, til=til, version=v["version"] or None, kategori=v["kategori"] or None,
                                            spor=v["spor"] or None, borger_reference_hmac=ref, udfald=v["udfald"] or None))


def filter_choices(engine: Any) -> dict[str, Any]:
    """The choices of the filter form, by their Danish names."""
    versions = sorted({v.version for v in engine.versions() if not v.afventer}, reverse=True)
    return {"versioner": [(x, dansk_dato(date.fromisoformat(x))) for x in versions],
            "kategorier": sorted(((k, KATEGORI_NAVN.get(k, k)) for k in KATEGORI_SPOR), key=lambda kv: kv[1].lower()),
            "spor_valg": [(s, SPOR_NAVN.get(s, s)) for s in SPOR_ORDER], "udfald_valg": UDFALD_FILTER,
            "filter_labels": FILTER_LABELS}


def chain_status(request: Request, kommune: str) -> Any:
    s = state(request)
    return s.store.verify_since_checkpoint(kommune, s.log_key)


@router.get("/revision")
def revision(request: Request, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    s, actor = state(request), session.actor
    lf = list_filters(request)
    raw = request.query_params.get("offset", "0")
    offset = min(int(raw), 10**9) if raw.isdigit() else 0
    total, records = (0, [])
    if lf.filters is not None:
        total, records = s.store.list_decisions(actor.kommune, lf.filters, PAGE_SIZE, offset)
        s.decisions.listed(actor, records, purpose(request))
    engine = s.engines.for_kommune(actor.kommune)
    names = view.offer_names(engine, {r.regelsaet_sha256 for r in records})
    prev_link = "/revision?" + lf.query(offset=max(0, offset - PAGE_SIZE)) if offset > 0 else None
    next_link = "/revision?" + lf.query(offset=offset + PAGE_SIZE) if offset + len(records) < total else None
    return render(request, "revision.html", 422 if lf.problems else 200, lf=lf, rows=[view.row_view(r, names) for r in records],
                  total=total, offset=offset, forrige=prev_link, naeste=next_link, kaede=chain_status(request, actor.kommune),
                  fuld=False, **filter_choices(engine))


@router.get("/revision/kaede")
def kaede(request: Request, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    """The whole chain walked from the first record, with every sletning event, and the access log's
    own chain (their cost grows with the log; on request only)."""
    s, actor = state(request), session.actor
    report = s.store.verify_chain(actor.kommune, key=s.log_key)
    access = s.store.verify_access_log(actor.kommune)
    return render(request, "kaede.html", kaede=report, fuld=True, adgangslog=access,
                  sletninger=[deletion_view(d) for d in s.store.deletions(actor.kommune)])


@router.get("/revision/eksport")
def eksport(request: Request, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    """CSV or NDJSON of every decision matching the list's filters, with the web session."""
    s, actor = state(request), session.actor
    lf = list_filters(request)
    fmt = request.query_params.get("format", "csv")
    if lf.filters is None or fmt not in ("csv", "ndjson"):
        raise ProblemException(422, "Eksporten kan ikke laves: " + ("; ".join(f"{k}: {b}" for k, b in lf.problems.items())
                                                                     or "vælg formatet csv eller ndjson") + ".")
    s.store.ping()  # an error page now rather than a download that breaks off after its headers
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
    return StreamingResponse(export_lines(s, actor, lf.filters, fmt, purpose(request)), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="vurderinger.{fmt}"', "Cache-Control": "no-store",
                                      "X-Content-Type-Options": "nosniff"})


@router.get("/revision/post/{seq}")
def post(request: Request, seq: str, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    """The record a chain finding names: its decision's page (which shows the finding)."""
    from service.log import Filters

    s, actor = state(request), session.actor
    if not seq.isdigit():
        raise ProblemException(404, "Adressen findes ikke.")
    number = int(seq)
    # The store has no lookup by chain position; a scan in seq order is acceptable on this rare path.
    for record in s.store.iter_decisions(actor.kommune, Filters()):
        if record.seq == number or any(a.seq == number for a in record.afgoerelser):
            return redirect(f"/revision/{record.id}#kaede")
    return render(request, "kaede.html", 404, kaede=chain_status(request, actor.kommune), fuld=False, manglende=number)


# --------------------------------------------------------------------------- overview


@router.get("/revision/oversigt")
def oversigt(request: Request, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    """Charts of decisions per month and of deviating afgørelser (the figures of GET /v1/statistik)."""
    from service.api.statistik import Scope, figures
    from service.web.charts import overview_charts

    s, actor = state(request), session.actor
    lf = list_filters(request)
    problems = dict(lf.problems)
    for name in ("version", "udfald", "borger_reference"):
        if lf.values[name]:
            problems[name] = "kan ikke bruges i oversigten endnu; fjern filteret (listen kan bruge det)"
    engine = s.engines.for_kommune(actor.kommune)
    charts = None
    if not problems:
        f = lf.filters
        numbers = figures(s, actor, Scope(f.fra, f.til, f.spor, f.kategori))
        charts = overview_charts(numbers, view.offer_names(engine))
    return render(request, "oversigt.html", 422 if problems else 200, lf=ListFilters(lf.values, problems, lf.filters), charts=charts,
                  **filter_choices(engine))


# --------------------------------------------------------------------------- who read what


@dataclass(frozen=True)
class AccessView:
    seq: int
    tidspunkt: str
    rolle: str
    token_id: str
    formaal: str
    vurderinger: tuple[str, ...]


def access_views(entries: Any) -> list[AccessView]:
    return [AccessView(e.seq, dansk_tid(e.oprettet), ROLE_TEXT.get(e.rolle, e.rolle), e.token_id or "–", formaal_tekst(e.formaal),
                       tuple(e.vurdering_ids)) for e in entries]


@dataclass(frozen=True)
class DeletionView:
    seq: int
    tidspunkt: str
    hvem: str
    begrundelse: str
    foer: str
    antal: str
    poster: str


def deletion_view(d: Any) -> DeletionView:
    span = "–" if d.seq_fra is None else (f"post {d.seq_fra}" if d.seq_fra == d.seq_til else f"post {d.seq_fra}–{d.seq_til}")
    return DeletionView(d.event_seq, dansk_tid(d.oprettet), d.hvem, d.begrundelse, dansk_dato(date.fromisoformat(d.foer)) if d.foer else "–",
                        f"{count(d.antal, 'vurdering', 'vurderinger')} og {count(d.antal_afgoerelser, 'afgørelse', 'afgørelser')}", span)


ACCESS_FILTERS = ("vurdering", "token", "fra", "til")
ACCESS_LABELS = {"vurdering": "Vurdering (id)", "token": "Adgangsnøgle (id)", "fra": "Læst fra", "til": "Læst til og med"}


@router.get("/revision/adgangslog")
def adgangslog(request: Request, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    """The access log newest first, per decision, per token and per period."""
    s, actor = state(request), session.actor
    v = query_values(request, ACCESS_FILTERS)
    problems: dict[str, str] = {}
    fra, til = _date(v["fra"], problems, "fra"), _date(v["til"], problems, "til")
    if fra and til and til < fra and not problems:
        problems["til"] = "ligger før 'fra'"
    for name in ("vurdering", "token"):
        if len(v[name]) > 64:
            problems[name] = "højst 64 tegn"
        elif v[name] and not re.fullmatch(r"[!-~]+", v[name]):
            problems[name] = "et id består af bogstaver, tal og bindestreger uden mellemrum"
    raw = request.query_params.get("offset", "0")
    offset = min(int(raw), 10**9) if raw.isdigit() else 0
    total, entries = (0, [])
    if not problems:
        total, entries = s.store.access_log(actor.kommune, vurdering=v["vurdering"] or None, token=v["token"] or None, fra=fra, til=til,
                                            limit=PAGE_SIZE, offset=offset)
    query = {k: x for k, x in v.items() if x}
    prev_link = "/revision/adgangslog?" + urlencode({**query, "offset": max(0, offset - PAGE_SIZE)}) if offset > 0 else None
    next_link = "/revision/adgangslog?" + urlencode({**query, "offset": offset + PAGE_SIZE}) if offset + len(entries) < total else None
    return render(request, "adgangslog.html", 422 if problems else 200, values=v, problems=problems, labels=ACCESS_LABELS,
                  adgange=access_views(entries), total=total, offset=offset, forrige=prev_link, naeste=next_link)


# --------------------------------------------------------------------------- the citizen's right of access


def _indsigt_page(request: Request, status: int = 200, **context: Any) -> Response:
    context.setdefault("reference", "")
    context.setdefault("fejl", None)
    context.setdefault("dok", None)
    return render(request, "borgerindsigt.html", status, **context)


@router.get("/revision/borgerindsigt")
def borgerindsigt_form(request: Request, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    """The form (POST, so the reference never stands in an address, a history or a proxy's log)."""
    return _indsigt_page(request)


@router.post("/revision/borgerindsigt")
def borgerindsigt(request: Request, post: Posted = Depends(posted(REVISOR))) -> Response:
    """Everything recorded about one reference, as the printable document or as a JSON download."""
    s, actor = state(request), post.session.actor
    reference = post.get("borger_reference").strip()
    problem = reference_problem(reference)
    if problem is not None:
        shown = "" if looks_like_cpr(reference) else reference  # a refused CPR-like value is never repeated
        return _indsigt_page(request, 422, reference=shown, fejl=problem)
    index = s.decisions.citizen(actor, reference, purpose(request))
    now = utc_now()
    if post.get("format") == "json":
        body = dumps(citizen_json(s, actor, index, now)).encode("utf-8")
        return Response(body, media_type="application/json", headers={"Content-Disposition": 'attachment; filename="borgerindsigt.json"',
                                                                      "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    return _indsigt_page(request, reference=reference, dok=citizen_document(s, actor, index, reference, now))


# --------------------------------------------------------------------------- one decision


def _finding_for(report: Any, record: Any) -> Optional[Any]:
    """The chain finding that names this record or one of its afgørelser, if any."""
    first = report.foerste_fejl
    if report.intakt or first is None:
        return None
    seqs = {record.seq, *(a.seq for a in record.afgoerelser)}
    return first if first.seq in seqs else None


def _replay_error(error: ProblemException) -> dict[str, Any]:
    differences = [d.get("tekst") or d.get("sti", "") for d in error.extra.get("forskelle_original", [])]
    return {"besked": error.detail, "fejl_id": error.extra.get("fejl_id"), "forskelle": differences}


def _readable(s: Any, record: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """The typed decision and the screening rows; a record altered into something unreadable is shown as such."""
    try:
        screening = view.screening_rows(json.loads(record.screening)) if record.screening else ()
        return s.decisions.decision(record), screening, True
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, (), False


ACCESS_ON_PAGE = 50


def audit_page(request: Request, session: WebSession, id: str, replay: Any = None, replay_error: Optional[dict[str, Any]] = None) -> Response:
    s, actor = state(request), session.actor
    record = s.decisions.stored(actor, id, purpose(request), removed=True)  # recorded before anything is shown
    engine = s.engines.for_kommune(actor.kommune)
    names = view.offer_names(engine, [record.regelsaet_sha256])
    total_reads, reads = s.store.access_log(actor.kommune, vurdering=id, limit=ACCESS_ON_PAGE)
    finding = _finding_for(chain_status(request, actor.kommune), record)
    common = dict(id=id, record=record, oprettet=dansk_tid(record.oprettet), afgoerelser=view.afgoerelse_views(s.afgoerelser.list(actor, id), names),
                  kan_afgoere=False, fund=finding, adgange=access_views(reads), antal_adgange=total_reads,
                  anbefalinger=view.row_view(record, names).anbefalinger)
    if record.slettet is not None:
        return render(request, "slettet.html", 410, sletning=deletion_view(record.slettet), **common)
    decision, screening, readable = _readable(s, record)
    return render(request, "beslutning.html", r=view.decision_view(decision, id, record.oprettet, engine.law) if decision else None,
                  laeselig=readable, screening=screening, genberegning=replay, genberegning_fejl=replay_error, **common)


@router.get("/revision/{id}")
def beslutning(request: Request, id: str, session: WebSession = Depends(signed_in(REVISOR))) -> Response:
    return audit_page(request, session, id)


@router.post("/revision/{id}/genberegn")
def genberegn(request: Request, id: str, post: Posted = Depends(posted(REVISOR))) -> Response:
    """Replay under the original and today's rules (a sync route: FastAPI runs it off the event loop)."""
    s = state(request)
    try:
        replay = s.decisions.replay(post.session.actor, id, purpose(request))
    except ProblemException as error:
        if error.status in (404, 410):
            raise
        return audit_page(request, post.session, id, replay_error=_replay_error(error))
    return audit_page(request, post.session, id, replay=view.replay_view(replay))
