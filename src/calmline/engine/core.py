"""The pure call engine: ``step(state, event) -> (state, outputs)``.

No I/O, no clock, no randomness: time arrives inside events, identifiers are derived from the call and
its counters, and analyzers are pure. Feeding the same events in the same order always yields the same
states and outputs, which is what ``calmline replay`` proves.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry, Turn
from calmline.analysis.empathy import empathy_dict
from calmline.continuity.rules import ContinuityRules, evaluate, load_continuity
from calmline.engine import protocols as protocol_runner
from calmline.engine import suggestions as suggestion_picker
from calmline.engine.policy import AlertPolicy, AlertRule
from calmline.engine.protocols import update_alert as _update_alert
from calmline.engine.state import HISTORY_WINDOW, CallState
from calmline.engine.suggestions import SuggestionLibrary
from calmline.events import (
    GUARDRAIL_TYPE,
    SEVERITY_RANK,
    SIGNAL_TYPES,
    AgentTurnScored,
    AlertAcknowledged,
    AlertEscalated,
    AlertResolved,
    CallEnded,
    CallerFlagged,
    CallerHistory,
    CallerVerified,
    CallInput,
    CallStarted,
    CallTransferred,
    Finding,
    FindingEmitted,
    OutputEvent,
    ProtocolActivated,
    ProtocolsPinned,
    RoutingDecided,
    SequenceGap,
    SupervisorAction,
    Tick,
    UtteranceReceived,
    UtteranceScored,
)
from calmline.protocols import interpreter as pi
from calmline.protocols.catalog import ProtocolCatalog
from calmline.protocols.intents import IntentMatcher
from calmline.protocols.schema import ProtocolLibrary

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Weight of the newest utterance in the smoothed distress trajectory.
SMOOTHING = 0.5
#: The smoothed distress must rise by this much over ``ESCALATION_TURNS`` caller turns to be "escalating".
ESCALATION_RISE = 0.15
ESCALATION_TURNS = 3

Outputs = tuple[OutputEvent, ...]
#: The agent intent that marks the caller verified (see ``resources/rules/en/intents.yaml``).
CONFIRMED_IDENTITY = "confirmed_identity"


class CallEngine:
    """Holds the analyzers and policies; ``step`` itself is a pure function of (state, event)."""

    def __init__(
        self,
        registry: AnalyzerRegistry,
        policy: AlertPolicy,
        protocols: ProtocolCatalog | None = None,
        intents: IntentMatcher | None = None,
        suggestions: SuggestionLibrary | None = None,
        continuity: ContinuityRules | None = None,
    ) -> None:
        """Build the engine.

        ``protocols`` holds the protocol sets calls may be pinned to (none: no protocols run); ``intents``
        are the agent-utterance matchers that complete protocol steps (the packaged ones by default);
        ``suggestions`` is the phrase library offered to the agent (none: no suggestions); ``continuity`` the
        repeat-caller rules (the packaged ``resources/continuity.yaml`` by default).
        """
        self.continuity = continuity or load_continuity()
        self.suggestions = suggestions
        self.registry = registry
        self.policy = policy
        self.protocols = protocols or ProtocolCatalog()
        if intents is None and self.protocols.current.protocols:
            from calmline.protocols.intents import default_matcher

            intents = default_matcher()
        self.intents = intents

    def library(self, state: CallState) -> ProtocolLibrary:
        """The protocols this call runs: its pinned set, or the current one if it was never pinned."""
        return self.protocols.get(state.protocol_set).library

    def initial(self, call_id: str) -> CallState:
        """The state of a call before any event."""
        return CallState(call_id=call_id)

    def step(self, state: CallState, event: CallInput) -> tuple[CallState, Outputs]:
        """Apply one input event to the call state and return the new state and the outputs."""
        state = replace(state, inputs=state.inputs + 1)
        seq = getattr(event, "seq", None)
        if isinstance(seq, int) and seq > state.last_seq:
            state = replace(state, last_seq=seq)
        match event:
            case CallStarted():
                return self._started(state, event), ()
            case UtteranceReceived():
                return self._utterance(state, event)
            case ProtocolsPinned():
                return replace(state, protocol_set=event.protocol_set), ()
            case CallerHistory():
                return self._history(state, event)
            case CallTransferred():
                agent = event.to_agent or state.agent_id
                state = replace(
                    state,
                    transfers=state.transfers + 1,
                    queue=event.to_queue or state.queue,
                    agent_id=agent,
                    now=event.at,
                )
                state, outputs = self._protocols(state, [pi.Transferred()], event.at)
                decision = RoutingDecided(
                    call_id=state.call_id,
                    queue=state.queue,
                    agent_id=agent,
                    priority=max((SEVERITY_RANK[a.severity] for a in state.alerts), default=0),
                    reason=event.reason or "transferred",
                    at=event.at,
                )
                return state, (decision, *outputs)
            case CallEnded():
                state = replace(state, status="ended", disposition=event.disposition, now=event.at)
                if state.follow_ups_scheduled:
                    return state, ()
                follow = protocol_runner.follow_ups(self.library(state), state, event.at)
                return replace(state, follow_ups_scheduled=True), follow
            case SupervisorAction():
                return self._supervisor(state, event)
            case Tick():
                state = replace(state, now=max(event.at, state.now) if state.now else event.at)
                return self._protocols(state, [pi.Tick()], state.now or event.at)
            case SequenceGap():
                return replace(
                    state,
                    gaps=(*state.gaps, (event.missing_from, event.missing_to)),
                    last_seq=max(state.last_seq, event.missing_to),
                ), ()
        raise TypeError(f"not a call input event: {type(event).__name__}")  # pragma: no cover

    def fold(self, call_id: str, events: Iterable[CallInput]) -> tuple[CallState, Outputs]:
        """Step through ``events`` from the initial state; returns the final state and all outputs."""
        state = self.initial(call_id)
        outputs: list[OutputEvent] = []
        for event in events:
            state, out = self.step(state, event)
            outputs.extend(out)
        return state, tuple(outputs)

    # -- inputs ---------------------------------------------------------------------------------------

    @staticmethod
    def _started(state: CallState, event: CallStarted) -> CallState:
        return replace(
            state,
            status="active" if state.status != "ended" else "ended",
            queue=event.queue,
            language=event.language,
            agent_id=event.agent_id,
            started_at=event.started_at,
            now=event.started_at,
        )

    def _history(self, state: CallState, event: CallerHistory) -> tuple[CallState, Outputs]:
        """A known caller's history (docs/CONTINUITY.md): heightened attention, rising distress."""
        rules = self.continuity
        decision = evaluate(rules, event)
        outputs: list[OutputEvent] = []
        if decision.flag_reason is not None and not state.heightened:
            state = replace(state, heightened=True)
            outputs.append(
                CallerFlagged(
                    call_id=state.call_id,
                    rule=rules.flag.id,
                    rules_version=rules.version,
                    reason=decision.flag_reason,
                    at=event.at,
                )
            )
        if decision.rising_reason is not None and state.open_alert("repeat_caller") is None:
            rule = rules.rising_distress
            state, raised = protocol_runner.new_alert(
                state,
                severity=rule.severity,
                kind="repeat_caller",
                title=rule.title,
                reason=decision.rising_reason,
                evidence=(),
                policy_rule=rule.id,
                policy_version=rules.version,
                at=event.at,
            )
            outputs.append(raised)
        return state, tuple(outputs)

    def _heighten(self, rule: AlertRule | None, finding: Finding) -> AlertRule | None:
        """At heightened attention a risk finding alerts at least at the continuity rule's severity."""
        lift = self.continuity.heightened
        if not lift.applies(finding):
            return rule
        if rule is None:
            return AlertRule(id=lift.id, finding=finding.type, severity=lift.min_severity, title=lift.title)
        if SEVERITY_RANK[rule.severity] < SEVERITY_RANK[lift.min_severity]:
            return rule.model_copy(update={"id": lift.id, "severity": lift.min_severity})
        return rule

    def _rule_version(self, rule: AlertRule) -> str:
        lifted = rule.id == self.continuity.heightened.id
        return self.continuity.version if lifted else self.policy.version

    def _utterance(self, state: CallState, event: UtteranceReceived) -> tuple[CallState, Outputs]:
        at = (state.started_at or _EPOCH) + timedelta(milliseconds=event.end_ms)
        state = replace(state, now=max(at, state.now) if state.now else at)
        if state.status == "new":
            state = replace(state, status="active")
        if not event.is_final:
            return state, ()  # partial transcripts are superseded by their final version
        ctx = AnalysisContext(
            text=event.text,
            speaker=event.speaker,
            seq=event.seq,
            language=state.language,
            history=state.history,
            verified=state.verified,
        )
        found = self.registry.run(ctx)
        turn = Turn(seq=event.seq, speaker=event.speaker, text=event.text)
        state = replace(
            state, utterances=state.utterances + 1, history=(*state.history, turn)[-HISTORY_WINDOW:]
        )
        signals = [f for f in found if f.type in SIGNAL_TYPES]
        findings = tuple(f for f in found if f.type not in SIGNAL_TYPES)
        outputs: list[OutputEvent] = [
            FindingEmitted(call_id=state.call_id, finding=f, at=at) for f in findings
        ]
        state = replace(state, findings=(*state.findings, *findings))
        scored: UtteranceScored | None = None
        if signals and event.speaker == "caller":
            state, scored = self._score(state, event.seq, signals, at)
            outputs.append(scored)
        if event.speaker == "agent" and signals:  # the registry scores agent turns (empathy analyzer)
            outputs.append(
                AgentTurnScored(
                    call_id=state.call_id,
                    utterance_seq=event.seq,
                    empathy=empathy_dict(signals),
                    talk_over=state.caller_end_ms is not None and event.start_ms < state.caller_end_ms,
                    silence_before_s=(
                        round(max(0, event.start_ms - state.last_end_ms) / 1000, 2)
                        if state.last_end_ms is not None
                        else None
                    ),
                    at=at,
                )
            )
        state = replace(
            state,
            last_end_ms=max(event.end_ms, state.last_end_ms or 0),
            caller_end_ms=event.end_ms if event.speaker == "caller" else state.caller_end_ms,
        )
        state, alerts = self._alerts(state, findings, at)
        outputs.extend(alerts)
        intents: tuple[str, ...] = ()
        if event.speaker == "agent" and self.intents is not None:
            intents = tuple(m.intent for m in self.intents.match(event.text))
        library = self.library(state)
        if library.protocols:
            inputs: list[pi.ProtocolInput] = [pi.FindingSeen(f, event.seq, state.verified) for f in findings]
            if scored is not None:
                inputs.append(
                    pi.DistressScored(scored.distress, event.seq, tuple(sorted(scored.emotions.items())))
                )
            inputs.extend(pi.IntentSeen(i, event.seq) for i in intents)  # also remembered for a later start
            state = protocol_runner.run(library, state, inputs, at, outputs)
        if self.suggestions is not None:
            state, offered = suggestion_picker.pick(
                self.suggestions,
                state,
                at=at,
                emotions=scored.emotions if scored is not None else None,
                guardrails=tuple(f for f in findings if f.type == GUARDRAIL_TYPE and f.speaker == "agent"),
                activated=tuple(o.protocol_id for o in outputs if isinstance(o, ProtocolActivated)),
                crisis=any(
                    (p := library.get(i.protocol_id)) is not None and p.severity in ("high", "critical")
                    for i in state.protocols.active
                ),
            )
            outputs.extend(offered)
        if CONFIRMED_IDENTITY in intents and not state.verified:
            # The agent told the caller their details check out: the conversation verified them.
            state, verified = self._verify(
                state, None, "confirmed_on_call", f"intent:{CONFIRMED_IDENTITY}", at
            )
            outputs.extend(verified)
        return state, tuple(outputs)

    def _verify(
        self, state: CallState, relation: str | None, method: str, by: str, at: datetime
    ) -> tuple[CallState, Outputs]:
        """The caller's identity and authority were checked: later records requests are not a breach."""
        state = replace(
            state,
            verified=True,
            caller_relation=relation or state.caller_relation,
            verification_method=method,
        )
        verified = CallerVerified(
            call_id=state.call_id, relation=state.caller_relation, method=method, by=by, at=at
        )
        state, more = self._protocols(state, [pi.ActionTaken(action="caller_verified", actor=by)], at)
        return state, (verified, *more)

    def _protocols(
        self, state: CallState, inputs: list[pi.ProtocolInput], now: datetime
    ) -> tuple[CallState, Outputs]:
        outputs: list[OutputEvent] = []
        state = protocol_runner.run(self.library(state), state, inputs, now, outputs)
        return state, tuple(outputs)

    @staticmethod
    def _score(
        state: CallState, seq: int, signals: list[Finding], at: datetime
    ) -> tuple[CallState, UtteranceScored]:
        emotions = {f.level: round(f.score, 4) for f in signals if f.type == "emotion"}
        distress = max((f.score for f in signals if f.type == "distress"), default=0.0)
        previous = state.distress_smoothed[-1] if state.distress_smoothed else distress
        smoothed = round(SMOOTHING * distress + (1 - SMOOTHING) * previous, 4)
        series = (*state.distress_smoothed, smoothed)
        window = series[-(ESCALATION_TURNS + 1) :]
        escalating = (
            len(window) == ESCALATION_TURNS + 1
            and all(b >= a for a, b in itertools.pairwise(window))
            and window[-1] - window[0] >= ESCALATION_RISE
        )
        state = replace(state, distress=(*state.distress, round(distress, 4)), distress_smoothed=series)
        return state, UtteranceScored(
            call_id=state.call_id,
            utterance_seq=seq,
            emotions=emotions,
            distress=round(distress, 4),
            distress_smoothed=smoothed,
            escalating=escalating,
            at=at,
        )

    def _alerts(
        self, state: CallState, findings: tuple[Finding, ...], at: datetime
    ) -> tuple[CallState, list[OutputEvent]]:
        outputs: list[OutputEvent] = []
        for finding in findings:
            rule = self.policy.match(finding)
            if state.heightened:
                rule = self._heighten(rule, finding)
            if rule is None:
                continue
            current = state.open_alert(rule.finding)
            source = f"{finding.analyzer}@{finding.analyzer_version}"
            reason = f"{rule.title}: {finding.type}/{finding.level} by {source}"
            if current is None:
                state, raised = protocol_runner.new_alert(
                    state,
                    severity=rule.severity,
                    kind=rule.finding,
                    title=rule.title,
                    reason=reason,
                    evidence=(finding,),
                    policy_rule=rule.id,
                    policy_version=self._rule_version(rule),
                    at=at,
                )
                outputs.append(raised)
            elif SEVERITY_RANK[rule.severity] > SEVERITY_RANK[current.severity]:
                outputs.append(
                    AlertEscalated(
                        alert_id=current.alert_id,
                        call_id=state.call_id,
                        severity=rule.severity,
                        reason=reason,
                        evidence=(finding,),
                        at=at,
                    )
                )
                state = _update_alert(state, replace(current, severity=rule.severity, status="escalated"))
        return state, outputs

    def _supervisor(self, state: CallState, event: SupervisorAction) -> tuple[CallState, Outputs]:
        state = replace(state, now=max(event.at, state.now) if state.now else event.at)
        if event.action == "note":
            return replace(state, notes=state.notes + 1), ()
        if event.action == "verify_caller":
            return self._verify(state, event.relation, event.method or "agent_action", event.actor, event.at)
        if event.action == "protocol_action":
            action = pi.ActionTaken(
                action=event.name or "",
                actor=event.actor,
                step_id=event.step_id,
                protocol_id=event.protocol_id,
            )
            return self._protocols(state, [action], event.at)
        alert = state.alert(event.alert_id) if event.alert_id else None
        if alert is None or alert.status == "resolved":
            return state, ()
        if event.action == "acknowledge_alert":
            if alert.status == "acknowledged":
                return state, ()
            state = _update_alert(state, replace(alert, status="acknowledged"))
            state = protocol_runner.acknowledge(self.library(state), state, alert, event.actor, event.at)
            return state, (
                AlertAcknowledged(
                    alert_id=alert.alert_id, call_id=state.call_id, by=event.actor, at=event.at
                ),
            )
        if event.action == "resolve_alert":
            state = _update_alert(state, replace(alert, status="resolved"))
            state = protocol_runner.acknowledge(self.library(state), state, alert, event.actor, event.at)
            return state, (
                AlertResolved(
                    alert_id=alert.alert_id,
                    call_id=state.call_id,
                    by=event.actor,
                    outcome=event.outcome or "resolved",
                    at=event.at,
                ),
            )
        return state, ()
