"""Stage 3, versions: the rule set in force on each stretch of dates, its
content fingerprint, and snapshots.

A version is the set of blocks in force on a date, with every provision they
cite rendered for that date (so a renumbering such as SUL § 141, stk. 5 ->
stk. 7 starts a new version). Its fingerprint (sha256) covers the canonical
meaning of its blocks: ids, conditions, conclusions, dates, sources, texts
and rendered citations; never file names, line numbers, comments or the
order of files. Every version used is kept as a snapshot so a past decision
can be evaluated again exactly after the files have changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable, Optional, Protocol

from engine.law import LawBook, LegalRef
from engine.model import (
    AnyItem,
    ConflictSpec,
    DeadlineSpec,
    LayerInfo,
    MustOffer,
    Offer,
    Precondition,
    Right,
    Rule,
    RuleBook,
    Scope,
    Source,
    condition_from_canonical,
)
from engine.problems import Position

#: 3: the tie-break between offers of the same level is explicit (`foretraekkes_frem_for`).
#: 2: kommune offers sorted before national ones at the same level; read with that order
#: made explicit, so decisions made under a format-2 version replay identically.
SNAPSHOT_FORMAT = 3
_READABLE_FORMATS = (2, 3)


class DateNotCovered(Exception):
    """The vurderingsdato lies outside what the rule set covers."""

    def __init__(self, day: date, first: date):
        super().__init__(
            f"vurderingsdato {day.isoformat()} ligger før den første dato, regelsættet dækker ({first.isoformat()}); "
            "motoren gætter ikke på ældre regler"
        )
        self.day = day
        self.first = first


class UnknownVersion(Exception):
    """No snapshot with that sha256 is known, or it cannot be used."""


@dataclass(frozen=True)
class RuleSetVersion:
    """The blocks in force on one stretch of dates, with their citations rendered."""

    navn: str
    gyldig_fra: date
    gyldig_til: Optional[date]
    afventer: bool
    items: tuple[AnyItem, ...]
    layers: tuple[LayerInfo, ...]
    citations: dict[str, LegalRef]
    sha256: str
    kommune: Optional[str] = None
    #: The fingerprint of the municipality's own layer as in force in this version (see kommune_layer_sha256).
    kommune_sha256: Optional[str] = None
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> str:
        return self.gyldig_fra.isoformat()

    @property
    def key(self) -> str:
        """A unique, stable name (durable-rules cannot register a name twice)."""
        return f"{self.navn}@{self.version}#{self.sha256[:12]}"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(i for i in self.items if isinstance(i, Rule))

    @property
    def offers(self) -> tuple[Offer, ...]:
        return tuple(i for i in self.items if isinstance(i, Offer))

    def status(self, today: date) -> str:
        """aktiv, historisk, kommende (a future version already decided) or afventer (law not enacted)."""
        if self.afventer:
            return "afventer"
        if self.gyldig_fra > today:
            return "kommende"
        if self.gyldig_til is not None and self.gyldig_til < today:
            return "historisk"
        return "aktiv"

    def cite(self, provision_id: str) -> LegalRef:
        return self.citations[provision_id]

    def header(self) -> dict[str, Any]:
        out = {"navn": self.navn, "version": self.version, "gyldig_fra": self.version, "sha256": self.sha256}
        if self.kommune:
            out["kommune"] = self.kommune
        if self.kommune_sha256:
            out["kommune_sha256"] = self.kommune_sha256
        return out

    def snapshot(self) -> dict[str, Any]:
        if "snapshot" in self.memo:  # rebuilt from a stored snapshot: that one, as stored (an older format stays older)
            stored: dict[str, Any] = self.memo["snapshot"]
            return stored
        out: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT,
            "navn": self.navn,
            "gyldig_fra": self.version,
            "gyldig_til": self.gyldig_til.isoformat() if self.gyldig_til else None,
            "afventer": self.afventer,
            "sha256": self.sha256,
            "indhold": canonical_content(self.navn, self.items, self.layers, self.citations),
            # Where each block stood in the files when the version was used; informational,
            # not part of the fingerprint (moving a block between files is not a new version).
            "placeringer": {f"{i.kind}:{i.id}": str(i.position) for i in self.items},
        }
        if self.kommune_sha256:
            # Derived from "indhold" (and checked against it on every read), so not part of the address.
            out["kommune_sha256"] = self.kommune_sha256
        return out


# --------------------------------------------------------------------------- canonical form


def _common(item: AnyItem) -> dict[str, Any]:
    # gyldig_til and the position are left out on purpose: ending a rule later, or
    # moving it to another file, must not change the identity of a version.
    return {
        "id": item.id,
        "beskrivelse": item.beskrivelse,
        "lag": item.lag,
        "gyldig_fra": item.gyldig_fra.isoformat(),
        "afventer": item.afventer,
        "kilde": item.kilde.to_canonical(),
        "betingelser": [c.to_canonical() for c in item.conditions],
    }


def _canonical(item: AnyItem) -> dict[str, Any]:
    out = _common(item)
    if isinstance(item, Rule):
        out.update(
            spor=item.spor, mindst_indgrebsniveau=item.min_niveau, lovgrundlag=list(item.lovgrundlag),
            frist=None if item.frist is None else {"type": item.frist.type, "dage": item.frist.dage, "fra": item.frist.fra,
                                                    "lovgrundlag": item.frist.lovgrundlag, "beskrivelse": item.frist.beskrivelse},
            advarsel=item.advarsel, oplysning=item.oplysning, henvisning=item.henvisning,
            udeluk_kategori=item.udeluk_kategori, udeluk_tilbud=item.udeluk_tilbud, ved_kategori=list(item.ved_kategori),
            skal_tilbyde=None if item.skal_tilbyde is None else {"tilbud": item.skal_tilbyde.tilbud, "tekst": item.skal_tilbyde.tekst},
        )
    elif isinstance(item, Offer):
        out.update(navn=item.navn, kategori=item.kategori, spor=item.spor, indgrebsniveau=item.niveau,
                   lovgrundlag=list(item.lovgrundlag), daekker_op_til_niveau=item.daekker_op_til,
                   alder_fra=item.alder_fra, alder_til=item.alder_til)
        if item.foretraekkes_frem_for:  # only when given: versions without a preference keep their fingerprint
            out["foretraekkes_frem_for"] = list(item.foretraekkes_frem_for)
    elif isinstance(item, Precondition):
        out.update(navn=item.navn, kategori=item.kategori, spor=item.spor, lovgrundlag=list(item.lovgrundlag))
    elif isinstance(item, Right):
        out.update(navn=item.navn, spor=item.spor, indhold=item.indhold, gaelder_ved_kategori=list(item.gaelder_ved_kategori),
                   konflikter=[{"spor": k.spor, "kategori": list(k.kategorier), "tekst": k.tekst} for k in item.konflikter])
    elif isinstance(item, Scope):
        out.update(bestemmelse=item.bestemmelse, lov=item.lov, kun_ved_kategori=list(item.kun_ved_kategori))
    return out


_SECTIONS = {"regel": "regler", "tilbud": "tilbud", "forudsaetning": "forudsaetninger", "rettighed": "rettigheder",
             "personkreds": "personkreds"}


def canonical_content(navn: str, items: Iterable[AnyItem], layers: Iterable[LayerInfo],
                      citations: dict[str, LegalRef]) -> dict[str, Any]:
    content: dict[str, Any] = {
        "navn": navn,
        # Only what a layer means for decisions: the municipality and its principle (used in the
        # narrative). A file's own description is documentation, like a comment.
        "lag": sorted({json.dumps({"kommune": la.kommune, "princip": la.princip}, sort_keys=True, ensure_ascii=False)
                       for la in layers if la.kommune}),
        "bestemmelser": {pid: {"lov": r.lov, "paragraf": r.paragraf, "stk": r.stk, "nr": r.nr, "kapitel": r.kapitel,
                               "sikkerhed": r.sikkerhed} for pid, r in sorted(citations.items())},
    }
    for section in _SECTIONS.values():
        content[section] = []
    items = list(items)
    for item in items:
        content[_SECTIONS[item.kind]].append(_canonical(item))
    # Before snapshot format 3 a kommune offer sorted before a national one of the same track and
    # level; now only `foretraekkes_frem_for` (or the id) decides. Where that can matter, the
    # fingerprint says which rule applies, so such a version never shares a fingerprint (and a
    # replay) with one decided the old way. Versions without such a pair keep their fingerprint.
    offers = [i for i in items if isinstance(i, Offer)]
    if {(o.spor, o.niveau) for o in offers if o.lag == "kommune"} & {(o.spor, o.niveau) for o in offers if o.lag != "kommune"}:
        content["rangorden"] = "foretraekkes_frem_for"
    for section in _SECTIONS.values():
        content[section].sort(key=lambda x: (x["id"], x["gyldig_fra"]))
    return content


def kommune_layer_sha256(navn: str, items: Iterable[AnyItem], layers: Iterable[LayerInfo],
                         citations: dict[str, LegalRef]) -> Optional[str]:
    """The fingerprint of a municipality's own layer as in force in a version: the canonical
    content of its blocks (`lag: kommune`, with the shared layers it includes), its name and its
    principle, and the citations those blocks use. None without a municipality layer.

    It depends only on what a version holds, so it is recomputed from a snapshot's content (and a
    stored value that differs is refused); the version's own `sha256` stays its fingerprint."""
    named = [la for la in layers if la.kommune]
    if not named:
        return None
    local = [i for i in items if i.lag == "kommune"]
    cited = {pid for i in local for pid in i.citations()}
    return sha256_of(canonical_content(navn, local, named, {pid: ref for pid, ref in citations.items() if pid in cited}))


