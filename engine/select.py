"""Stage 6, select: the least intrusive suitable offer per track, as a typed Decision.

Given which blocks hold (from any core), this decides the assessed need per
track (the highest `mindst_indgrebsniveau` among the rules that hold), walks
each track's offers from least to most intrusive and takes the first that is
suitable, not excluded and covers the need. Three guarantees are built in:

- a restriction (kommune `udeluk`) never makes a recommendation more intrusive
  than the law alone would give; if no alternative at most as intrusive exists,
  the track says so ("ingen egnet alternativ; faglig vurdering");
- preconditions (afrusning) are added beside the treatment, never chosen instead;
- rights the citizen holds are attached to their track whatever is chosen, and
  a conflict with another track or an unmet right becomes an advarsel.

Every other offer gets a verdict with its reason as data. No Danish is written
here; engine.wording makes the words.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable, NamedTuple, Optional

from engine.compile import CompiledVersion
from engine.decision import (
    ConditionResult,
    Deadline,
    Decision,
    NotApplied,
    Note,
    NoteCode,
    OfferRef,
    OfferVerdict,
    PreconditionOutcome,
    RightOutcome,
    RuleApplication,
    RuleRef,
    TrackDecision,
    Verdict,
    VersionRef,
    sort_legal,
)
from engine.law import LegalRef
from engine.model import SPOR_ORDER, Offer, Precondition, Right, Rule


class Choice(NamedTuple):
    """The decision itself, without any trace: the one place that applies the
    mindste indgrebs princip. `select` explains it; the bulk evaluator is proved
    equal to it."""

    fired_rules: list[int]  # rule indices that hold, in trace order
    need: dict[str, int]  # track -> assessed need level
    excluded: dict[int, int]  # offer index -> index of the rule that excluded it
    picks: dict[str, Optional[int]]  # track -> chosen offer index (None: nothing suits)
    law_picks: dict[str, Optional[int]]  # track -> the pick with no restriction applied
    fired_preconditions: list[int]


def choose(compiled: CompiledVersion, fired_set: set[int]) -> Choice:
    items = compiled.items
    fired_rules = [i for i in compiled.rule_order if i in fired_set]
    need: dict[str, int] = {}
    for i in fired_rules:
        rule: Rule = items[i]  # type: ignore[assignment]
        if rule.min_niveau is not None and rule.spor is not None:
            need[rule.spor] = max(need.get(rule.spor, 0), rule.min_niveau)
    excluded: dict[int, int] = {}
    for i in fired_rules:
        rule = items[i]  # type: ignore[assignment]
        if rule.spor in need and (rule.udeluk_kategori or rule.udeluk_tilbud):
            for j in compiled.ladders[rule.spor]:
                offer: Offer = items[j]  # type: ignore[assignment]
                if offer.kategori == rule.udeluk_kategori or offer.id == rule.udeluk_tilbud:
                    excluded.setdefault(j, i)
    picks: dict[str, Optional[int]] = {}
    law_picks: dict[str, Optional[int]] = {}
    for spor, level in need.items():
        honours = _honours(compiled, fired_set, spor)
        law_pick = _first(compiled, _candidates(compiled, fired_set, {}, spor, level, 99), honours)
        ceiling = items[law_pick].niveau if law_pick is not None else 99  # type: ignore[union-attr]
        picks[spor] = _first(compiled, _candidates(compiled, fired_set, excluded, spor, level, ceiling), honours)
        law_picks[spor] = law_pick
    fired_preconditions = [i for i in compiled.preconditions if i in fired_set]
    return Choice(fired_rules, need, excluded, picks, law_picks, fired_preconditions)


def _candidates(compiled: CompiledVersion, fired_set: set[int], excluded: dict[int, int], spor: str, level: int, ceiling: int) -> list[int]:
    """The track's offers, in ladder order, that suit the citizen, are not excluded, cover
    the need and are at most as intrusive as `ceiling`."""
    items = compiled.items
    return [j for j in compiled.ladders[spor] if j in fired_set and j not in excluded and items[j].daekker_op_til >= level  # type: ignore[union-attr]
            and items[j].niveau <= ceiling]  # type: ignore[union-attr]


def ladder_ties(compiled: CompiledVersion, fired_set: set[int], choice: Choice) -> dict[str, list[int]]:
    """Per track, the offers the pick was chosen from by the ladder's order alone: the pick
    first, then every other candidate of its level that honours as many of the citizen's
    rights. More than one means `foretraekkes_frem_for` (or, when the files say nothing,
    the id) decided (for `rules check`)."""
    out: dict[str, list[int]] = {}
    for spor, level in choice.need.items():
        law_pick = choice.law_picks[spor]
        ceiling = compiled.items[law_pick].niveau if law_pick is not None else 99  # type: ignore[union-attr]
        out[spor] = _tied(compiled, _candidates(compiled, fired_set, choice.excluded, spor, level, ceiling),
                          _honours(compiled, fired_set, spor))
    return out


def _honours(compiled: CompiledVersion, fired_set: set[int], spor: str) -> Callable[[int], int]:
    """How many of the citizen's rights in the track an offer honours (for the tie-break)."""
    rights = [compiled.effective[i].categories for i in compiled.rights if i in fired_set and compiled.items[i].spor == spor]
    if not rights:
        return lambda j: 0
    def honoured(j: int) -> int:
        kategori: str = compiled.items[j].kategori  # type: ignore[union-attr]
        return len([cats for cats in rights if not cats or kategori in cats])

    return honoured


