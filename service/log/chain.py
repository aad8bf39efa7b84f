"""Hashing and the chain walk: pure functions over stored values, no SQL and no JSON parsing.

Every hash is sha256 over a fixed, length-prefixed byte encoding of the stored texts, so a cell
whose type was changed (svar stored as a BLOB) is reported as a changed record, never a crash."""
from __future__ import annotations

import hashlib
import hmac as _hmac
import json
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from service.log.store import ChainFinding, ChainReport

GENESIS = "0" * 64
_NULL = b"\xff\xff\xff\xff"
_LENGTH = struct.Struct(">I").pack  # a text's UTF-8 length, 4 bytes big-endian (as int.to_bytes(4, "big"))
_ENTRY = b"visitator/kaede/1\n"
_DECISION = b"visitator/vurdering/1\n"
_AFGOERELSE = b"visitator/afgoerelse/1\n"
_ACCESS = b"visitator/adgangslog/1\n"
_HEAD = b"visitator/hoved/1\n"


class Mistyped(Exception):
    """A stored cell is not of the type the store writes (e.g. a BLOB where text belongs)."""


def _text(value: object) -> bytes:
    if value is None:
        return _NULL
    if type(value) is not str:
        raise Mistyped(type(value).__name__)
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise Mistyped("ugyldig tekst") from None
    return len(data).to_bytes(4, "big") + data


def _texts(*values: object) -> bytes:
    """_text of each value, joined (one loop: the verify walk's hot path, hence the local names)."""
    out: list[bytes] = []
    add, length = out.append, _LENGTH
    for value in values:
        if type(value) is str:
            try:
                data = value.encode("utf-8")
            except UnicodeEncodeError:
                raise Mistyped("ugyldig tekst") from None
            add(length(len(data)))
            add(data)
        elif value is None:
            add(_NULL)
        else:
            raise Mistyped(type(value).__name__)
    return b"".join(out)


def _int(value: object) -> bytes:
    if type(value) is not int:
        raise Mistyped(type(value).__name__)
    return _text(str(value))


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the stored form of metadata and afgørelse offers."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def text_sha256(value: object) -> str:
    """sha256 of one stored text (screening, svar, begrundelse); Mistyped for anything but str."""
    if type(value) is not str:
        raise Mistyped(type(value).__name__)
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def salted_sha256(salt: object, value: object) -> str:
    """The digest of one stored text under its record's salt: sha256(salt + text), or the plain
    text_sha256 for a record written before salts (salt None). The salt is 32 hex characters, so the
    two forms never meet; it is removed with the content, and the kept digest then matches no guess."""
    if salt is None:
        return text_sha256(value)
    if type(salt) is not str or type(value) is not str:
        raise Mistyped(type(salt if type(salt) is not str else value).__name__)
    return hashlib.sha256((salt + value).encode("utf-8", "surrogatepass")).hexdigest()


def entry_hash(kommune: object, seq: object, art: object, ref: object, oprettet: object, metadata: object,
               indhold_sha256: object, forrige_hash: object) -> str:
    """The hash of one chain entry; covers its place (kommune, seq) and its predecessor."""
    data = b"".join((_ENTRY, _text(kommune), _int(seq),
                     _texts(art, ref, oprettet, metadata, indhold_sha256, forrige_hash)))
    return hashlib.sha256(data).hexdigest()


def decision_digest(id: object, kommune: object, oprettet: object, token_id: object, regelsaet_navn: object,
                    regelsaet_version: object, regelsaet_sha256: object, motorformat: object, hmac: object,
                    henvendelsesdato: object, vurderingsdato: object, screening_sha256: object, svar_sha256: object,
                    anbefalinger: Sequence[Sequence[object]]) -> str:
    """indhold_sha256 of a decision: every stored column, the texts through their own digests."""
    parts = [_DECISION, _texts(id, kommune, oprettet, token_id, regelsaet_navn, regelsaet_version, regelsaet_sha256),
             _int(motorformat), _texts(hmac, henvendelsesdato, vurderingsdato, screening_sha256, svar_sha256),
             _int(len(anbefalinger))]
    for spor, kategori, tilbud_id in anbefalinger:
        parts.append(_texts(spor, kategori, tilbud_id))
    return hashlib.sha256(b"".join(parts)).hexdigest()


