"""Rule set versions by effective date, their content hash, and snapshots.

A version is the set of rules and offers in force on a date. Its identity for
clients is the date it took effect plus the sha256 of its canonical content.
Every version used is kept as a snapshot (content-addressed JSON) so a past
decision can be evaluated again exactly after the files have changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable, Optional, Protocol

from engine.model import AnyOf, Condition, ConditionNode, DeadlineSpec, LayerInfo, LegalRef, Offer, Rule, RuleBook, Source

SNAPSHOT_FORMAT = 1


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
    """No snapshot with that sha256 is known."""


@dataclass(frozen=True)
class RuleSetVersion:
    """The rules and offers in force on one stretch of dates."""

    navn: str
    gyldig_fra: date
    gyldig_til: Optional[date]
    afventer: bool
    rules: tuple[Rule, ...]
    offers: tuple[Offer, ...]
    layers: tuple[LayerInfo, ...]
    sha256: str

    @property
    def version(self) -> str:
        return self.gyldig_fra.isoformat()

    @property
    def key(self) -> str:
        """A unique, stable name (durable-rules cannot register a name twice)."""
        return f"{self.navn}@{self.version}#{self.sha256[:12]}"

    def status(self, today: date) -> str:
        if self.afventer or self.gyldig_fra > today:
            return "afventer"
        if self.gyldig_til is not None and self.gyldig_til < today:
            return "historisk"
        return "aktiv"

    def header(self) -> dict[str, Any]:
        return {"navn": self.navn, "version": self.version, "gyldig_fra": self.version, "sha256": self.sha256}

    def summary(self, today: date) -> dict[str, Any]:
        kommune = next((layer.kommune for layer in self.layers if layer.kommune), None)
        return {
            "navn": self.navn,
            "version": self.version,
            "gyldig_fra": self.version,
            "gyldig_til": self.gyldig_til.isoformat() if self.gyldig_til else None,
            "sha256": self.sha256,
            "status": self.status(today),
            "kommune": kommune,
            "antal_regler": len(self.rules),
            "antal_tilbud": len(self.offers),
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "navn": self.navn,
            "gyldig_fra": self.version,
            "gyldig_til": self.gyldig_til.isoformat() if self.gyldig_til else None,
            "afventer": self.afventer,
            "sha256": self.sha256,
            "indhold": canonical_content(self.navn, self.rules, self.offers, self.layers),
        }


# --------------------------------------------------------------------------- canonical form


def _cond(node: ConditionNode) -> Any:
    return node.to_canonical()


def _cond_back(data: Any) -> ConditionNode:
    if "en_af" in data:
        return AnyOf(tuple(_cond_back(x) for x in data["en_af"]))
    value = data["vaerdi"]
    return Condition(data["felt"], data["operator"], tuple(value) if isinstance(value, list) else value)


def _common(item: Rule | Offer) -> dict[str, Any]:
    # gyldig_til is left out on purpose: ending a rule later must not change the
    # identity of the versions in which it was in force.
    return {
        "id": item.id,
        "beskrivelse": item.beskrivelse,
        "lag": item.lag,
        "placering": item.placering,
        "gyldig_fra": item.gyldig_fra.isoformat(),
        "afventer": item.afventer,
        "kilde": item.kilde.to_api(),
        "betingelser": [_cond(c) for c in item.conditions],
    }


def _rule_canonical(r: Rule) -> dict[str, Any]:
    out = _common(r)
    out.update(
        spor=r.spor,
        mindst_indgrebsniveau=r.min_niveau,
        lovgrundlag=[x.to_api() for x in r.lovgrundlag],
        frist=None if r.frist is None else {
            "type": r.frist.type, "dage": r.frist.dage, "fra": r.frist.fra,
            "lovgrundlag": r.frist.lovgrundlag.to_api(), "beskrivelse": r.frist.beskrivelse,
        },
        advarsel=r.advarsel,
        oplysning=r.oplysning,
        udeluk_kategori=r.udeluk_kategori,
        udeluk_tilbud=r.udeluk_tilbud,
        ved_kategori=list(r.ved_kategori),
    )
    return out


def _offer_canonical(o: Offer) -> dict[str, Any]:
    out = _common(o)
    out.update(
        navn=o.navn, kategori=o.kategori, spor=o.spor, indgrebsniveau=o.niveau,
        lovgrundlag=[x.to_api() for x in o.lovgrundlag], daekker_op_til_niveau=o.daekker_op_til,
        alder_fra=o.alder_fra, alder_til=o.alder_til,
    )
    return out


def canonical_content(navn: str, rules: Iterable[Rule], offers: Iterable[Offer], layers: Iterable[LayerInfo]) -> dict[str, Any]:
    return {
        "navn": navn,
        "lag": sorted(
            ({"fil": l.fil, "lag": l.lag, "kommune": l.kommune, "beskrivelse": l.beskrivelse, "princip": l.princip} for l in layers),
            key=lambda x: x["fil"],
        ),
        "regler": sorted((_rule_canonical(r) for r in rules), key=lambda x: (x["id"], x["gyldig_fra"])),
        "tilbud": sorted((_offer_canonical(o) for o in offers), key=lambda x: (x["id"], x["gyldig_fra"])),
    }


def canonical_bytes(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def _legal_back(d: dict[str, Any]) -> LegalRef:
    return LegalRef(d["lov"], d["paragraf"], d.get("stk"))


def _source_back(d: dict[str, Any]) -> Source:
    return Source(d.get("lov"), d.get("paragraf"), d.get("stk"), d.get("nr"), d.get("lovnummer"), d.get("dokument"), d.get("url"), d.get("sikkerhed", "verificeret"))


def _common_back(d: dict[str, Any]) -> dict[str, Any]:
    fil, _, linje = d["placering"].rpartition(":")
    return dict(
        id=d["id"], beskrivelse=d["beskrivelse"], lag=d["lag"], fil=fil, linje=int(linje),
        gyldig_fra=date.fromisoformat(d["gyldig_fra"]), gyldig_til=None, afventer=d["afventer"],
        kilde=_source_back(d["kilde"]), conditions=tuple(_cond_back(c) for c in d["betingelser"]),
    )


def version_from_snapshot(snapshot: dict[str, Any]) -> RuleSetVersion:
    """Rebuild a version from its snapshot, refusing one whose content was altered."""
    if snapshot.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"ukendt snapshot-format {snapshot.get('format')!r}")
    content = snapshot["indhold"]
    actual = sha256_of(content)
    if actual != snapshot["sha256"]:
        raise ValueError(f"snapshot af regelsæt {snapshot['sha256'][:12]} er ændret (indholdet har sha256 {actual[:12]})")
    rules = []
    for d in content["regler"]:
        f = d["frist"]
        rules.append(
            Rule(
                **_common_back(d), spor=d["spor"], min_niveau=d["mindst_indgrebsniveau"],
                lovgrundlag=tuple(_legal_back(x) for x in d["lovgrundlag"]),
                frist=None if f is None else DeadlineSpec(f["type"], f["dage"], f["fra"], _legal_back(f["lovgrundlag"]), f["beskrivelse"]),
                advarsel=d["advarsel"], oplysning=d["oplysning"], udeluk_kategori=d["udeluk_kategori"],
                udeluk_tilbud=d["udeluk_tilbud"], ved_kategori=tuple(d["ved_kategori"]),
            )
        )
    offers = [
        Offer(
            **_common_back(d), navn=d["navn"], kategori=d["kategori"], spor=d["spor"], niveau=d["indgrebsniveau"],
            lovgrundlag=tuple(_legal_back(x) for x in d["lovgrundlag"]), daekker_op_til=d["daekker_op_til_niveau"],
            alder_fra=d["alder_fra"], alder_til=d["alder_til"],
        )
        for d in content["tilbud"]
    ]
    layers = tuple(LayerInfo(l["fil"], l["lag"], l["kommune"], l["beskrivelse"], l["princip"]) for l in content["lag"])
    til = snapshot.get("gyldig_til")
    return RuleSetVersion(
        navn=content["navn"], gyldig_fra=date.fromisoformat(snapshot["gyldig_fra"]),
        gyldig_til=date.fromisoformat(til) if til else None, afventer=snapshot["afventer"],
        rules=tuple(rules), offers=tuple(offers), layers=layers, sha256=snapshot["sha256"],
    )


# --------------------------------------------------------------------------- epochs


def _boundaries(book: RuleBook, include_pending: bool) -> list[date]:
    days: set[date] = set()
    for item in (*book.rules, *book.offers):
        if item.afventer and not include_pending:
            continue
        days.add(item.gyldig_fra)
        if item.gyldig_til is not None:
            days.add(item.gyldig_til + timedelta(days=1))
    return sorted(days)


def _make(book: RuleBook, start: date, end: Optional[date], pending: bool) -> RuleSetVersion:
    rules = tuple(r for r in book.rules if r.in_force(start, include_pending=pending))
    offers = tuple(o for o in book.offers if o.in_force(start, include_pending=pending))
    content = canonical_content(book.navn, rules, offers, book.layers)
    return RuleSetVersion(book.navn, start, end, pending, rules, offers, book.layers, sha256_of(content))


def versions_of(book: RuleBook) -> list[RuleSetVersion]:
    """Every version of the book: one per stretch between in-force dates, then
    one per pending (afventer) date, which is listed but never applied."""
    days = _boundaries(book, include_pending=False)
    out = []
    for i, start in enumerate(days):
        end = days[i + 1] - timedelta(days=1) if i + 1 < len(days) else None
        out.append(_make(book, start, end, pending=False))
    pending_days = sorted({i.gyldig_fra for i in (*book.rules, *book.offers) if i.afventer})
    for start in pending_days:
        out.append(_make(book, start, None, pending=True))
    return out


def first_covered_date(book: RuleBook) -> date:
    return _boundaries(book, include_pending=False)[0]


def in_force_dates(book: RuleBook) -> list[date]:
    """Every date on which the rules in force change (for golden-case coverage)."""
    return _boundaries(book, include_pending=False)


# --------------------------------------------------------------------------- snapshot stores


class SnapshotStore(Protocol):
    def put(self, snapshot: dict[str, Any]) -> None: ...

    def get(self, sha256: str) -> Optional[dict[str, Any]]: ...

    def all_sha256(self) -> list[str]: ...


class MemorySnapshotStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}

    def put(self, snapshot: dict[str, Any]) -> None:
        self._data.setdefault(snapshot["sha256"], snapshot)

    def get(self, sha256: str) -> Optional[dict[str, Any]]:
        return self._data.get(sha256)

    def all_sha256(self) -> list[str]:
        return sorted(self._data)


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
        if not all(c in "0123456789abcdef" for c in sha256) or len(sha256) != 64:
            return None
        target = self.directory / f"{sha256}.json"
        if not target.exists():
            return None
        return json.loads(target.read_text(encoding="utf-8"))

    def all_sha256(self) -> list[str]:
        if not self.directory.exists():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json"))
