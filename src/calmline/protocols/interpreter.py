"""The pure protocol interpreter: ``step(library, state, inp, now) -> (state, commands)``.

No clock, no I/O, no randomness. Time arrives as ``now``; deadlines are data in the state and in
``ScheduleDeadline`` commands, which the shell turns into timers that later feed a ``Tick`` back in. Feeding
the same inputs with the same ``now`` values always yields the same states and commands.

Semantics:

* A trigger activates a protocol once per call; repeated triggers are ignored. Active protocols are kept in
  priority order (higher severity first, then library order), and so are the commands of one input.
* On activation every step becomes due; a protocol with an escalation chain raises an alert at level 1 and
  sets the level-1 deadline to ``now + ack_within_s`` (one without a chain is guidance for the agent only).
* A protocol listed in another's ``supersedes`` exits when that other activates, and cannot start while it
  runs (an imminent-risk protocol replaces the lower-tier one instead of running beside it).
* Disabled protocols never activate.
* A ``Tick`` at or after the deadline, unacknowledged, escalates one level and schedules that level's
  deadline from ``now``; past the last level nothing more is scheduled. An acknowledgement stops escalation.
* Intents and actions complete the due steps that wait for them; an ``ActionTaken`` naming a ``step_id``
  also checks that step off by hand. An ``exit`` condition closes the protocol.
* A transfer keeps every protocol (it follows the call) and completes steps that wait for
  ``call.transferred``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from calmline.events.findings import Finding
from calmline.protocols.schema import (
    TIER_RANK,
    ActionCompletion,
    DistressTrigger,
    EmotionTrigger,
    EventCompletion,
    FindingTrigger,
    IntentCompletion,
    Protocol,
    ProtocolLibrary,
    Severity,
)

StepStatus = Literal["due", "done"]
InstanceStatus = Literal["active", "exited"]


# --- inputs -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingSeen:
    """An analyzer finding on one utterance (and whether the caller was verified when it was said)."""

    finding: Finding
    utterance_seq: int
    caller_verified: bool = False


@dataclass(frozen=True, slots=True)
class DistressScored:
    """The caller's distress and emotions on one utterance (feeds distress and emotion triggers)."""

    distress: float
    utterance_seq: int
    emotions: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class IntentSeen:
    """The agent was heard doing something (an intent id of the agent-utterance matchers)."""

    intent_id: str
    utterance_seq: int


@dataclass(frozen=True, slots=True)
class ActionTaken:
    """Someone recorded an action; ``step_id`` checks a step off by hand (only in ``protocol_id``, if set)."""

    action: str
    actor: str
    step_id: str | None = None
    protocol_id: str | None = None


@dataclass(frozen=True, slots=True)
class AlertAcknowledged:
    """A person took responsibility for a protocol's alert."""

    protocol_id: str
    actor: str


@dataclass(frozen=True, slots=True)
class Transferred:
    """The call moved to another queue, agent or service."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed (``now`` carries it)."""


ProtocolInput = (
    FindingSeen | DistressScored | IntentSeen | ActionTaken | AlertAcknowledged | Transferred | Tick
)


# --- commands -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivateProtocol:
    """A protocol starts for this call."""

    protocol_id: str
    version: str
    reason: str


@dataclass(frozen=True, slots=True)
class StepDue:
    """Show this step to the agent."""

    protocol_id: str
    step_id: str
    prompt: str
    script: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class StepDone:
    """The step is complete; ``by`` says what completed it (``intent:<id>``, an actor, or an event)."""

    protocol_id: str
    step_id: str
    by: str


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    """Tell the level-1 recipient that the protocol is active."""

    protocol_id: str
    severity: Severity
    reason: str
    escalation_level: int
    notify: str


@dataclass(frozen=True, slots=True)
class Escalate:
    """Nobody acknowledged in time: tell the next level."""

    protocol_id: str
    level: int
    notify: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChainExhausted:
    """The last level's deadline passed unacknowledged: the alert stays open, nobody further to tell."""

    protocol_id: str
    level: int
    notify: str
    reason: str


@dataclass(frozen=True, slots=True)
class ScheduleDeadline:
    """Arm a timer: feed a ``Tick`` at ``at``."""

    protocol_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ProtocolExited:
    """An exit condition closed the protocol; no more escalation."""

    protocol_id: str
    reason: str


