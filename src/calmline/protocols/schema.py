"""The protocol IR: what a protocol YAML file may say, validated before anything runs it.

A protocol is clinical knowledge as data (STYLE.md principle 6): what activates it (``triggers``), what the
agent should do (``steps``, each with a prompt, script lines and what completes it), who is told and how
fast they must acknowledge (``escalation``), what ends it early (``exit``) and what happens after the call
(``follow_up``). Timers are data here (``ack_within_s``); the interpreter never reads a clock.

Example (abridged)::

    id: suicide_imminent
    severity: critical
    triggers:
      - {finding: suicide_risk, min_tier: imminent}
    steps:
      - id: ask_safe_now
        prompt: Ask whether the caller is safe right now.
        script: ["Are you safe right now?"]
        completes_on: {intent: asked_if_safe_now}
    escalation:
      - {level: 1, notify: supervisor, ack_within_s: 60}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from calmline.events.findings import Assertion, Experiencer, Tier

Severity = Literal["info", "warning", "high", "critical"]
Notify = Literal["supervisor", "clinician", "crisis_line", "emergency_services"]
Speaker = Literal["caller", "agent"]

#: Higher is more urgent.
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}
TIER_RANK: dict[str, int] = {"low": 0, "moderate": 1, "high": 2, "imminent": 3}

_ID = r"^[a-z][a-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FindingTrigger(_Model):
    """Activates the protocol when an analyzer reports a matching finding."""

    finding: str = Field(min_length=1, description="Finding type, e.g. suicide_risk.")
    min_tier: Tier | None = Field(default=None, description="The finding's tier must be at least this.")
    levels: tuple[str, ...] | None = Field(default=None, description="The finding's level must be one of.")
    categories: tuple[str, ...] | None = Field(
        default=None, description="The finding's category must be one of (e.g. medical: stroke)."
    )
    assertion: Assertion = Field(
        default="present", description='"present" also accepts "uncertain" (Finding.is_present).'
    )
    experiencer: Experiencer | None = Field(default=None, description="Unset: caller or someone else.")
    speaker: Speaker = Field(default="caller", description="Whose utterance the finding is about.")
    caller_verified: bool | None = Field(
        default=None,
        description="false: only while the caller is not verified (a records request before identity and "
        "authority are checked); true: only after; unset: either.",
    )


class DistressTrigger(_Model):
    """Activates the protocol when caller distress stays high for several consecutive turns."""

    distress_at_least: float = Field(ge=0.0, le=1.0)
    for_turns: int = Field(ge=1, le=50)


Emotion = Literal["anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral"]


class EmotionTrigger(_Model):
    """Activates the protocol when one caller emotion stays at or above a score for several turns.

    ``emotion: [anger, frustration]`` counts a turn when any of the listed emotions reaches ``at_least``.
    """

    emotion: tuple[Emotion, ...] = Field(min_length=1)
    at_least: float = Field(ge=0.0, le=1.0)
    for_turns: int = Field(ge=1, le=50)


class IntentCompletion(_Model):
    """Done when the agent is heard doing this (an intent id of the agent-utterance matchers)."""

    intent: str = Field(pattern=_ID)


class ActionCompletion(_Model):
    """Done when someone records this action (e.g. from the agent console)."""

    action: str = Field(pattern=_ID)


class EventCompletion(_Model):
    """Done when the call event happens."""

    event: Literal["call.transferred"]


def _trigger_tag(value: Any) -> str:
    if isinstance(value, DistressTrigger) or (isinstance(value, dict) and "distress_at_least" in value):
        return "DistressTrigger"
    if isinstance(value, EmotionTrigger) or (isinstance(value, dict) and "emotion" in value):
        return "EmotionTrigger"
    return "FindingTrigger"


def _completion_tag(value: Any) -> str:
    if isinstance(value, ActionCompletion):
        return "ActionCompletion"
    if isinstance(value, EventCompletion):
        return "EventCompletion"
    if isinstance(value, dict):
        for key, tag in (
            ("intent", "IntentCompletion"),
            ("action", "ActionCompletion"),
            ("event", "EventCompletion"),
        ):
            if key in value:
                return tag
    return "IntentCompletion"


def _exit_tag(value: Any) -> str:
    return (
        "ActionCompletion"
        if isinstance(value, ActionCompletion) or (isinstance(value, dict) and "action" in value)
        else "IntentCompletion"
    )


Trigger = Annotated[
    Annotated[FindingTrigger, Tag("FindingTrigger")]
    | Annotated[DistressTrigger, Tag("DistressTrigger")]
    | Annotated[EmotionTrigger, Tag("EmotionTrigger")],
    Discriminator(_trigger_tag),
]
Completion = Annotated[
    Annotated[IntentCompletion, Tag("IntentCompletion")]
    | Annotated[ActionCompletion, Tag("ActionCompletion")]
    | Annotated[EventCompletion, Tag("EventCompletion")],
    Discriminator(_completion_tag),
]
ExitCondition = Annotated[
    Annotated[IntentCompletion, Tag("IntentCompletion")]
    | Annotated[ActionCompletion, Tag("ActionCompletion")],
    Discriminator(_exit_tag),
]


class Step(_Model):
    """One thing the agent should do, shown as a prompt with suggested script lines."""

    id: str = Field(pattern=_ID)
    prompt: str = Field(min_length=1)
    script: tuple[str, ...] = ()
    required: bool = True
    completes_on: Completion


class EscalationLevel(_Model):
    """Who is told at this level, and how many seconds they have to acknowledge before the next."""

    level: int = Field(ge=1)
    notify: Notify
    ack_within_s: int = Field(ge=1, le=86_400)


class FollowUp(_Model):
    """What must happen after the call, and within how many hours."""

    kind: str = Field(pattern=_ID)
    within_h: int = Field(ge=1, le=24 * 30)


class Protocol(_Model):
    """A versioned crisis protocol. ``Protocol.model_json_schema()`` is its published JSON Schema."""

    id: str = Field(pattern=_ID)
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    rationale: str = Field(min_length=1, description="Plain-language why, for agents and reviewers.")
    sources: tuple[str, ...] = Field(min_length=1)
    severity: Severity
    enabled: bool = Field(default=True, description="A disabled protocol is kept but never activates.")
    supersedes: tuple[str, ...] = Field(
        default=(),
        description="Protocol ids this one replaces: they exit when it activates and cannot start after.",
    )
    triggers: tuple[Trigger, ...] = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)
    escalation: tuple[EscalationLevel, ...] = Field(
        default=(),
        description="Empty: guidance for the agent only, no alert. Else level 1 is alerted on activation.",
    )
    exit: tuple[ExitCondition, ...] = ()
    follow_up: FollowUp | None = None

    @model_validator(mode="after")
    def _check(self) -> Protocol:
        ids = [s.id for s in self.steps]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate step ids: {', '.join(dupes)}")
        if self.id in self.supersedes:
            raise ValueError("a protocol cannot supersede itself")
        levels = [e.level for e in self.escalation]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(f"escalation levels must be 1, 2, 3, ... in order, got {levels}")
        return self

    def escalation_level(self, level: int) -> EscalationLevel | None:
        """The escalation entry for ``level``, or ``None`` past the end of the chain."""
        return self.escalation[level - 1] if 1 <= level <= len(self.escalation) else None


@dataclass(frozen=True, slots=True)
class ProtocolLibrary:
    """The protocols in force, in priority order: higher severity first, then the order given."""

    protocols: tuple[Protocol, ...]
    _by_id: dict[str, Protocol] = field(init=False, repr=False, compare=False)
    _rank: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = [p.id for p in self.protocols]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate protocol ids: {', '.join(dupes)}")
        ordered = tuple(
            p
            for _, p in sorted(
                enumerate(self.protocols), key=lambda ip: (-SEVERITY_RANK[ip[1].severity], ip[0])
            )
        )
        object.__setattr__(self, "protocols", ordered)
        object.__setattr__(self, "_by_id", {p.id: p for p in ordered})
        object.__setattr__(self, "_rank", {p.id: i for i, p in enumerate(ordered)})

    def get(self, protocol_id: str) -> Protocol | None:
        """The protocol with this id, if any."""
        return self._by_id.get(protocol_id)

    def priority(self, protocol_id: str) -> int:
        """Position in priority order (0 is the most urgent); unknown ids sort last."""
        return self._rank.get(protocol_id, len(self._rank))

    @property
    def max_distress_turns(self) -> int:
        """The longest distress or emotion window any trigger needs (0 if none)."""
        return max(
            (
                t.for_turns
                for p in self.protocols
                for t in p.triggers
                if isinstance(t, DistressTrigger | EmotionTrigger)
            ),
            default=0,
        )
