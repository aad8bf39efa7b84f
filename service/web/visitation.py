"""The caseworker's pages (visitator): screening form, result with the afgørelse form, Mine
vurderinger, journal note and letter - all through the DecisionService and AfgoerelseService."""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlencode

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from engine import ScreeningInvalid
from engine.model import SPOR_ORDER
from engine.wording import SPOR_NAVN
from service.afgoerelser import AfgoerelseIn, parse_afgoerelse
from service.api.common import purpose
from service.api.journal import journal_text, klagevejledning, letter, load_case
from service.auth import REVISOR, VISITATOR
from service.problems import ProblemException
from service.sessions import WebSession
from service.web import view
from service.web.common import Posted, page_router, posted, redirect, render, signed_in, state
from service.web.form import ROW_LABELS, SUBSTANCE_CHOICES, UDFALD_VALG, AfgoerelseForm, FormState, form_groups

router = page_router()
PAGE_SIZE = 25


def _form_page(request: Request, form: FormState, status: int = 200) -> Response:
    return render(request, "visitation.html", status, form=form.without_cpr(), grupper=form_groups(), substance_choices=SUBSTANCE_CHOICES,
                  raekke_labels=ROW_LABELS)


@router.get("/visitation")
def visitation_side(request: Request, session: WebSession = Depends(signed_in(VISITATOR))) -> Response:
    return _form_page(request, FormState.empty(state(request).settings.today()))


@router.post("/visitation")
async def visitation(request: Request, post: Posted = Depends(posted(VISITATOR))) -> Response:
    form = FormState.from_form(post.form)
    handling = post.get("handling", "vurder")
    if handling == "tilfoej":
        form.add_row()
        return _form_page(request, form)
    if handling.startswith("fjern-"):
        form.remove_row(int(handling[6:]) if handling[6:].isdigit() else -1)
        return _form_page(request, form)
    body, index_map = form.body()
    try:
        prepared = await state(request).decisions.decide(post.session.actor, body)
    except ScreeningInvalid as error:
        form.set_problems([(p.felt, p.besked) for p in error.problems], index_map)
    except ProblemException as error:
        if error.status != 422:
            raise
        form.set_problems([(f["felt"], f["besked"]) for f in (error.fejl or [{"felt": "", "besked": error.detail}])], index_map)
    else:
        return redirect(f"/vurdering/{prepared.record.id}")
    return _form_page(request, form, 422)


# --------------------------------------------------------------------------- the result page


