"""The rule language's guarantees (issue 9), on a small fixture rule set:
citations rendered from the law's history by date, personkreds that make a
citation impossible for people a provision does not cover, rights that ranking
cannot remove, preconditions beside the treatment, deadlines only with the
treatment their stk. covers, 'skal tilbyde' only beside the offer or its reason,
and restrictions that never escalate."""
from __future__ import annotations

from datetime import date

import pytest

from engine import Engine
from engine.decision import NoteCode, Verdict
from engine.wording import note_text
from support.paths import FIXTURES

SPROG = FIXTURES / "sprog"


@pytest.fixture(scope="module")
def law_engine() -> Engine:
    return Engine(SPROG, core="reference", today=lambda: date(2026, 11, 23))


@pytest.fixture(scope="module")
def kommune_engine() -> Engine:
    return Engine(SPROG, kommune="testkommune", today=lambda: date(2026, 11, 23))


def body(day: str, **extra):
    out = {"henvendelsesdato": day, "vurderingsdato": day, "alder": 40, "rusmidler": [], "dobbeltdiagnose": False,
           "boligsituation": "egen_bolig"}
    out.update(extra)
    return out


ALCOHOL = [{"stof": "alkohol", "grad": "skadeligt"}]
OPIOIDS = [{"stof": "opioider", "grad": "afhaengighed"}]


def test_citation_is_rendered_for_the_decision_date(law_engine):
    before = law_engine.decide(body("2015-12-31", rusmidler=ALCOHOL, oensker_anonymitet=True))
    after = law_engine.decide(body("2016-01-01", rusmidler=ALCOHOL, oensker_anonymitet=True))
    assert [r.citation.short() for r in before.rights] == ["SUL § 141, stk. 5"]
    assert [r.citation.short() for r in after.rights] == ["SUL § 141, stk. 7"]
    assert before.version.version != after.version.version  # the renumbering starts a version


def test_personkreds_removes_a_provision_for_people_it_does_not_cover(law_engine):
    housed = law_engine.decide(body("2020-03-01", rusmidler=[{"stof": "cannabis", "grad": "skadeligt"}], oensker_anonymitet=True))
    homeless = law_engine.decide(body("2020-03-01", rusmidler=[{"stof": "cannabis", "grad": "skadeligt"}], oensker_anonymitet=True,
                                      boligsituation="gade"))
    assert housed.track("behandling").chosen.id == "anonym-ambulant"
    assert any(r.paragraf == "101 a" for r in housed.cited())
    assert homeless.track("behandling").chosen.id == "ambulant"
    assert not any(r.paragraf == "101 a" for r in homeless.cited()), "no § 101 a for a homeless citizen, not even in a note"
    anonym = next(v for v in homeless.track("behandling").verdicts if v.offer.id == "anonym-ambulant")
    assert anonym.verdikt is Verdict.IKKE_EGNET
    assert {c.personkreds for c in anonym.failed} == {"personkreds-101a"}


def test_a_right_is_never_ranked_away_and_conflicts_are_named(law_engine):
    d = law_engine.decide(body("2020-03-01", rusmidler=ALCOHOL, oensker_anonymitet=True, tidligere_forloeb_uden_effekt=True,
                               boligsituation="gade", abstinensrisiko=True))
    behandling = d.track("behandling")
    assert behandling.chosen.id == "dagbehandling"
    assert [(r.ref.id, r.opfyldt) for r in behandling.rights] == [("anonym-alkohol", False)]
    codes = [n.kode for n in d.notes]
    assert NoteCode.RET_IKKE_OPFYLDT in codes
    conflicts = {n.spor for n in d.notes if n.kode is NoteCode.RET_KONFLIKT}
    assert conflicts == {"bolig", "medicinsk"}  # housing, and afrusning beside the treatment
    text = " ".join(note_text(n) for n in d.notes)
    assert "Sundhedsloven § 141, stk. 7" in text


def test_a_right_holds_whatever_else_the_citizen_has(law_engine):
    d = law_engine.decide(body("2020-03-01", rusmidler=ALCOHOL, oensker_anonymitet=True, andre_sociale_problemer=True,
                               dobbeltdiagnose=True))
    assert [(r.ref.id, r.opfyldt) for r in d.rights] == [("anonym-alkohol", True)]
    assert "SUL § 141, stk. 7" in [r.short() for r in d.track("behandling").lovgrundlag]


def test_a_precondition_is_added_beside_the_treatment_never_instead(law_engine):
    d = law_engine.decide(body("2020-03-01", rusmidler=OPIOIDS, abstinensrisiko=True))
    assert d.track("medicinsk").chosen.id == "substitution"
    assert [p.offer.id for p in d.preconditions] == ["afrusning"]


def test_a_deadline_applies_only_with_the_treatment_its_stk_covers(law_engine):
    cannabis = law_engine.decide(body("2020-03-01", rusmidler=[{"stof": "cannabis", "grad": "skadeligt"}]))
    opioids = law_engine.decide(body("2020-03-01", rusmidler=OPIOIDS))
    assert cannabis.track("medicinsk").chosen.id == "laegesamtale"
    assert [x.citation.short() for x in cannabis.deadlines] == []
    assert [x.citation.short() for x in opioids.deadlines] == ["SUL § 142, stk. 6"]


def test_skal_tilbyde_only_beside_the_offer_or_with_the_reason_it_is_not(law_engine):
    recommended = law_engine.decide(body("2020-03-01", rusmidler=ALCOHOL, gravid=True))
    explained = law_engine.decide(body("2020-03-01", rusmidler=ALCOHOL, gravid=True, dobbeltdiagnose=True))
    [note] = [n for n in recommended.notes if n.kode in (NoteCode.SKAL_TILBYDE, NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET)]
    assert note.kode is NoteCode.SKAL_TILBYDE and recommended.track("behandling").chosen.id == "doegn-kontrakt"
    [note] = [n for n in explained.notes if n.kode in (NoteCode.SKAL_TILBYDE, NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET)]
    assert note.kode is NoteCode.SKAL_TILBYDE_IKKE_ANBEFALET and note.verdict is not None
    assert "anbefales dog ikke her" in note_text(note) and "dobbeltdiagnose" in note_text(note)


def test_a_restriction_never_escalates_it_says_ingen_egnet_alternativ(kommune_engine):
    young = kommune_engine.decide(body("2020-03-01", alder=22, boligsituation="gade", akut_behov=True))
    older = kommune_engine.decide(body("2020-03-01", alder=30, boligsituation="gade", akut_behov=True))
    assert older.track("bolig").chosen.id == "forsorgshjem"
    bolig = young.track("bolig")
    assert bolig.chosen is None and bolig.no_alternative is not None
    assert next(v for v in bolig.verdicts if v.offer.id == "botilbud").verdikt is Verdict.FOR_INDGRIBENDE
    assert any("Ingen egnet alternativ; faglig vurdering" in note_text(n) for n in young.notes)


def test_an_unrelated_restriction_leaves_the_law_pick(kommune_engine):
    d = kommune_engine.decide(body("2020-03-01", alder=22, boligsituation="gade"))
    assert d.track("bolig").chosen.id == "samvaer"
