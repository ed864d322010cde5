"""The post-call summary: what happened on a call, extracted from its event log and nothing else.

The summary is *extractive*: every piece of caller text in it is a verbatim slice of an utterance in the log
(the character spans a finding points at, or a whole utterance), and every time is an event's own timestamp.
Nothing is paraphrased or generated, and the same log always gives the same summary (no clock reads).

Example::

    events = [row.event() for row in service.log.read(call_id)]
    summary = summarize(call_id, events)
    summary.to_dict()                  # JSON-friendly, keys sorted
    summary.without_text().to_dict()   # the same with every quote replaced by "[redacted]"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from calmline.events import (
    RISK_TYPES,
    SEVERITY_RANK,
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    AnyEvent,
    CallEnded,
    CallerVerified,
    CallStarted,
    CallTransferred,
    ChecklistStepChanged,
    Finding,
    FindingEmitted,
    FollowUpScheduled,
    ProtocolActivated,
    ProtocolExited,
    SequenceGap,
    SupervisorAction,
    UtteranceReceived,
)
from calmline.postcall.models import (
    INTERVENTIONS,
    REASON_UTTERANCES,
    REDACTED,
    CallSummary,
    Disposition,
    Escalation,
    EscalationStep,
    FollowUp,
    Intervention,
    ProtocolRun,
    Quote,
    Reason,
    RiskFinding,
    StepRun,
    Transfer,
)

__all__ = ["REDACTED", "CallSummary", "summarize"]


def summarize(call_id: str, events: Iterable[AnyEvent]) -> CallSummary:
    """Build the summary of ``call_id`` from its events (inputs and outputs) in log order."""
    log = [e for e in events if getattr(e, "call_id", call_id) == call_id]
    started = next((e for e in log if isinstance(e, CallStarted)), None)
    ended = next((e for e in log if isinstance(e, CallEnded)), None)
    start = started.started_at if started else None
    utterances = {e.seq: e for e in log if isinstance(e, UtteranceReceived)}
    quoter = _Quoter(utterances, start)
    caller_turns = [u for u in utterances.values() if u.speaker == "caller" and u.text.strip()]
    caller_turns.sort(key=lambda u: u.seq)
    verified = next((e for e in log if isinstance(e, CallerVerified)), None)
    return CallSummary(
        call_id=call_id,
        queue=started.queue if started else None,
        language=started.language if started else None,
        caller_ref=started.caller_ref if started else None,
        agent_id=started.agent_id if started else None,
        started_at=start,
        utterances=len(utterances),
        gaps=sum(1 for e in log if isinstance(e, SequenceGap)),
        reason=Reason(
            stated=started.reason if started else None,
            caller_words=tuple(quoter.whole(u) for u in caller_turns[:REASON_UTTERANCES]),
        ),
        risk_findings=tuple(
            _risk_finding(e.finding, e.at, quoter)
            for e in log
            if isinstance(e, FindingEmitted) and e.finding.type in RISK_TYPES
        ),
        protocols=_protocol_runs(log),
        escalations=_escalations(log, quoter),
        disposition=Disposition(
            status="ended" if ended else "active",
            ended_at=ended.at if ended else None,
            disposition=ended.disposition if ended else None,
            duration_s=_seconds(start, ended.at) if ended and start else None,
            transfers=tuple(
                Transfer(at=e.at, to_queue=e.to_queue, to_agent=e.to_agent, reason=e.reason)
                for e in log
                if isinstance(e, CallTransferred)
            ),
            interventions=tuple(
                Intervention(at=e.at, action=e.action, actor=e.actor)
                for e in log
                if isinstance(e, SupervisorAction) and e.action in INTERVENTIONS
            ),
            caller_verified=verified is not None,
            verification_method=verified.method if verified else None,
        ),
        followups=tuple(
            FollowUp(protocol_id=e.protocol_id, kind=e.kind, due_by=e.due_by, scheduled_at=e.at)
            for e in log
            if isinstance(e, FollowUpScheduled)
        ),
    )


# -- pieces -----------------------------------------------------------------------------------------


class _Quoter:
    """Cuts verbatim quotes out of the call's utterances."""

    def __init__(self, utterances: dict[int, UtteranceReceived], start: datetime | None) -> None:
        self.utterances = utterances
        self.start = start

    def said_at(self, seq: int | None) -> datetime | None:
        """When the utterance ``seq`` ended (its words were all said), as a timestamp."""
        utt = self.utterances.get(seq) if seq is not None else None
        if utt is None or self.start is None:
            return None
        return self.start + timedelta(milliseconds=utt.end_ms)

    def whole(self, utt: UtteranceReceived) -> Quote:
        return self._quote(utt, 0, len(utt.text))

    def spans(self, seq: int | None, spans: Sequence[tuple[int, int]]) -> tuple[Quote, ...]:
        """Quotes of ``spans``; spans separated by nothing but spaces are joined into one quote."""
        utt = self.utterances.get(seq) if seq is not None else None
        if utt is None:
            return ()
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            a, b = max(0, a), min(len(utt.text), b)
            if a >= b:
                continue
            if merged and (a <= merged[-1][1] or not utt.text[merged[-1][1] : a].strip()):
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return tuple(self._quote(utt, a, b) for a, b in merged)

    def _quote(self, utt: UtteranceReceived, a: int, b: int) -> Quote:
        return Quote(
            utterance_seq=utt.seq,
            speaker=utt.speaker,
            start=a,
            end=b,
            text=utt.text[a:b],
            at_s=round(utt.start_ms / 1000, 3),
        )