Command = (
    ActivateProtocol
    | StepDue
    | StepDone
    | RaiseAlert
    | Escalate
    | ChainExhausted
    | ScheduleDeadline
    | ProtocolExited
)


# --- state --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProtocolInstance:
    """One protocol running on this call."""

    protocol_id: str
    version: str
    activated_at: datetime
    steps: tuple[tuple[str, StepStatus], ...]
    escalation_level: int = 1
    next_deadline: datetime | None = None
    acknowledged: bool = False
    acknowledged_by: str | None = None
    status: InstanceStatus = "active"

    def step_status(self, step_id: str) -> StepStatus | None:
        """The status of one step, or ``None`` if the protocol has no such step."""
        return dict(self.steps).get(step_id)

    @property
    def due(self) -> tuple[str, ...]:
        """The ids of the steps not yet done."""
        return tuple(sid for sid, status in self.steps if status == "due")


@dataclass(frozen=True, slots=True)
class ProtocolState:
    """Every protocol ever activated on this call (in priority order) and the recent distress window."""

    instances: tuple[ProtocolInstance, ...] = ()
    recent_distress: tuple[float, ...] = ()
    recent_emotions: tuple[tuple[tuple[str, float], ...], ...] = ()
    #: (utterance seq, intent) heard from the agent lately: a protocol that starts a moment after the agent
    #: already did the right thing ("I'm so sorry for your loss") counts it.
    recent_intents: tuple[tuple[int, str], ...] = ()

    def instance(self, protocol_id: str) -> ProtocolInstance | None:
        """The instance of one protocol, if it was activated."""
        return next((i for i in self.instances if i.protocol_id == protocol_id), None)

    @property
    def active(self) -> tuple[ProtocolInstance, ...]:
        """The instances still running."""
        return tuple(i for i in self.instances if i.status == "active")


Commands = tuple[Command, ...]

#: How many utterances back an agent intent still completes the steps of a protocol that starts now.
RECENT_INTENT_TURNS = 3


# --- the interpreter ----------------------------------------------------------------------------------


def matches(trigger: FindingTrigger, finding: Finding, caller_verified: bool = False) -> bool:
    """Whether a finding satisfies a finding trigger (said while the caller was or was not verified)."""
    if finding.type != trigger.finding or finding.speaker != trigger.speaker:
        return False
    if trigger.caller_verified is not None and trigger.caller_verified != caller_verified:
        return False
    if trigger.assertion == "present" and not finding.is_present:
        return False
    if trigger.assertion != "present" and finding.assertion != trigger.assertion:
        return False
    if trigger.experiencer is not None and finding.experiencer != trigger.experiencer:
        return False
    if trigger.levels is not None and finding.level not in trigger.levels:
        return False
    if trigger.categories is not None and finding.category not in trigger.categories:
        return False
    return trigger.min_tier is None or (
        finding.tier is not None and TIER_RANK[finding.tier] >= TIER_RANK[trigger.min_tier]
    )


def _distress_met(trigger: DistressTrigger, recent: tuple[float, ...]) -> bool:
    window = recent[-trigger.for_turns :]
    return len(window) == trigger.for_turns and all(d >= trigger.distress_at_least for d in window)


def _emotion_met(trigger: EmotionTrigger, recent: tuple[tuple[tuple[str, float], ...], ...]) -> bool:
    window = recent[-trigger.for_turns :]
    return len(window) == trigger.for_turns and all(
        any(score >= trigger.at_least for name, score in turn if name in trigger.emotion) for turn in window
    )


def _blocked(library: ProtocolLibrary, state: ProtocolState, protocol: Protocol) -> bool:
    """Already activated on this call, disabled, or superseded by a protocol that is running."""
    if not protocol.enabled or state.instance(protocol.id) is not None:
        return True
    for inst in state.active:
        running = library.get(inst.protocol_id)
        if running is not None and protocol.id in running.supersedes:
            return True
    return False


