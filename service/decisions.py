"""The decision service: prepare, commit, read, replay and list decisions.

Both the API and the web pages go through `DecisionService`; no route touches
the log or an engine directly. Preparing a decision validates the screening
(the engine's one boundary), decides it on every core, renders the response
once and builds the log record; committing appends it to the municipality's
hash chain through the group-committing writer, and a 201 is only sent after
its record is committed. Everything is scoped to the caller's municipality.
"""
from __future__ import annotations

import asyncio
import atexit
import hashlib
import hmac
import json
import logging
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import orjson

from engine import CoresDisagree, DateNotCovered, Engine, RulesInvalid, UnknownVersion
from engine.api import from_api, to_api
from engine.decision import Decision
from engine.evaluate import settle_heap
from engine.explain import narrative
from engine.tools.compare import Difference, differences
from engine.versions import RuleSetVersion
from service import logs
from service.auth import Actor
from service.metrics import Metrics
from service.problems import ProblemException
from service.settings import Settings

log = logging.getLogger(logs.LOGGER)
MOTORFORMAT = 2

# --------------------------------------------------------------------------- ids and json

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ulid_lock = threading.Lock()
_ulid_last = [0, 0]


def new_ulid() -> str:
    """A ULID (26 chars, Crockford base32), monotonic within this process."""
    with _ulid_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _ulid_last[0]:
            ms = _ulid_last[0]
            rand = (_ulid_last[1] + 1) & ((1 << 80) - 1)
        else:
            rand = int.from_bytes(secrets.token_bytes(10), "big")
        _ulid_last[0], _ulid_last[1] = ms, rand
    value = (ms << 80) | rand
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def dumps(value: Any) -> str:
    """Compact UTF-8 JSON. orjson writes exactly what json.dumps(ensure_ascii=False,
    separators=(",", ":")) writes for our bodies, about six times faster (measured: 860 -> 140 µs
    for a 57 kB response), which matters because every response is encoded once per decision."""
    return orjson.dumps(value).decode("utf-8")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- engines per municipality


class SnapshotAdapter:
    """The engine's SnapshotStore on top of the log (content-addressed, checked on read)."""

    def __init__(self, store: Any):
        self.store = store
        self._cache: dict[str, dict[str, Any]] = {}

    def put(self, snapshot: dict[str, Any]) -> None:
        sha = snapshot["sha256"]
        if sha not in self._cache:
            self.store.put_snapshot(sha, canonical(snapshot))
            self._cache[sha] = snapshot

    def get(self, sha256: str) -> Optional[dict[str, Any]]:
        if sha256 in self._cache:
            return self._cache[sha256]
        text = self.store.get_snapshot(sha256)
        if text is None:
            return None
        snapshot: dict[str, Any] = json.loads(text)
        self._cache[sha256] = snapshot
        return snapshot


#: Where a municipality's own layer and its golden cases stand, relative to the project root.
KOMMUNE_LAYER = "regler/misbrug/kommune/{kommune}.yaml"
KOMMUNE_CASES = "cases/{kommune}/"


def layer_path(kommune: str) -> str:
    return KOMMUNE_LAYER.format(kommune=kommune)


def materialise_rules(shipped_rules: Path, files: dict[str, str], target: Path) -> Path:
    """A rule folder at target/regler: the shipped rules (the law history and the law layer, every
    *.yaml except the municipalities' layers) with `files` (paths as 'regler/...' and 'cases/...')
    written over them; the shipped golden cases beside it (cases/*.yaml, without subfolders).
    Returns target/regler."""
    rules = target / "regler"
    for path in sorted(shipped_rules.rglob("*.yaml")):
        relative = path.relative_to(shipped_rules)
        if relative.parts[:2] == ("misbrug", "kommune"):
            continue
        (rules / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, rules / relative)
    (rules / "misbrug" / "kommune").mkdir(parents=True, exist_ok=True)
    shipped_cases = shipped_rules.parent / "cases"
    (target / "cases").mkdir(parents=True, exist_ok=True)
    if shipped_cases.is_dir():
        for path in sorted(shipped_cases.glob("*.yaml")):
            shutil.copyfile(path, target / "cases" / path.name)
    for name, text in files.items():
        out = (target / name).resolve()
        if target.resolve() not in out.parents:
            raise ValueError(f"ugyldigt filnavn '{name}'")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return rules


