"""Strict parameter types shared by API routes and forms: a date must be written
as an ISO date and lie in the range the engine accepts."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from engine.fields import FIRST_DATE, LAST_DATE

_FIRST, _LAST = date.fromisoformat(FIRST_DATE), date.fromisoformat(LAST_DATE)


def _iso_date_only(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("skal være en dato på formen ÅÅÅÅ-MM-DD")
    return value


def _in_range(value: Any) -> Any:
    if isinstance(value, date) and not (_FIRST <= value <= _LAST):
        raise ValueError(f"skal ligge mellem {FIRST_DATE} og {LAST_DATE}")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only), AfterValidator(_in_range)]