def _first(compiled: CompiledVersion, candidates: list[int], honours: Callable[[int], int]) -> Optional[int]:
    """The least intrusive candidate; between offers of the same level, the one that honours
    more of the citizen's rights, then the ladder's order (`foretraekkes_frem_for`, then id;
    `rules check` reports a tie the files leave to the id as an error)."""
    tied = _tied(compiled, candidates, honours)
    return tied[0] if tied else None


def _tied(compiled: CompiledVersion, candidates: list[int], honours: Callable[[int], int]) -> list[int]:
    """The candidates of the lowest level that honour the most rights, in ladder order."""
    if not candidates:
        return []
    level = compiled.items[candidates[0]].niveau  # type: ignore[union-attr]
    same = [j for j in candidates if compiled.items[j].niveau == level]  # type: ignore[union-attr]
    counts = [honours(j) for j in same]
    best = max(counts)
    return [j for j, n in zip(same, counts) if n == best]


def _no_trace(fact: dict[str, Any]) -> tuple[ConditionResult, ...]:
    return ()


class _NoTrace:
    """Stands in for `compiled.condition_results` when no trace is wanted."""

    def __getitem__(self, i: int) -> Callable[[dict[str, Any]], tuple[ConditionResult, ...]]:
        return _no_trace


_NO_TRACE = _NoTrace()
Results = Any  # compiled.condition_results, _NO_TRACE, or _Traces


class _Traces:
    """`compiled.condition_results`, remembered per block and per value of the fields the
    block's conditions read: a block's trace is a pure function of those values, and the
    same few values recur across decisions (an age band, a grade), so the trace entries
    are built once and shared (they are frozen)."""

    LIMIT = 256  # remembered value combinations per block before the block starts afresh (bounded memory in a server)

    def __init__(self, compiled: CompiledVersion):
        self._results = compiled.condition_results
        self._fields = [tuple(sorted({f for c, _ in eff.conditions for f in _fields_of(c)})) for eff in compiled.effective]
        self._memo: list[dict[tuple[Any, ...], tuple[ConditionResult, ...]]] = [{} for _ in compiled.effective]
        self._functions = [self._remembering(i) for i in range(len(compiled.effective))]

    def _remembering(self, i: int) -> Callable[[dict[str, Any]], tuple[ConditionResult, ...]]:
        fields, memo, compute = self._fields[i], self._memo[i], self._results[i]

        def traced(fact: dict[str, Any]) -> tuple[ConditionResult, ...]:
            key = tuple([fact[f] for f in fields])
            found = memo.get(key)
            if found is None:
                if len(memo) >= self.LIMIT:
                    memo.clear()
                found = memo[key] = compute(fact)
            return found

        return traced

    def __getitem__(self, i: int) -> Callable[[dict[str, Any]], tuple[ConditionResult, ...]]:
        return self._functions[i]


def _fields_of(node: Any) -> set[str]:
    if hasattr(node, "items"):  # en_af
        return {f for n in node.items for f in _fields_of(n)}
    return {node.felt}


def _traces(compiled: CompiledVersion) -> _Traces:
    traces = compiled.memo.get("select_traces")
    if traces is None:
        traces = compiled.memo["select_traces"] = _Traces(compiled)
    return traces


