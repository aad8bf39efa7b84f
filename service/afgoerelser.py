"""The caseworker's own decision (afgørelse) on a recommendation.

An afgørelse says whether the recommendation was followed (`fulgt`), departed
from (`afveget`, naming the offers chosen instead and why) or refused by the
citizen (`afvist_af_borger`, with why). It is appended to the same hash chain
as its own record pointing at the decision; a later afgørelse supersedes an
earlier one and both stay. It may only name offers that exist in the rule set
version the decision was made under.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from engine.model import SPOR_ORDER
from engine.screening import looks_like_cpr
from service.auth import Actor
from service.params import IsoDate
from service.problems import ProblemException

Udfald = Literal["fulgt", "afveget", "afvist_af_borger"]
UDFALD_TEKST = {"fulgt": "Anbefalingen er fulgt", "afveget": "Der er afveget fra anbefalingen",
                "afvist_af_borger": "Borgeren har afvist tilbuddet"}


class AfgoerelseIn(BaseModel):
    """POST /v1/vurderinger/{id}/afgoerelse"""

    model_config = ConfigDict(extra="forbid")

    udfald: Udfald = Field(description="fulgt, afveget eller afvist_af_borger")
    tilbud: Optional[dict[Literal[SPOR_ORDER], str]] = Field(  # type: ignore[valid-type]
        None, description="Ved afveget: spor -> id på det tilbud, der blev givet i stedet")
    begrundelse: Optional[str] = Field(None, max_length=2000, description="Kræves ved afveget og afvist_af_borger; aldrig CPR-numre")
    dato: Optional[IsoDate] = Field(None, description="Afgørelsens dato (standard: i dag)")


class Afgoerelse(TypedDict):
    id: str
    vurdering_id: str
    oprettet: str
    udfald: str
    tilbud: dict[str, str]
    begrundelse: Optional[str]
    dato: str
    token_id: Optional[str]
    seq: int


@dataclass(frozen=True)
class ParsedAfgoerelse:
    udfald: str
    tilbud: dict[str, str]
    begrundelse: Optional[str]
    dato: Optional[date]


def afgoerelse_api(a: Any) -> Afgoerelse:
    """A stored afgørelse (service.log.StoredAfgoerelse) as the API shows it (no kommune; no deletion marker)."""
    return {"id": a.id, "vurdering_id": a.vurdering_id, "oprettet": a.oprettet, "udfald": a.udfald, "tilbud": dict(a.tilbud),
            "begrundelse": a.begrundelse, "dato": a.dato, "token_id": a.token_id, "seq": a.seq}


def _invalid(felt: str, besked: str) -> ProblemException:
    return ProblemException(422, "Afgørelsen indeholder ugyldige oplysninger.", slug="valideringsfejl", fejl=[{"felt": felt, "besked": besked}])


def parse_afgoerelse(body: AfgoerelseIn) -> ParsedAfgoerelse:
    """The rules between fields (422 naming the field; a CPR-like text is never echoed)."""
    begrundelse = (body.begrundelse or "").strip() or None
    if body.udfald == "afveget" and not body.tilbud:
        raise _invalid("tilbud", "angiv for hvert spor, hvilket tilbud der blev givet i stedet")
    if body.udfald != "afveget" and body.tilbud:
        raise _invalid("tilbud", "angives kun, når der er afveget fra anbefalingen")
    if body.udfald in ("afveget", "afvist_af_borger") and begrundelse is None:
        raise _invalid("begrundelse", "skriv kort, hvorfor (kræves, når der afviges, eller borgeren afviser)")
    if begrundelse is not None and looks_like_cpr(begrundelse):
        raise _invalid("begrundelse", "ligner et CPR-nummer; skriv begrundelsen uden personnummer")
    return ParsedAfgoerelse(body.udfald, dict(body.tilbud or {}), begrundelse, body.dato)


class AfgoerelseService:
    def __init__(self, store: Any, decisions: Any, engines: Any, today: Any):
        self.store = store
        self.decisions = decisions
        self.engines = engines
        self.today = today

    def _check_offers(self, actor: Actor, record: Any, tilbud: dict[str, str]) -> None:
        engine = self.engines.for_kommune(actor.kommune)
        version = engine.version_by_sha(record.regelsaet_sha256)
        offers = {o.id: o for o in version.offers}
        for spor, offer_id in tilbud.items():
            offer = offers.get(offer_id)
            if offer is None:
                known = ", ".join(sorted(o.id for o in version.offers if o.spor == spor))
                raise _invalid(f"tilbud.{spor}", f"tilbuddet findes ikke i regelsættets version {version.version}; mulige: {known}")
            if offer.spor != spor:
                raise _invalid(f"tilbud.{spor}", f"tilbuddet hører til sporet '{offer.spor}'")

    def record(self, actor: Actor, vurdering_id: str, parsed: ParsedAfgoerelse,
               formaal: str = "POST /v1/vurderinger/{id}/afgoerelse") -> Any:
        """The afgørelse appended to the chain, as a service.log.StoredAfgoerelse."""
        from service.decisions import new_ulid, utc_now
        from service.log import NewAfgoerelse, StoredAfgoerelse

        record = self.decisions.stored(actor, vurdering_id, formaal)
        self._check_offers(actor, record, parsed.tilbud)
        dato = parsed.dato or self.today()
        if dato < date.fromisoformat(record.henvendelsesdato):
            raise _invalid("dato", "ligger før henvendelsesdatoen")
        if dato > self.today():
            raise _invalid("dato", "ligger efter i dag")
        new = NewAfgoerelse(id=new_ulid(), kommune=actor.kommune, vurdering_id=vurdering_id, oprettet=utc_now(),
                            token_id=actor.token_id, udfald=parsed.udfald, tilbud=parsed.tilbud, begrundelse=parsed.begrundelse,
                            dato=dato.isoformat())
        seq, _ = self.store.append_afgoerelse(new)
        return StoredAfgoerelse(id=new.id, kommune=new.kommune, vurdering_id=vurdering_id, seq=seq, oprettet=new.oprettet,
                                token_id=new.token_id, udfald=new.udfald, tilbud=dict(new.tilbud), begrundelse=new.begrundelse, dato=new.dato)

    def list(self, actor: Actor, vurdering_id: str) -> list[Any]:
        """The decision's afgørelser (service.log.StoredAfgoerelse), oldest first."""
        return list(self.store.afgoerelser(actor.kommune, vurdering_id))
