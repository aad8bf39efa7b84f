"""Request bodies: API.md's example screening, with changes."""
from __future__ import annotations

import copy
from typing import Any

#: API.md's request example.
EXAMPLE: dict[str, Any] = {
    "borger_reference": "sag-2026-0042",
    "henvendelsesdato": "2026-11-02",
    "vurderingsdato": "2026-11-03",
    "alder": 34,
    "rusmidler": [{"stof": "alkohol", "grad": "afhaengighed"}, {"stof": "cannabis", "grad": "skadeligt"}],
    "dobbeltdiagnose": False,
    "boligsituation": "egen_bolig",
}


def example(**changes: Any) -> dict[str, Any]:
    """The example with fields changed; a value of None removes the field."""
    body = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
