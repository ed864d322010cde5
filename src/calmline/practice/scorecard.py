"""The debrief: a practice call's scorecard, with the turn behind every point (pure, from the call's log).

Sections: protocol steps done and when; the time (turns and seconds) to ask directly about suicide; guardrail
warnings with the compliant alternative; empathy per agent turn and the call's profile (``calmline.qa``);
missed openings; learning objectives met; the caller's branches (the turns that changed the call); trainers'
comments (``supervisor.action`` notes on the call); and a score out of 100 with one line per deduction.

An *opening* is a caller turn with emotion or distress in it: the engine's ``utterance.scored`` shows
distress of at least ``OPENING_DISTRESS`` or a negative emotion of at least ``OPENING_EMOTION``, or the
scenario author marked the node ``opening: true``. It is *missed* when the agent's next answer does not
acknowledge it (:func:`calmline.practice.signals.acknowledged`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from calmline.practice.schema import PracticeScenario
from calmline.practice.session import TurnRecord, Walk
from calmline.practice.signals import acknowledged
from calmline.qa import empathy_profile

OPENING_DISTRESS = 0.5
OPENING_EMOTION = 0.5
NEGATIVE_EMOTIONS = ("fear", "sadness", "anger", "frustration")
SUICIDE_QUESTION = "asked_directly_about_suicide"
SUICIDE_CUES = frozenset({"suicide_risk", "self_harm"})
#: Points taken off per item; the score starts at 100 and stops at 0.
DEDUCTIONS = {
    "guardrail_high": 15,
    "guardrail_warning": 10,
    "missed_opening": 8,
    "objective_unmet": 10,
    "protocol_not_run": 10,
    "step_not_done": 5,
}


def build_scorecard(scenario: PracticeScenario, run: Walk, *, show_text: bool = True) -> dict[str, Any]:
    """The scorecard of the practice call ``run`` (see the module docstring)."""
    by_seq = {t.seq: t for t in run.turns}
    agent_turns = [t for t in run.turns if t.speaker == "agent"]
    protocols = protocol_progress(run, by_seq)
    guardrails = [
        {"turn": t.turn, "at_s": t.at_s, **g, **({"said": t.text} if show_text else {})}
        for t in agent_turns
        for g in (t.signals.guardrails if t.signals else ())
    ]
    missed = _missed_openings(run.turns, show_text)
    suicide = _suicide_question(run, by_seq)
    objectives = _objectives(scenario, run, protocols, guardrails, missed)
    expected = [
        {"id": pid, "ran": pid in protocols or _superseded_by(pid, protocols)}
        for pid in scenario.expected_protocols
    ]
    deductions = _deductions(guardrails, missed, objectives, expected, protocols)
    score = max(0, 100 - sum(d["points"] for d in deductions))
    return {
        "call_id": run.call_id,
        "scenario": {"id": scenario.id, "version": scenario.version, "title": scenario.title},
        "agent_id": run.agent_id,
        "mode": run.mode,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "ended": run.ended,
        "outcome": run.state.node,
        "agent_turns": len(agent_turns),
        "duration_s": max((t.at_s for t in run.turns), default=0.0),
        "score": score,
        "deductions": deductions,
        "objectives": objectives,
        "expected_protocols": expected,
        "protocols": list(protocols.values()),
        "asked_about_suicide": suicide,
        "guardrails": guardrails,
        "missed_openings": missed,
        "empathy": {
            "per_turn": [
                {"turn": t.turn, **dict(t.signals.empathy), "acknowledged": acknowledged(t.signals)}
                for t in agent_turns
                if t.signals is not None
            ],
            "profile": empathy_profile(_scored(run)),
        },
        "key_moments": [
            {"turn": t.turn, "node": t.node, "why": t.why}
            for t in run.turns
            if t.speaker == "caller" and t.why
        ],
        "transcript": [
            {
                "speaker": t.speaker,
                "turn": t.turn,
                "at_s": t.at_s,
                "node": t.node,
                **({"text": t.text} if show_text else {}),
            }
            for t in run.turns
        ],
        "comments": comments(run),
    }


def comments(run: Walk) -> list[dict[str, Any]]:
    """Trainers' comments: ``supervisor.action`` notes on the practice call, in order."""
    return [
        {"by": e.input.get("actor"), "at": e.input.get("at"), "text": e.input.get("note")}
        for e in run.exchanges
        if e.input.get("type") == "supervisor.action" and e.input.get("action") == "note"
    ]