def _risk_finding(finding: Finding, at: datetime, quoter: _Quoter) -> RiskFinding:
    return RiskFinding(
        type=finding.type,
        level=finding.level,
        tier=finding.tier,
        score=round(finding.score, 4),
        assertion=finding.assertion,
        experiencer=finding.experiencer,
        analyzer=f"{finding.analyzer}@{finding.analyzer_version}",
        rule_id=finding.rule_id,
        utterance_seq=finding.utterance_seq,
        at=at,
        evidence=quoter.spans(finding.utterance_seq, finding.evidence),
    )


def _protocol_runs(log: Sequence[AnyEvent]) -> tuple[ProtocolRun, ...]:
    runs: list[dict[str, Any]] = []
    current: dict[str, dict[str, Any]] = {}
    for e in log:
        if isinstance(e, ProtocolActivated):
            run: dict[str, Any] = {
                "protocol_id": e.protocol_id,
                "version": e.version,
                "title": e.title,
                "severity": e.severity,
                "reason": e.reason,
                "alert_id": e.alert_id,
                "activated_at": e.at,
                "steps": {},
            }
            runs.append(run)
            current[e.protocol_id] = run
        elif isinstance(e, ProtocolExited) and e.protocol_id in current:
            current[e.protocol_id].update(exited_at=e.at, exit_reason=e.reason)
        elif isinstance(e, ChecklistStepChanged) and e.protocol_id in current:
            steps: dict[str, dict[str, Any]] = current[e.protocol_id]["steps"]
            step = steps.setdefault(e.step_id, {"step_id": e.step_id, "required": e.required})
            step["status"] = e.status
            if e.status == "due":
                step.setdefault("due_at", e.at)
                step["required"] = e.required
            else:
                step.update(by=e.by, done_at=e.at)
    out = []
    for run in runs:
        step_runs = tuple(StepRun(**s) for s in run.pop("steps").values())
        required = [s for s in step_runs if s.required]
        out.append(
            ProtocolRun(
                **run,
                steps=step_runs,
                required_done=sum(1 for s in required if s.status == "done"),
                required_total=len(required),
            )
        )
    return tuple(out)


def _escalations(log: Sequence[AnyEvent], quoter: _Quoter) -> tuple[Escalation, ...]:
    alerts: dict[str, dict[str, Any]] = {}
    for e in log:
        if isinstance(e, AlertRaised):
            seqs = [f.utterance_seq for f in e.evidence if f.utterance_seq is not None]
            said = [t for t in (quoter.said_at(s) for s in seqs) if t is not None]
            alerts[e.alert_id] = {
                "alert_id": e.alert_id,
                "kind": e.kind,
                "title": e.title,
                "severity": e.severity,
                "protocol_id": e.protocol_id,
                "disclosure_at": min(said) if said else None,
                "raised_at": e.at,
                "escalations": [],
            }
            continue
        alert = alerts.get(getattr(e, "alert_id", "") or "")
        if alert is None:
            continue
        if isinstance(e, AlertAcknowledged) and alert.get("acknowledged_at") is None:
            alert.update(acknowledged_at=e.at, acknowledged_by=e.by)
        elif isinstance(e, AlertEscalated):
            alert["escalations"].append(
                EscalationStep(
                    at=e.at,
                    severity=e.severity,
                    reason=e.reason,
                    notify=e.notify,
                    escalation_level=e.escalation_level,
                )
            )
            if SEVERITY_RANK[e.severity] > SEVERITY_RANK[alert["severity"]]:
                alert["severity"] = e.severity
            alert["protocol_id"] = alert["protocol_id"] or e.protocol_id
        elif isinstance(e, AlertResolved):
            alert.update(resolved_at=e.at, resolved_by=e.by, outcome=e.outcome)
    out = []
    for alert in alerts.values():
        disclosed, raised, acked = alert["disclosure_at"], alert["raised_at"], alert.get("acknowledged_at")
        out.append(
            Escalation(
                **{**alert, "escalations": tuple(alert["escalations"])},
                disclosure_to_alert_s=_seconds(disclosed, raised),
                alert_to_ack_s=_seconds(raised, acked),
                disclosure_to_ack_s=_seconds(disclosed, acked),
            )
        )
    return tuple(out)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds(), 3)
