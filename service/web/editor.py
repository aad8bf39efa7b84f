"""The rule editor (role redaktoer): a municipality's policy staff change their own layer and golden
cases in the browser as a draft, test it, preview its impact, submit it, and another redaktoer of the
same municipality approves (publishes) or rejects it. The national law layer is edited through git.

Flow: start a draft from the rules in force -> edit blocks in a form built from the schema (or as
YAML beside it); every save validates the whole draft exactly as a reload would and shows the
problems at their place -> run the golden cases and the impact preview -> note and submit (an invalid
draft, or one whose own golden cases fail, cannot be submitted) -> a second redaktoer approves with a
date (gyldig_fra) and a comment: the layer is published in the database, every process loads it, and
`regelsaet_publiceret` is appended to the municipality's hash chain. Drafts download as a zip and a
zip (or one layer file) uploads as a new draft, so a git workflow keeps working beside the editor.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from engine import RulesInvalid
from engine.problems import Problem
from engine.wording import KATEGORI_NAVN, SPOR_NAVN, dansk_dato, dansk_tid
from service import logs
from service.auth import REDAKTOER
from service.problems import ProblemException
from service.sessions import WebSession
from service.web import editor_filer as ef
from service.web import editor_proeve as ep
from service.web.common import Posted, page_router, posted, redirect, render, signed_in, state

router = page_router()
log = logging.getLogger(logs.LOGGER)

STATUS_TEKST = {"kladde": "kladde (under arbejde)", "indsendt": "indsendt til godkendelse", "godkendt": "godkendt",
                "afvist": "afvist", "publiceret": "publiceret (godkendt og taget i brug)"}
HANDLING_TEKST = {"oprettet": "startede kladden", "uploadet": "uploadede filerne som kladde", "gemt": "gemte", "note": "skrev ændringsnoten",
                  "indsendt": "indsendte til godkendelse", "godkendt": "godkendte", "afvist": "afviste", "publiceret": "publicerede",
                  "genaabnet": "genåbnede kladden"}
MAX_UPLOAD = 2 * 1024 * 1024


# --------------------------------------------------------------------------- helpers


def _drafts(request: Request) -> Any:
    return state(request).store.drafts


def _today(request: Request) -> date:
    day: date = state(request).settings.today()
    return day


def _shipped_rules(request: Request) -> Any:
    return state(request).engines.rules_dir


def _draft(request: Request, session: WebSession, draft_id: str) -> Any:
    from service.log import NotFound

    try:
        return _drafts(request).get(session.actor.kommune, draft_id[:40])
    except NotFound:
        raise ProblemException(404, "Der findes ingen kladde med det id i din kommune.") from None


def who(request: Request, token_id: Optional[str]) -> str:
    """A person as the pages name them: the token's name, else a short id."""
    if not token_id:
        return "–"
    info = state(request).store.token_by_id(token_id)
    if info is not None and info.navn:
        return f"{info.navn}"
    return f"redaktør {token_id[:8]}"


def in_force_files(request: Request, kommune: str) -> tuple[dict[str, str], str]:
    """The municipality's layer and golden cases as in force now (published, else shipped), and their fingerprint."""
    from service.log.drafts import files_sha256

    layer = _drafts(request).published(kommune)
    if layer is not None:
        return dict(layer.files), layer.sha256
    rules = _shipped_rules(request)
    layer_name, cases_prefix = ep.draft_paths(kommune)
    files: dict[str, str] = {}
    shipped = rules / "misbrug" / "kommune" / f"{kommune}.yaml"
    if shipped.is_file():
        files[layer_name] = shipped.read_text(encoding="utf-8")
    else:
        files[layer_name] = (f"regelsaet: misbrug\nlag: kommune\nkommune: {kommune.capitalize()}\n"
                             f"beskrivelse: {kommune.capitalize()}s lokale tilbud og politik.\n\ntilbud: []\n\nregler: []\n")
    cases = rules.parent / "cases" / kommune
    if cases.is_dir():
        for path in sorted(cases.rglob("*.yaml")):
            files[cases_prefix + path.relative_to(cases).as_posix()] = path.read_text(encoding="utf-8")
    return files, files_sha256(files)


def draft_day(request: Request, draft: Any) -> date:
    """The date the draft's changes take effect: its proposed gyldig_fra, else the first of next month."""
    if draft.gyldig_fra:
        return date.fromisoformat(draft.gyldig_fra)
    today = _today(request)
    return date(today.year + (today.month == 12), today.month % 12 + 1, 1)


