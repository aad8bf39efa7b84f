"""Decision-log test data: records to append and raw SQL for the tamperer's view."""
from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from service.log import NewAfgoerelse, NewDecision


def dec(i: int, kommune: str = "herning", **changes: Any) -> NewDecision:
    values: dict[str, Any] = dict(
        id=f"01V{kommune[:4].upper()}{i:08d}", kommune=kommune, oprettet=f"2026-{1 + i % 9:02d}-0{1 + i % 7}T10:00:{i % 60:02d}Z",
        token_id="t-00000000000a", regelsaet_navn="misbrug", regelsaet_version="2026-01", regelsaet_sha256="a" * 64,
        motorformat=2, borger_reference_hmac=("b" * 63 + str(i % 3)), henvendelsesdato="2026-01-01",
        vurderingsdato="2026-01-02", anbefalinger=(("behandling", "ambulant", "amb-1"), ("bolig", "housing_first", "hf-1")),
        screening=f'{{"alder":{20 + i}}}', svar=f'{{"id":"{i}","anbefalinger":[]}}')
    values.update(changes)
    return NewDecision(**values)


def afg(i: int, vurdering_id: str, kommune: str = "herning", **changes: Any) -> NewAfgoerelse:
    values: dict[str, Any] = dict(id=f"01A{i:08d}{kommune[:3]}", kommune=kommune, vurdering_id=vurdering_id,
                                  oprettet="2026-10-01T09:00:00Z", token_id="t-00000000000a", udfald="fulgt", tilbud={},
                                  begrundelse=None, dato="2026-10-01")
    values.update(changes)
    return NewAfgoerelse(**values)


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement straight on the database (the tamperer's view), committed."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()
