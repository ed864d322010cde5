"""What the live wall shows about each active call, folded from the call's log rows.

The ``calls`` projection holds one number per call (the latest distress); a tile also needs the distress
trajectory for its sparkline, the risk tiers seen, the protocol running and how far its checklist has got,
when the last alert was raised and whether the agent asked for help. ``board_entry`` folds those from the
call's own rows (pure: no I/O), so the wall's snapshot and its live feed agree: the browser applies the very
same rows as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from calmline.store.log import StoredEvent

#: Most distress points kept per call for the sparkline (the newest).
TRAJECTORY_POINTS = 40
TIER_RANK = {"low": 0, "moderate": 1, "high": 2, "imminent": 3}
SEVERITY_RANK = {"info": 0, "warning": 1, "high": 2, "critical": 3}
#: Supervisor actions that answer an agent's request for help.
ANSWERS_HELP = frozenset(
    {"listen", "whisper", "barge", "take_over", "request_transfer", "note", "acknowledge_alert"}
)


def board_entry(call_id: str, rows: Iterable[StoredEvent]) -> dict[str, Any]:
    """The wall's view of one call from its log rows (in log order).

    Returns:
        ``{"call_id", "trajectory": [[utterance seq, distress], ...], "tiers": {risk type: highest tier},
        "protocols": [{"id", "title", "severity", "active", "steps": [{"id", "required", "status"}]}],
        "protocol": {"id", "title", "severity", "done", "total", "active_count"} or None, "last_alert_at",
        "help_requested_at", "help_requested_by"}`` (help is None again once a supervisor answered).
        ``protocol`` is the most severe active one, with its required steps done / total.
    """
    trajectory: list[list[float]] = []
    tiers: dict[str, str] = {}
    protocols: dict[str, dict[str, Any]] = {}
    last_alert_at: str | None = None
    help_at: str | None = None
    help_by: str | None = None
    for row in rows:
        p = row.payload
        kind = row.type
        if kind == "utterance.scored":
            value = p.get("distress_smoothed")
            if not isinstance(value, int | float):
                value = p.get("distress")
            if isinstance(value, int | float):
                trajectory.append([p.get("utterance_seq", len(trajectory)), round(float(value), 3)])
        elif kind == "finding":
            _note_tier(tiers, p.get("finding") or {})
        elif kind in ("alert.raised", "alert.escalated"):
            last_alert_at = p.get("at") or last_alert_at
        elif kind == "protocol.activated":
            protocols.setdefault(p["protocol_id"], {"steps": {}}).update(
                id=p["protocol_id"], title=p.get("title"), severity=p.get("severity"), active=True
            )
        elif kind == "protocol.exited":
            protocols.setdefault(p["protocol_id"], {"steps": {}})["active"] = False
        elif kind == "checklist.step":
            steps = protocols.setdefault(p["protocol_id"], {"steps": {}})["steps"]
            step = steps.setdefault(p["step_id"], {"required": True, "status": "due"})
            if p.get("status") == "due":
                step["required"] = p.get("required", True)
            else:
                step["status"] = p.get("status")
        elif kind == "supervisor.action":
            if p.get("action") == "request_help":
                help_at, help_by = p.get("at"), p.get("actor")
            elif help_at and p.get("action") in ANSWERS_HELP and p.get("actor") != help_by:
                help_at = help_by = None
    return {
        "call_id": call_id,
        "trajectory": trajectory[-TRAJECTORY_POINTS:],
        "tiers": tiers,
        "protocols": [
            {
                "id": pid,
                "title": p.get("title"),
                "severity": p.get("severity"),
                "active": bool(p.get("active")),
                "steps": [{"id": sid, **step} for sid, step in p["steps"].items()],
            }
            for pid, p in protocols.items()
        ],
        "protocol": _current_protocol(protocols),
        "last_alert_at": last_alert_at,
        "help_requested_at": help_at,
        "help_requested_by": help_by,
    }


def _note_tier(tiers: dict[str, str], finding: dict[str, Any]) -> None:
    tier = finding.get("tier")
    kind = finding.get("type")
    if not tier or not kind or finding.get("assertion", "present") not in ("present", "uncertain"):
        return
    if finding.get("experiencer", "caller") != "caller" or finding.get("speaker", "caller") != "caller":
        return
    if TIER_RANK.get(tier, -1) > TIER_RANK.get(tiers.get(kind, ""), -1):
        tiers[kind] = tier


def _current_protocol(protocols: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The most severe active protocol with its required steps done / total."""
    active = [p for p in protocols.values() if p.get("active") and p.get("id")]
    if not active:
        return None
    top = max(active, key=lambda p: SEVERITY_RANK.get(p.get("severity") or "", -1))
    required = [s for s in top["steps"].values() if s["required"]]
    return {
        "id": top["id"],
        "title": top.get("title"),
        "severity": top.get("severity"),
        "done": sum(1 for s in required if s["status"] == "done"),
        "total": len(required),
        "active_count": len(active),
    }