def _activate(
    library: ProtocolLibrary,
    state: ProtocolState,
    fired: list[tuple[Protocol, str]],
    now: datetime,
    seq: int,
) -> tuple[ProtocolState, Commands]:
    commands: list[Command] = []
    replaced = {pid for protocol, _ in fired for pid in protocol.supersedes}
    for protocol, reason in fired:  # already in priority order
        if protocol.id in replaced or _blocked(library, state, protocol):
            continue  # another protocol firing on the same input replaces it, or one running does
        level1 = protocol.escalation[0] if protocol.escalation else None
        deadline = now + timedelta(seconds=level1.ack_within_s) if level1 is not None else None
        instances: list[ProtocolInstance] = []
        for inst in state.instances:
            if inst.status == "active" and inst.protocol_id in protocol.supersedes:
                inst = replace(inst, status="exited", next_deadline=None)
                commands.append(ProtocolExited(inst.protocol_id, f"superseded by {protocol.id}"))
            instances.append(inst)
        instances.append(
            ProtocolInstance(
                protocol_id=protocol.id,
                version=protocol.version,
                activated_at=now,
                steps=tuple((s.id, "due") for s in protocol.steps),
                next_deadline=deadline,
            )
        )
        instances.sort(key=lambda i: library.priority(i.protocol_id))
        state = replace(state, instances=tuple(instances))
        commands.append(ActivateProtocol(protocol.id, protocol.version, reason))
        commands.extend(StepDue(protocol.id, s.id, s.prompt, s.script, s.required) for s in protocol.steps)
        for said_at, intent in state.recent_intents:
            if said_at < seq - RECENT_INTENT_TURNS:
                continue
            state, done = _complete(
                library, state, intent=intent, by=f"intent:{intent}", only=protocol.id, exits=False
            )
            commands.extend(done)
        if level1 is not None and deadline is not None:
            commands.append(
                RaiseAlert(protocol.id, protocol.severity, f"{protocol.title}: {reason}", 1, level1.notify)
            )
            commands.append(ScheduleDeadline(protocol.id, deadline))
    return state, tuple(commands)


def _on_finding(
    library: ProtocolLibrary, state: ProtocolState, inp: FindingSeen, now: datetime
) -> tuple[ProtocolState, Commands]:
    f = inp.finding
    fired: list[tuple[Protocol, str]] = []
    for protocol in library.protocols:
        if _blocked(library, state, protocol):
            continue
        if any(
            isinstance(t, FindingTrigger) and matches(t, f, inp.caller_verified) for t in protocol.triggers
        ):
            tier = f", tier {f.tier}" if f.tier else ""
            fired.append((protocol, f"{f.type} ({f.level}{tier}) at utterance {inp.utterance_seq}"))
    return _activate(library, state, fired, now, inp.utterance_seq)


def _on_distress(
    library: ProtocolLibrary, state: ProtocolState, inp: DistressScored, now: datetime
) -> tuple[ProtocolState, Commands]:
    keep = library.max_distress_turns
    recent = (*state.recent_distress, inp.distress)[-keep:] if keep else ()
    emotions = (*state.recent_emotions, inp.emotions)[-keep:] if keep else ()
    state = replace(state, recent_distress=recent, recent_emotions=emotions)
    fired: list[tuple[Protocol, str]] = []
    for protocol in library.protocols:
        if _blocked(library, state, protocol):
            continue
        for t in protocol.triggers:
            if isinstance(t, DistressTrigger) and _distress_met(t, recent):
                what = f"distress >= {t.distress_at_least}"
            elif isinstance(t, EmotionTrigger) and _emotion_met(t, emotions):
                what = f"{' or '.join(t.emotion)} >= {t.at_least}"
            else:
                continue
            fired.append((protocol, f"{what} for {t.for_turns} turns (to utterance {inp.utterance_seq})"))
            break
    return _activate(library, state, fired, now, inp.utterance_seq)