class _Shared:
    """Equal verdicts and rule applications built once and shared between decisions (they are
    frozen). Keyed by what they are made of; a trace tuple is keyed by identity and kept beside
    its object, so an id is never reused while it is a key."""

    LIMIT = 20_000

    def __init__(self) -> None:
        self.objects: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def get(self, key: tuple[Any, ...], trace: Any, make: Callable[[], Any]) -> Any:
        found = self.objects.get(key)
        if found is None or found[0] is not trace:
            if len(self.objects) >= self.LIMIT:
                self.objects.clear()
            found = self.objects[key] = (trace, make())
        return found[1]


def _shared(compiled: CompiledVersion) -> _Shared:
    shared = compiled.memo.get("select_shared")
    if shared is None:
        shared = compiled.memo["select_shared"] = _Shared()
    return shared


def _verdicts(compiled: CompiledVersion, fact: dict[str, Any], fired_set: set[int], choice: Choice, spor: str,
              results: Results) -> tuple[OfferVerdict, ...]:
    items, refs = compiled.items, compiled.offer_refs
    shared = _shared(compiled)
    level = choice.need[spor]
    pick, law_pick = choice.picks[spor], choice.law_picks[spor]
    out: list[OfferVerdict] = []
    seen_pick = False
    for j in compiled.ladders[spor]:
        offer: Offer = items[j]  # type: ignore[assignment]
        ref = refs[j]
        if j == pick:
            seen_pick = True
            out.append(shared.get(("valgt", j, level), None,
                                  lambda: OfferVerdict(ref, Verdict.VALGT, need=level, daekker_op_til=offer.daekker_op_til)))  # noqa: B023
            continue
        if seen_pick:
            out.append(shared.get(("unoedvendig", j, level, pick), None,
                                  lambda: OfferVerdict(ref, Verdict.IKKE_NOEDVENDIGT, need=level, daekker_op_til=offer.daekker_op_til,  # noqa: B023
                                                       preferred=refs[pick])))  # type: ignore[index]  # noqa: B023
            continue
        failed: tuple[ConditionResult, ...] = ()
        trace: Any = None
        verdict: Optional[Verdict] = None
        by = choice.excluded.get(j)
        if by is not None:
            verdict = Verdict.UDELUKKET
        if j not in fired_set:
            trace = results[j](fact)
            failed = shared.get(("failed", j, id(trace)), trace, lambda: tuple(r for r in trace if not r.opfyldt))  # noqa: B023
            verdict = verdict or Verdict.IKKE_EGNET
        if offer.daekker_op_til < level:
            verdict = verdict or Verdict.DAEKKER_IKKE
        preferred = None
        if verdict is None and pick is not None and offer.niveau == items[pick].niveau:  # type: ignore[union-attr]
            verdict, preferred = Verdict.IKKE_NOEDVENDIGT, refs[pick]  # same level; the tie-break preferred the pick
        elif verdict is None:  # suitable and covering, but above what the law alone would give
            verdict = Verdict.FOR_INDGRIBENDE
            preferred = refs[law_pick] if law_pick is not None else None
        key = ("verdict", j, verdict, id(trace), by, level, preferred.id if preferred is not None else None)
        out.append(shared.get(key, trace, lambda: OfferVerdict(ref, verdict, failed, compiled.refs[by] if by is not None else None,  # noqa: B023
                                                               level, offer.daekker_op_til, preferred)))  # noqa: B023
    return tuple(out)


class _Context(NamedTuple):
    compiled: CompiledVersion
    fact: dict[str, Any]
    fired_set: set[int]
    choice: Choice
    chosen: dict[str, OfferRef]
    recommended: dict[str, set[str]]  # track -> categories recommended there (offer and preconditions)
    preconditions: list[PreconditionOutcome]
    results: Results


def _cite(compiled: CompiledVersion, pid: Optional[str]) -> Optional[LegalRef]:
    return compiled.version.citations.get(pid) if pid else None


class _RulePlan(NamedTuple):
    """What `select` reads of a rule, looked up once per version instead of once per decision."""

    ref: RuleRef
    spor: Optional[str]
    categories: tuple[str, ...]
    category_set: frozenset[str]
    wanted: tuple[str, ...]  # the categories as a caseworker is told (without the never-matching marker)
    legal: tuple[LegalRef, ...]
    frist: Optional[tuple[str, timedelta, bool, LegalRef, str]]  # type, days, from henvendelsesdato, citation, description
    citation: Optional[LegalRef]  # the note's
    advarsel: Optional[str]
    oplysning: Optional[str]
    must_offer: bool


