"""Quality assurance read models: per-call profiles from the call's log (pure functions over payloads)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from calmline.analysis.empathy import MECHANISMS

#: A pause before an agent turn at least this long counts as a long silence.
LONG_SILENCE_S = 10.0


def empathy_profile(scored: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """How the agent listened over a call, from its ``agent.scored`` payloads (in call order).

    EPITOME mechanisms: the level counts (0 none, 1 weak, 2 strong) and the mean; further signals as shares of
    agent turns; open and closed questions; talk-overs and long silences (``LONG_SILENCE_S``).
    """
    turns = list(scored)
    n = len(turns)
    mechanisms: dict[str, Any] = {}
    for mech in MECHANISMS:
        levels = [int(t["empathy"].get(mech, 0)) for t in turns if t.get("empathy")]
        mechanisms[mech] = {
            "levels": {str(k): levels.count(k) for k in (0, 1, 2)},
            "mean": round(sum(levels) / len(levels), 2) if levels else None,
            "strong_turns": levels.count(2),
        }

    def share(key: str) -> float | None:
        flags = [bool(t["empathy"].get(key)) for t in turns if t.get("empathy")]
        return round(sum(flags) / len(flags), 2) if flags else None

    open_q = sum(1 for t in turns if t.get("empathy", {}).get("open_question"))
    closed_q = sum(1 for t in turns if t.get("empathy", {}).get("closed_question"))
    mirroring = [float(t["empathy"]["mirroring"]) for t in turns if "mirroring" in t.get("empathy", {})]
    silences = [float(t["silence_before_s"]) for t in turns if t.get("silence_before_s") is not None]
    return {
        "agent_turns": n,
        "mechanisms": mechanisms,
        "validation_share": share("validation"),
        "summarising_share": share("summarising"),
        "mirroring_mean": round(sum(mirroring) / len(mirroring), 2) if mirroring else None,
        "open_questions": open_q,
        "closed_questions": closed_q,
        "talk_overs": sum(1 for t in turns if t.get("talk_over")),
        "long_silences": sum(1 for s in silences if s >= LONG_SILENCE_S),
        "longest_silence_s": max(silences, default=None),
    }