class Engines:
    """One engine per municipality served. A municipality with a published layer (approved in the
    rule editor and stored in the database) uses it, materialised into a process-local folder beside
    the shipped law layer; the others use the shipped rule folder."""

    def __init__(self, settings: Settings, store: Any):
        self.settings = settings
        self.store = store
        self.rules_dir = settings.resolved_rules_dir()
        self.snapshots = SnapshotAdapter(store)
        self._engines: dict[str, Engine] = {}
        #: {kommune: sha256 of the published layer in use} (part of the rules fingerprint).
        self.published: dict[str, str] = {}
        self._folders: dict[str, Path] = {}
        targets = self._targets()
        for kommune in settings.kommuner:
            self._engines[kommune] = self._build(kommune, targets[kommune][0])
        self._use(targets)
        self.store_snapshots()

    def _published(self, kommune: str) -> Any:
        drafts = getattr(self.store, "drafts", None)
        return drafts.published(kommune) if drafts is not None else None

    def _targets(self) -> dict[str, tuple[Path, Optional[str], Optional[Path]]]:
        """{kommune: (rule folder, published sha or None, materialised folder to remove later or None)}."""
        out: dict[str, tuple[Path, Optional[str], Optional[Path]]] = {}
        for kommune in self.settings.kommuner:
            layer = self._published(kommune)
            if layer is None:
                out[kommune] = (self.rules_dir, None, None)
                continue
            folder = Path(tempfile.mkdtemp(prefix=f"visitator-{kommune}-"))
            atexit.register(shutil.rmtree, folder, True)
            out[kommune] = (materialise_rules(self.rules_dir, layer.files, folder), layer.sha256, folder)
        return out

    def _use(self, targets: dict[str, tuple[Path, Optional[str], Optional[Path]]]) -> None:
        old = self._folders
        self._folders = {k: folder for k, (_, _, folder) in targets.items() if folder is not None}
        self.published = {k: sha for k, (_, sha, _) in targets.items() if sha is not None}
        for kommune, folder in old.items():
            if self._folders.get(kommune) != folder:
                shutil.rmtree(folder, ignore_errors=True)

    def _kommune_arg(self, rules_dir: Path, kommune: str) -> Optional[str]:
        return kommune if (rules_dir / "misbrug" / "kommune" / f"{kommune}.yaml").is_file() else None

    def _build(self, kommune: str, rules_dir: Optional[Path] = None) -> Engine:
        rules_dir = rules_dir or self.rules_dir
        return Engine(rules_dir, kommune=self._kommune_arg(rules_dir, kommune), core=self.settings.core,
                      store=self.snapshots, today=self.settings.today)

    def for_kommune(self, kommune: str) -> Engine:
        engine = self._engines.get(kommune)
        if engine is None:
            raise ProblemException(404, "Der findes intet regelsæt for din kommune i denne installation.", slug="ikke-fundet")
        return engine

    def all(self) -> dict[str, Engine]:
        return dict(self._engines)

    def store_snapshots(self) -> None:
        for engine in self._engines.values():
            for version in engine.versions():
                if not version.afventer:
                    self.snapshots.put(version.snapshot())

    def _check(self, targets: dict[str, tuple[Path, Optional[str], Optional[Path]]]) -> dict[str, tuple[RuleSetVersion, ...]]:
        from engine.compile import compile_version
        from engine.visitation import load_rules

        out = {}
        for kommune, engine in self._engines.items():
            rules_dir = targets[kommune][0]
            loaded = load_rules(rules_dir, engine.rule_set, self._kommune_arg(rules_dir, kommune))
            for version in loaded.versions:
                if not version.afventer:
                    compile_version(version)
            out[kommune] = loaded.versions
        return out

    def check_files(self) -> dict[str, tuple[RuleSetVersion, ...]]:
        """Validate and compile every municipality's rules exactly as a reload would."""
        targets = self._targets()
        try:
            return self._check(targets)
        finally:
            for _, _, folder in targets.values():
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)

    def reload(self) -> dict[str, tuple[RuleSetVersion, ...]]:
        """Reload every engine, or none: the files (and the published layers) are checked for all first."""
        targets = self._targets()
        try:
            self._check(targets)
        except BaseException:
            for _, _, folder in targets.values():
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
            raise
        out = {}
        for kommune, engine in self._engines.items():
            rules_dir = targets[kommune][0]
            if engine.rules_dir != rules_dir or engine.kommune != self._kommune_arg(rules_dir, kommune):
                engine.rules_dir, engine.kommune = rules_dir, self._kommune_arg(rules_dir, kommune)
            out[kommune] = engine.reload()
        self._use(targets)
        self.store_snapshots()
        return out


