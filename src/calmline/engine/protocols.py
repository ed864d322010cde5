"""Runs the call's protocol machines inside the pure engine and turns their commands into output events.

The interpreter (``calmline.protocols.interpreter``) knows protocols, steps and deadlines; this module knows
the call: it feeds the interpreter what happened on the call (findings, scores, agent intents, actions,
acknowledgements, transfers, ticks) and maps its commands onto the call's alerts:

* A protocol with an escalation chain needs an alert. If the finding that triggered it already has an open
  alert (the alert policy raised one for the same finding type), the protocol *attaches* to that alert:
  one alert per situation, whose escalation chain is the protocol's. Otherwise the protocol raises its own.
* The alert carries who must acknowledge (``notify``), the escalation level and the acknowledgement deadline.
  Acknowledging or resolving the alert acknowledges every protocol attached to it, which stops escalation.
* A missed deadline (seen on a ``tick``) escalates the alert to the next level of the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from calmline.engine.state import AlertView, CallState
from calmline.events import (
    SEVERITY_RANK,
    AlertEscalated,
    AlertRaised,
    ChecklistStepChanged,
    Finding,
    FollowUpScheduled,
    OutputEvent,
    ProtocolActivated,
    ProtocolExited,
    Severity,
)
from calmline.protocols import interpreter as pi
from calmline.protocols.schema import ProtocolLibrary


def run(
    library: ProtocolLibrary,
    state: CallState,
    inputs: Sequence[pi.ProtocolInput],
    now: datetime,
    pending: list[OutputEvent],
) -> CallState:
    """Step every input through the interpreter; append the resulting outputs to ``pending`` (in place).

    ``pending`` holds the outputs this engine step has produced so far, so that an alert raised by the
    policy a moment ago can carry the escalation chain of the protocol that attaches to it.
    """
    if not library.protocols:
        return state
    for inp in inputs:
        pstate, commands = pi.step(library, state.protocols, inp, now)
        state = replace(state, protocols=pstate)
        if commands:
            trigger = inp.finding if isinstance(inp, pi.FindingSeen) else None
            state = _apply(library, state, commands, trigger, now, pending)
    return state


def _apply(
    library: ProtocolLibrary,
    state: CallState,
    commands: Sequence[pi.Command],
    trigger: Finding | None,
    now: datetime,
    pending: list[OutputEvent],
) -> CallState:
    call_id = state.call_id
    activated: dict[str, int] = {}  # protocol id -> index of its ProtocolActivated in pending
    for cmd in commands:
        match cmd:
            case pi.ActivateProtocol(protocol_id=pid, version=version, reason=reason):
                protocol = library.get(pid)
                assert protocol is not None
                activated[pid] = len(pending)
                pending.append(
                    ProtocolActivated(
                        call_id=call_id,
                        protocol_id=pid,
                        version=version,
                        title=protocol.title,
                        severity=protocol.severity,
                        reason=reason,
                        at=now,
                    )
                )
            case pi.StepDue(protocol_id=pid, step_id=sid, prompt=prompt, script=script, required=required):
                pending.append(
                    ChecklistStepChanged(
                        call_id=call_id,
                        protocol_id=pid,
                        step_id=sid,
                        status="due",
                        prompt=prompt,
                        script=script,
                        required=required,
                        at=now,
                    )
                )
            case pi.StepDone(protocol_id=pid, step_id=sid, by=by):
                done = ChecklistStepChanged(
                    call_id=call_id, protocol_id=pid, step_id=sid, status="done", by=by, at=now
                )
                pending.append(done)
            case pi.RaiseAlert():
                state, alert_id = _raise(library, state, cmd, trigger, now, pending)
                index = activated.get(cmd.protocol_id)
                if index is not None:
                    activation = pending[index]
                    pending[index] = activation.model_copy(update={"alert_id": alert_id})
            case pi.ChainExhausted(protocol_id=pid, level=level, notify=notify, reason=reason):
                # The last level missed its deadline: say so on the alert and clear the deadline.
                state = _escalate(state, pid, level, notify, reason, None, now, pending, final=True)
            case pi.Escalate(protocol_id=pid, level=level, notify=notify, reason=reason):
                deadline = _deadline(state, pid)
                state = _escalate(state, pid, level, notify, reason, deadline, now, pending, final=False)
            case pi.ProtocolExited(protocol_id=pid, reason=reason):
                pending.append(ProtocolExited(call_id=call_id, protocol_id=pid, reason=reason, at=now))
            case pi.ScheduleDeadline():
                pass  # the deadline is in the protocol state and on the alert outputs
    return state


def _escalate(
    state: CallState,
    pid: str,
    level: int,
    notify: str,
    reason: str,
    deadline: datetime | None,
    now: datetime,
    pending: list[OutputEvent],
    *,
    final: bool,
) -> CallState:
    """Move the protocol's alert to ``level`` (``final``: the chain ran out; the deadline clears)."""
    alert = _alert_of(state, pid)
    owner = _chain_owner(state, alert) if alert is not None else None
    if alert is None or owner not in ((pid, None) if final else (pid,)):
        return state  # resolved, or another protocol runs this alert's chain
    pending.append(
        AlertEscalated(
            alert_id=alert.alert_id,
            call_id=state.call_id,
            severity=alert.severity,
            reason=reason,
            protocol_id=pid,
            notify=notify,
            escalation_level=level,
            ack_deadline=deadline,
            at=now,
        )
    )
    return update_alert(state, replace(alert, status="escalated"))


