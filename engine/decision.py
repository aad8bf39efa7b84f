"""The decision as one typed, frozen record: what the engine decided and why.

Every output is rendered from a `Decision` at the edge (engine.api for the
HTTP body, engine.explain for the Danish narrative, the web view, the CLI
table, golden-case comparison, metrics); nothing downstream re-derives a
fact from text. Reasons are data (an enum plus the failed conditions, the
excluding rule, the need level against the offer's level), never sentences.
Two decisions are equal when every node is equal, which is how the cores
are compared at run time.

>>> c = ConditionResult("alder", ">=", 18, 16, False)
>>> c.opfyldt, c.personkreds is None
(False, True)
>>> v = OfferVerdict(OfferRef("ambulant", "Ambulant behandling", "ambulant", 3, "lov", Position("f.yaml", 3)),
...                  Verdict.IKKE_EGNET, failed=(c,), need=3, daekker_op_til=3)
>>> v.suitable, v.verdikt.value
(False, 'ikke_egnet')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Mapping, Optional

from engine.law import LegalRef
from engine.model import Source
from engine.problems import Position


class Verdict(str, Enum):
    """Why an offer of a present track was or was not chosen."""

    VALGT = "valgt"
    IKKE_EGNET = "ikke_egnet"  # its conditions do not hold for the citizen
    UDELUKKET = "udelukket"  # a restriction (usually the kommune's) excludes it
    DAEKKER_IKKE = "daekker_ikke_behovet"  # suitable, but below the assessed need
    IKKE_NOEDVENDIGT = "ikke_noedvendigt"  # a less intrusive (or equal, preferred) offer covers the need
    FOR_INDGRIBENDE = "for_indgribende"  # would only be chosen because a restriction removed the offer the law gives


class NotApplied(str, Enum):
    """Why a rule whose conditions hold still had no effect."""

    SPOR_IKKE_AKTUELT = "spor_ikke_aktuelt"
    KATEGORI_IKKE_ANBEFALET = "kategori_ikke_anbefalet"


class NoteCode(str, Enum):
    """What a note is; the words are made by engine.wording from the code and its data."""

    REGEL = "regel"  # an advarsel/oplysning written in a rule file
    FRIST_UDLOEBET = "frist_udloebet"
    INGEN_TILBUD = "ingen_tilbud"
    INGEN_ALTERNATIV = "ingen_alternativ"
    RET_IKKE_OPFYLDT = "ret_ikke_opfyldt"
    RET_KONFLIKT = "ret_konflikt"
    SKAL_TILBYDE = "skal_tilbyde"
    SKAL_TILBYDE_IKKE_ANBEFALET = "skal_tilbyde_ikke_anbefalet"


@dataclass(frozen=True, slots=True)
class OfferRef:
    """An offer as the decision names it."""

    id: str
    navn: str
    kategori: str
    niveau: int
    lag: str
    position: Position


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule (or right or precondition) as the trace names it; built once per version."""

    id: str
    kind: str
    lag: str
    position: Position
    beskrivelse: str
    kilde: Source
    gyldig_fra: date
    spor: Optional[str] = None
    navn: Optional[str] = None  # rights and preconditions have a name
    konklusion: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition as evaluated: what was expected, what was seen, whether it held.

    `personkreds` names the personkreds block the condition came from, when it
    is part of a provision's scope rather than of the block itself."""

    felt: str
    operator: str
    forventet: Any
    faktisk: Any
    opfyldt: bool
    dele: tuple["ConditionResult", ...] = ()
    personkreds: Optional[str] = None


