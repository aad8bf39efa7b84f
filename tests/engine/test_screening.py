"""The one validation boundary: bad input never crashes, every problem names its
field in Danish, dates are ISO text within the engine's range, a henvendelse
cannot lie in the future, and no CPR number gets through or is ever repeated."""
from __future__ import annotations

from datetime import date

import pytest

from engine import ScreeningInvalid, parse_screening
from engine.screening import MAX_PROBLEMS, looks_like_cpr

GOOD = {"henvendelsesdato": "2026-11-02", "alder": 34, "rusmidler": [], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}
TODAY = date(2026, 11, 23)


def _fields(body, today=None):
    with pytest.raises(ScreeningInvalid) as caught:
        parse_screening(body, today=today)
    return {p.felt: p.besked for p in caught.value.problems}


def test_good_minimal_screening_is_accepted():
    assert parse_screening(GOOD).alder == 34


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"alder": 121}, "alder", "mellem 0 og 120"),
        ({"alder": "34"}, "alder", "helt tal"),
        ({"alder": 34.0}, "alder", "helt tal"),
        ({"alder": 10**4300}, "alder", "mellem 0 og 120"),
        ({"rusmidler": [{"stof": "alkohl", "grad": "skadeligt"}]}, "rusmidler[0].stof", "mente du 'alkohol'"),
        ({"rusmidler": [{"stof": "alkohol", "grad": "afhængig"}]}, "rusmidler[0].grad", "mente du 'afhaengighed'"),
        ({"rusmidler": [{"stof": "alkohol"}]}, "rusmidler[0].grad", "mangler"),
        ({"boligsituation": "hjemløs"}, "boligsituation", "tilladt"),
        ({"dobbeltdiagnose": "ja"}, "dobbeltdiagnose", "true eller false"),
        ({"henvendelsesdato": "2.11.2026"}, "henvendelsesdato", "ÅÅÅÅ-MM-DD"),
        ({"henvendelsesdato": 1762041600}, "henvendelsesdato", "ÅÅÅÅ-MM-DD"),
        ({"henvendelsesdato": "2006-12-31"}, "henvendelsesdato", "mellem 2007-01-01 og 2100-12-31"),
        ({"vurderingsdato": "9999-12-31"}, "vurderingsdato", "mellem 2007-01-01 og 2100-12-31"),
        ({"vurderingsdato": "2026-11-01"}, "vurderingsdato", "før henvendelsesdato"),
        ({"gravidd": True}, "gravidd", "mente du 'gravid'"),
        ({"rusmidler": [{"stof": "alkohol", "grad": "skadeligt"}, {"stof": "alkohol", "grad": "afhaengighed"}]}, "rusmidler", "mere end én gang"),
        ({"rusmidler": "alkohol"}, "rusmidler", "liste"),
    ],
)
def test_problem_names_the_field(change, field, words):
    problems = _fields({**GOOD, **change})
    assert field in problems, problems
    assert words in problems[field]


def test_a_henvendelse_in_the_future_without_a_vurderingsdato_is_refused():
    problems = _fields({**GOOD, "henvendelsesdato": "2027-01-05"}, today=TODAY)
    assert "henvendelsesdato" in problems and "fremtiden" in problems["henvendelsesdato"]
    # A planned assessment names its own vurderingsdato.
    assert parse_screening({**GOOD, "henvendelsesdato": "2027-01-05", "vurderingsdato": "2027-01-06"}, today=TODAY)


def test_missing_required_fields_are_all_named():
    assert {"henvendelsesdato", "alder", "rusmidler", "dobbeltdiagnose", "boligsituation"} <= set(_fields({}))


def test_thousands_of_unknown_keys_give_a_short_answer():
    with pytest.raises(ScreeningInvalid) as caught:
        parse_screening({**GOOD, **{f"x{i}": i for i in range(30_000)}})
    assert len(caught.value.problems) == MAX_PROBLEMS + 1
    assert caught.value.total == 30_000
    assert "29980 problemer mere" in caught.value.problems[-1].besked


@pytest.mark.parametrize("reference", [
    "300203-1234", "3002031234", "sag 300203-1234 x", "310287 4411", "31 02 87 44 11", "310287/4411", "310287.4411",
    "310287\u20134411", "310287\u00a04411", "310287\u00ad4411", "310287\u200b4411", "310287_4411", "³¹⁰²⁸⁷⁴⁴¹¹",
])
def test_cpr_like_reference_is_refused_and_never_repeated(reference):
    with pytest.raises(ScreeningInvalid) as caught:
        parse_screening({**GOOD, "borger_reference": reference})
    text = str(caught.value) + "".join(p.besked + p.felt for p in caught.value.problems)
    assert "borger_reference" in {p.felt for p in caught.value.problems}
    assert "4411" not in text and "1234" not in text


def test_a_cpr_number_sent_in_another_field_is_not_echoed():
    problems = _fields({**GOOD, "boligsituation": "310287-4411", "310287-4411": True})
    assert "4411" not in str(problems)


@pytest.mark.parametrize("reference", ["sag-2026-0042", "j.nr. 2026-1234", "990387-4411"])
def test_ordinary_references_pass(reference):
    assert not looks_like_cpr(reference)
    assert parse_screening({**GOOD, "borger_reference": reference}).borger_reference == reference


def test_not_an_object():
    with pytest.raises(ScreeningInvalid):
        parse_screening([1, 2])
