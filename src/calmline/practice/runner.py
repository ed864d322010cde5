"""Play a practice scenario against scripted agent answers, in memory, and score it (the CLI and tests)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from calmline.engine import CallEngine
from calmline.practice.schema import PracticeScenario
from calmline.practice.scorecard import build_scorecard
from calmline.practice.session import EngineSink, IntentFn, Mode, end_call, respond, start_call, walk

#: A fixed start for scripted runs: the same answers give the same scorecard, byte for byte.
SCRIPTED_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def default_engine() -> CallEngine:
    """The shipped engine (analyzers, alert policy, protocols, suggestions), built once per process."""
    from calmline.runtime import build_engine

    return build_engine()


def intent_fn(engine: CallEngine) -> IntentFn:
    """The engine's own agent-intent matcher as a function of the text."""
    from calmline.protocols.intents import default_matcher

    matcher = engine.intents or default_matcher()
    return lambda text: tuple(m.intent for m in matcher.match(text))


def run_scripted(
    scenario: PracticeScenario,
    responses: Sequence[str],
    *,
    engine: CallEngine | None = None,
    agent_id: str | None = "scripted",
    mode: Mode = "assist",
    call_id: str | None = None,
) -> dict[str, Any]:
    """Play ``responses`` in order (stopping when the caller ends the call) and return the scorecard.

    The scorecard gains ``unused_responses``: answers left over when the caller had already hung up.
    """
    engine = engine or default_engine()
    intents = intent_fn(engine)
    call_id = call_id or f"practice-{scenario.id}-scripted"
    sink = EngineSink(engine, call_id)
    start_call(sink, scenario, call_id=call_id, agent_id=agent_id, mode=mode, started_at=SCRIPTED_START)
    used = 0
    for text in responses:
        reply = respond(sink, scenario, text, intents)
        used += 1
        if reply.ended:
            break
    run = walk(scenario, sink.exchanges(), intents)
    if not run.ended:  # the script ran out: the trainee hangs up
        end_call(sink, call_id, run.last_seq + 1, run.started_at, run.last_end_ms)
        run = walk(scenario, sink.exchanges(), intents)
    card = build_scorecard(scenario, run)
    card["unused_responses"] = len(responses) - used
    return card
