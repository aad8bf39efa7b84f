"""Stage 7, explain: the decision as plain Danish a caseworker can read aloud.

Renders a `Decision` as text. It adds no facts of its own: every sentence is
built from the typed decision with the words of engine.wording, so the
narrative can never say more than the rules did.
"""
from __future__ import annotations

from engine.decision import Decision, TrackDecision, Verdict
from engine.fields import FIELDS, GRAD_LABELS, STOF_KORT
from engine.wording import SPOR_NAVN, dansk_dato, fact_text, note_text, verdict_text

DEFAULT_PRINCIPLE = "Efter mindste indgrebs princip anbefales det mindst indgribende tilbud, der dækker det vurderede behov."
_GRAD_KORT = {"risikabelt": "risikabelt brug", "skadeligt": "skadeligt brug", "afhaengighed": "afhængighed"}


def situation(decision: Decision) -> str:
    """The facts in plain words: age, the substances actually entered, psychiatry, housing."""
    f = decision.fact
    text = f"Borgeren er {f['alder']} år"
    if decision.rusmidler:
        parts = [f"{STOF_KORT.get(stof, stof)} ({_GRAD_KORT.get(grad, GRAD_LABELS.get(grad, grad))})" for stof, grad in decision.rusmidler]
        text += " og bruger " + (", ".join(parts[:-1]) + " og " + parts[-1] if len(parts) > 1 else parts[0])
    else:
        text += " uden angivet rusmiddelbrug"
    text += "."
    if f["dobbeltdiagnose"]:
        text += " Der er psykisk lidelse (eller mistanke herom) og samtidigt rusmiddelproblem (dobbeltdiagnose)."
    text += f" Borgeren {FIELDS['boligsituation'].value_label(f['boligsituation'])}."
    return text


def _track_sentence(t: TrackDecision) -> str:
    head = SPOR_NAVN[t.spor]
    if t.chosen is None:
        if t.no_alternative is not None:
            return f"{head}: Ingen egnet alternativ; faglig vurdering (behovsniveau {t.need})."
        return f"{head}: Intet tilbud opfylder behovsniveau {t.need}; sagen kræver en individuel faglig vurdering."
    legal = ", ".join(ref.danish() for ref in t.lovgrundlag)
    sentence = f"{head}: Vi anbefaler '{t.chosen.navn}'"
    sentence += f" efter {legal}." if legal else " (anbefaling efter faglig retningslinje, ikke et lovkrav)."
    reasons = "; ".join(r.beskrivelse.rstrip(".") for r in t.need_set_by)
    sentence += f" Behovet er vurderet sådan: {reasons}."
    for r in t.rights:
        if r.opfyldt:
            sentence += f" Borgerens ret: {r.indhold.rstrip('.')} ({r.citation.danish()})."
    lower = [v for v in t.verdicts if v.verdikt not in (Verdict.VALGT, Verdict.IKKE_NOEDVENDIGT)]
    if lower:
        sentence += " Mindre indgribende tilbud er fravalgt: " + "; ".join(f"'{v.offer.navn}' – {verdict_text(v)}" for v in lower) + "."
    return sentence


def narrative(decision: Decision) -> str:
    v = decision.version
    lines = [
        f"Vurdering efter regelsættet '{v.navn}', version {v.version} (gældende fra {dansk_dato(v.gyldig_fra)})"
        + (f" med {v.kommune}s lokale regler" if v.kommune else "") + f", vurderingsdato {dansk_dato(decision.vurderingsdato)}.",
        situation(decision),
        (v.princip or DEFAULT_PRINCIPLE).strip(),
    ]
    if not decision.tracks:
        lines.append("Ingen regel giver anledning til et tilbud ud fra de oplysninger, der er angivet.")
    for t in decision.tracks:
        lines.append(_track_sentence(t))
    for p in decision.preconditions:
        why = " og ".join(fact_text(c) for c in p.conditions if c.personkreds is None)
        legal = f" ({', '.join(r.danish() for r in p.lovgrundlag)})" if p.lovgrundlag else ""
        lines.append(f"Før eller sammen med behandlingen: '{p.offer.navn}'{legal}, fordi {why}. "
                     "Det er en forudsætning for behandlingen, ikke et alternativ til den.")
    for d in decision.deadlines:
        lines.append(f"Frist: {d.beskrivelse} senest {dansk_dato(d.dato)} ({d.citation.danish()}), regnet fra {dansk_dato(d.regnet_fra)}.")
    for note in decision.notes:
        lines.append(("Vær opmærksom: " if note.art == "advarsel" else "Oplysning: ") + note_text(note))
    lines.append("Dette er en anbefaling til den faglige vurdering. Afgørelsen træffes af sagsbehandleren sammen med borgeren.")
    return "\n".join(lines)