def canonical_bytes(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def _items_back(content: dict[str, Any], placements: dict[str, str], legacy_order: bool = False) -> list[AnyItem]:
    out: list[AnyItem] = []

    def common(d: dict[str, Any], kind: str) -> dict[str, Any]:
        k = d["kilde"]
        return dict(id=d["id"], beskrivelse=d["beskrivelse"], lag=d["lag"],
                    position=Position.parse(placements.get(f"{kind}:{d['id']}", "(ukendt placering)")),
                    gyldig_fra=date.fromisoformat(d["gyldig_fra"]), gyldig_til=None, afventer=d["afventer"],
                    kilde=Source(k.get("bestemmelse"), k.get("dokument"), k.get("url"), k.get("sikkerhed", "verificeret")),
                    conditions=tuple(condition_from_canonical(c) for c in d["betingelser"]))

    for d in content["regler"]:
        f, s = d["frist"], d["skal_tilbyde"]
        out.append(Rule(**common(d, "regel"), spor=d["spor"], min_niveau=d["mindst_indgrebsniveau"], lovgrundlag=tuple(d["lovgrundlag"]),
                        frist=None if f is None else DeadlineSpec(f["type"], f["dage"], f["fra"], f["lovgrundlag"], f["beskrivelse"]),
                        advarsel=d["advarsel"], oplysning=d["oplysning"], henvisning=d["henvisning"],
                        udeluk_kategori=d["udeluk_kategori"], udeluk_tilbud=d["udeluk_tilbud"], ved_kategori=tuple(d["ved_kategori"]),
                        skal_tilbyde=None if s is None else MustOffer(s["tilbud"], s["tekst"])))
    for d in content["tilbud"]:
        preferred = list(d.get("foretraekkes_frem_for", ()))
        if legacy_order and d["lag"] == "kommune":
            # Format 2 sorted a kommune offer before every national offer of its track and level.
            preferred += [x["id"] for x in content["tilbud"] if x["lag"] != "kommune" and x["spor"] == d["spor"]
                          and x["indgrebsniveau"] == d["indgrebsniveau"] and x["id"] not in preferred]
        out.append(Offer(**common(d, "tilbud"), navn=d["navn"], kategori=d["kategori"], spor=d["spor"], niveau=d["indgrebsniveau"],
                         lovgrundlag=tuple(d["lovgrundlag"]), daekker_op_til=d["daekker_op_til_niveau"],
                         alder_fra=d["alder_fra"], alder_til=d["alder_til"], foretraekkes_frem_for=tuple(preferred)))
    for d in content["forudsaetninger"]:
        out.append(Precondition(**common(d, "forudsaetning"), navn=d["navn"], kategori=d["kategori"], spor=d["spor"],
                                lovgrundlag=tuple(d["lovgrundlag"])))
    for d in content["rettigheder"]:
        out.append(Right(**common(d, "rettighed"), navn=d["navn"], spor=d["spor"], indhold=d["indhold"],
                         gaelder_ved_kategori=tuple(d["gaelder_ved_kategori"]),
                         konflikter=tuple(ConflictSpec(k["spor"], tuple(k["kategori"]), k["tekst"]) for k in d["konflikter"])))
    for d in content["personkreds"]:
        out.append(Scope(**common(d, "personkreds"), bestemmelse=d["bestemmelse"], lov=d["lov"],
                         kun_ved_kategori=tuple(d["kun_ved_kategori"])))
    return out


def version_from_snapshot(snapshot: dict[str, Any]) -> RuleSetVersion:
    """Rebuild a version from its snapshot, refusing one whose content was altered."""
    if snapshot.get("format") not in _READABLE_FORMATS:
        raise UnknownVersion(f"versionen er gemt i et ældre format ({snapshot.get('format')!r}) fra en tidligere udgave af motoren "
                             "og kan ikke genberegnes med denne udgave")
    content = snapshot["indhold"]
    actual = sha256_of(content)
    if actual != snapshot["sha256"]:
        raise UnknownVersion(f"snapshot af regelsæt {str(snapshot['sha256'])[:12]} er ændret (indholdet har sha256 {actual[:12]})")
    citations = {pid: LegalRef(r["lov"], r["paragraf"], r["stk"], r["nr"], r["kapitel"], pid, r["sikkerhed"])
                 for pid, r in content["bestemmelser"].items()}
    layers = tuple(LayerInfo("", "kommune", la["kommune"], "", la["princip"]) for la in map(json.loads, content["lag"]))
    til = snapshot.get("gyldig_til")
    kommune = next((la.kommune for la in layers if la.kommune), None)
    placements = snapshot.get("placeringer") or {}
    items = tuple(_items_back(content, placements))
    layer_sha = kommune_layer_sha256(content["navn"], items, layers, citations)  # of the content as stored
    if snapshot["format"] == 2:
        items = tuple(_items_back(content, placements, legacy_order=True))
    if snapshot.get("kommune_sha256") not in (None, layer_sha):
        raise UnknownVersion(f"snapshot af regelsæt {str(snapshot['sha256'])[:12]} er ændret (kommunelagets sha256 passer ikke til indholdet)")
    version = RuleSetVersion(
        navn=content["navn"], gyldig_fra=date.fromisoformat(snapshot["gyldig_fra"]),
        gyldig_til=date.fromisoformat(til) if til else None, afventer=snapshot["afventer"],
        items=items, layers=layers, citations=citations,
        sha256=snapshot["sha256"], kommune=kommune, kommune_sha256=layer_sha,
    )
    version.memo["snapshot"] = snapshot
    return version


# --------------------------------------------------------------------------- epochs


def _boundaries(book: RuleBook, law: LawBook, include_pending: bool) -> list[date]:
    days: set[date] = set()
    cited: set[str] = set()
    for item in book.items():
        if item.afventer and not include_pending:
            continue
        days.add(item.gyldig_fra)
        if item.gyldig_til is not None:
            days.add(item.gyldig_til + timedelta(days=1))
        cited.update(item.citations())
    first = min(days) if days else None
    for pid in cited:
        provision = law.get(pid)
        if provision is not None:
            days.update(d for d in provision.change_days() if first is not None and d > first)
    return sorted(days)


def _make(book: RuleBook, law: LawBook, start: date, end: Optional[date], pending: bool) -> RuleSetVersion:
    items = tuple(i for i in book.items() if i.in_force(start, include_pending=pending))
    citations: dict[str, LegalRef] = {}
    for item in items:
        for pid in item.citations():
            provision = law.get(pid)
            ref = provision.at(start) if provision is not None else None
            if ref is not None:
                citations[pid] = ref
    kommune = next((la.kommune for la in book.layers if la.kommune), None)
    content = canonical_content(book.navn, items, book.layers, citations)
    return RuleSetVersion(book.navn, start, end, pending, items, book.layers, citations, sha256_of(content), kommune,
                          kommune_layer_sha256(book.navn, items, book.layers, citations))


def versions_of(book: RuleBook, law: LawBook) -> list[RuleSetVersion]:
    """Every version of the book: one per stretch between in-force dates (of blocks
    and of the citations they use), then one per pending (afventer) date, which is
    listed but never applied."""
    days = _boundaries(book, law, include_pending=False)
    out = []
    for i, start in enumerate(days):
        end = days[i + 1] - timedelta(days=1) if i + 1 < len(days) else None
        out.append(_make(book, law, start, end, pending=False))
    pending_days = sorted({i.gyldig_fra for i in book.items() if i.afventer})
    for start in pending_days:
        out.append(_make(book, law, start, None, pending=True))
    return out


def first_covered_date(book: RuleBook, law: LawBook) -> date:
    return _boundaries(book, law, include_pending=False)[0]


def in_force_dates(book: RuleBook, law: LawBook) -> list[date]:
    """Every date on which the rules in force change (for golden-case coverage)."""
    return _boundaries(book, law, include_pending=False)


# --------------------------------------------------------------------------- snapshot stores


class SnapshotStore(Protocol):
    def put(self, snapshot: dict[str, Any]) -> None: ...

    def get(self, sha256: str) -> Optional[dict[str, Any]]: ...


class MemorySnapshotStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}

    def put(self, snapshot: dict[str, Any]) -> None:
        self._data.setdefault(snapshot["sha256"], snapshot)

    def get(self, sha256: str) -> Optional[dict[str, Any]]:
        return self._data.get(sha256)


class FileSnapshotStore:
    """Content-addressed snapshots as `<sha256>.json` files (written atomically)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def put(self, snapshot: dict[str, Any]) -> None:
        target = self.directory / f"{snapshot['sha256']}.json"
        if target.exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(snapshot, handle, ensure_ascii=False, sort_keys=True, indent=1)
        os.replace(tmp, target)

    def get(self, sha256: str) -> Optional[dict[str, Any]]:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            return None
        target = self.directory / f"{sha256}.json"
        if not target.exists():
            return None
        data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
        return data
