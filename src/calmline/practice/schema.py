"""The practice scenario schema: a caller persona, branching caller turns, the protocols and the objectives.

A practice scenario is data (``resources/practice/<id>.yaml``), validated by :class:`PracticeScenario` and
nothing else. The caller is a small state machine: each *node* is something the caller says; after the agent
answers, the node's *branches* are tried in order and the first whose ``when`` holds says where the caller
goes next (``default`` otherwise). A ``when`` is read from calmline's own detectors on the agent's answer:
agent intents (``rules/en/intents.yaml``), guardrail levels (``rules/en/guardrail.yaml``) and empathy signals
(``rules/en/empathy.yaml``), so a trainee is judged by exactly what judges real calls.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_ID = r"^[a-z][a-z0-9_]*$"

#: EPITOME mechanisms (0/1/2) and the boolean empathy signals a condition may name.
EmpathySignal = Literal[
    "emotional_reaction",
    "interpretation",
    "exploration",
    "validation",
    "summarising",
    "open_question",
    "closed_question",
]
#: Guardrail levels of ``rules/en/guardrail.yaml``; ``any`` means any present guardrail warning.
GuardrailLevel = Literal[
    "any",
    "false_reassurance",
    "unkeepable_promise",
    "judgmental",
    "legal_advice",
    "medical_advice",
    "unverified_disclosure",
    "other_patient_disclosure",
    "unsafe_messaging",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Frozen):
    """What the agent's last answer must show; every field given must hold (AND). Empty: always true."""

    #: At least one of these agent intents was heard.
    intent: tuple[str, ...] = ()
    #: None of these agent intents was heard.
    no_intent: tuple[str, ...] = ()
    #: At least one present guardrail warning of these levels (``any``: of any level).
    guardrail: tuple[GuardrailLevel, ...] = ()
    #: True: no present guardrail warning at all.
    no_guardrail: bool = False
    #: At least one of these empathy signals (a mechanism counts at ``empathy_level`` or above).
    empathy: tuple[EmpathySignal, ...] = ()
    #: The level a mechanism (emotional_reaction, interpretation, exploration) must reach: 1 weak, 2 strong.
    empathy_level: int = Field(default=1, ge=1, le=2)
    #: True: the answer acknowledged nothing (see :func:`calmline.practice.signals.acknowledged`).
    no_empathy: bool = False
    #: At least this many agent answers so far (including this one): lets a caller warm up slowly.
    min_turn: int | None = Field(default=None, ge=1)


class Branch(_Frozen):
    """Where the caller goes when ``when`` holds; ``why`` is shown in the debrief."""

    when: Condition
    goto: str = Field(pattern=_ID)
    why: str = Field(min_length=1, max_length=300)


class Node(_Frozen):
    """One thing the caller says, and how they react to the agent's answer to it."""

    say: str = Field(min_length=1, max_length=2_000)
    #: Said instead of ``say`` when the caller comes back to this node (in turn, the last one repeating).
    again: tuple[str, ...] = ()
    #: The emotion the actor plays here (for trainers; the engine judges the text itself).
    emotion: str | None = Field(default=None, max_length=64)
    #: True: an emotional opening here that the agent's next answer should acknowledge, whatever the
    #: engine's emotion scores say (trainer-marked missed-opening cue).
    opening: bool = False
    branches: tuple[Branch, ...] = ()
    #: Where the caller goes when no branch holds (absent: stays on this node and says ``again``).
    default: str | None = Field(default=None, pattern=_ID)
    #: True: the caller hangs up (or the call is handed on) after saying this.
    end: bool = False

    @model_validator(mode="after")
    def _end_has_no_way_out(self) -> Node:
        if self.end and (self.branches or self.default):
            raise ValueError("an end node has no branches and no default")
        return self


class Persona(_Frozen):
    """Who the caller is. Synthetic: no real person or call."""

    name: str = Field(min_length=1, max_length=80)
    situation: str = Field(min_length=1)
    emotion: str = Field(min_length=1, max_length=200)
    risk: str = Field(min_length=1, max_length=300)
    will_disclose: tuple[str, ...] = ()
    wont_disclose: tuple[str, ...] = Field(
        default=(), description="What they keep back, and what it takes to say it."
    )