# --------------------------------------------------------------------------- the writer (group commit)


class LogWriter:
    """One thread appends decisions; records waiting together share one transaction
    and one fsync (group commit). Each caller waits for its own record's commit."""

    def __init__(self, store: Any, max_batch: int = 64):
        self.store = store
        self.max_batch = max_batch
        self._pending: list[tuple[Any, Future[tuple[int, str]]]] = []
        self._lock = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="visitator-log", daemon=True)
        self._stopped = False
        self._thread.start()

    def submit(self, record: Any) -> Future[tuple[int, str]]:
        future: Future[tuple[int, str]] = Future()
        with self._lock:
            self._pending.append((record, future))
            self._lock.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopped:
                    self._lock.wait()
                if self._stopped and not self._pending:
                    return
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            try:
                results = self.store.append_decisions([r for r, _ in batch])
            except BaseException as error:  # the whole batch failed: nobody gets a 201
                for _, f in batch:
                    f.set_exception(error)
                continue
            for (_, f), result in zip(batch, results):
                f.set_result(result)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify()


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class Prepared:
    record: Any  # service.log.NewDecision
    decision: Decision


@dataclass
class Replay:
    id: str
    original: Decision
    original_body: dict[str, Any]
    nu: Decision
    nu_body: dict[str, Any]
    identisk: bool
    samme_version: bool
    forskelle: list[Difference] = field(default_factory=list)


def _comparable(body: Any) -> Any:
    """A body without file positions and version fingerprints, which may change while the decision does not."""
    if isinstance(body, dict):
        return {k: _comparable(v) for k, v in body.items() if k not in ("kilde", "sha256", "kommune_sha256", "id", "oprettet")}
    if isinstance(body, list):
        return [_comparable(v) for v in body]
    return body


