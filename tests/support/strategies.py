"""Hypothesis strategies for valid screenings (API request bodies)."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from engine.fields import BOLIGSITUATIONER, FLAG_FIELDS, GRADER, KOEN, STOFFER

FIRST = date(2007, 1, 1)
LAST = date(2027, 12, 31)

rusmiddel_lists = st.lists(
    st.tuples(st.sampled_from(STOFFER), st.sampled_from(GRADER[1:])), max_size=4, unique_by=lambda t: t[0]
).map(lambda items: [{"stof": s, "grad": g} for s, g in items])


@st.composite
def screenings(draw, first: date = FIRST, last: date = LAST):
    henvendelse = draw(st.dates(min_value=first, max_value=last))
    # Both dates stay inside [first, last]: the vurderingsdato picks the rules.
    vurdering = min(henvendelse + timedelta(days=draw(st.integers(0, 40))), last)
    body = {
        "henvendelsesdato": henvendelse.isoformat(),
        "vurderingsdato": vurdering.isoformat(),
        "alder": draw(st.one_of(st.integers(0, 120), st.sampled_from([14, 15, 17, 18, 24, 25]))),
        "rusmidler": draw(rusmiddel_lists),
        "dobbeltdiagnose": draw(st.booleans()),
        "boligsituation": draw(st.sampled_from(BOLIGSITUATIONER)),
    }
    for flag in FLAG_FIELDS:
        if draw(st.booleans()):
            body[flag] = draw(st.booleans())
    if draw(st.booleans()):
        body["koen"] = draw(st.sampled_from(KOEN))
    if draw(st.booleans()):
        body["genstande_om_ugen"] = draw(st.integers(0, 60))
        body["genstande_paa_en_dag"] = draw(st.integers(0, 20))
    return body
