"""Practice sessions on the live service: the shell around the pure practice core (blocking; run in a thread).

Every event goes through ``CallService.ingest`` like any call's, so the live engine (findings, protocols,
guardrails, suggestions, alerts) runs on it and the log holds it. The session's state is the call's log:
nothing is kept in memory but a lock per call.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from calmline.events import CallInput, SupervisorAction
from calmline.practice import PRACTICE_PREFIX
from calmline.practice.loader import get_scenario
from calmline.practice.runner import intent_fn
from calmline.practice.schema import PracticeScenario
from calmline.practice.scorecard import build_scorecard, protocol_progress
from calmline.practice.session import (
    Exchange,
    Mode,
    Walk,
    assists,
    end_call,
    exchanges_from_rows,
    parse_reason,
    respond,
    start_call,
    walk,
)
from calmline.service import CallService
from calmline.store.schema import calls, events

#: Who closes a practice call's alerts.
PRACTICE_ACTOR = "practice"


class PracticeNotFound(LookupError):
    """No such practice call (or scenario)."""


class PracticeConflict(RuntimeError):
    """The practice call cannot take this (it has ended, or an event was refused)."""


@dataclass
class ServiceSink:
    """A practice call's events through the service (the store and the live engine)."""

    service: CallService
    call_id: str

    def exchanges(self) -> list[Exchange]:
        """The call's log, grouped by input."""
        return exchanges_from_rows(self.service.log.read(self.call_id))

    def step(self, event: CallInput) -> tuple[Mapping[str, Any], ...]:
        """Ingest one event; its outputs."""
        result = self.service.ingest(event)  # type: ignore[arg-type]  # never ProtocolsPinned here
        if result.status != "accepted":
            raise PracticeConflict(f"event not accepted: {result.status}")
        for out in result.outputs:
            if out.get("type") == "alert.raised":
                # Nobody is paged for a training call: the alert is recorded, then closed at once, which
                # also stops its protocol's escalation deadlines.
                self.service.ingest(
                    SupervisorAction(
                        call_id=self.call_id,
                        action="resolve_alert",
                        actor=PRACTICE_ACTOR,
                        alert_id=str(out["alert_id"]),
                        outcome="practice call: not paged",
                        at=self.service.clock.now(),
                    )
                )
        return result.outputs