def layer_of(draft: Any) -> ef.LayerText:
    name = ep.draft_paths(draft.kommune)[0]
    return ef.parse_layer(draft.files.get(name, ""), name)


def redate(files: dict[str, str], kommune: str, daterede: list[dict[str, Any]], old: date, new: date) -> dict[str, str]:
    """Move every block this draft dates from `old` to `new` (and the versions it replaces to end the day before)."""
    if old == new:
        return files
    name = ep.draft_paths(kommune)[0]
    text = files.get(name, "")
    for entry in daterede:
        layer = ef.parse_layer(text, name)
        mine = next((b for b in layer.blocks if b.section == entry["sektion"] and b.id == entry["id"] and b.gyldig_fra == old), None)
        if mine is None:
            continue
        text = ef.set_date(layer, mine, "gyldig_fra", new)
        if entry.get("gammel_fra"):
            layer = ef.parse_layer(text, name)
            previous = next((b for b in layer.blocks if b.section == entry["sektion"] and b.id == entry["id"]
                             and b.gyldig_fra == date.fromisoformat(entry["gammel_fra"])), None)
            if previous is not None:
                text = ef.set_date(layer, previous, "gyldig_til", ef.day_before(new))
    return dict(files, **{name: text})


@dataclass
class BlockProblems:
    """A draft's problems sorted to where they belong: per block and field, else per file."""

    by_block: dict[tuple[str, int], list[tuple[Optional[str], str]]]
    other: list[Problem]
    total: int


def place_problems(draft: Any, problems: list[Problem]) -> BlockProblems:
    layer = layer_of(draft)
    by_block: dict[tuple[str, int], list[tuple[Optional[str], str]]] = {}
    other: list[Problem] = []
    for p in problems:
        block = layer.block_at(p.where.line) if p.where.file == layer.name else None
        if block is None:
            other.append(p)
            continue
        widgets = ef.form_widgets(block.section) if block.section in ef.SECTIONS else []
        target = ef.widget_for(ef.problem_path(block, p.where), widgets) if widgets else None
        by_block.setdefault((block.section, block.index), []).append((target, p.message))
    return BlockProblems(by_block, other, len(problems))


async def _check(request: Request, draft: Any) -> ep.Checked:
    return await run_in_threadpool(ep.check_draft, _shipped_rules(request), draft.files, draft.kommune)


def _editable(draft: Any, session: WebSession) -> bool:
    return bool(draft.status == "kladde")


def _block_state(request: Request, draft: Any, block: ef.Block) -> str:
    today = _today(request)
    if _own(draft, block, draft_day(request, draft)):
        return "ændret i kladden"
    if block.historic(today):
        return "historisk"
    if block.gyldig_fra and block.gyldig_fra > today:
        return "kommende"
    return "i kraft"


def _own(draft: Any, block: ef.Block, day: date) -> bool:
    return any(e["sektion"] == block.section and e["id"] == block.id for e in draft.daterede) and block.gyldig_fra == day


# --------------------------------------------------------------------------- the list, new drafts, upload


