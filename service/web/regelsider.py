"""The rule pages (redaktør, revisor): every rule and offer written out in words (conditions and
conclusion), its legal provisions linked to a provision page (title, description and the law's own
history from regler/love/), the golden cases that exercise it, a search over rules, offers, fields
and provisions, and the history of every change to the municipality's layer (who, when, approved by
whom) from the drafts and the chain's `regelsaet_publiceret` events. Always the app's engines as
they are now (a publication or a reload shows at once)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from engine.fields import FACT_FIELDS, FIELDS
from engine.law import LOV_NAVN
from engine.model import AnyItem, AnyOf, ConditionNode, Offer, Precondition, Right, Rule, Scope
from engine.wording import KATEGORI_NAVN, LAG_NAVN, SPOR_NAVN, count, dansk_dato, dansk_tid, value_text
from service.auth import REDAKTOER, REVISOR
from service.problems import ProblemException
from service.sessions import WebSession
from service.web.common import page_router, render, signed_in, state

router = page_router()
KIND_NAVN = {"tilbud": "Tilbud", "regel": "Regel", "forudsaetning": "Forudsætning", "rettighed": "Rettighed", "personkreds": "Personkreds"}
KIND_FLERTAL = {"tilbud": "Tilbud", "regel": "Regler", "forudsaetning": "Forudsætninger", "rettighed": "Rettigheder", "personkreds": "Personkredse"}
_OPS = {"=": "er", "!=": "er ikke", ">": "er over", ">=": "er mindst", "<": "er under", "<=": "er højst", "i": "er en af", "ikke_i": "er ikke en af"}


# --------------------------------------------------------------------------- words


def condition_words(c: ConditionNode) -> str:
    """One condition in plain Danish: 'alder er mindst 18', 'borgeren er gravid'."""
    if isinstance(c, AnyOf):
        return "mindst én af: " + "; ".join(condition_words(x) for x in c.items)
    spec = FIELDS.get(c.felt)
    if spec is None:
        return f"{c.felt} {_OPS.get(c.operator, c.operator)} {value_text(c.vaerdi)}"
    if spec.type == "sandhed" and c.operator in ("=", "!=") and isinstance(c.vaerdi, bool):
        positive = c.vaerdi if c.operator == "=" else not c.vaerdi
        subject = spec.label[0].lower() + spec.label[1:]
        if spec.navn == "hjemloes":
            subject = "borgeren er uden egen bolig"
        elif not subject.startswith("borgeren"):
            subject = f"der er {subject}"
        return subject if positive else f"det er ikke tilfældet, at {subject}"
    values = c.vaerdi if isinstance(c.vaerdi, (list, tuple)) else [c.vaerdi]
    shown = ", ".join(value_text(v, c.felt) for v in values)
    return f"{spec.plain} {_OPS.get(c.operator, c.operator)} {shown}"


@dataclass
class Words:
    """A block written out: what it is, when it holds, and what follows."""

    heading: str
    naar: list[str]
    saa: list[str]
    bestemmelser: list[tuple[str, str]] = field(default_factory=list)  # (provision id, how it is cited on the block's first day)


def _cite(law: Any, pid: str, day: date) -> str:
    provision = law.get(pid)
    ref = provision.at(day) if provision is not None else None
    if ref is not None:
        return ref.danish()
    return provision.titel if provision is not None else pid


def block_words(item: AnyItem, law: Any, offers: dict[str, str]) -> Words:
    day = item.gyldig_fra
    naar = [condition_words(c) for c in item.conditions]
    saa: list[str] = []
    if isinstance(item, Offer):
        heading = (f"Tilbuddet '{item.navn}' er {KATEGORI_NAVN.get(item.kategori, item.kategori)} i sporet "
                   f"{SPOR_NAVN.get(item.spor, item.spor)} på indgrebsniveau {item.niveau}")
        if item.daekker_op_til > item.niveau:
            heading += f" og dækker behov op til niveau {item.daekker_op_til}"
        saa.append("tilbuddet er egnet" + (" for alle" if not naar else ""))
    elif isinstance(item, Rule):
        heading = item.beskrivelse
        spor = SPOR_NAVN.get(item.spor or "", "")
        if item.min_niveau is not None:
            saa.append(f"borgerens behov i sporet {spor} er mindst indgrebsniveau {item.min_niveau}")
        if item.udeluk_kategori:
            saa.append(f"kommunen udelukker {KATEGORI_NAVN.get(item.udeluk_kategori, item.udeluk_kategori)} i sporet {spor}")
        if item.udeluk_tilbud:
            saa.append(f"kommunen udelukker tilbuddet '{offers.get(item.udeluk_tilbud, item.udeluk_tilbud)}'")
        if item.lovgrundlag:
            saa.append("lovgrundlaget for anbefalingen i sporet " + spor + " omfatter " + ", ".join(_cite(law, p, day) for p in item.lovgrundlag))
        if item.frist is not None:
            fra = "henvendelsen" if item.frist.fra == "henvendelsesdato" else "vurderingen"
            saa.append(f"frist: {item.frist.beskrivelse} senest {item.frist.dage} dage efter {fra} ({_cite(law, item.frist.lovgrundlag, day)})")
        if item.skal_tilbyde is not None:
            saa.append(f"kommunen skal tilbyde '{offers.get(item.skal_tilbyde.tilbud, item.skal_tilbyde.tilbud)}': {item.skal_tilbyde.tekst}")
        if item.advarsel:
            saa.append(f"sagsbehandleren får advarslen: \"{item.advarsel}\"")
        if item.oplysning:
            saa.append(f"sagsbehandleren får oplysningen: \"{item.oplysning}\"")
        if item.ved_kategori:
            saa.append("kun når der anbefales " + " eller ".join(KATEGORI_NAVN.get(k, k) for k in item.ved_kategori))
    elif isinstance(item, Precondition):
        heading = f"'{item.navn}' lægges ved siden af behandlingen i sporet {SPOR_NAVN.get(item.spor, item.spor)}"
        saa.append("forudsætningen lægges ved siden af anbefalingen (den er aldrig et alternativ til behandlingen)")
    elif isinstance(item, Right):
        heading = f"Borgeren har ret til {item.navn[:1].lower() + item.navn[1:]}"
        saa.append(item.indhold)
        if item.gaelder_ved_kategori:
            saa.append("kan kun opfyldes med " + " eller ".join(KATEGORI_NAVN.get(k, k) for k in item.gaelder_ved_kategori))
        for k in item.konflikter:
            saa.append(f"i konflikt med hjælp i sporet {SPOR_NAVN.get(k.spor, k.spor)}: {k.tekst}")
    elif isinstance(item, Scope):
        target = _cite(law, item.bestemmelse, day) if item.bestemmelse else LOV_NAVN.get(item.lov or "", item.lov or "")
        heading = f"Hvem {target} gælder for"
        saa.append(f"{target} gælder kun for borgere, der opfylder betingelserne")
        if item.kun_ved_kategori:
            saa.append("kan kun være grundlag for " + " eller ".join(KATEGORI_NAVN.get(k, k) for k in item.kun_ved_kategori))
    else:  # pragma: no cover - every kind is handled above
        heading = item.beskrivelse
    pids = list(item.citations())
    return Words(heading, naar, saa, [(p, _cite(law, p, day)) for p in pids])


# --------------------------------------------------------------------------- the golden cases that exercise each block

_exercised: dict[tuple[str, tuple[str, ...]], dict[str, list[tuple[str, str]]]] = {}
_exercised_lock = threading.Lock()


def _cases_of(engine: Any, kommune: str) -> list[Any]:
    from engine.tools.cases import CaseFileInvalid, load_cases
    from service.web.regler import cases_dir

    folder = cases_dir(engine.rules_dir)
    try:
        cases = load_cases(folder)
    except CaseFileInvalid:
        cases = []
    own = f"{folder.name}/{kommune}/"
    return [c for c in cases if c.position.file.count("/") <= 1 or c.position.file.startswith(own)]


def exercised(engine: Any, kommune: str) -> dict[str, list[tuple[str, str]]]:
    """{block id: [(case name, file:line)]} for the golden cases run under the engine's rules (cached per version set)."""
    from engine import Engine
    from engine.tools.cases import check_case

    key = (kommune, tuple(v.sha256 for v in engine.versions()))
    with _exercised_lock:
        if key in _exercised:
            return _exercised[key]
        reference = Engine(engine.rules_dir, kommune=engine.kommune, core="reference", today=engine.today)
        out: dict[str, list[tuple[str, str]]] = {}
        for case in _cases_of(engine, kommune):
            result = check_case(reference, case)
            d = result.decision
            if d is None:
                continue
            ids = {a.rule.id for a in d.rules if a.applied} | {t.chosen.id for t in d.tracks if t.chosen}
            ids |= {p.ref.id for p in d.preconditions} | {r.ref.id for r in d.rights}
            for i in ids:
                out.setdefault(i, []).append((case.navn, case.placering))
        _exercised.clear()
        _exercised[key] = out
        return out