def _offer_choices(engine: Any, sha256: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Per track, the offers of the decision's rule set version (an afgørelse may name only those)."""
    try:
        version = engine.version_by_sha(sha256)
    except Exception:  # an unknown old version: no alternatives can be offered
        return []
    out = []
    for spor in SPOR_ORDER:
        offers = sorted((o for o in version.offers if o.spor == spor), key=lambda o: (o.niveau, o.navn))
        if offers:
            out.append((spor, SPOR_NAVN.get(spor, spor), [(o.id, o.navn) for o in offers]))
    return out


def decision_page(request: Request, session: WebSession, id: str, afform: Optional[AfgoerelseForm] = None, status: int = 200) -> Response:
    """The result page (also after a failed afgørelse, with the form as typed)."""
    s, actor = state(request), session.actor
    record = s.decisions.stored(actor, id, purpose(request))
    decision = s.decisions.decision(record)
    if decision is None:
        raise ProblemException(409, "Vurderingen er lavet af en tidligere udgave af motoren og kan ikke vises som anbefaling her.")
    engine = s.engines.for_kommune(actor.kommune)
    names = view.offer_names(engine, [record.regelsaet_sha256])
    afgoerelser = view.afgoerelse_views(s.afgoerelser.list(actor, id), names)
    udskrift = request.query_params.get("print") == "1"
    return render(request, "vurdering.html", status, r=view.decision_view(decision, id, record.oprettet, engine.law), id=id,
                  udskrift=udskrift, afgoerelser=afgoerelser, kan_afgoere=actor.rolle == VISITATOR,
                  afform=(afform or AfgoerelseForm(dato=s.settings.today().isoformat())).without_cpr(), udfald_valg=UDFALD_VALG,
                  spor_valg=_offer_choices(engine, record.regelsaet_sha256))


@router.get("/vurdering/{id}")
def vurdering(request: Request, id: str, session: WebSession = Depends(signed_in(VISITATOR, REVISOR))) -> Response:
    return decision_page(request, session, id)


def _validation_problems(afform: AfgoerelseForm, error: ValidationError) -> None:
    from engine.messages import message

    for e in error.errors(include_url=False):
        felt = ".".join(str(x) for x in e["loc"]) or "udfald"
        if felt == "udfald":
            afform.set_problem("udfald", "vælg, hvad der blev afgjort")
        elif felt == "begrundelse" and e["type"] == "string_too_long":
            afform.set_problem("begrundelse", "højst 2.000 tegn")
        else:
            afform.set_problem(felt, message(e, name_in_text=False))


@router.post("/vurdering/{id}/afgoerelse")
def afgoerelse(request: Request, id: str, post: Posted = Depends(posted(VISITATOR))) -> Response:
    afform = AfgoerelseForm.from_form(post.form, SPOR_ORDER)
    try:
        parsed = parse_afgoerelse(AfgoerelseIn.model_validate(afform.body()))
        state(request).afgoerelser.record(post.session.actor, id, parsed, purpose(request))
    except ValidationError as error:
        _validation_problems(afform, error)
    except ProblemException as error:
        if error.status != 422:
            raise
        for f in error.fejl or [{"felt": "udfald", "besked": error.detail}]:
            afform.set_problem(f["felt"], f["besked"])
    else:
        return redirect(f"/vurdering/{id}#afgoerelse")
    return decision_page(request, post.session, id, afform, 422)


# --------------------------------------------------------------------------- my decisions


@router.get("/vurderinger/mine")
def mine(request: Request, session: WebSession = Depends(signed_in(VISITATOR))) -> Response:
    from service.log import Filters

    s, actor = state(request), session.actor
    raw = request.query_params.get("offset", "0")
    offset = min(int(raw), 10**9) if raw.isdigit() else 0
    total, records = s.store.list_decisions(actor.kommune, Filters(token_id=actor.token_id), PAGE_SIZE, offset)
    s.decisions.listed(actor, records, purpose(request))
    names = view.offer_names(s.engines.for_kommune(actor.kommune), {r.regelsaet_sha256 for r in records})
    prev_link = "/vurderinger/mine?" + urlencode({"offset": max(0, offset - PAGE_SIZE)}) if offset > 0 else None
    next_link = "/vurderinger/mine?" + urlencode({"offset": offset + PAGE_SIZE}) if offset + len(records) < total else None
    return render(request, "mine.html", rows=[view.row_view(r, names) for r in records], total=total, offset=offset,
                  forrige=prev_link, naeste=next_link)


# --------------------------------------------------------------------------- journal note and letter


@router.get("/vurdering/{id}/journalnotat")
def journalnotat(request: Request, id: str, session: WebSession = Depends(signed_in(VISITATOR, REVISOR))) -> Response:
    case = load_case(state(request), session.actor, id, purpose(request))
    return render(request, "journalnotat.html", id=id, tekst=journal_text(case))


@router.get("/vurdering/{id}/journalnotat.txt")
def journalnotat_tekst(request: Request, id: str, session: WebSession = Depends(signed_in(VISITATOR, REVISOR))) -> Response:
    case = load_case(state(request), session.actor, id, purpose(request))
    return Response(journal_text(case).encode("utf-8"), media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/vurdering/{id}/brev")
def brev(request: Request, id: str, session: WebSession = Depends(signed_in(VISITATOR, REVISOR))) -> Response:
    s = state(request)
    case = load_case(s, session.actor, id, purpose(request))
    entries = klagevejledning(s, s.engines.for_kommune(session.actor.kommune).law)
    return render(request, "brev.html", id=id, brev=letter(case, entries, s.settings.today()))
