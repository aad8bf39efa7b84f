"""Bad input never crashes: every problem names its field, in Danish."""
from __future__ import annotations

import pytest

from engine import ScreeningInvalid, parse_screening

GOOD = {"henvendelsesdato": "2026-11-02", "alder": 34, "rusmidler": [], "dobbeltdiagnose": False, "boligsituation": "egen_bolig"}


def _fields(body):
    with pytest.raises(ScreeningInvalid) as caught:
        parse_screening(body)
    return {p.felt: p.besked for p in caught.value.problems}


def test_good_minimal_screening_is_accepted():
    assert parse_screening(GOOD).alder == 34


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"alder": 121}, "alder", "mellem 0 og 120"),
        ({"alder": "34"}, "alder", "helt tal"),
        ({"rusmidler": [{"stof": "alkohl", "grad": "skadeligt"}]}, "rusmidler[0].stof", "mente du 'alkohol'"),
        ({"rusmidler": [{"stof": "alkohol", "grad": "afhængig"}]}, "rusmidler[0].grad", "mente du 'afhaengighed'"),
        ({"rusmidler": [{"stof": "alkohol"}]}, "rusmidler[0].grad", "mangler"),
        ({"boligsituation": "hjemløs"}, "boligsituation", "tilladt"),
        ({"dobbeltdiagnose": "ja"}, "dobbeltdiagnose", "true eller false"),
        ({"henvendelsesdato": "2.11.2026"}, "henvendelsesdato", "ÅÅÅÅ-MM-DD"),
        ({"vurderingsdato": "2026-11-01"}, "vurderingsdato", "før henvendelsesdato"),
        ({"gravidd": True}, "gravidd", "mente du 'gravid'"),
        ({"rusmidler": [{"stof": "alkohol", "grad": "skadeligt"}, {"stof": "alkohol", "grad": "afhaengighed"}]}, "rusmidler", "mere end én gang"),
    ],
)
def test_problem_names_the_field(change, field, words):
    problems = _fields({**GOOD, **change})
    assert field in problems, problems
    assert words in problems[field]


def test_missing_required_fields_are_all_named():
    problems = _fields({})
    assert {"henvendelsesdato", "alder", "rusmidler", "dobbeltdiagnose", "boligsituation"} <= set(problems)


@pytest.mark.parametrize("reference", ["010203-1234", "0102031234", "sag 010203-1234 x"])
def test_cpr_like_reference_is_refused_and_never_repeated(reference):
    with pytest.raises(ScreeningInvalid) as caught:
        parse_screening({**GOOD, "borger_reference": reference})
    text = str(caught.value) + "".join(p.besked for p in caught.value.problems)
    assert "borger_reference" in {p.felt for p in caught.value.problems}
    assert reference not in text and "1234" not in text


def test_not_an_object():
    with pytest.raises(ScreeningInvalid):
        parse_screening([1, 2])