def afgoerelse_digest(id: object, kommune: object, vurdering_id: object, oprettet: object, token_id: object,
                      udfald: object, tilbud: object, begrundelse_sha256: object, dato: object) -> str:
    data = b"".join((_AFGOERELSE, _text(id), _text(kommune), _text(vurdering_id), _text(oprettet),
                     _text(token_id), _text(udfald), _text(tilbud), _text(begrundelse_sha256), _text(dato)))
    return hashlib.sha256(data).hexdigest()


def access_hash(kommune: object, seq: object, oprettet: object, token_id: object, rolle: object, formaal: object,
                vurdering_ids: object, forrige_hash: object) -> str:
    data = b"".join((_ACCESS, _text(kommune), _int(seq), _text(oprettet), _text(token_id), _text(rolle),
                     _text(formaal), _text(vurdering_ids), _text(forrige_hash)))
    return hashlib.sha256(data).hexdigest()


def head_signature(key: bytes, kommune: str, seq: int, hash: str, oprettet: str) -> str:
    """HMAC-SHA256 of a chain head with the log key (kept outside the database)."""
    return _hmac.new(key, _HEAD + _text(kommune) + _int(seq) + _text(hash) + _text(oprettet), hashlib.sha256).hexdigest()


def signature_valid(key: bytes, kommune: str, seq: object, hash: object, oprettet: object, signatur: object) -> bool:
    try:
        expected = head_signature(key, kommune, seq, hash, oprettet)  # type: ignore[arg-type]
    except Mistyped:
        return False
    return isinstance(signatur, str) and _hmac.compare_digest(expected, signatur)


def seq_range(first: int, last: int) -> str:
    return f"{first}" if first == last else f"{first}-{last}"


# --------------------------------------------------------------------------- the walk

#: One stored chain entry as read: (seq, art, ref, oprettet, metadata, indhold_sha256, forrige_hash, hash)
Entry = Sequence[Any]


