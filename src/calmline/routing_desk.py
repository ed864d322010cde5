"""The routing desk: calmline as its own ACD on the live service (the shell around ``routing.core``).

Three parts, each where it belongs:

* **The ledger** (``apply``, a projector inside the append transaction, so it never misses or double-counts
  a row): when a call starts with an agent, is transferred, or ends, the agent's segment of the call is
  closed with ``core.ledger_after_call`` — intensity from the call's projection (a critical alert makes it
  a crisis, a high alert high, distress past ``distressed_at`` distressed) — and a debrief task is created
  after every critical segment (due ``debrief_within_s`` later). ``agent.status`` events set the agent's
  state. The exposure budget is per shift: the ledger starts again on a new (UTC) day.
* **Decisions** (``on_rows``, a listener after commit, and ``drain``, run by the service once the call's
  lock is released): a call that starts without an agent is assigned the best agent of the roster; when a
  call turns critical and its agent is not crisis-trained, it is warm-transferred to a crisis-trained one.
  Both are ``call.transferred`` inputs in the call's own log (with the reason), so a replay gives the
  same outputs; the engine turns each into a ``routing.decision`` and the protocols stay attached.
* **Views**: ``floor()`` for the supervisors' wall, ``agent_view()`` for the agent, debrief tasks.

Wellbeing data is personal: the API shows an agent only their own row, supervisors everyone.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Connection, Engine, insert, select, update

from calmline.events import CallTransferred
from calmline.routing.core import (
    AgentState,
    WaitingCall,
    by_priority,
    explain,
    ledger_after_call,
    needs_debrief,
    rank_agents,
)
from calmline.routing.model import Agent, Intensity, RiskTier, RoutingConfig
from calmline.store.audit import AuditLog
from calmline.store.log import StoredEvent
from calmline.store.schema import agent_ledger, calls, debrief_tasks

if TYPE_CHECKING:
    from calmline.service import CallService

log = structlog.get_logger(__name__)

_SEVERITY_INTENSITY: dict[str, Intensity] = {"critical": "crisis", "high": "high"}
_SEVERITY_RISK: dict[str, RiskTier] = {"critical": "imminent", "high": "high", "warning": "moderate"}
#: Alert kinds whose critical tier calls for a crisis-trained agent (a medical emergency calls for 911).
_CRISIS_KINDS = frozenset({"suicide_risk", "self_harm"})


@dataclass(frozen=True, slots=True)
class _Pending:
    call_id: str
    kind: str  # "assign" | "escalate"


class RoutingDesk:
    """The agents' ledger, debrief tasks and calmline's own routing decisions for one store."""

    def __init__(self, db: Engine, config: RoutingConfig) -> None:
        """Route with ``config`` (its ``agents`` are the roster) over the store ``db``."""
        self.db = db
        self.config = config
        self.roster: dict[str, Agent] = {a.id: a for a in config.agents}
        self._pending: list[_Pending] = []
        self._guard = threading.Lock()

    def attach(self, service: CallService) -> None:
        """Take decisions on ``service`` (its ``on_append`` must already include ``self.apply``)."""
        service.routing_desk = self
        service.subscribe(self.on_rows)
        service.after_ingest(self.drain)

    # -- the ledger (inside the append transaction) ------------------------------------------------------

    def apply(self, conn: Connection, rows: Sequence[StoredEvent]) -> None:
        """Keep the ledger in step with the log (a projector: runs in the append's transaction)."""
        for row in rows:
            if row.kind != "input":
                continue
            p = row.payload
            if row.type == "agent.status":
                self._set(conn, p["agent_id"], _ts(p["at"]), status=p["status"])
            elif row.type == "call.started" and p.get("agent_id"):
                self._take(conn, p["agent_id"], row.stream, _ts(p["started_at"]))
            elif row.type == "call.transferred" and p.get("to_agent"):
                at = _ts(p["at"])
                previous = self._holder(conn, row.stream)
                if previous is not None and previous != p["to_agent"]:
                    self._close(conn, previous, row.stream, at)
                self._take(conn, p["to_agent"], row.stream, at)
            elif row.type == "call.ended":
                holder = self._holder(conn, row.stream)
                if holder is not None:
                    self._close(conn, holder, row.stream, _ts(p["at"]))

    def _holder(self, conn: Connection, call_id: str) -> str | None:
        found = conn.execute(
            select(agent_ledger.c.agent_id).where(agent_ledger.c.current_call_id == call_id)
        ).first()
        return found[0] if found is not None else None

    def _row(self, conn: Connection, agent_id: str, at: datetime) -> dict[str, Any]:
        found = (
            conn.execute(select(agent_ledger).where(agent_ledger.c.agent_id == agent_id)).mappings().first()
        )
        day = at.date().isoformat()
        if found is None:
            row = _fresh(agent_id, day, at)
            conn.execute(insert(agent_ledger).values(**row))
            return row
        row = dict(found)
        if row["shift_day"] != day:  # a new shift: the budget and the streak start again
            row.update(shift_day=day, exposure_minutes=0.0, consecutive_high=0, calls_today=0)
        return row

    def _set(self, conn: Connection, agent_id: str, at: datetime, **values: Any) -> None:
        row = self._row(conn, agent_id, at)
        row.update(values, updated_at=at)
        conn.execute(update(agent_ledger).where(agent_ledger.c.agent_id == agent_id).values(**row))

    def _take(self, conn: Connection, agent_id: str, call_id: str, at: datetime) -> None:
        self._set(conn, agent_id, at, status="busy", current_call_id=call_id, segment_started_at=at)

    def _close(self, conn: Connection, agent_id: str, call_id: str, at: datetime) -> None:
        row = self._row(conn, agent_id, at)
        started = row["segment_started_at"] or at
        minutes = max(0.0, (at - _aware(started)).total_seconds() / 60)
        intensity = self._intensity(conn, call_id)
        state = ledger_after_call(_state(row), intensity, minutes, at, self.config.wellbeing)
        self._set(
            conn,
            agent_id,
            at,
            status="available",
            current_call_id=None,
            segment_started_at=None,
            exposure_minutes=state.exposure_minutes,
            consecutive_high=state.consecutive_high,
            break_until=state.break_until,
            cooldown_until=state.cooldown_until,
            last_call_ended_at=at,
            calls_today=row["calls_today"] + 1,
        )
        if needs_debrief(intensity, self.config.wellbeing):
            task_id = f"debrief:{call_id}:{agent_id}"
            exists = conn.execute(select(debrief_tasks.c.task_id).where(debrief_tasks.c.task_id == task_id))
            if exists.first() is None:
                conn.execute(
                    insert(debrief_tasks).values(
                        task_id=task_id,
                        agent_id=agent_id,
                        call_id=call_id,
                        intensity=intensity,
                        created_at=at,
                        due_at=at + timedelta(seconds=self.config.wellbeing.debrief_within_s),
                        status="open",
                        assigned_to=self.config.wellbeing.debrief_assign_to,
                        done_at=None,
                        done_by=None,
                    )
                )
                log.info("routing.debrief_created", call_id=call_id, agent_id=agent_id)

    def _intensity(self, conn: Connection, call_id: str) -> Intensity:
        found = conn.execute(
            select(calls.c.max_severity, calls.c.distress).where(calls.c.call_id == call_id)
        ).first()
        if found is None:
            return "routine"
        severity, distress = found
        if severity in _SEVERITY_INTENSITY:
            return _SEVERITY_INTENSITY[severity]
        if distress is not None and distress >= self.config.policy.distressed_at:
            return "distressed"
        return "routine"

    # -- decisions (after commit, outside the call's lock) -----------------------------------------------

    def on_rows(self, rows: Sequence[StoredEvent]) -> None:
        """Note the calls that need a decision (a service listener; the work happens in ``drain``)."""
        if not self.roster:
            return
        for row in rows:
            p = row.payload
            if row.type == "call.started" and not p.get("agent_id"):
                self._queue(_Pending(row.stream, "assign"))
            elif row.type == "call.ended" or (row.type == "agent.status" and p.get("status") == "available"):
                self._queue(_Pending("", "waiting"))  # an agent may be free: offer them a waiting call
            elif (
                row.type in ("alert.raised", "alert.escalated")
                and p.get("severity") == "critical"
                and p.get("kind") in _CRISIS_KINDS
            ):
                self._queue(_Pending(row.stream, "escalate"))

    def _queue(self, item: _Pending) -> None:
        with self._guard:
            if item not in self._pending:
                self._pending.append(item)

    def drain(self, service: CallService) -> None:
        """Carry out the pending decisions as ``call.transferred`` inputs (run after an ingest)."""
        while True:
            with self._guard:
                if not self._pending:
                    return
                item = self._pending.pop(0)
            now = service.clock.now()
            if item.kind == "waiting":
                for call_id in self.waiting_calls(now):
                    event = self.decide(call_id, "assign", now)
                    if event is None:
                        break
                    service.ingest(event)
                continue
            event = self.decide(item.call_id, item.kind, now)
            if event is not None:
                service.ingest(event)

    def decide(self, call_id: str, kind: str, now: datetime) -> CallTransferred | None:
        """The transfer that assigns (or escalates) ``call_id`` now, or None when nothing should move."""
        with self.db.connect() as conn:
            call = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
            if call is None or call["status"] == "ended":
                return None
            holder = self._holder(conn, call_id)
            if kind == "escalate":
                current = self.roster.get(holder or "")
                if holder is None or current is None or current.crisis_trained:
                    return None
            elif holder is not None or call["agent_id"]:
                return None
            states = self._states(conn, now)
        risk: RiskTier = "imminent" if kind == "escalate" else "none"
        waiting = WaitingCall(
            call_id=call_id,
            waiting_since=_aware(call["started_at"] or now),
            queue=call["queue"],
            language=call["language"],
            risk=risk,
            distress=float(call["distress"] or 0.0),
        )
        agents = [a for a in self.roster.values() if a.id != holder]
        ranked = rank_agents(waiting, agents, states, self.config, now)
        if kind == "escalate":
            ranked = [c for c in ranked if c.agent is not None and c.agent.crisis_trained]
        decision = explain(call_id, ranked)
        if decision.agent_id is None:
            log.warning("routing.no_agent", call_id=call_id, kind=kind)
            return None
        prefix = (
            "warm transfer: critical risk, to a crisis-trained agent" if kind == "escalate" else "assigned"
        )
        return CallTransferred(
            call_id=call_id,
            to_agent=decision.agent_id,
            reason=f"{prefix} ({decision.reason})"[:256],
            at=now,
        )

    def waiting_calls(self, now: datetime) -> list[str]:
        """Active calls without an agent, first to be answered first (``core.by_priority``)."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(calls.c.call_id, calls.c.started_at, calls.c.max_severity, calls.c.distress).where(
                    calls.c.status == "active", calls.c.agent_id.is_(None)
                )
            ).all()
        waiting = [
            WaitingCall(
                call_id=r.call_id,
                waiting_since=_aware(r.started_at or now),
                risk=_SEVERITY_RISK.get(r.max_severity or "", "none"),
                distress=float(r.distress or 0.0),
            )
            for r in rows
        ]
        return [c.call_id for c in by_priority(waiting, now, self.config.policy)]

    def _states(self, conn: Connection, now: datetime) -> dict[str, AgentState]:
        rows = {r["agent_id"]: dict(r) for r in conn.execute(select(agent_ledger)).mappings()}
        day = now.date().isoformat()
        out: dict[str, AgentState] = {}
        for agent_id in self.roster:
            row = rows.get(agent_id) or _fresh(agent_id, day, now)
            if row["shift_day"] != day:
                row.update(exposure_minutes=0.0, consecutive_high=0)
            out[agent_id] = _state(row)
        return out

    # -- views ------------------------------------------------------------------------------------------

    def floor(self, now: datetime) -> dict[str, Any]:
        """The supervisors' view: every agent with state and wellbeing, waiting calls, open debriefs."""
        budget = self.config.wellbeing.exposure_budget_minutes
        with self.db.connect() as conn:
            rows = {r["agent_id"]: dict(r) for r in conn.execute(select(agent_ledger)).mappings()}
            by_due = select(debrief_tasks).order_by(debrief_tasks.c.due_at)
            tasks = [dict(r) for r in conn.execute(by_due).mappings()]
            waiting = conn.execute(
                select(calls.c.call_id, calls.c.queue, calls.c.max_severity, calls.c.started_at).where(
                    calls.c.status == "active", calls.c.agent_id.is_(None)
                )
            ).all()
        open_tasks = [t for t in tasks if t["status"] == "open"]
        agents = []
        for agent_id in sorted(set(self.roster) | set(rows)):
            agents.append(self._agent_view(agent_id, rows.get(agent_id), open_tasks, budget, now))
        return {
            "config_version": self.config.version,
            "agents": agents,
            "waiting": [
                {
                    "call_id": w.call_id,
                    "queue": w.queue,
                    "risk": w.max_severity or "none",
                    "band": 2 if w.max_severity == "critical" else 1 if w.max_severity == "high" else 0,
                    "waited_s": round((now - _aware(w.started_at)).total_seconds(), 1)
                    if w.started_at
                    else 0.0,
                }
                for w in waiting
            ],
            "debriefs": [_task(t) for t in tasks],
        }

    def agent_view(self, agent_id: str, now: datetime) -> dict[str, Any]:
        """One agent's own wellbeing view."""
        with self.db.connect() as conn:
            row = (
                conn.execute(select(agent_ledger).where(agent_ledger.c.agent_id == agent_id))
                .mappings()
                .first()
            )
            tasks = [
                dict(r)
                for r in conn.execute(
                    select(debrief_tasks).where(
                        debrief_tasks.c.agent_id == agent_id, debrief_tasks.c.status == "open"
                    )
                ).mappings()
            ]
        budget = self.config.wellbeing.exposure_budget_minutes
        view = self._agent_view(agent_id, dict(row) if row else None, tasks, budget, now)
        view["debriefs"] = [_task(t) for t in tasks]
        return view

    def _agent_view(
        self,
        agent_id: str,
        row: dict[str, Any] | None,
        tasks: list[dict[str, Any]],
        budget: float,
        now: datetime,
    ) -> dict[str, Any]:
        agent = self.roster.get(agent_id)
        row = row or _fresh(agent_id, now.date().isoformat(), now)
        fresh_day = row["shift_day"] == now.date().isoformat()
        cooldown = _aware(row["cooldown_until"]) if row["cooldown_until"] else None
        pause = _aware(row["break_until"]) if row["break_until"] else None
        status = row["status"]
        if status == "available" and pause is not None and pause > now:
            status = "break"
        elif status == "available" and cooldown is not None and cooldown > now:
            status = "cooldown"
        exposure = row["exposure_minutes"] if fresh_day else 0.0
        streak = row["consecutive_high"] if fresh_day else 0
        due = sum(1 for t in tasks if t["agent_id"] == agent_id and t["status"] == "open")
        advice = self._recommendations(exposure, streak, due, cooldown, now)
        return {
            "agent_id": agent_id,
            "name": agent.name if agent is not None else "",
            "tier": agent.tier if agent is not None else None,
            "crisis_trained": agent.crisis_trained if agent is not None else False,
            "status": status,
            "exposure_minutes": round(exposure, 1),
            "budget_minutes": budget,
            "cooldown_until": cooldown.isoformat() if cooldown is not None and cooldown > now else None,
            "consecutive_high": streak,
            "need_break": bool(row["need_break"]),
            "current_call_id": row["current_call_id"],
            "calls_today": row["calls_today"] if fresh_day else 0,
            "debriefs_due": due,
            "recommendations": advice,
        }

    def _recommendations(
        self, exposure: float, streak: int, debriefs: int, cooldown: datetime | None, now: datetime
    ) -> list[str]:
        """Break and rotation advice for one agent, in words (the wall and the agent's own view show it)."""
        wellbeing = self.config.wellbeing
        out: list[str] = []
        used = exposure / wellbeing.exposure_budget_minutes
        if used >= 0.8:
            out.append(f"take a break: {used:.0%} of the shift's exposure budget used")
        if streak >= wellbeing.max_consecutive_high:
            out.append(f"rotate to routine calls: {streak} high-intensity calls in a row")
        if cooldown is not None and cooldown > now:
            out.append(f"cool-down: routine calls only until {cooldown.strftime('%H:%M')}")
        if debriefs:
            out.append(f"debrief with a supervisor ({debriefs} due)")
        return out

    def record_policy(self, now: datetime, actor: str = "system") -> bool:
        """Audit the routing policy in force when it differs from the last one audited; True when recorded."""
        body = self.config.model_dump_json()
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
        audit = AuditLog(self.db)
        last = audit.entries(subject_prefix="routing:policy", limit=1)
        if last and last[-1].detail.get("hash") == digest:
            return False
        with self.db.begin() as conn:
            audit.append(
                conn,
                at=now,
                actor=actor,
                action="routing.policy_loaded",
                subject="routing:policy",
                detail={"version": self.config.version, "hash": digest, "agents": len(self.roster)},
            )
        return True

    def set_need_break(self, agent_id: str, need_break: bool, now: datetime) -> dict[str, Any]:
        """The agent's own "need a break" flag (routing stops offering them calls while it is set)."""
        with self.db.begin() as conn:
            self._set(conn, agent_id, now, need_break=need_break)
        log.info("routing.need_break", agent_id=agent_id, need_break=need_break)
        return self.agent_view(agent_id, now)

    def assign_debrief(self, task_id: str, supervisor: str) -> dict[str, Any] | None:
        """Give a debrief task to a supervisor; None when there is no such task."""
        with self.db.begin() as conn:
            done = conn.execute(
                update(debrief_tasks).where(debrief_tasks.c.task_id == task_id).values(assigned_to=supervisor)
            )
            if not done.rowcount:
                return None
            row = conn.execute(select(debrief_tasks).where(debrief_tasks.c.task_id == task_id)).mappings()
            return _task(dict(row.one()))

    def complete_debrief(self, task_id: str, by: str, now: datetime) -> dict[str, Any] | None:
        """Mark a debrief done; None when there is no such task."""
        with self.db.begin() as conn:
            found = (
                conn.execute(select(debrief_tasks).where(debrief_tasks.c.task_id == task_id))
                .mappings()
                .first()
            )
            if found is None:
                return None
            if found["status"] != "done":
                conn.execute(
                    update(debrief_tasks)
                    .where(debrief_tasks.c.task_id == task_id)
                    .values(status="done", done_at=now, done_by=by)
                )
            row = (
                conn.execute(select(debrief_tasks).where(debrief_tasks.c.task_id == task_id)).mappings().one()
            )
        return _task(dict(row))


def _fresh(agent_id: str, day: str, at: datetime) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "shift_day": day,
        "exposure_minutes": 0.0,
        "consecutive_high": 0,
        "break_until": None,
        "cooldown_until": None,
        "last_call_ended_at": None,
        "status": "available",
        "need_break": False,
        "current_call_id": None,
        "segment_started_at": None,
        "calls_today": 0,
        "updated_at": at,
    }


def _state(row: dict[str, Any]) -> AgentState:
    return AgentState(
        agent_id=row["agent_id"],
        available=row["status"] == "available" and row["current_call_id"] is None,
        need_break=bool(row["need_break"]),
        consecutive_high=row["consecutive_high"],
        break_until=_aware(row["break_until"]) if row["break_until"] else None,
        cooldown_until=_aware(row["cooldown_until"]) if row["cooldown_until"] else None,
        exposure_minutes=row["exposure_minutes"],
        last_call_ended_at=_aware(row["last_call_ended_at"]) if row["last_call_ended_at"] else None,
    )


def _task(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_id": t["task_id"],
        "agent_id": t["agent_id"],
        "call_id": t["call_id"],
        "intensity": t["intensity"],
        "created_at": _aware(t["created_at"]).isoformat(),
        "due_at": _aware(t["due_at"]).isoformat(),
        "status": t["status"],
        "assigned_to": t["assigned_to"],
        "done_at": _aware(t["done_at"]).isoformat() if t["done_at"] else None,
        "done_by": t["done_by"],
    }


def _ts(value: str | datetime) -> datetime:
    return _aware(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they are stored in UTC."""
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