@dataclass(frozen=True, slots=True)
class OfferVerdict:
    offer: OfferRef
    verdikt: Verdict
    failed: tuple[ConditionResult, ...] = ()
    excluded_by: Optional[RuleRef] = None
    need: int = 0
    daekker_op_til: int = 0
    preferred: Optional[OfferRef] = None  # ikke_noedvendigt / for_indgribende: the offer that made it unnecessary

    @property
    def suitable(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class RightOutcome:
    """A right the citizen holds in a track, and whether the recommendation honours it."""

    ref: RuleRef
    navn: str
    indhold: str
    citation: LegalRef
    spor: str
    opfyldt: bool


@dataclass(frozen=True, slots=True)
class TrackDecision:
    spor: str
    need: int
    need_set_by: tuple[RuleRef, ...]
    chosen: Optional[OfferRef]
    verdicts: tuple[OfferVerdict, ...]
    lovgrundlag: tuple[LegalRef, ...]
    rights: tuple[RightOutcome, ...] = ()
    #: Set when a restriction removed the offer the law gives and no alternative at
    #: most as intrusive exists: the case needs a professional assessment.
    no_alternative: Optional[RuleRef] = None


@dataclass(frozen=True, slots=True)
class RuleApplication:
    rule: RuleRef
    conditions: tuple[ConditionResult, ...]
    applied: bool
    not_applied: Optional[NotApplied] = None
    wanted: tuple[str, ...] = ()  # kategori_ikke_anbefalet: the categories the rule needs
    got: tuple[str, ...] = ()  # ... and those recommended in its track


@dataclass(frozen=True, slots=True)
class Deadline:
    type: str
    dato: date
    regnet_fra: date
    citation: LegalRef
    beskrivelse: str
    rule: RuleRef


@dataclass(frozen=True, slots=True)
class PreconditionOutcome:
    """A precondition added beside the treatment (e.g. afrusning)."""

    ref: RuleRef
    offer: OfferRef
    spor: str
    lovgrundlag: tuple[LegalRef, ...]
    conditions: tuple[ConditionResult, ...]


@dataclass(frozen=True, slots=True)
class Note:
    """An advarsel or oplysning. `tekst` is the rule file's own text (REGEL and the
    skal-tilbyde codes); everything else is words made from the code and data."""

    art: str  # "advarsel" or "oplysning"
    kode: NoteCode
    kilde: Optional[RuleRef] = None  # the rule or right it comes from
    tekst: Optional[str] = None
    citation: Optional[LegalRef] = None
    spor: Optional[str] = None
    offer: Optional[OfferRef] = None
    other: Optional[OfferRef] = None
    verdict: Optional[OfferVerdict] = None
    deadline: Optional[Deadline] = None
    need: int = 0


@dataclass(frozen=True, slots=True)
class VersionRef:
    navn: str
    version: str
    gyldig_fra: date
    sha256: str
    kommune: Optional[str] = None
    princip: Optional[str] = None
    #: The sha256 of the municipality's layer as in force in the version (engine.versions.kommune_layer_sha256).
    kommune_sha256: Optional[str] = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything an auditor needs to check a recommendation."""

    version: VersionRef
    fact: Mapping[str, Any]
    rusmidler: tuple[tuple[str, str], ...]
    henvendelsesdato: date
    vurderingsdato: date
    tracks: tuple[TrackDecision, ...]
    rules: tuple[RuleApplication, ...]
    deadlines: tuple[Deadline, ...]
    notes: tuple[Note, ...]
    preconditions: tuple[PreconditionOutcome, ...] = ()
    rights: tuple[RightOutcome, ...] = ()
    cores: tuple[str, ...] = ()

    def track(self, spor: str) -> Optional[TrackDecision]:
        return next((t for t in self.tracks if t.spor == spor), None)

    def lovgrundlag(self) -> tuple[LegalRef, ...]:
        """Every legal basis of the decision: the recommendations' and the deadlines'."""
        refs = [ref for t in self.tracks if t.chosen for ref in t.lovgrundlag]
        refs += [ref for p in self.preconditions for ref in p.lovgrundlag]
        refs += [d.citation for d in self.deadlines]
        return sort_legal(refs)

    def cited(self) -> tuple[LegalRef, ...]:
        """Every provision the decision cites anywhere (bases, deadlines, rights, notes)."""
        refs = list(self.lovgrundlag()) + [r.citation for r in self.rights] + [n.citation for n in self.notes if n.citation]
        return sort_legal(refs)

    def same_decision(self, other: "Decision") -> bool:
        """Equal in everything but which cores computed it."""
        from dataclasses import replace

        return replace(self, cores=()) == replace(other, cores=())


def sort_legal(refs: Any) -> tuple[LegalRef, ...]:
    return tuple(sorted(set(refs), key=lambda r: r.sort_key()))