@router.get("/redigering")
async def liste(request: Request, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    kommune = session.actor.kommune
    drafts = await run_in_threadpool(_drafts(request).list_drafts, kommune)
    layer = await run_in_threadpool(_drafts(request).published, kommune)
    rows = [{"id": d.id, "status": STATUS_TEKST.get(d.status, d.status), "forfatter": who(request, d.forfatter), "note": d.note,
             "opdateret": dansk_tid(d.opdateret), "gyldig_fra": dansk_dato(date.fromisoformat(d.gyldig_fra)) if d.gyldig_fra else "–"}
            for d in drafts]
    return render(request, "editor_liste.html", kladder=rows, kommune=kommune, publiceret=layer,
                  publiceret_af=(who(request, layer.forfatter), who(request, layer.godkender)) if layer else None,
                  fejl=request.query_params.get("fejl", "")[:300])


@router.post("/redigering/ny")
async def ny(request: Request, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    actor = form.session.actor
    files, sha = in_force_files(request, actor.kommune)
    draft = await run_in_threadpool(_drafts(request).create, actor.kommune, actor.token_id, files, sha)
    return redirect(f"/redigering/{draft.id}")


def _zip_files(data: bytes, kommune: str) -> dict[str, str]:
    layer_name, cases_prefix = ep.draft_paths(kommune)
    out: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist()[:200]:
            if info.is_dir() or info.file_size > 512 * 1024:
                continue
            name = info.filename.replace("\\", "/").lstrip("./")
            if ".." in name.split("/"):
                continue
            if name.endswith(f"misbrug/kommune/{kommune}.yaml"):
                out[layer_name] = archive.read(info).decode("utf-8")
            elif f"cases/{kommune}/" in name and name.endswith(".yaml"):
                out[cases_prefix + name.split(f"cases/{kommune}/", 1)[1]] = archive.read(info).decode("utf-8")
    return out


@router.post("/redigering/upload")
async def upload(request: Request, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    from urllib.parse import quote

    actor = form.session.actor
    item = form.form.get("filer")
    data = await item.read(MAX_UPLOAD + 1) if item is not None and not isinstance(item, str) else b""
    filename = str(getattr(item, "filename", "") or "")
    problem = ""
    uploaded: dict[str, str] = {}
    if not data:
        problem = "Vælg en fil at uploade (en zip-fil fra 'Hent filerne' eller kommunens .yaml-fil)."
    elif len(data) > MAX_UPLOAD:
        problem = "Filen er for stor (højst 2 MB)."
    else:
        try:
            if filename.lower().endswith(".zip") or data[:2] == b"PK":
                uploaded = _zip_files(data, actor.kommune)
            else:
                uploaded = {ep.draft_paths(actor.kommune)[0]: data.decode("utf-8")}
        except (zipfile.BadZipFile, UnicodeDecodeError):
            problem = "Filen kan ikke læses: den skal være en zip-fil eller en YAML-fil gemt som UTF-8."
        if not problem and not uploaded:
            problem = (f"Zip-filen indeholder hverken regler/misbrug/kommune/{actor.kommune}.yaml eller filer i cases/{actor.kommune}/.")
    if problem:
        return redirect("/redigering?fejl=" + quote(problem))
    files, sha = in_force_files(request, actor.kommune)
    files.update(uploaded)
    draft = await run_in_threadpool(_drafts(request).create, actor.kommune, actor.token_id, files, sha, "uploadet",
                                    f"{filename[:100]}: {len(uploaded)} filer")
    return redirect(f"/redigering/{draft.id}")


# --------------------------------------------------------------------------- one draft


def _history_rows(request: Request, draft: Any) -> list[dict[str, str]]:
    return [{"hvem": who(request, h.token_id), "hvornaar": dansk_tid(h.tidspunkt), "hvad": HANDLING_TEKST.get(h.handling, h.handling),
             "kommentar": h.kommentar} for h in reversed(draft.historik)]


async def _draft_page(request: Request, session: WebSession, draft: Any, status: int = 200, **extra: Any) -> Response:
    checked = await _check(request, draft)
    placed = place_problems(draft, checked.problems)
    layer = layer_of(draft)
    day = draft_day(request, draft)
    sections = []
    for section in ("tilbud", "regler", "forudsaetninger"):
        blocks = [b for b in layer.blocks if b.section == section]
        if not blocks and section == "forudsaetninger":
            continue
        sections.append({"id": section, "navn": {"tilbud": "Tilbud", "regler": "Regler", "forudsaetninger": "Forudsætninger"}[section],
                         "blokke": [{"b": b, "tilstand": _block_state(request, draft, b), "problemer": len(placed.by_block.get((b.section, b.index), [])),
                                     "kan_rettes": section in ef.SECTIONS and not b.historic(_today(request)),
                                     "spor": SPOR_NAVN.get(str(b.data.get("spor") or (b.data.get("saa") or {}).get("spor") or ""), "")}
                                    for b in blocks]})
    me = session.actor.token_id
    cases_prefix = ep.draft_paths(draft.kommune)[1]
    return render(request, "editor_kladde.html", status, kladde=draft, status_tekst=STATUS_TEKST.get(draft.status, draft.status),
                  forfatter=who(request, draft.forfatter), godkender=who(request, draft.godkender) if draft.godkender else None,
                  sektioner=sections, problemer=placed, gyldig=checked.valid, redigerbar=_editable(draft, session),
                  dag=day, dag_tekst=dansk_dato(day), er_forfatter=draft.forfatter == me, historik=_history_rows(request, draft),
                  tilfaelde_filer=[p for p in draft.files if p.startswith(cases_prefix)], lagfil=ep.draft_paths(draft.kommune)[0],
                  sekunder=checked.seconds, **extra)


@router.get("/redigering/{draft_id}")
async def kladde(request: Request, draft_id: str, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    draft = _draft(request, session, draft_id)
    return await _draft_page(request, session, draft, besked=_message(request))


def _message(request: Request) -> str:
    return {"gemt": "Gemt.", "indsendt": "Kladden er indsendt til godkendelse.", "afvist": "Kladden er afvist.",
            "note": "Ændringsnoten er gemt.", "genaabnet": "Kladden er genåbnet.",
            "publiceret": "Kladden er godkendt og publiceret: reglerne er i brug fra datoen i alle processer, og godkendelsen står i "
                          "kommunens beslutningslog."}.get(request.query_params.get("besked", ""), "")


@router.post("/redigering/{draft_id}/note")
async def note(request: Request, draft_id: str, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    draft = _draft(request, form.session, draft_id)
    text = form.get("note").strip()
    fra = form.get("gyldig_fra").strip()
    problems = {}
    new_day: Optional[date] = None
    if fra:
        try:
            new_day = date.fromisoformat(fra)
        except ValueError:
            problems["gyldig_fra"] = "skal være en dato på formen ÅÅÅÅ-MM-DD"
    if new_day is not None and new_day < _today(request):
        problems["gyldig_fra"] = "må ikke ligge før i dag"
    if draft.status != "kladde":
        problems["note"] = "kladden er ikke under arbejde og kan ikke ændres"
    if problems:
        return await _draft_page(request, form.session, draft, 422, note_fejl=problems, note_tekst=text, note_fra=fra)
    old_day = draft_day(request, draft)
    if new_day is not None and new_day != old_day:
        files = redate(draft.files, draft.kommune, list(draft.daterede), old_day, new_day)
        await run_in_threadpool(_drafts(request).save, draft.kommune, draft.id, form.session.actor.token_id, files,
                                kommentar=f"datoen flyttet til {new_day.isoformat()}")
    await run_in_threadpool(_drafts(request).set_note, draft.kommune, draft.id, form.session.actor.token_id, text,
                            (new_day or old_day).isoformat())
    return redirect(f"/redigering/{draft.id}?besked=note")


@router.post("/redigering/{draft_id}/ny-blok")
async def ny_blok(request: Request, draft_id: str, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    draft = _draft(request, form.session, draft_id)
    section = form.get("sektion")
    if section not in ef.SECTIONS or draft.status != "kladde":
        raise ProblemException(409, "Der kan kun tilføjes tilbud og regler til en kladde under arbejde.")
    day = draft_day(request, draft)
    layer = layer_of(draft)
    template = ef.template_block(section, day)
    existing = {b.id for b in layer.blocks}
    n = 1
    while template["id"] in existing:
        n += 1
        template["id"] = f"{'nyt-tilbud' if section == 'tilbud' else 'ny-regel'}-{n}"
    text, index = ef.insert_block(layer, section, ef.dump_block(template, section))
    files = dict(draft.files, **{layer.name: text})
    daterede = [*draft.daterede, {"sektion": section, "id": template["id"], "gammel_fra": None}]
    await run_in_threadpool(_drafts(request).save, draft.kommune, draft.id, form.session.actor.token_id, files,
                            daterede=daterede, kommentar=f"nyt {'tilbud' if section == 'tilbud' else 'regel'}")
    return redirect(f"/redigering/{draft.id}/blok/{section}/{index}")


# --------------------------------------------------------------------------- one block: the form and the YAML


def _block_or_404(draft: Any, section: str, index: int) -> tuple[ef.LayerText, ef.Block]:
    layer = layer_of(draft)
    block = layer.block(section, index)
    if block is None:
        raise ProblemException(404, "Blokken findes ikke i kladden (den kan være flyttet ved en senere ændring).")
    return layer, block


async def _block_page(request: Request, session: WebSession, draft: Any, section: str, index: int, status: int = 200,
                      yaml_text: Optional[str] = None, yaml_fejl: Optional[str] = None, gemt: bool = False) -> Response:
    layer, block = _block_or_404(draft, section, index)
    widgets = ef.form_widgets(section) if section in ef.SECTIONS else []
    checked = await _check(request, draft)
    placed = place_problems(draft, checked.problems)
    mine = placed.by_block.get((section, index), [])
    field_problems: dict[str, list[str]] = {}
    block_level: list[str] = []
    for target, message in mine:
        if target:
            field_problems.setdefault(target, []).append(message)
        else:
            block_level.append(message)
    labels = {w.id: w.label for w in ef._all_widgets(widgets)}
    summary = [(t, _target_label(t, labels), m) for t, m in mine]
    day = draft_day(request, draft)
    own = _own(draft, block, day)
    in_force = not own and block.gyldig_fra is not None and block.gyldig_fra < day and not block.historic(_today(request))
    return render(request, "editor_blok.html", status, kladde=draft, blok=block, sektion=section, nr=index,
                  sektion_navn=ef.SECTION_NAVN.get(section, section), widgets=widgets, vaerdier=ef.form_values(block.data, widgets),
                  feltfejl=field_problems, blokfejl=block_level, opsummering=summary, andre=len(checked.problems) - len(mine),
                  yaml_tekst=yaml_text if yaml_text is not None else ef.block_yaml(layer, block), yaml_fejl=yaml_fejl,
                  redigerbar=_editable(draft, session) and not block.historic(_today(request)), gemt=gemt,
                  felter=_field_choices(), operatorer=list(ef.OPERATOR_TEXT.items()), kategori_navn=KATEGORI_NAVN,
                  ny_version=in_force, dag_tekst=dansk_dato(day), egen=own, historisk=block.historic(_today(request)))


def _target_label(target: Optional[str], labels: dict[str, str]) -> str:
    if target is None:
        return "Blokken"
    if target in labels:
        return labels[target]
    parts = target.split("-")
    if len(parts) >= 4 and parts[-2].isdigit():
        base = "-".join(parts[:-2])
        return f"{labels.get(base, base)}, betingelse {int(parts[-2]) + 1}"
    return target


def _field_choices() -> list[tuple[str, str]]:
    from engine.fields import FACT_FIELDS

    return [(name, f"{f.label} ({name})") for name, f in FACT_FIELDS.items()]


@router.get("/redigering/{draft_id}/blok/{section}/{index}")
async def blok(request: Request, draft_id: str, section: str, index: int, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    draft = _draft(request, session, draft_id)
    return await _block_page(request, session, draft, section, index, gemt=request.query_params.get("besked") == "gemt")


async def _save_block(request: Request, form: Posted, draft: Any, section: str, index: int, new_yaml: str, what: str) -> Response:
    """Splice the block's new text into the file; a change to a block in force becomes a new version from the draft's date."""
    layer, block = _block_or_404(draft, section, index)
    day = draft_day(request, draft)
    parsed = ef.parse_layer(new_yaml, "blok")
    data, problems = parsed.data, parsed.problems
    if problems or not isinstance(data, dict):
        message = str(problems[0]).replace("blok:", "linje ", 1) if problems else "skriv blokken som nøgler og værdier (id: ..., navn: ...)"
        return await _block_page(request, form.session, draft, section, index, 422, yaml_text=new_yaml, yaml_fejl=message)
    data = ef._plain(data)
    daterede = list(draft.daterede)
    own = _own(draft, block, day)
    split = (not own and block.gyldig_fra is not None and block.gyldig_fra < day
             and (block.gyldig_til is None or block.gyldig_til >= day))
    if own or split:
        data["gyldig_fra"] = day
        new_yaml = ef.dump_block(data, section) if what == "form" else _with_date(new_yaml, data, section, day)
    if split:
        data_old_til = block.gyldig_til
        if data_old_til is not None:
            data["gyldig_til"] = data_old_til
            new_yaml = ef.dump_block(data, section) if what == "form" else _with_date(new_yaml, data, section, day, data_old_til)
        text = ef.set_date(layer, block, "gyldig_til", ef.day_before(day))
        layer2 = ef.parse_layer(text, layer.name)
        old = layer2.block(section, index)
        text, new_index = ef.insert_block(layer2, section, new_yaml, after=old)
        daterede.append({"sektion": section, "id": str(data.get("id", "")), "gammel_fra": block.gyldig_fra.isoformat() if block.gyldig_fra else None})
    else:
        text, new_index = ef.replace_block(layer, block, new_yaml), index
        if own and str(data.get("id", "")) != block.id:
            daterede = [dict(e, id=str(data.get("id", ""))) if e["sektion"] == section and e["id"] == block.id else e for e in daterede]
    check = ef.parse_layer(text, layer.name)
    if check.problems or check.block(section, new_index) is None:
        message = str(check.problems[0]) if check.problems else "blokken kunne ikke sættes ind i filen"
        return await _block_page(request, form.session, draft, section, index, 422, yaml_text=new_yaml, yaml_fejl=message)
    files = dict(draft.files, **{layer.name: text})
    from service.log import StoreError

    try:
        await run_in_threadpool(_drafts(request).save, draft.kommune, draft.id, form.session.actor.token_id, files,
                                daterede=daterede, kommentar=f"{ef.SECTION_NAVN.get(section, section).lower()} '{data.get('id', '')}'"
                                + (" (ny version fra " + day.isoformat() + ")" if split else ""))
    except StoreError as error:
        raise ProblemException(409, f"Kladden kan ikke gemmes: {error}") from None
    return redirect(f"/redigering/{draft.id}/blok/{section}/{new_index}?besked=gemt#resultat")


def _with_date(yaml_text: str, data: dict[str, Any], section: str, day: date, til: Optional[date] = None) -> str:
    """The YAML as typed, with gyldig_fra (and gyldig_til) set to the draft's dates."""
    layer = ef.parse_layer("x:\n" + "\n".join(ef._as_item(yaml_text)) + "\n", "x")
    block = layer.blocks[0] if layer.blocks else None
    if block is None:
        return ef.dump_block(data, section)
    text = ef.set_date(layer, block, "gyldig_fra", day)
    if til is not None:
        layer = ef.parse_layer(text, "x")
        text = ef.set_date(layer, layer.blocks[0], "gyldig_til", til)
    layer = ef.parse_layer(text, "x")
    return ef.block_yaml(layer, layer.blocks[0])


@router.post("/redigering/{draft_id}/blok/{section}/{index}")
async def gem_blok(request: Request, draft_id: str, section: str, index: int, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    draft = _draft(request, form.session, draft_id)
    if draft.status != "kladde" or section not in ef.SECTIONS:
        raise ProblemException(409, "Kladden er ikke under arbejde og kan ikke ændres.")
    _, block = _block_or_404(draft, section, index)
    if block.historic(_today(request)):
        raise ProblemException(409, "En historisk blok kan ikke ændres; den er en del af tidligere afgørelsers regler.")
    widgets = ef.form_widgets(section)
    data = ef.block_from_form(block.data, widgets, form.form)
    return await _save_block(request, form, draft, section, index, ef.dump_block(data, section), "form")


@router.post("/redigering/{draft_id}/blok/{section}/{index}/yaml")
async def gem_yaml(request: Request, draft_id: str, section: str, index: int, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    draft = _draft(request, form.session, draft_id)
    if draft.status != "kladde":
        raise ProblemException(409, "Kladden er ikke under arbejde og kan ikke ændres.")
    _, block = _block_or_404(draft, section, index)
    if block.historic(_today(request)):
        raise ProblemException(409, "En historisk blok kan ikke ændres; den er en del af tidligere afgørelsers regler.")
    text = str(form.form.get("yaml", ""))[:100_000].replace("\r\n", "\n")
    return await _save_block(request, form, draft, section, index, text, "yaml")


# --------------------------------------------------------------------------- golden cases of the draft


@router.get("/redigering/{draft_id}/tilfaelde")
async def tilfaelde(request: Request, draft_id: str, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    draft = _draft(request, session, draft_id)
    return await _cases_page(request, session, draft)


async def _cases_page(request: Request, session: WebSession, draft: Any, status: int = 200, fejl: Optional[dict[str, str]] = None,
                      ny: tuple[str, str] = ("", "")) -> Response:
    prefix = ep.draft_paths(draft.kommune)[1]
    checked = await _check(request, draft)
    per_file: dict[str, list[str]] = {}
    for p in checked.problems:
        if p.where.file.startswith(prefix):
            per_file.setdefault(p.where.file, []).append(f"linje {p.where.line}: {p.message}")
    files = [{"sti": p, "navn": p[len(prefix):], "id": f"fil-{i}", "tekst": t, "fejl": per_file.get(p, [])}
             for i, (p, t) in enumerate(sorted(draft.files.items())) if p.startswith(prefix)]
    return render(request, "editor_tilfaelde.html", status, kladde=draft, filer=files, mappe=prefix, fejl=fejl or {},
                  ny_navn=ny[0], ny_tekst=ny[1], redigerbar=_editable(draft, session), besked=_message(request))


@router.post("/redigering/{draft_id}/tilfaelde")
async def gem_tilfaelde(request: Request, draft_id: str, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    import re

    draft = _draft(request, form.session, draft_id)
    if draft.status != "kladde":
        raise ProblemException(409, "Kladden er ikke under arbejde og kan ikke ændres.")
    prefix = ep.draft_paths(draft.kommune)[1]
    name = form.get("navn").strip()
    text = str(form.form.get("tekst", ""))[:500_000].replace("\r\n", "\n")
    problems = {}
    if not re.fullmatch(r"[a-z0-9æøå][a-z0-9æøå_-]*\.yaml", name):
        problems["ny-navn"] = "skriv et filnavn med små bogstaver og .yaml til sidst, fx unge.yaml"
    if problems:
        return await _cases_page(request, form.session, draft, 422, problems, (name, text))
    files = dict(draft.files)
    if text.strip():
        files[prefix + name] = text if text.endswith("\n") else text + "\n"
    else:
        files.pop(prefix + name, None)
    await run_in_threadpool(_drafts(request).save, draft.kommune, draft.id, form.session.actor.token_id, files,
                            kommentar=f"gyldne tilfælde {name}")
    return redirect(f"/redigering/{draft.id}/tilfaelde?besked=gemt")


# --------------------------------------------------------------------------- test and preview


@router.get("/redigering/{draft_id}/afproevning")
async def afproevning(request: Request, draft_id: str, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    draft = _draft(request, session, draft_id)
    checked = await _check(request, draft)
    if not checked.valid:
        return render(request, "editor_afproevning.html", 422, kladde=draft, ugyldig=len(checked.problems), proeve=None)
    s = state(request)
    now = s.engines.for_kommune(draft.kommune)
    day = draft_day(request, draft)
    result = await run_in_threadpool(ep.trial, _shipped_rules(request), draft.files, draft.kommune, now, s.store, day, s.settings.today)
    return render(request, "editor_afproevning.html", kladde=draft, ugyldig=0, proeve=result, dag_tekst=dansk_dato(day))


# --------------------------------------------------------------------------- submit, approve, reject, reopen


@router.post("/redigering/{draft_id}/indsend")
async def indsend(request: Request, draft_id: str, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    from service.log import StoreError

    draft = _draft(request, form.session, draft_id)
    if draft.status != "kladde":
        raise ProblemException(409, f"Kladden er {STATUS_TEKST.get(draft.status, draft.status)} og kan ikke indsendes.")
    checked = await _check(request, draft)
    refusal = None
    if not checked.valid:
        refusal = (f"Kladden kan ikke indsendes: den har {len(checked.problems)} "
                   f"{'problem' if len(checked.problems) == 1 else 'problemer'}. Ret dem først.")
    elif not draft.note.strip():
        refusal = "Kladden kan ikke indsendes uden en ændringsnote: skriv, hvad ændringen går ud på, og hvorfor."
    else:
        failed = await run_in_threadpool(_cases_only, _shipped_rules(request), draft.files, draft.kommune, state(request).settings.today)
        if failed:
            refusal = (f"Kladden kan ikke indsendes: {len(failed)} af kommunens egne gyldne tilfælde fejler "
                       f"(fx '{failed[0].navn}'). Afprøv kladden og ret reglerne eller tilfældene.")
    if refusal:
        return await _draft_page(request, form.session, draft, 422, afvisning=refusal)
    try:
        await run_in_threadpool(_drafts(request).set_status, draft.kommune, draft.id, form.session.actor.token_id, "indsendt",
                                form.get("kommentar"), ("kladde",))
    except StoreError as error:
        raise ProblemException(409, f"Kladden kan ikke indsendes: {error}") from None
    return redirect(f"/redigering/{draft.id}?besked=indsendt")


def _cases_only(shipped: Any, files: dict[str, str], kommune: str, today: Any) -> list[ep.CaseRow]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="visitator-tilfaelde-") as tmp:
        engine = ep.draft_engine(shipped, files, kommune, today, Path(tmp))
        rows, _ = ep.run_cases(engine, Path(tmp) / "cases", kommune)
    return [r for r in rows if r.egen and not r.bestaaet]


def changed_ids(old_files: dict[str, str], new_files: dict[str, str], kommune: str) -> list[str]:
    """Ids of the blocks whose text differs between two versions of the layer file."""
    name = ep.draft_paths(kommune)[0]

    def index(text: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for b in ef.parse_layer(text, name).blocks:
            out.setdefault(b.id, []).append(json.dumps(b.data, sort_keys=True, default=str, ensure_ascii=False))
        return {k: sorted(v) for k, v in out.items()}

    a, b = index(old_files.get(name, "")), index(new_files.get(name, ""))
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


@router.post("/redigering/{draft_id}/afgoer")
async def afgoer(request: Request, draft_id: str, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    """Approve (publish from gyldig_fra) or reject a submitted draft; never by its author."""
    from service.log import StoreError

    actor = form.session.actor
    draft = _draft(request, form.session, draft_id)
    if draft.status != "indsendt":
        raise ProblemException(409, f"Kladden er {STATUS_TEKST.get(draft.status, draft.status)}; kun en indsendt kladde kan godkendes eller afvises.")
    if draft.forfatter == actor.token_id:
        raise ProblemException(403, "Du kan ikke godkende eller afvise din egen kladde. En anden redaktør i kommunen skal gøre det.")
    beslutning = form.get("beslutning")
    kommentar = form.get("kommentar").strip()
    fra = form.get("gyldig_fra").strip()
    problems: dict[str, str] = {}
    if beslutning not in ("godkend", "afvis"):
        problems["beslutning"] = "vælg godkend eller afvis"
    if beslutning == "afvis" and not kommentar:
        problems["kommentar"] = "skriv, hvorfor kladden afvises"
    day: Optional[date] = None
    if beslutning == "godkend":
        try:
            day = date.fromisoformat(fra)
        except ValueError:
            problems["gyldig_fra"] = "skal være en dato på formen ÅÅÅÅ-MM-DD"
        if day is not None and day < _today(request):
            problems["gyldig_fra"] = "må ikke ligge før i dag"
    if problems:
        return await _draft_page(request, form.session, draft, 422, afgoer_fejl=problems, afgoer_kommentar=kommentar, afgoer_fra=fra,
                                 afgoer_valg=beslutning)
    if beslutning == "afvis":
        await run_in_threadpool(_drafts(request).set_status, draft.kommune, draft.id, actor.token_id, "afvist", kommentar, ("indsendt",))
        return redirect(f"/redigering/{draft.id}?besked=afvist")
    assert day is not None
    files = redate(draft.files, draft.kommune, list(draft.daterede), draft_day(request, draft), day)
    checked = await run_in_threadpool(ep.check_draft, _shipped_rules(request), files, draft.kommune)
    if not checked.valid:
        first = checked.problems[0]
        return await _draft_page(request, form.session, draft, 422, afgoer_fejl={"gyldig_fra": f"med denne dato er kladden ugyldig ({first})"},
                                 afgoer_kommentar=kommentar, afgoer_fra=fra, afgoer_valg=beslutning)
    s = state(request)
    engine = s.engines.for_kommune(draft.kommune)
    old_files, old_sha = in_force_files(request, draft.kommune)
    new_version = [v for v in checked.versions if not v.afventer and v.gyldig_fra <= day]
    try:
        old_sha256 = engine.version_for(day).sha256
    except Exception:  # noqa: BLE001 - a date before the rule set: no old version
        old_sha256 = None
    metadata = {"gammel_sha256": old_sha256, "ny_sha256": new_version[-1].sha256 if new_version else None,
                "gammel_lag_sha256": old_sha, "aendrede": changed_ids(old_files, files, draft.kommune)}
    try:
        layer, seq = await run_in_threadpool(_drafts(request).publish, draft.kommune, draft.id, actor.token_id, kommentar, day.isoformat(),
                                             files, metadata["aendrede"], metadata, draft.fra_sha256)
    except StoreError as error:
        return await _draft_page(request, form.session, draft, 409, afvisning=f"Kladden kan ikke godkendes: {error}.")
    try:
        await run_in_threadpool(s.rules_sync.reload)
    except RulesInvalid as error:  # validated just before: only a changed law layer on disk can do this
        log.error("publiceret lag kan ikke tages i brug", extra={"haendelse": "publicering_ikke_i_brug", "kladde": draft.id,
                                                                  "problemer": [str(p) for p in error.problems][:20]})
        raise ProblemException(500, "Kladden er publiceret, men reglerne kunne ikke tages i brug: " + str(error.problems[0])) from None
    log.info("regelsæt publiceret", extra={"haendelse": "regelsaet_publiceret", "kommune": draft.kommune, "kladde": draft.id,
                                          "kaede_seq": seq, "lag_sha256": layer.sha256})
    return redirect(f"/redigering/{draft.id}?besked=publiceret")


@router.post("/redigering/{draft_id}/genaabn")
async def genaabn(request: Request, draft_id: str, form: Posted = Depends(posted(REDAKTOER))) -> Response:
    from service.log import StoreError

    draft = _draft(request, form.session, draft_id)
    try:
        await run_in_threadpool(_drafts(request).set_status, draft.kommune, draft.id, form.session.actor.token_id, "kladde",
                                form.get("kommentar"), ("afvist", "indsendt"))
    except StoreError as error:
        raise ProblemException(409, f"Kladden kan ikke genåbnes: {error}") from None
    return redirect(f"/redigering/{draft.id}?besked=genaabnet")


@router.get("/redigering/{draft_id}/filer.zip")
def hent(request: Request, draft_id: str, session: WebSession = Depends(signed_in(REDAKTOER))) -> Response:
    draft = _draft(request, session, draft_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(draft.files.items()):
            archive.writestr(path, text)
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="kladde-{draft.kommune}-{draft.id}.zip"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})