class _Plan(NamedTuple):
    rules: dict[int, _RulePlan]
    offer_legal: dict[int, tuple[LegalRef, ...]]
    precondition_legal: dict[int, tuple[LegalRef, ...]]


def _plan(compiled: CompiledVersion) -> _Plan:
    plan = compiled.memo.get("select_plan")
    if plan is None:
        citations = compiled.version.citations
        rules: dict[int, _RulePlan] = {}
        for i, item in enumerate(compiled.items):
            if not isinstance(item, Rule):
                continue
            categories = compiled.effective[i].categories
            f = item.frist
            rules[i] = _RulePlan(
                compiled.refs[i], item.spor, categories, frozenset(categories), tuple(c for c in categories if c != "__ingen__"),
                tuple(citations[p] for p in item.lovgrundlag),
                None if f is None else (f.type, timedelta(days=f.dage), f.fra == "henvendelsesdato", citations[f.lovgrundlag], f.beskrivelse),
                _cite(compiled, item.note_citation()), item.advarsel, item.oplysning, item.skal_tilbyde is not None)
        offer_legal = {i: tuple(citations[p] for p in item.lovgrundlag) for i, item in enumerate(compiled.items) if isinstance(item, Offer)}
        precondition_legal = {i: sort_legal(citations[p] for p in compiled.items[i].lovgrundlag)  # type: ignore[union-attr]
                              for i in compiled.preconditions}
        plan = _Plan(rules, offer_legal, precondition_legal)
        compiled.memo["select_plan"] = plan
    return plan


_SORT_KEYS: dict[LegalRef, tuple[Any, ...]] = {}


def _legal_key(ref: LegalRef) -> tuple[Any, ...]:
    key = _SORT_KEYS.get(ref)
    if key is None:
        key = _SORT_KEYS[ref] = ref.sort_key()
    return key


def _sorted_legal(refs: list[LegalRef]) -> tuple[LegalRef, ...]:
    """engine.decision.sort_legal, with each citation's sort key computed once per process."""
    return tuple(sorted(set(refs), key=_legal_key))


_APPLIED: tuple[None, tuple[str, ...], tuple[str, ...]] = (None, (), ())
_TRACK_ABSENT: tuple[NotApplied, tuple[str, ...], tuple[str, ...]] = (NotApplied.SPOR_IKKE_AKTUELT, (), ())


def _not_applied(ctx: _Context, rule: _RulePlan) -> tuple[Optional[NotApplied], tuple[str, ...], tuple[str, ...]]:
    spor = rule.spor
    if spor is not None and spor not in ctx.recommended:
        return _TRACK_ABSENT
    if rule.categories:
        got = ctx.recommended.get(spor, set()) if spor else set().union(*ctx.recommended.values()) if ctx.recommended else set()
        if got.isdisjoint(rule.category_set):
            return NotApplied.KATEGORI_IKKE_ANBEFALET, rule.wanted, tuple(sorted(got))
    return _APPLIED


def _must_offer_note(ctx: _Context, i: int, tracks: dict[str, TrackDecision]) -> Note:
    rule: Rule = ctx.compiled.items[i]  # type: ignore[assignment]
    assert rule.skal_tilbyde is not None and rule.spor is not None
    ref, citation = ctx.compiled.refs[i], _cite(ctx.compiled, rule.note_citation())
    chosen = ctx.chosen.get(rule.spor)
    if chosen is not None and chosen.id == rule.skal_tilbyde.tilbud:
        return Note("advarsel", NoteCode.SKAL_TILBYDE, ref, rule.skal_tilbyde.tekst, citation, rule.spor, chosen)
    track = tracks.get(rule.spor)
    verdict = next((v for v in (track.verdicts if track else ()) if v.offer.id == rule.skal_tilbyde.tilbud), None)
    return Note("advarsel", NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET, ref, rule.skal_tilbyde.tekst, citation, rule.spor,
                verdict.offer if verdict else None, chosen, verdict)