_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(call_id: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(call_id, threading.Lock())


class PracticeDesk:
    """Start, play, end and score practice calls on ``service``."""

    def __init__(self, service: CallService) -> None:
        """Wrap the service."""
        self.service = service
        self.intents = intent_fn(service.engine)

    def _load(self, call_id: str) -> tuple[PracticeScenario, Walk]:
        if not call_id.startswith(PRACTICE_PREFIX):
            raise PracticeNotFound(call_id)
        exchanges = ServiceSink(self.service, call_id).exchanges()
        start = next((e.input for e in exchanges if e.input.get("type") == "call.started"), None)
        parsed = parse_reason(start.get("reason") if start else None)
        if parsed is None:
            raise PracticeNotFound(call_id)
        try:
            scenario = get_scenario(parsed[0])
        except KeyError as exc:
            raise PracticeNotFound(call_id) from exc
        return scenario, walk(scenario, exchanges, self.intents)

    def owner(self, call_id: str) -> str | None:
        """The trainee of the practice call."""
        return self._load(call_id)[1].agent_id

    def start(self, scenario_id: str, agent_id: str, mode: Mode) -> dict[str, Any]:
        """A new practice call for ``agent_id``; the caller's opening words."""
        try:
            scenario = get_scenario(scenario_id)
        except KeyError as exc:
            raise PracticeNotFound(scenario_id) from exc
        call_id = f"{PRACTICE_PREFIX}{scenario.id}-{secrets.token_hex(4)}"
        sink = ServiceSink(self.service, call_id)
        with _lock(call_id):
            first = start_call(
                sink,
                scenario,
                call_id=call_id,
                agent_id=agent_id,
                mode=mode,
                started_at=self.service.clock.now(),
            )
        return {
            "call_id": call_id,
            "mode": mode,
            "scenario": scenario_summary(scenario),
            "caller": {"text": first.text, "end": first.end},
            "ended": False,
            "turn": 0,
        }

    def answer(self, call_id: str, text: str) -> dict[str, Any]:
        """Record the agent's answer; the caller's reply, and the assists unless in assessment mode."""
        with _lock(call_id):
            scenario, before = self._load(call_id)
            if before.ended or before.state.ended:
                raise PracticeConflict("the practice call has ended")
            elapsed = None
            if before.started_at is not None:
                elapsed = int((self.service.clock.now() - before.started_at).total_seconds() * 1000)
            sink = ServiceSink(self.service, call_id)
            reply = respond(sink, scenario, text, self.intents, elapsed_ms=elapsed)
            after = walk(scenario, sink.exchanges(), self.intents)
        out: dict[str, Any] = {
            "call_id": call_id,
            "turn": reply.turn,
            "caller": {"text": reply.caller.text, "end": reply.caller.end},
            "ended": reply.ended,
            "mode": before.mode,
        }
        if before.mode == "assist":
            out["assists"] = assists(reply.outputs, reply.signals)
            out["checklist"] = list(protocol_progress(after, {t.seq: t for t in after.turns}).values())
        return out

    def end(self, call_id: str) -> dict[str, Any]:
        """End the practice call (if the caller has not) and return its scorecard."""
        with _lock(call_id):
            _, run = self._load(call_id)
            if not run.ended:
                end_call(
                    ServiceSink(self.service, call_id),
                    call_id,
                    run.last_seq + 1,
                    run.started_at,
                    run.last_end_ms,
                )
        return self.scorecard(call_id)

    def scorecard(self, call_id: str) -> dict[str, Any]:
        """The practice call's scorecard (so far, while it runs)."""
        scenario, run = self._load(call_id)
        return build_scorecard(scenario, run)

    def comment(self, call_id: str, actor: str, text: str) -> list[dict[str, Any]]:
        """A trainer's comment, stored as a ``supervisor.action`` note on the practice call."""
        self._load(call_id)
        event = SupervisorAction(
            call_id=call_id, action="note", actor=actor[:64], note=text, at=self.service.clock.now()
        )
        self.service.ingest(event)
        return list(self.scorecard(call_id)["comments"])

    def practice_calls(self, agent_id: str | None = None) -> list[dict[str, Any]]:
        """Practice calls (of ``agent_id``), oldest first: ``call_id``, ``agent_id``, ``started_at``."""
        # Log order (the call.started row's id): the order the sessions were started in.
        first = (
            select(events.c.stream, events.c.id)
            .where(
                events.c.type == "call.started", events.c.stream.startswith(PRACTICE_PREFIX, autoescape=True)
            )
            .subquery()
        )
        stmt = select(calls.c.call_id, calls.c.agent_id, calls.c.started_at).join(
            first, first.c.stream == calls.c.call_id
        )
        if agent_id is not None:
            stmt = stmt.where(calls.c.agent_id == agent_id)
        with self.service.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt.order_by(first.c.id))]

    def progress(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's practice scorecards over time (summaries, oldest first)."""
        out = []
        for row in self.practice_calls(agent_id):
            try:
                out.append(summary(self.scorecard(row["call_id"])))
            except PracticeNotFound:
                continue
        return out

    def cohort(self) -> dict[str, Any]:
        """Every agent's latest finished score per scenario: ``{"agents", "scenarios", "rows"}``."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        attempts: dict[tuple[str, str], int] = {}
        for row in self.practice_calls():
            try:
                card = summary(self.scorecard(row["call_id"]))
            except PracticeNotFound:
                continue
            if not card["ended"] or not card["agent_id"]:
                continue
            key = (card["agent_id"], card["scenario_id"])
            latest[key] = card
            attempts[key] = attempts.get(key, 0) + 1
        rows = [
            {**card, "attempts": attempts[key]} for key, card in sorted(latest.items(), key=lambda kv: kv[0])
        ]
        return {
            "agents": sorted({a for a, _ in latest}),
            "scenarios": sorted({s for _, s in latest}),
            "rows": rows,
        }


def summary(card: Mapping[str, Any]) -> dict[str, Any]:
    """The line of a scorecard that progress and cohort views list."""
    return {
        "call_id": card["call_id"],
        "agent_id": card["agent_id"],
        "scenario_id": card["scenario"]["id"],
        "scenario_title": card["scenario"]["title"],
        "mode": card["mode"],
        "started_at": card["started_at"],
        "ended": card["ended"],
        "score": card["score"],
        "guardrails": len(card["guardrails"]),
        "missed_openings": len(card["missed_openings"]),
        "objectives_met": sum(1 for o in card["objectives"] if o["met"]),
        "objectives": len(card["objectives"]),
        "asked_about_suicide_turn": card["asked_about_suicide"]["turn"],
    }


def scenario_summary(scenario: PracticeScenario) -> dict[str, Any]:
    """What the trainee may know before the call: no branches, nothing the caller keeps back."""
    return {
        "id": scenario.id,
        "title": scenario.title,
        "summary": scenario.summary,
        "difficulty": scenario.difficulty,
        "based_on": scenario.based_on,
        "persona": {"name": scenario.persona.name, "situation": scenario.persona.situation},
        "objectives": [{"id": o.id, "text": o.text} for o in scenario.objectives],
        "expected_protocols": list(scenario.expected_protocols),
        "agent_greeting": scenario.agent_greeting,
        "max_turns": scenario.max_turns,
    }