def _scored(run: Walk) -> list[Mapping[str, Any]]:
    return [o for e in run.exchanges for o in e.outputs if o.get("type") == "agent.scored"]


def _at_s(run: Walk, at: Any) -> float | None:
    if run.started_at is None or not isinstance(at, str):
        return None
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return round((moment - run.started_at).total_seconds(), 1)


def protocol_progress(run: Walk, by_seq: Mapping[int, TurnRecord]) -> dict[str, dict[str, Any]]:
    """Each protocol that ran: when it started, and each checklist step with its status, turn and time."""
    out: dict[str, dict[str, Any]] = {}
    turn = 0
    for ex in run.exchanges:
        seq = ex.input.get("seq")
        if ex.input.get("type") == "utterance" and isinstance(seq, int) and seq in by_seq:
            turn = by_seq[seq].turn
        for o in ex.outputs:
            kind, pid = o.get("type"), o.get("protocol_id")
            if kind == "protocol.activated":
                out.setdefault(str(pid), {"id": pid, "steps": []}).update(
                    title=o.get("title"),
                    severity=o.get("severity"),
                    activated_turn=turn,
                    activated_at_s=_at_s(run, o.get("at")),
                    exited=None,
                )
            elif kind == "protocol.exited" and pid in out:
                out[str(pid)]["exited"] = o.get("reason")
            elif kind == "checklist.step" and pid in out:
                steps = out[str(pid)]["steps"]
                step = next((s for s in steps if s["id"] == o.get("step_id")), None)
                if step is None:
                    step = {"id": o.get("step_id"), "prompt": o.get("prompt"), "required": True}
                    step.update(status="due", turn=None, at_s=None, by=None)
                    steps.append(step)
                if o.get("status") == "due":
                    step["required"] = bool(o.get("required", True))
                    step["prompt"] = o.get("prompt") or step["prompt"]
                else:
                    step.update(
                        status=o.get("status"), turn=turn, at_s=_at_s(run, o.get("at")), by=o.get("by")
                    )
    return out


def _superseded_by(pid: str, protocols: Mapping[str, Mapping[str, Any]]) -> bool:
    """An expected protocol counts as run when another took it over (``supersedes``), e.g. imminent risk."""
    from calmline.practice.loader import supersedes

    return any(pid in supersedes().get(other, ()) for other in protocols)


def _is_opening(turn: TurnRecord) -> str | None:
    if turn.opening:
        return "marked as an emotional opening in the scenario"
    scored = turn.scored or {}
    distress = float(scored.get("distress") or 0.0)
    if distress >= OPENING_DISTRESS:
        return f"distress {distress:.2f}"
    emotions = scored.get("emotions") or {}
    strong = [(float(emotions.get(e) or 0.0), e) for e in NEGATIVE_EMOTIONS]
    value, name = max(strong)
    if value >= OPENING_EMOTION:
        return f"{name} {value:.2f}"
    return None


def _missed_openings(turns: tuple[TurnRecord, ...], show_text: bool) -> list[dict[str, Any]]:
    missed: list[dict[str, Any]] = []
    for before, after in itertools.pairwise(turns):
        if before.speaker != "caller" or after.speaker != "agent" or after.signals is None:
            continue
        cue = _is_opening(before)
        if cue and not acknowledged(after.signals):
            item: dict[str, Any] = {"turn": after.turn, "caller_turn": before.turn, "cue": cue}
            if show_text:
                item.update(caller_said=before.text, agent_said=after.text)
            missed.append(item)
    return missed