def _apply_rules(ctx: _Context, tracks: dict[str, TrackDecision], henvendelsesdato: date, vurderingsdato: date
                 ) -> tuple[list[RuleApplication], dict[str, list[LegalRef]], list[Deadline], list[Note]]:
    plan = _plan(ctx.compiled).rules
    applications: list[RuleApplication] = []
    legal: dict[str, list[LegalRef]] = {s: [] for s in tracks}
    deadlines: list[Deadline] = []
    notes: list[Note] = []
    results, fact = ctx.results, ctx.fact
    shared = _shared(ctx.compiled)
    for i in ctx.choice.fired_rules:
        rule = plan[i]
        ref = rule.ref
        why, wanted, got = _not_applied(ctx, rule)
        trace = results[i](fact)
        applications.append(shared.get(("rule", i, id(trace), why, got), trace,
                                       lambda: RuleApplication(ref, trace, why is None, why, wanted, got)))  # noqa: B023
        if why is not None:
            continue
        if rule.legal and rule.spor in legal:
            legal[rule.spor].extend(rule.legal)
        if rule.frist is not None:
            kind, days, from_henvendelse, citation, text = rule.frist
            start = henvendelsesdato if from_henvendelse else vurderingsdato
            deadlines.append(Deadline(kind, start + days, start, citation, text, ref))
        if rule.advarsel:
            notes.append(Note("advarsel", NoteCode.REGEL, ref, rule.advarsel, rule.citation, rule.spor))
        if rule.oplysning:
            notes.append(Note("oplysning", NoteCode.REGEL, ref, rule.oplysning, rule.citation, rule.spor))
        if rule.must_offer:
            notes.append(_must_offer_note(ctx, i, tracks))
    return applications, legal, deadlines, notes


def _rights(ctx: _Context, tracks: dict[str, TrackDecision]) -> tuple[list[RightOutcome], list[Note]]:
    compiled = ctx.compiled
    outcomes: list[RightOutcome] = []
    notes: list[Note] = []
    for i in compiled.rights:
        if i not in ctx.fired_set:
            continue
        right: Right = compiled.items[i]  # type: ignore[assignment]
        ref = compiled.refs[i]
        citation = compiled.version.citations[right.kilde.bestemmelse]  # type: ignore[index]
        chosen = ctx.chosen.get(right.spor)
        categories = compiled.effective[i].categories
        met = chosen is not None and (not categories or chosen.kategori in categories)
        outcomes.append(RightOutcome(ref, right.navn, right.indhold, citation, right.spor, met))
        if not met:
            notes.append(Note("advarsel", NoteCode.RET_IKKE_OPFYLDT, ref, right.indhold, citation, right.spor, chosen))
        for conflict in right.konflikter:
            other = tracks.get(conflict.spor)
            offers = [other.chosen] if other is not None and other.chosen else []
            offers += [p.offer for p in _preconditions_in(ctx, conflict.spor)]
            hit = next((o for o in offers if not conflict.kategorier or o.kategori in conflict.kategorier), None)
            if hit is not None:
                notes.append(Note("advarsel", NoteCode.RET_KONFLIKT, ref, conflict.tekst, citation, conflict.spor, hit))
    return outcomes, notes


def _preconditions_in(ctx: _Context, spor: str) -> list[PreconditionOutcome]:
    return [p for p in ctx.preconditions if p.spor == spor]


def _precondition_outcomes(compiled: CompiledVersion, fact: dict[str, Any], choice: Choice, results: Results) -> list[PreconditionOutcome]:
    out = []
    legal = _plan(compiled).precondition_legal
    for i in choice.fired_preconditions:
        pre: Precondition = compiled.items[i]  # type: ignore[assignment]
        out.append(PreconditionOutcome(compiled.refs[i], compiled.offer_refs[i], pre.spor, legal[i], results[i](fact)))
    return out


def _dedupe_deadlines(deadlines: list[Deadline], vurderingsdato: date) -> tuple[list[Deadline], list[Note]]:
    seen: set[tuple[str, LegalRef]] = set()
    unique: list[Deadline] = []
    notes: list[Note] = []
    for d in sorted(deadlines, key=lambda d: (d.dato, d.type, d.citation.sort_key())):
        key = (d.type, d.citation)
        if key in seen:
            continue
        seen.add(key)
        unique.append(d)
        if d.dato < vurderingsdato:
            notes.append(Note("advarsel", NoteCode.FRIST_UDLOEBET, d.rule, None, d.citation, d.rule.spor, deadline=d))
    return unique, notes