def _raise(
    library: ProtocolLibrary,
    state: CallState,
    cmd: pi.RaiseAlert,
    trigger: Finding | None,
    now: datetime,
    pending: list[OutputEvent],
) -> tuple[CallState, str]:
    protocol = library.get(cmd.protocol_id)
    assert protocol is not None
    pid = cmd.protocol_id
    deadline = _deadline(state, pid)
    chain = {"protocol_id": pid, "notify": cmd.notify, "escalation_level": 1, "ack_deadline": deadline}
    kind = trigger.type if trigger is not None else pid
    current = state.open_alert(kind)
    if current is None:
        state, raised = new_alert(
            state,
            severity=cmd.severity,
            kind=kind,
            title=protocol.title,
            reason=cmd.reason,
            evidence=(trigger,) if trigger is not None else (),
            policy_rule=f"protocol:{pid}",
            policy_version=protocol.version,
            at=now,
            protocol_id=pid,
            notify=cmd.notify,
            escalation_level=1,
            ack_deadline=deadline,
        )
        pending.append(raised)
        return state, raised.alert_id
    if _chain_owner(state, current) is not None:
        # A more urgent protocol already runs its chain on this alert: this one rides along silently.
        view = replace(current, protocol_ids=(*current.protocol_ids, pid))
        return update_alert(state, view), current.alert_id
    severity = max(current.severity, cmd.severity, key=lambda s: SEVERITY_RANK[s])
    status = current.status
    # The policy may have raised or escalated this alert in the same step: that output carries the chain.
    for i in range(len(pending) - 1, -1, -1):
        out = pending[i]
        if isinstance(out, AlertRaised | AlertEscalated) and out.alert_id == current.alert_id:
            pending[i] = out.model_copy(update={**chain, "severity": severity})
            break
    else:
        pending.append(
            AlertEscalated(
                alert_id=current.alert_id,
                call_id=state.call_id,
                severity=severity,
                reason=cmd.reason,
                evidence=(trigger,) if trigger is not None else (),
                at=now,
                **chain,
            )
        )
        status = "escalated"
    view = replace(
        current,
        severity=severity,
        status=status,
        protocol_ids=(*current.protocol_ids, pid),
    )
    return update_alert(state, view), current.alert_id


def new_alert(
    state: CallState,
    *,
    severity: Severity,
    kind: str,
    title: str,
    reason: str,
    evidence: tuple[Finding, ...],
    policy_rule: str,
    policy_version: str,
    at: datetime,
    protocol_id: str | None = None,
    notify: str | None = None,
    escalation_level: int | None = None,
    ack_deadline: datetime | None = None,
) -> tuple[CallState, AlertRaised]:
    """Open a new alert on the call: the ``alert.raised`` output and the state that remembers it."""
    raised = AlertRaised(
        alert_id=f"{state.call_id}-A{len(state.alerts) + 1}",
        call_id=state.call_id,
        severity=severity,
        kind=kind,
        title=title,
        reason=reason,
        evidence=evidence,
        policy_rule=policy_rule,
        policy_version=policy_version,
        protocol_id=protocol_id,
        notify=notify,
        escalation_level=escalation_level,
        ack_deadline=ack_deadline,
        at=at,
    )
    view = AlertView(
        alert_id=raised.alert_id,
        kind=kind,
        severity=severity,
        status="raised",
        protocol_ids=(protocol_id,) if protocol_id else (),
    )
    return replace(state, alerts=(*state.alerts, view)), raised


def _chain_owner(state: CallState, alert: AlertView) -> str | None:
    """The first-attached protocol still active and waiting for acknowledgement: it runs the chain."""
    for pid in alert.protocol_ids:
        inst = state.protocols.instance(pid)
        if inst is not None and inst.status == "active" and not inst.acknowledged:
            return pid
    return None


def _alert_of(state: CallState, protocol_id: str) -> AlertView | None:
    """The open alert a protocol is attached to."""
    return next(
        (a for a in reversed(state.alerts) if protocol_id in a.protocol_ids and a.status != "resolved"), None
    )


def _deadline(state: CallState, protocol_id: str) -> datetime | None:
    inst = state.protocols.instance(protocol_id)
    return inst.next_deadline if inst is not None else None


def acknowledge(
    library: ProtocolLibrary, state: CallState, alert: AlertView, actor: str, now: datetime
) -> CallState:
    """A person acknowledged (or resolved) the alert: every protocol attached to it stops escalating."""
    inputs = [pi.AlertAcknowledged(protocol_id=pid, actor=actor) for pid in alert.protocol_ids]
    return run(library, state, inputs, now, [])


def follow_ups(library: ProtocolLibrary, state: CallState, now: datetime) -> tuple[OutputEvent, ...]:
    """The follow-ups the call's protocols ask for, scheduled from the end of the call."""
    out: list[OutputEvent] = []
    for inst in state.protocols.instances:
        protocol = library.get(inst.protocol_id)
        if protocol is None or protocol.follow_up is None:
            continue
        out.append(
            FollowUpScheduled(
                call_id=state.call_id,
                protocol_id=protocol.id,
                kind=protocol.follow_up.kind,
                due_by=now + timedelta(hours=protocol.follow_up.within_h),
                at=now,
            )
        )
    return tuple(out)


def next_deadline(state: CallState) -> datetime | None:
    """The earliest acknowledgement deadline still running on the call (the shell ticks then)."""
    deadlines = [
        i.next_deadline for i in state.protocols.active if i.next_deadline is not None and not i.acknowledged
    ]
    return min(deadlines, default=None)


def update_alert(state: CallState, alert: AlertView) -> CallState:
    """Replace one alert's view in the state."""
    return replace(state, alerts=tuple(alert if a.alert_id == alert.alert_id else a for a in state.alerts))