def _suicide_question(run: Walk, by_seq: Mapping[int, TurnRecord]) -> dict[str, Any]:
    cue: TurnRecord | None = None
    for ex in run.exchanges:
        seq = ex.input.get("seq")
        turn = by_seq.get(seq) if isinstance(seq, int) else None
        if turn is None or turn.speaker != "caller":
            continue
        if any(
            o.get("type") == "finding"
            and (f := o.get("finding") or {}).get("type") in SUICIDE_CUES
            and f.get("assertion") in ("present", "uncertain")
            for o in ex.outputs
        ):
            cue = turn
            break
    asked = next(
        (
            t
            for t in run.turns
            if t.speaker == "agent" and t.signals and SUICIDE_QUESTION in t.signals.intents
        ),
        None,
    )
    out: dict[str, Any] = {
        "asked": asked is not None,
        "turn": asked.turn if asked else None,
        "at_s": asked.at_s if asked else None,
        "first_cue_turn": cue.turn if cue else None,
        "first_cue_at_s": cue.at_s if cue else None,
        "turns_after_cue": None,
        "seconds_after_cue": None,
    }
    if asked and cue and asked.seq > cue.seq:
        out["turns_after_cue"] = asked.turn - cue.turn
        out["seconds_after_cue"] = round(asked.at_s - cue.at_s, 1)
    return out


def _objectives(
    scenario: PracticeScenario,
    run: Walk,
    protocols: Mapping[str, Mapping[str, Any]],
    guardrails: list[dict[str, Any]],
    missed: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    intents_at: dict[str, int] = {}
    for t in run.turns:
        for intent in t.signals.intents if t.signals else ():
            intents_at.setdefault(intent, t.turn)
    reached = {t.node: t.turn for t in reversed(run.turns) if t.speaker == "caller" and t.node}
    out: list[dict[str, Any]] = []
    for objective in scenario.objectives:
        check = objective.met_when
        met: bool | None = None
        evidence: list[str] = []
        if check is not None:
            met = True
            if check.intent:
                ok = check.intent in intents_at
                met &= ok
                evidence.append(
                    f"turn {intents_at[check.intent]}: {check.intent}" if ok else f"never {check.intent}"
                )
            if check.protocol_done:
                p = protocols.get(check.protocol_done)
                todo = [
                    s["id"] for s in (p or {}).get("steps", []) if s["required"] and s["status"] != "done"
                ]
                ok = p is not None and not todo
                met &= ok
                evidence.append(
                    f"{check.protocol_done} did not run"
                    if p is None
                    else f"steps not done: {todo}"
                    if todo
                    else f"{check.protocol_done} complete"
                )
            if check.no_guardrails:
                met &= not guardrails
                evidence.append(f"{len(guardrails)} guardrail warning(s)")
            if check.no_missed_openings:
                met &= not missed
                evidence.append(f"{len(missed)} missed opening(s)")
            if check.reached:
                ok = check.reached in reached
                met &= ok
                evidence.append(
                    f"turn {reached[check.reached]}: reached {check.reached}"
                    if ok
                    else f"never reached {check.reached}"
                )
        out.append({"id": objective.id, "text": objective.text, "met": met, "evidence": evidence})
    return out


def _deductions(
    guardrails: list[dict[str, Any]],
    missed: list[dict[str, Any]],
    objectives: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    protocols: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for g in guardrails:
        kind = "guardrail_high" if g.get("severity") == "high" else "guardrail_warning"
        out.append({"kind": kind, "turn": g["turn"], "points": DEDUCTIONS[kind], "detail": g.get("level")})
    for m in missed:
        out.append(
            {
                "kind": "missed_opening",
                "turn": m["turn"],
                "points": DEDUCTIONS["missed_opening"],
                "detail": m["cue"],
            }
        )
    for o in objectives:
        if o["met"] is False:
            out.append(
                {
                    "kind": "objective_unmet",
                    "turn": None,
                    "points": DEDUCTIONS["objective_unmet"],
                    "detail": o["id"],
                }
            )
    for e in expected:
        if not e["ran"]:
            out.append(
                {
                    "kind": "protocol_not_run",
                    "turn": None,
                    "points": DEDUCTIONS["protocol_not_run"],
                    "detail": e["id"],
                }
            )
    from calmline.practice.loader import spoken_steps

    for p in protocols.values():
        if p.get("exited"):
            continue
        spoken = spoken_steps().get(str(p["id"]), frozenset())
        for s in p.get("steps", []):
            # Console actions (dispatching, recording a decision) cannot be practised by typing.
            if s["required"] and s["status"] != "done" and s["id"] in spoken:
                detail = f"{p['id']}.{s['id']}"
                out.append(
                    {
                        "kind": "step_not_done",
                        "turn": None,
                        "points": DEDUCTIONS["step_not_done"],
                        "detail": detail,
                    }
                )
    return out