# --------------------------------------------------------------------------- pages


def _engine(request: Request, session: WebSession) -> Any:
    return state(request).engines.for_kommune(session.actor.kommune)


def _offer_names(engine: Any) -> dict[str, str]:
    return {o.id: o.navn for o in engine.book.offers}


def _title(item: AnyItem) -> str:
    return getattr(item, "navn", "") or item.beskrivelse


@router.get("/regler/alle")
def alle(request: Request, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    engine = _engine(request, session)
    today = state(request).settings.today()
    groups = []
    for kind in ("tilbud", "regel", "forudsaetning", "rettighed", "personkreds"):
        by_id: dict[str, list[AnyItem]] = {}
        for item in engine.book.items():
            if item.kind == kind:
                by_id.setdefault(item.id, []).append(item)
        rows = []
        for item_id, items in by_id.items():
            items.sort(key=lambda i: i.gyldig_fra)
            current = next((i for i in reversed(items) if i.in_force(today)), items[-1])
            spor = getattr(current, "spor", None) or ""
            rows.append({"id": item_id, "titel": _title(current), "lag": LAG_NAVN.get(current.lag, current.lag),
                         "spor": SPOR_NAVN.get(spor, "alle spor"), "udgaver": len(items),
                         "i_kraft": any(i.in_force(today) for i in items)})
        order = list(SPOR_NAVN.values())
        rows.sort(key=lambda r: (order.index(str(r["spor"])) if r["spor"] in order else 9, str(r["titel"])))
        if rows:
            groups.append({"kind": kind, "navn": KIND_FLERTAL[kind], "rows": rows})
    return render(request, "regelsider_alle.html", grupper=groups, q="")


@router.get("/regler/blok/{kind}/{item_id}")
async def blok(request: Request, kind: str, item_id: str, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    engine = _engine(request, session)
    items = sorted((i for i in engine.book.items() if i.kind == kind and i.id == item_id), key=lambda i: i.gyldig_fra)
    if not items:
        raise ProblemException(404, "Der findes ingen regel eller intet tilbud med det id i kommunens regelsæt.")
    today = state(request).settings.today()
    offers = _offer_names(engine)
    udgaver = [{"item": i, "ord": block_words(i, engine.law, offers), "fra": dansk_dato(i.gyldig_fra),
                "til": dansk_dato(i.gyldig_til) if i.gyldig_til else None, "lag": LAG_NAVN.get(i.lag, i.lag),
                "status": ("afventer (lovforslag)" if i.afventer else "i kraft" if i.in_force(today)
                           else "kommende" if i.gyldig_fra > today else "historisk")} for i in items]
    cases = (await run_in_threadpool(exercised, engine, session.actor.kommune)).get(item_id, [])
    history = _block_history(request, session.actor.kommune, item_id) if items[-1].lag == "kommune" else None
    return render(request, "regelsider_blok.html", kind_navn=KIND_NAVN.get(kind, kind), titel=_title(items[-1]), item_id=item_id,
                  udgaver=udgaver, tilfaelde=cases, historik=history, kommunelag=items[-1].lag == "kommune")


def _who(request: Request, token_id: Optional[str]) -> str:
    from service.web.editor import who

    return who(request, token_id)


def _block_history(request: Request, kommune: str, item_id: str) -> list[dict[str, Any]]:
    drafts = getattr(state(request).store, "drafts", None)
    if drafts is None:
        return []
    return [_publication_row(request, p) for p in drafts.published_all(kommune) if item_id in p.aendrede]


def _publication_row(request: Request, p: Any) -> dict[str, Any]:
    return {"hvornaar": dansk_tid(p.publiceret), "fra": dansk_dato(date.fromisoformat(p.gyldig_fra)), "forfatter": _who(request, p.forfatter),
            "godkender": _who(request, p.godkender), "note": p.note, "kladde": p.kladde_id, "aendrede": list(p.aendrede),
            "kaede_seq": p.kaede_seq}


@router.get("/regler/bestemmelse/{pid}")
def bestemmelse(request: Request, pid: str, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    engine = _engine(request, session)
    provision = engine.law.get(pid)
    if provision is None:
        raise ProblemException(404, "Der findes ingen bestemmelse med det navn i lovenes historik.")
    entries = []
    for e in provision.entries:
        ref = provision.at(e.fra)
        entries.append({"fra": dansk_dato(e.fra), "henvisning": ref.danish() if ref else "", "lovnummer": e.lovnummer,
                        "sikkerhed": e.sikkerhed.replace("_", " "), "note": e.note, "url": e.url})
    citing = sorted({(i.kind, i.id, _title(i)) for i in engine.book.items() if pid in i.citations()}, key=lambda x: (x[0], x[2]))
    return render(request, "regelsider_bestemmelse.html", p=provision, lov=LOV_NAVN.get(provision.lov, provision.lov), historik=entries,
                  til=dansk_dato(provision.til) if provision.til else None, henviser=citing, kind_navn=KIND_NAVN)


@router.get("/regler/felt/{name}")
def felt(request: Request, name: str, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    spec = FACT_FIELDS.get(name)
    if spec is None:
        raise ProblemException(404, "Der findes intet felt med det navn, som reglerne kan teste.")
    engine = _engine(request, session)

    def uses(conds: Any) -> bool:
        return any(uses(c.items) if isinstance(c, AnyOf) else c.felt == name for c in conds)

    users = sorted({(i.kind, i.id, _title(i)) for i in engine.book.items() if uses(i.conditions)}, key=lambda x: (x[0], x[2]))
    values = [(v, spec.value_label(v)) for v in spec.vaerdier]
    return render(request, "regelsider_felt.html", f=spec, vaerdier=values, brugere=users, kind_navn=KIND_NAVN)


@dataclass
class Hit:
    art: str
    titel: str
    href: str
    tekst: str


@router.get("/regler/soeg")
def soeg(request: Request, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    q = request.query_params.get("q", "").strip()[:100]
    engine = _engine(request, session)
    hits: list[Hit] = []
    problem = None
    if q and len(q) < 2:
        problem = "skriv mindst to tegn"
    elif q:
        needle = q.lower()
        seen: set[tuple[str, str]] = set()
        for item in sorted(engine.book.items(), key=lambda i: i.gyldig_fra, reverse=True):
            key = (item.kind, item.id)
            if key in seen:
                continue
            text = " ".join(str(x) for x in (item.id, _title(item), item.beskrivelse, getattr(item, "advarsel", "") or "",
                                              getattr(item, "oplysning", "") or "", getattr(item, "kategori", "") or ""))
            if needle in text.lower():
                seen.add(key)
                hits.append(Hit(KIND_NAVN.get(item.kind, item.kind), _title(item), f"/regler/blok/{item.kind}/{item.id}", item.beskrivelse))
        for name, spec in FACT_FIELDS.items():
            if needle in " ".join((name, spec.label, spec.beskrivelse, " ".join(spec.vaerdier))).lower():
                hits.append(Hit("Felt", spec.label, f"/regler/felt/{name}", spec.beskrivelse))
        for pid, provision in sorted(engine.law.provisions.items()):
            if needle in " ".join((pid, provision.titel, provision.beskrivelse)).lower():
                hits.append(Hit("Bestemmelse", provision.titel, f"/regler/bestemmelse/{pid}", provision.beskrivelse))
    return render(request, "regelsider_soeg.html", 422 if problem else 200, q=q, hits=hits, problem=problem,
                  antal_tekst=count(len(hits), "resultat", "resultater"))


@router.get("/regler/historik")
def historik(request: Request, session: WebSession = Depends(signed_in(REDAKTOER, REVISOR))) -> Response:
    kommune = session.actor.kommune
    drafts = getattr(state(request).store, "drafts", None)
    publications = [_publication_row(request, p) for p in drafts.published_all(kommune)] if drafts is not None else []
    from service.web.editor import HANDLING_TEKST

    events = [{"hvornaar": dansk_tid(h.tidspunkt), "hvem": _who(request, h.token_id), "hvad": HANDLING_TEKST.get(h.handling, h.handling),
               "kommentar": h.kommentar, "kladde": kladde_id} for kladde_id, h in (drafts.history_of_kommune(kommune, 300) if drafts else [])]
    return render(request, "regelsider_historik.html", publiceringer=publications, haendelser=events,
                  redaktoer=session.actor.rolle == REDAKTOER)