class DecisionService:
    def __init__(self, settings: Settings, store: Any, engines: Engines, hmac_key: bytes, metrics: Metrics):
        self.settings = settings
        self.store = store
        self.engines = engines
        self.hmac_key = hmac_key
        self.metrics = metrics
        settle_heap()
        self.engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visitator-motor")
        self.writer = LogWriter(store)
        #: Called before every evaluation (the app makes it reload rules another process put in force).
        self.before_evaluate: Callable[[], None] = lambda: None

    def reference_hmac(self, reference: str) -> str:
        return hmac.new(self.hmac_key, reference.encode("utf-8"), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ deciding

    def validate(self, actor: Actor, data: Any) -> Any:
        """The screening, validated at the engine's one boundary (ScreeningInvalid on bad input)."""
        self.before_evaluate()
        return self.engines.for_kommune(actor.kommune).parse(data)

    def prepare(self, actor: Actor, screening: Any) -> Prepared:
        """Decide a validated screening on every core and build the log record (no commit)."""
        engine = self.engines.for_kommune(actor.kommune)
        today = self.settings.today()
        try:
            decision = engine.decide(screening)
        except DateNotCovered as error:
            raise ProblemException(422, "Vurderingsdatoen er ikke dækket af regelsættet.", slug="valideringsfejl",
                                   fejl=[{"felt": "vurderingsdato", "besked": str(error)}]) from None
        except CoresDisagree as error:
            fejl_id = str(uuid.uuid4())
            self.metrics.core_disagreements.labels(error.version_key).inc()
            log.error("kernerne er uenige", extra={"haendelse": "kerner_uenige", "fejl_id": fejl_id, "version": error.version_key,
                                                   "kerner": list(error.cores), "felter": error.fields})
            raise ProblemException(500, f"Motorens to kerner gav forskellige resultater; intet er gemt. Oplys fejl-id {fejl_id} til driften.",
                                   slug="kerner-uenige", fejl_id=fejl_id) from None
        record_id, oprettet = new_ulid(), utc_now()
        body = {"id": record_id, "oprettet": oprettet, **to_api(decision, narrative(decision))}
        from service.log import NewDecision

        reference = screening.borger_reference
        record = NewDecision(
            id=record_id, kommune=actor.kommune, oprettet=oprettet, token_id=actor.token_id,
            regelsaet_navn=decision.version.navn, regelsaet_version=decision.version.version,
            regelsaet_sha256=decision.version.sha256, motorformat=MOTORFORMAT,
            borger_reference_hmac=self.reference_hmac(reference) if reference else None,
            henvendelsesdato=screening.henvendelsesdato.isoformat(), vurderingsdato=decision.vurderingsdato.isoformat(),
            anbefalinger=tuple((t.spor, t.chosen.kategori, t.chosen.id) for t in decision.tracks if t.chosen),
            screening=canonical(screening.stored(today)), svar=dumps(body),
        )
        return Prepared(record, decision)

    def commit(self, prepared: Prepared) -> int:
        seq, _ = self.writer.submit(prepared.record).result()
        log.info("vurdering gemt", extra={"haendelse": "vurdering_oprettet", "id": prepared.record.id, "seq": seq,
                                          "kommune": prepared.record.kommune, "regelsaet_sha256": prepared.record.regelsaet_sha256})
        self.metrics.observe_decision(prepared.record.anbefalinger)
        return seq

    async def decide(self, actor: Actor, data: Any) -> Prepared:
        """Validate on the event loop, evaluate on the engine thread, commit through the writer."""
        screening = self.validate(actor, data)
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self.engine_thread, self.prepare, actor, screening)
        future = self.writer.submit(prepared.record)
        seq, _ = await asyncio.wrap_future(future)
        log.info("vurdering gemt", extra={"haendelse": "vurdering_oprettet", "id": prepared.record.id, "seq": seq,
                                          "kommune": actor.kommune, "regelsaet_sha256": prepared.record.regelsaet_sha256})
        self.metrics.observe_decision(prepared.record.anbefalinger)
        return prepared

    # ------------------------------------------------------------------ reading

    def stored(self, actor: Actor, id: str, formaal: str, *, removed: bool = False) -> Any:
        """The stored record (404 for another municipality's or a missing id; 410 when its content
        was removed under the retention rules, unless `removed` - then the record without content).
        Every read is written to the access log before anything is returned: if the access log
        cannot be written, nothing is read (503)."""
        record = self.store.get_decision(actor.kommune, id) if len(id) <= 64 else None
        if record is None:
            raise ProblemException(404, f"Der findes ingen vurdering med id '{id[:40]}'.", slug="ikke-fundet")
        if record.slettet is not None and not removed:
            raise removed_problem(record.slettet)
        if record.slettet is None and (record.svar is None or record.screening is None):
            fejl_id = str(uuid.uuid4())
            log.error("indholdet mangler uden en sletningshændelse", extra={"haendelse": "log_ikke_intakt", "fejl_id": fejl_id, "id": id,
                                                                            "kommune": actor.kommune})
            raise ProblemException(500, "Vurderingens indhold mangler, uden at det er slettet efter reglerne; loggen er ændret. "
                                        f"Kør 'visitator log verify', og oplys fejl-id {fejl_id} til driften.",
                                   slug="indhold-mangler", fejl_id=fejl_id)
        self.store.record_access(actor.kommune, actor.token_id, actor.rolle, formaal, [id])
        return record

    def listed(self, actor: Actor, records: Any, formaal: str) -> None:
        """A listing page showed these decisions (ids and recommendations): one access entry for them."""
        ids = [r.id for r in records]
        if ids:
            self.store.record_access(actor.kommune, actor.token_id, actor.rolle, formaal, ids)

    def citizen(self, actor: Actor, reference: str, formaal: str) -> Any:
        """Everything recorded for one borger_reference (the citizen's right of access): found via its
        HMAC; the request itself is recorded in the access log first (also when nothing is found), so
        the answer lists it among the reads."""
        hmac_value = self.reference_hmac(reference)
        first = self.store.borger_index(actor.kommune, hmac_value)
        seq, _ = self.store.record_access(actor.kommune, actor.token_id, actor.rolle, formaal, [d.id for d in first.vurderinger])
        index = self.store.borger_index(actor.kommune, hmac_value)
        if not any(e.seq == seq for e in index.adgange):  # nothing found: the request names no decision, list it anyway
            _, mine = self.store.access_log(actor.kommune, token=actor.token_id, limit=20)
            index = replace(index, adgange=(*index.adgange, *(e for e in mine if e.seq == seq)))
        return index

    def decision(self, record: Any) -> Optional[Decision]:
        """The stored response as the typed decision (None for a decision made by an older engine)."""
        if getattr(record, "motorformat", MOTORFORMAT) != MOTORFORMAT or record.svar is None:
            return None
        return from_api(json.loads(record.svar))

    def replay(self, actor: Actor, id: str, formaal: str = "POST /v1/vurderinger/{id}/genberegn") -> Replay:
        self.before_evaluate()
        try:
            record = self.stored(actor, id, formaal)
        except ProblemException as error:
            if error.status != 410:
                raise
            raise ProblemException(410, "Vurderingen kan ikke genberegnes: " + error.detail[:1].lower() + error.detail[1:],
                                   slug="slettet", **error.extra) from None
        original_decision = self.decision(record)
        if original_decision is None:
            raise ProblemException(409, "Vurderingen er lavet af en tidligere udgave af motoren og kan ikke genberegnes med denne.",
                                   slug="genberegning-umulig")
        engine = self.engines.for_kommune(actor.kommune)
        stored_body = json.loads(record.svar)
        screening = _parse_stored(record.screening)
        try:
            again = engine.decide(screening, sha256=record.regelsaet_sha256)
        except (UnknownVersion, ValueError) as error:
            fejl_id = str(uuid.uuid4())
            log.error("genberegning umulig", extra={"haendelse": "genberegning_umulig", "fejl_id": fejl_id, "id": id,
                                                    "regelsaet_sha256": record.regelsaet_sha256, "grund": str(error)})
            raise ProblemException(500, f"Den oprindelige version af regelsættet kan ikke genskabes: {error}",
                                   slug="genberegning-umulig", fejl_id=fejl_id) from None
        again_body = dict(to_api(again, narrative(again)))
        if _comparable(again_body) != _comparable({k: v for k, v in stored_body.items() if k not in ("id", "oprettet")}):
            fejl_id = str(uuid.uuid4())
            found = differences(original_decision, again)
            log.error("genberegning under den oprindelige version giver et andet resultat",
                      extra={"haendelse": "genberegning_afviger", "fejl_id": fejl_id, "id": id,
                             "regelsaet_sha256": record.regelsaet_sha256, "forskelle": [d.hvad for d in found][:50]})
            raise ProblemException(500, "Genberegning under den oprindelige version af regelsættet gav ikke det samme resultat.",
                                   slug="genberegning-afviger", fejl_id=fejl_id, id=id, identisk=False,
                                   forskelle_original=[d.to_api() for d in found] or [{"sti": "forklaring", "tekst": "forklaringen afviger"}])
        today = engine.version_for(self.settings.today())
        now = engine.decide(screening, sha256=today.sha256)
        return Replay(id, original_decision, {k: v for k, v in stored_body.items() if k not in ("id", "oprettet")}, now,
                      dict(to_api(now, narrative(now))), True,
                      self.store.resolve(today.sha256) == self.store.resolve(record.regelsaet_sha256),
                      differences(original_decision, now))


