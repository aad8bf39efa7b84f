"""Stage 7, explain: the decision as plain Danish a caseworker can read aloud.

Renders a `Decision` as text. It adds no facts of its own: every sentence is
built from the trace, so the narrative can never say more than the rules did.
"""
from __future__ import annotations

from engine.select import IKKE_EGNET, IKKE_NOEDVENDIGT, VALGT, OfferVerdict
from engine.trace import Decision
from engine.wording import condition_text, dansk_dato

SPOR_NAVN = {
    "behandling": "Behandling",
    "medicinsk": "Lægelig behandling",
    "bolig": "Bolig og støtte",
    "koordinering": "Koordinering",
}

GRAD_TEKST = {"risikabelt": "risikabelt brug", "skadeligt": "skadeligt brug", "afhaengighed": "afhængighed"}


def _situation(decision: Decision) -> str:
    f = decision.fact
    parts = [f"Borgeren er {f['alder']} år"]
    brug = []
    if f["alkohol_grad"] != "ingen":
        brug.append(f"alkohol ({GRAD_TEKST[f['alkohol_grad']]})")
    if f["stof_grad"] != "ingen":
        brug.append(f"andre rusmidler ({GRAD_TEKST[f['stof_grad']]})")
    parts.append("med " + " og ".join(brug) if brug else "uden angivet rusmiddelbrug")
    text = " ".join(parts) + "."
    if f["dobbeltdiagnose"]:
        text += " Der er psykisk lidelse og samtidigt rusmiddelproblem (dobbeltdiagnose)."
    bolig = {
        "egen_bolig": "har egen bolig",
        "hos_andre": "bor midlertidigt hos familie eller venner",
        "midlertidig": "bor i en midlertidig boform",
        "forsorgshjem": "opholder sig på forsorgshjem",
        "gade": "har ikke tag over hovedet",
        "udskrives": "udskrives uden en bolig at komme hjem til",
    }[f["boligsituation"]]
    return text + f" Borgeren {bolig}."


def _why_not(verdict: OfferVerdict) -> str:
    """The verdict's reason, with unmet conditions in everyday Danish."""
    if verdict.verdikt != IKKE_EGNET or not verdict.failed:
        return verdict.grund
    text = "passer ikke, fordi " + "; ".join(condition_text(r, plain=True) for r in verdict.failed)
    _, sep, need = verdict.grund.partition("; dækker ikke behovet")
    return text + (sep + need if sep else "")


def narrative(decision: Decision) -> str:
    sel = decision.selection
    version = decision.version
    kommune = next((layer for layer in version.layers if layer.kommune), None)
    lines = [
        f"Vurdering efter regelsættet '{version.navn}', version {version.version} "
        f"(gældende fra {dansk_dato(version.gyldig_fra)}), vurderingsdato {dansk_dato(decision.vurderingsdato)}.",
        _situation(decision),
    ]
    principle = kommune.princip if kommune and kommune.princip else (
        "Efter mindste indgrebs princip anbefales det mindst indgribende tilbud, der dækker det vurderede behov."
    )
    lines.append(principle.strip())
    if not sel.tracks:
        lines.append("Ingen regel giver anledning til et tilbud ud fra de oplysninger, der er angivet.")
    for t in sel.tracks:
        head = SPOR_NAVN[t.spor]
        if t.valgt is None:
            lines.append(f"{head}: Intet tilbud opfylder behovsniveau {t.behovsniveau}; sagen kræver en individuel faglig vurdering.")
            continue
        legal = ", ".join(ref.danish() for ref in t.lovgrundlag)
        sentence = f"{head}: Vi anbefaler '{t.valgt.navn}'"
        sentence += f" efter {legal}." if legal else " (anbefaling efter faglig retningslinje, ikke et lovkrav)."
        reasons = "; ".join(r.beskrivelse.rstrip(".") for r in t.behov_fra)
        sentence += f" Behovet er vurderet sådan: {reasons}."
        lower = [v for v in t.verdicts if v.verdikt not in (VALGT, IKKE_NOEDVENDIGT)]
        if lower:
            sentence += " Mindre indgribende tilbud er fravalgt: " + "; ".join(f"'{v.offer.navn}' – {_why_not(v)}" for v in lower) + "."
        lines.append(sentence)
    for d in sel.deadlines:
        lines.append(f"Frist: {d.spec.beskrivelse} senest {dansk_dato(d.dato)} ({d.spec.lovgrundlag.danish()}), regnet fra {dansk_dato(d.fra_dato)}.")
    for text in sel.advarsler:
        lines.append(f"Vær opmærksom: {text}")
    for text in sel.oplysninger:
        lines.append(f"Oplysning: {text}")
    lines.append("Dette er en anbefaling til den faglige vurdering. Afgørelsen træffes af sagsbehandleren sammen med borgeren.")
    return "\n".join(lines)