@dataclass
class Walker:
    """Checks entries fed in seq order; stops at the first finding.

    `origin(hash)` names the seq whose stored hash is `hash` (a database look-up, only used
    once a break is found, to tell a moved record from an inserted one)."""

    kommune: str
    origin: Callable[[str], Optional[int]]
    prev_seq: int = 0
    prev_hash: str = GENESIS
    count: int = 0
    finding: Optional[ChainFinding] = None
    deleted: list[list[int]] = field(default_factory=list)  # [first, last, event seq]
    checkpoints: dict[int, str] = field(default_factory=dict)  # seq -> hash of signed checkpoints
    hasher: Callable[..., str] = entry_hash  # access_hash for the access log (same row shape)

    def feed(self, entry: Entry, content: Optional[ChainFinding] = None, deleted_by: Optional[int] = None) -> bool:
        """Check one entry (with the finding of its content check, or the sletning event that
        lawfully removed its content); False once broken."""
        seq = entry[0]
        self.count += 1
        finding = self._entry_finding(entry) or content
        if finding is None and seq in self.checkpoints and self.checkpoints[seq] != entry[7]:
            finding = ChainFinding(seq, "aendret", f"post {seq} passer ikke med et signeret kontrolpunkt")
        if finding is None and deleted_by is not None:
            self._note_deleted(seq, deleted_by)
        if finding is not None:
            self.finding = finding
            return False
        self.prev_seq, self.prev_hash = seq, entry[7]
        return True

    def _entry_finding(self, entry: Entry) -> Optional[ChainFinding]:
        seq, stored, forrige = entry[0], entry[7], entry[6]
        if type(seq) is not int:
            return ChainFinding(self.prev_seq + 1, "aendret", f"post {self.prev_seq + 1} er ændret (seq er ikke et tal)")
        try:
            actual = self.hasher(self.kommune, *entry[:7])
        except Mistyped:
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: en celle har fået en anden type")
        if seq > self.prev_seq + 1 and forrige != self.prev_hash:
            return ChainFinding(self.prev_seq + 1, "slettet",
                                f"post {seq_range(self.prev_seq + 1, seq - 1)} mangler (slettet) før post {seq}")
        if actual != stored:
            origin = self._original_seq(entry, stored)
            if origin is not None:
                return ChainFinding(seq, "flyttet", f"post {seq} stod oprindeligt som nr. {origin}: "
                                                    "poster er flyttet, slettet eller indsat")
            return ChainFinding(seq, "aendret", f"post {seq} er ændret: dens indhold passer ikke med dens hash")
        if forrige != self.prev_hash:
            origin = self.origin(forrige) if isinstance(forrige, str) else None
            if origin is not None and origin != self.prev_seq:
                return ChainFinding(seq, "flyttet", f"post {seq} fulgte oprindeligt efter post {origin}, "
                                                    f"ikke efter post {self.prev_seq}")
            return ChainFinding(seq, "indsat", f"kæden er brudt mellem post {self.prev_seq} og {seq}: post {seq} er "
                                               f"indsat, eller post {self.prev_seq} er ændret og dens hash regnet om")
        if seq != self.prev_seq + 1:
            return ChainFinding(seq, "indsat", f"post {seq} har et forkert nummer (forventet {self.prev_seq + 1})")
        return None

    def _original_seq(self, entry: Entry, stored: object, window: int = 50) -> Optional[int]:
        seq = entry[0]
        for delta in range(1, window + 1):
            for candidate in (seq - delta, seq + delta):
                if candidate >= 1 and self.hasher(self.kommune, candidate, *entry[1:7]) == stored:
                    return candidate
        return None

    def _note_deleted(self, seq: int, event: int) -> None:
        if self.deleted and self.deleted[-1][2] == event and self.deleted[-1][1] == self.prev_seq:
            self.deleted[-1][1] = seq
        else:
            self.deleted.append([seq, seq, event])

    def finish(self, head: Optional[tuple[Any, Any]]) -> ChainReport:
        """The report, after the last entry: the head row and signed checkpoints must agree with the walk."""
        finding = self.finding
        if finding is None:
            finding = self._head_finding(head)
        if finding is None:
            finding = self._checkpoint_finding()
        slettede = tuple(((a, b), e) for a, b, e in self.deleted)
        head_seq = head[0] if head else None
        head_hash = head[1] if head else None
        return ChainReport(finding is None, self.count, head_seq, head_hash, finding, slettede)

    def _head_finding(self, head: Optional[tuple[Any, Any]]) -> Optional[ChainFinding]:
        last = self.prev_seq
        if head is None:
            if self.count:
                return ChainFinding(1, "mangler_hoved", "kædens hoved mangler, men der er poster")
            return None
        if head[0] > last:
            return ChainFinding(last + 1, "slettet",
                                f"post {seq_range(last + 1, head[0])} mangler (slettet i slutningen af loggen)")
        if head[0] < last:
            return ChainFinding(head[0] + 1, "indsat", f"post {seq_range(head[0] + 1, last)} er tilføjet uden om "
                                                       f"tjenesten (kædens hoved er {head[0]})")
        if head[1] != self.prev_hash:
            return ChainFinding(last, "aendret", f"post {last} passer ikke med kædens hoved")
        return None

    def _checkpoint_finding(self) -> Optional[ChainFinding]:
        """A signed checkpoint beyond the end of the walk: records were cut off the end (and the head row)."""
        if self.checkpoints and max(self.checkpoints) > self.prev_seq:
            seq = max(self.checkpoints)
            return ChainFinding(self.prev_seq + 1, "slettet",
                                f"post {seq_range(self.prev_seq + 1, seq)} mangler: et signeret kontrolpunkt "
                                f"viser, at kæden havde {seq} poster (slettet i slutningen af loggen)")
        return None