def removed_problem(deletion: Any) -> ProblemException:
    """410: the content was removed under the retention rules, naming the sletning event."""
    from engine.wording import dansk_tid

    return ProblemException(
        410, f"Vurderingens indhold (screeningen, svaret og begrundelserne) blev slettet {dansk_tid(deletion.oprettet)} efter "
             f"reglerne om opbevaring (sletning nr. {deletion.event_seq} i loggen). Tilbage er kun id, datoer, regelsættets "
             "version, de anbefalede tilbud og afgørelsernes udfald.",
        slug="slettet", sletning={"seq": deletion.event_seq, "tidspunkt": deletion.oprettet, "begrundelse": deletion.begrundelse,
                                  "foer": deletion.foer})


def _parse_stored(screening_text: str) -> Any:
    """A logged screening back as a Screening (it was valid when logged; its dates are kept as they were)."""
    from engine.screening import parse_screening

    return parse_screening(json.loads(screening_text))


def rules_problem(error: RulesInvalid, detail: str) -> ProblemException:
    return ProblemException(
        422, detail, slug="regelsaet-ugyldigt", title="Regelfilerne er ugyldige",
        fejl=[{"felt": str(p.where), "besked": p.message} for p in error.problems],
        problemer=[str(p) for p in error.problems],
    )