def _unique_notes(notes: list[Note]) -> tuple[Note, ...]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for n in notes:
        key = (n.art, n.kode, n.tekst, n.citation, n.spor, n.offer.id if n.offer else None, n.kilde.id if n.kilde else None)
        if key not in seen:
            seen.add(key)
            out.append(n)
    return tuple(out)


def version_ref(compiled: CompiledVersion) -> VersionRef:
    memo = compiled.memo.get("version_ref")
    if memo is None:
        v = compiled.version
        princip = next((la.princip for la in v.layers if la.kommune and la.princip), None)
        memo = VersionRef(v.navn, v.version, v.gyldig_fra, v.sha256, v.kommune, princip, v.kommune_sha256)
        compiled.memo["version_ref"] = memo
    return memo


def select(compiled: CompiledVersion, fact: dict[str, Any], fired: list[int], henvendelsesdato: date, vurderingsdato: date,
           rusmidler: tuple[tuple[str, str], ...] = (), core: str = "", trace: bool = True, choice: Optional[Choice] = None) -> Decision:
    """The typed decision for the blocks that hold. `trace=False` leaves out the
    per-condition trace (every `conditions`/`failed` is empty): the same decision,
    for the bulk tools, where nothing may depend on the fact beyond the fired set.
    `choice` is `choose(compiled, set(fired))` when the caller already has it."""
    fired_set = set(fired)
    if choice is None:
        choice = choose(compiled, fired_set)
    results: Results = _traces(compiled) if trace else _NO_TRACE
    preconditions = _precondition_outcomes(compiled, fact, choice, results)
    chosen = {s: compiled.offer_refs[p] for s, p in choice.picks.items() if p is not None}
    recommended: dict[str, set[str]] = {s: ({chosen[s].kategori} if s in chosen else set()) for s in choice.need}
    for p in preconditions:
        recommended.setdefault(p.spor, set()).add(p.offer.kategori)
    ctx = _Context(compiled, fact, fired_set, choice, chosen, recommended, preconditions, results)

    tracks: dict[str, TrackDecision] = {}
    for spor in SPOR_ORDER:
        if spor not in choice.need:
            continue
        level = choice.need[spor]
        setters = tuple(compiled.refs[i] for i in choice.fired_rules
                        if compiled.items[i].spor == spor and compiled.items[i].min_niveau == level)  # type: ignore[union-attr]
        pick, law_pick = choice.picks[spor], choice.law_picks[spor]
        blocked = None
        if pick is None and law_pick is not None and law_pick in choice.excluded:
            blocked = compiled.refs[choice.excluded[law_pick]]
        tracks[spor] = TrackDecision(spor, level, setters, chosen.get(spor), _verdicts(compiled, fact, fired_set, choice, spor, results), (),
                                     (), blocked)

    applications, legal, deadlines, notes = _apply_rules(ctx, tracks, henvendelsesdato, vurderingsdato)
    rights, right_notes = _rights(ctx, tracks)
    unique_deadlines, deadline_notes = _dedupe_deadlines(deadlines, vurderingsdato)
    track_notes: list[Note] = []
    final: list[TrackDecision] = []
    offer_legal = _plan(compiled).offer_legal
    for spor, t in tracks.items():
        track_rights = tuple(r for r in rights if r.spor == spor)
        refs = legal[spor] + [r.citation for r in track_rights if r.opfyldt]
        if t.chosen is not None:
            refs += offer_legal[choice.picks[spor]]  # type: ignore[index]
        final.append(TrackDecision(t.spor, t.need, t.need_set_by, t.chosen, t.verdicts, _sorted_legal(refs), track_rights, t.no_alternative))
        if t.chosen is None:
            law_pick = choice.law_picks[spor]
            if t.no_alternative is not None:
                track_notes.append(Note("advarsel", NoteCode.INGEN_ALTERNATIV, t.no_alternative, None, None, spor,
                                        compiled.offer_refs[law_pick] if law_pick is not None else None, need=t.need))
            else:
                track_notes.append(Note("advarsel", NoteCode.INGEN_TILBUD, None, None, None, spor, need=t.need))
    return Decision(
        version_ref(compiled), fact, rusmidler, henvendelsesdato, vurderingsdato, tuple(final), tuple(applications),
        tuple(unique_deadlines), _unique_notes(notes + right_notes + deadline_notes + track_notes), tuple(preconditions),
        tuple(rights), (core,) if core else (),
    )
