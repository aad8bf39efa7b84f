"""The baseline decision of ENGINE-BASELINE.md as a table of 26 rows (5 legal, 13 level, 8 flag).

The baseline's own table is not shared; this one is rebuilt from its description
(the rows it names are here verbatim: alkohol -> SUL 141; opioider -> SUL 142 and
SEL 101; the other drugs -> SEL 101; age < 18 -> "ung"; afhaengighed+hjemloes -> at
least 2; afhaengighed+dobbeltdiagnose+hjemloes -> 3; risikabelt -> 1;
dobbeltdiagnose -> koordinerende_indsatsplan; hjemloes and age >= 18 -> housing_first;
age < 25 and forsorgshjem -> alternative_to_shelter), the rest chosen so the shape
matches (about 3.9 rows matched per record; roughly 70/21/9 % ambulant, dagbehandling,
doegnbehandling). Only conditions the visitator vocabulary can express are used (it
does not tell cannabis from centralstimulerende, so no row does).

bench/peers.py builds the plain-Python predicates and the zen-engine JDM from this
table; bench/fixtures/peers/baseline/lov/baseline.yaml is the same table written as a
visitator rule set, and peers.py checks that every engine gives identical outputs.
"""
from __future__ import annotations

import random
from typing import Any

SUBSTANCES = ("alkohol", "cannabis", "opioider", "centralstimulerende", "benzodiazepiner")
SEVERITIES = ("risikabelt", "skadeligt", "afhaengighed")
HOUSING = ("egen_bolig", "midlertidig", "hjemloes", "forsorgshjem")
LEVELS = {1: "ambulant", 2: "dagbehandling", 3: "doegnbehandling"}
OTHER_DRUGS = ("cannabis", "centralstimulerende", "benzodiazepiner")

#: (kind, row id, conditions, output). Conditions: field -> tuple of allowed values, or for
#: "age" a pair (operator, number); every condition of a row must hold.
Row = tuple[str, str, dict[str, Any], Any]
TABLE: list[Row] = [
    ("legal", "lov-alkohol", {"substance": ("alkohol",)}, "SUL 141"),
    ("legal", "lov-opioider-sul", {"substance": ("opioider",)}, "SUL 142"),
    ("legal", "lov-opioider-sel", {"substance": ("opioider",)}, "SEL 101"),
    ("legal", "lov-andre-stoffer", {"substance": OTHER_DRUGS}, "SEL 101"),
    ("legal", "lov-ung", {"age": ("<", 18)}, "ung"),
    ("level", "niveau-risikabelt", {"severity": ("risikabelt",)}, 1),
    ("level", "niveau-skadeligt", {"severity": ("skadeligt",)}, 1),
    ("level", "niveau-afh-hjemloes", {"severity": ("afhaengighed",), "housing": ("hjemloes",)}, 2),
    ("level", "niveau-afh-forsorgshjem", {"severity": ("afhaengighed",), "housing": ("forsorgshjem",)}, 2),
    ("level", "niveau-afh-dd", {"severity": ("afhaengighed",), "dobbeltdiagnose": (True,)}, 2),
    ("level", "niveau-afh-dd-hjemloes", {"severity": ("afhaengighed",), "dobbeltdiagnose": (True,), "housing": ("hjemloes",)}, 3),
    ("level", "niveau-afh-opioider", {"severity": ("afhaengighed",), "substance": ("opioider",)}, 2),
    ("level", "niveau-afh-opioider-dd", {"severity": ("afhaengighed",), "substance": ("opioider",), "dobbeltdiagnose": (True,)}, 3),
    ("level", "niveau-skad-dd-hjemloes", {"severity": ("skadeligt",), "dobbeltdiagnose": (True,), "housing": ("hjemloes",)}, 2),
    ("level", "niveau-afh-ung", {"severity": ("afhaengighed",), "age": ("<", 18)}, 2),
    ("level", "niveau-afh-forsorgshjem-dd", {"severity": ("afhaengighed",), "housing": ("forsorgshjem",), "dobbeltdiagnose": (True,)}, 3),
    ("level", "niveau-skad-opioider-hjemloes", {"severity": ("skadeligt",), "substance": ("opioider",), "housing": ("hjemloes",)}, 2),
    ("level", "niveau-afh-stoffer-dd", {"severity": ("afhaengighed",), "substance": OTHER_DRUGS, "dobbeltdiagnose": (True,)}, 3),
    ("flag", "flag-koordinering", {"dobbeltdiagnose": (True,)}, "koordinerende_indsatsplan"),
    ("flag", "flag-housing-first", {"housing": ("hjemloes",), "age": (">=", 18)}, "housing_first"),
    ("flag", "flag-alternativ-til-forsorgshjem", {"age": ("<", 25), "housing": ("forsorgshjem",)}, "alternative_to_shelter"),
    ("flag", "flag-ungeindsats", {"age": ("<", 18)}, "ungeindsats"),
    ("flag", "flag-substitution", {"substance": ("opioider",)}, "substitution_vurdering"),
    ("flag", "flag-afrusning", {"substance": ("alkohol",), "severity": ("afhaengighed",)}, "afrusning_vurdering"),
    ("flag", "flag-bostoette", {"housing": ("midlertidig",)}, "bostoette"),
    ("flag", "flag-aeldre", {"severity": ("afhaengighed",), "age": (">=", 65)}, "aeldreindsats"),
]
assert len(TABLE) == 26 and [k for k, *_ in TABLE].count("legal") == 5 and [k for k, *_ in TABLE].count("flag") == 8


def records(n: int = 10_000, seed: int = 20260611) -> list[dict[str, Any]]:
    """Uniform random records, 35 % dobbeltdiagnose (ENGINE-BASELINE's distribution)."""
    rng = random.Random(seed)
    return [{"age": rng.randint(12, 90), "substance": rng.choice(SUBSTANCES), "severity": rng.choice(SEVERITIES),
             "dobbeltdiagnose": rng.random() < 0.35, "housing": rng.choice(HOUSING)} for _ in range(n)]


Output = tuple[tuple[str, ...], str, tuple[str, ...]]


def normalise(legal: Any, level: int, flags: Any) -> Output:
    return tuple(sorted(set(legal))), LEVELS[level], tuple(sorted(set(flags)))