class Objective(_Frozen):
    """A learning objective; ``met_when`` (optional) lets the scorecard check it from the call."""

    id: str = Field(pattern=_ID)
    text: str = Field(min_length=1, max_length=300)
    met_when: ObjectiveCheck | None = None


class ObjectiveCheck(_Frozen):
    """How an objective is checked; every field given must hold."""

    #: The agent was heard doing this (an agent intent) at some point.
    intent: str | None = None
    #: Every required step of this protocol was done (the protocol must have run).
    protocol_done: str | None = Field(default=None, pattern=_ID)
    #: No present guardrail warning on the whole call.
    no_guardrails: bool = False
    #: No missed emotional opening on the whole call.
    no_missed_openings: bool = False
    #: The caller reached this node.
    reached: str | None = Field(default=None, pattern=_ID)

    @model_validator(mode="after")
    def _something(self) -> ObjectiveCheck:
        if not (
            self.intent or self.protocol_done or self.no_guardrails or self.no_missed_openings or self.reached
        ):
            raise ValueError("met_when needs at least one check")
        return self


class Rehearsal(_Frozen):
    """Scripted agent answers that must take the caller to ``reaches`` with the expected protocols run.

    ``calmline practice validate --rehearse`` and the tests play it, so a scenario's author knows it behaves.
    """

    responses: tuple[str, ...] = Field(min_length=1)
    reaches: str = Field(pattern=_ID)


class PracticeScenario(_Frozen):
    """One practice call: persona, caller state machine, expected protocols, objectives."""

    id: str = Field(pattern=_ID, max_length=64)
    version: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1)
    #: The demo scenario (``resources/scenarios``) this rehearses, if any.
    based_on: str | None = Field(default=None, pattern=_ID)
    difficulty: Literal["foundation", "intermediate", "advanced"] = "intermediate"
    persona: Persona
    #: Protocols that should run on a good call (ids in ``resources/protocols``).
    expected_protocols: tuple[str, ...] = ()
    objectives: tuple[Objective, ...] = Field(min_length=1)
    #: How the agent opens the call (shown to the trainee; the caller speaks first in practice).
    agent_greeting: str = Field(default="Hello, you're through to the health line. How can I help?")
    start: str = Field(pattern=_ID)
    #: After this many agent answers the caller says ``closing`` and the call ends.
    max_turns: int = Field(default=12, ge=1, le=60)
    closing: str = Field(default="I have to go now. Bye.", min_length=1)
    nodes: dict[str, Node] = Field(min_length=1)
    #: A good run, played by the tests (optional).
    rehearsal: Rehearsal | None = None

    @model_validator(mode="after")
    def _graph(self) -> PracticeScenario:
        names = set(self.nodes)
        bad = [n for n in names if not n.replace("_", "a").isalnum() or not n[:1].islower()]
        if bad:
            raise ValueError(f"node names must be lower_snake: {sorted(bad)}")
        if self.start not in names:
            raise ValueError(f"start {self.start!r} is not a node")
        for name, node in self.nodes.items():
            targets = [b.goto for b in node.branches] + ([node.default] if node.default else [])
            for target in targets:
                if target not in names:
                    raise ValueError(f"node {name!r} goes to unknown node {target!r}")
        reachable = {self.start}
        frontier = [self.start]
        while frontier:
            node = self.nodes[frontier.pop()]
            for target in [b.goto for b in node.branches] + ([node.default] if node.default else []):
                if target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        unreachable = sorted(names - reachable)
        if unreachable:
            raise ValueError(f"nodes never reached from start: {unreachable}")
        if not any(self.nodes[n].end for n in reachable):
            raise ValueError("no end node is reachable from start")
        if self.rehearsal is not None and self.rehearsal.reaches not in names:
            raise ValueError(f"rehearsal reaches unknown node {self.rehearsal.reaches!r}")
        ids = [o.id for o in self.objectives]
        if len(ids) != len(set(ids)):
            raise ValueError("objective ids must be unique")
        for objective in self.objectives:
            check = objective.met_when
            if check is not None and check.reached and check.reached not in names:
                raise ValueError(f"objective {objective.id!r} checks unknown node {check.reached!r}")
        return self


Objective.model_rebuild()