def _complete(
    library: ProtocolLibrary,
    state: ProtocolState,
    *,
    intent: str | None = None,
    action: str | None = None,
    step_id: str | None = None,
    transferred: bool = False,
    by: str,
    only: str | None = None,
    exits: bool = True,
) -> tuple[ProtocolState, Commands]:
    """Complete the due steps waiting for this intent, action, step or transfer; apply exit conditions.

    ``only`` limits it to one protocol; ``exits=False`` completes steps without applying exit conditions
    (used when a new protocol counts what the agent said just before it started).
    """
    commands: list[Command] = []
    instances: list[ProtocolInstance] = []
    for inst in state.instances:
        protocol = library.get(inst.protocol_id)
        if inst.status != "active" or protocol is None or (only is not None and inst.protocol_id != only):
            instances.append(inst)
            continue
        steps: list[tuple[str, StepStatus]] = []
        for step in protocol.steps:
            status = inst.step_status(step.id) or "due"
            c = step.completes_on
            hit = (
                (isinstance(c, IntentCompletion) and c.intent == intent)
                or (isinstance(c, ActionCompletion) and c.action == action)
                or (isinstance(c, EventCompletion) and transferred)
                or (step_id is not None and step.id == step_id)
            )
            if status == "due" and hit:
                status = "done"
                commands.append(StepDone(protocol.id, step.id, by))
            steps.append((step.id, status))
        inst = replace(inst, steps=tuple(steps))
        exit_hit = (
            None
            if not exits
            else next(
                (
                    e
                    for e in protocol.exit
                    if (isinstance(e, IntentCompletion) and e.intent == intent)
                    or (isinstance(e, ActionCompletion) and e.action == action)
                ),
                None,
            )
        )
        if exit_hit is not None:
            inst = replace(inst, status="exited", next_deadline=None)
            what = f"intent {intent}" if isinstance(exit_hit, IntentCompletion) else f"action {action}"
            commands.append(ProtocolExited(protocol.id, f"exit on {what} by {by}"))
        instances.append(inst)
    return replace(state, instances=tuple(instances)), tuple(commands)


def _on_ack(state: ProtocolState, inp: AlertAcknowledged) -> tuple[ProtocolState, Commands]:
    instances = tuple(
        replace(i, acknowledged=True, acknowledged_by=inp.actor, next_deadline=None)
        if i.protocol_id == inp.protocol_id and i.status == "active" and not i.acknowledged
        else i
        for i in state.instances
    )
    return replace(state, instances=instances), ()


def _on_tick(library: ProtocolLibrary, state: ProtocolState, now: datetime) -> tuple[ProtocolState, Commands]:
    commands: list[Command] = []
    instances: list[ProtocolInstance] = []
    for inst in state.instances:
        protocol = library.get(inst.protocol_id)
        if (
            protocol is None
            or inst.status != "active"
            or inst.acknowledged
            or inst.next_deadline is None
            or now < inst.next_deadline
        ):
            instances.append(inst)
            continue
        missed = protocol.escalation_level(inst.escalation_level)
        nxt = protocol.escalation_level(inst.escalation_level + 1)
        if nxt is None:  # the last level did not acknowledge either: say so, nothing more to schedule
            if missed is not None:
                commands.append(
                    ChainExhausted(
                        protocol.id,
                        missed.level,
                        missed.notify,
                        f"{protocol.title}: not acknowledged by {missed.notify} within "
                        f"{missed.ack_within_s} s; no further escalation level",
                    )
                )
            instances.append(replace(inst, next_deadline=None))
            continue
        deadline = now + timedelta(seconds=nxt.ack_within_s)
        who = missed.notify if missed is not None else "previous level"
        commands.append(
            Escalate(
                protocol.id,
                nxt.level,
                nxt.notify,
                f"{protocol.title}: not acknowledged by {who} within "
                f"{missed.ack_within_s if missed else 0} s",
            )
        )
        commands.append(ScheduleDeadline(protocol.id, deadline))
        instances.append(replace(inst, escalation_level=nxt.level, next_deadline=deadline))
    return replace(state, instances=tuple(instances)), tuple(commands)


def step(
    library: ProtocolLibrary, state: ProtocolState, inp: ProtocolInput, now: datetime
) -> tuple[ProtocolState, Commands]:
    """Apply one input at time ``now``; return the new state and the commands for the shell."""
    match inp:
        case FindingSeen():
            return _on_finding(library, state, inp, now)
        case DistressScored():
            return _on_distress(library, state, inp, now)
        case IntentSeen(intent_id=intent_id, utterance_seq=seq):
            recent = tuple(r for r in state.recent_intents if r[0] >= seq - RECENT_INTENT_TURNS)
            state = replace(state, recent_intents=(*recent, (seq, intent_id)))
            return _complete(library, state, intent=intent_id, by=f"intent:{intent_id}")
        case ActionTaken(action=action, actor=actor, step_id=step_id, protocol_id=only):
            return _complete(library, state, action=action, step_id=step_id, by=actor, only=only)
        case AlertAcknowledged():
            return _on_ack(state, inp)
        case Transferred():
            return _complete(library, state, transferred=True, by="call.transferred")
        case Tick():  # pragma: no branch - the match is exhaustive
            return _on_tick(library, state, now)
