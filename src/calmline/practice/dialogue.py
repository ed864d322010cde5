"""The practice caller: a pure state machine over a scenario's nodes.

``opening(scenario)`` gives the caller's first words; ``answer(scenario, state, signals)`` takes calmline's
reading of the agent's answer (:class:`~calmline.practice.signals.AgentSignals`) and returns the caller's next
turn. No clock and no randomness: the same answers always give the same caller turns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from calmline.practice.schema import PracticeScenario
from calmline.practice.signals import AgentSignals, holds

CLOSING_NODE = "_closing"


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """What the caller says next, and why they went there."""

    text: str
    node: str
    emotion: str | None = None
    opening: bool = False
    end: bool = False
    #: The branch that was taken (its ``why``), or None when the caller went on by default.
    why: str | None = None


@dataclass(frozen=True, slots=True)
class DialogueState:
    """Where the caller is: the node, how often each node was visited, agent answers so far."""

    node: str
    visits: tuple[tuple[str, int], ...] = ()
    turn: int = 0
    ended: bool = False

    def visited(self, node: str) -> int:
        """How many times the caller has been at ``node``."""
        return dict(self.visits).get(node, 0)


def _enter(scenario: PracticeScenario, state: DialogueState, target: str, why: str | None) -> CallerTurn:
    node = scenario.nodes[target]
    count = state.visited(target)
    text = node.say if count <= 1 or not node.again else node.again[min(count - 2, len(node.again) - 1)]
    return CallerTurn(text, target, node.emotion, node.opening, node.end, why)


def _visit(state: DialogueState, target: str) -> DialogueState:
    visits = dict(state.visits)
    visits[target] = visits.get(target, 0) + 1
    return replace(state, node=target, visits=tuple(sorted(visits.items())))


def opening(scenario: PracticeScenario) -> tuple[DialogueState, CallerTurn]:
    """The caller's first words."""
    state = _visit(DialogueState(node=scenario.start), scenario.start)
    turn = _enter(scenario, state, scenario.start, None)
    return replace(state, ended=turn.end), turn


def answer(
    scenario: PracticeScenario, state: DialogueState, signals: AgentSignals
) -> tuple[DialogueState, CallerTurn]:
    """The caller's reaction to the agent's answer read as ``signals``."""
    if state.ended:
        raise ValueError("the practice call has ended")
    state = replace(state, turn=state.turn + 1)
    node = scenario.nodes[state.node]
    target, why = state.node, None
    for branch in node.branches:
        if holds(branch.when, signals):
            target, why = branch.goto, branch.why
            break
    else:
        if node.default is not None:
            target = node.default
    if state.turn >= scenario.max_turns and not scenario.nodes[target].end:
        closing = CallerTurn(
            scenario.closing, CLOSING_NODE, None, False, True, "the practice reached max_turns"
        )
        return replace(state, node=CLOSING_NODE, ended=True), closing
    state = _visit(state, target)
    turn = _enter(scenario, state, target, why)
    return replace(state, ended=turn.end), turn
