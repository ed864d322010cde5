"""The repeat-caller rules: read from YAML, applied by the pure engine to a ``caller.history`` input."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.continuity.rules import evaluate, load_continuity
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import (
    AlertRaised,
    CallerFlagged,
    CallerHistory,
    CallStarted,
    Finding,
    Speaker,
    UtteranceReceived,
    parse_input,
)
from calmline.events.call import PriorCall

AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class DieWordAnalyzer:
    """Flags the word "die" as low-tier suicide risk: a warning alert under the shipped policy."""

    name = "die_word"
    version = "1"
    speakers: frozenset[Speaker] = frozenset({"caller"})

    def setup(self) -> None:
        pass

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        match = re.search(r"\bdie\b", ctx.text, re.IGNORECASE)
        if match is None:
            return ()
        finding = Finding(
            type="suicide_risk",
            level="passive_ideation",
            score=0.6,
            evidence=((match.start(), match.end()),),
            tier="low",
            analyzer=self.name,
            analyzer_version=self.version,
        )
        return (finding,)


RULES = load_continuity()


def history(*recent: PriorCall, plan: bool = False) -> CallerHistory:
    return CallerHistory(
        call_id="c2", window_days=30, previous_calls=len(recent), recent=recent, has_safety_plan=plan, at=AT
    )


def prior(days_ago: float, tier: str = "none", peak: float | None = None) -> PriorCall:
    return PriorCall.model_validate(
        {"started_at": AT - timedelta(days=days_ago), "highest_tier": tier, "peak_distress": peak}
    )


@pytest.mark.parametrize(
    ("calls", "flagged"),
    [
        ((prior(3, "high"),), True),
        ((prior(1, "imminent"),), True),
        ((prior(3, "moderate"),), False),  # below the flag tiers
        ((prior(20, "high"),), False),  # longer ago than within_days (14)
        ((prior(20, "high"), prior(2, "low")), False),
        ((), False),
    ],
)
def test_flag_rule_on_recent_high_tier(calls: tuple[PriorCall, ...], flagged: bool) -> None:
    decision = evaluate(RULES, history(*calls))
    assert (decision.flag_reason is not None) is flagged


def test_flag_reason_says_tier_and_when() -> None:
    assert evaluate(RULES, history(prior(3, "imminent"))).flag_reason == (
        "an earlier call reached imminent risk 3 days ago"
    )


@pytest.mark.parametrize(
    ("peaks", "rising"),
    [
        ((0.3, 0.4, 0.5), True),
        ((0.3, 0.3, 0.45), True),
        ((0.3, 0.5, 0.4), False),  # fell on the last call
        ((0.3, 0.35, 0.4), False),  # rose by less than min_rise
        ((0.4, 0.6), False),  # too few calls
    ],
)
def test_rising_distress_rule(peaks: tuple[float, ...], rising: bool) -> None:
    calls = tuple(prior(10 - 3 * i, peak=p) for i, p in enumerate(peaks))
    assert (evaluate(RULES, history(*calls)).rising_reason is not None) is rising


def test_rising_distress_ignores_calls_outside_its_window() -> None:
    calls = (prior(25, peak=0.2), prior(5, peak=0.4), prior(2, peak=0.5))
    assert evaluate(RULES, history(*calls)).rising_reason is None


def test_history_is_not_accepted_at_ingest() -> None:
    with pytest.raises(ValueError):
        parse_input(history().model_dump(mode="json"))


@pytest.fixture(scope="module")
def engine() -> CallEngine:
    return CallEngine(AnalyzerRegistry([DieWordAnalyzer()]), load_alert_policy())


def run(
    engine: CallEngine, hist: CallerHistory | None, text: str = "sometimes i want to die"
) -> list[object]:
    events: list[object] = [CallStarted(call_id="c2", started_at=AT, caller_ref="cr_x")]
    if hist is not None:
        events.append(hist)
    events.append(UtteranceReceived(call_id="c2", seq=1, speaker="caller", text=text, start_ms=0, end_ms=900))
    _, outputs = engine.fold("c2", events)  # type: ignore[arg-type]
    return list(outputs)


def test_heightened_attention_flags_the_call_and_lifts_the_alert(engine: CallEngine) -> None:
    plain = [o for o in run(engine, None) if isinstance(o, AlertRaised)]
    assert [(a.kind, a.severity) for a in plain] == [("suicide_risk", "warning")]
    outputs = run(engine, history(prior(3, "high")))
    flags = [o for o in outputs if isinstance(o, CallerFlagged)]
    assert [(f.rule, f.attention, f.rules_version) for f in flags] == [
        ("recent-high-risk", "heightened", RULES.version)
    ]
    alerts = [o for o in outputs if isinstance(o, AlertRaised)]
    assert [(a.kind, a.severity, a.policy_rule) for a in alerts] == [
        ("suicide_risk", "high", "heightened-attention")
    ]


def test_no_flag_without_recent_high_risk(engine: CallEngine) -> None:
    outputs = run(engine, history(prior(3, "low")), text="hello")
    assert not [o for o in outputs if isinstance(o, CallerFlagged | AlertRaised)]


def test_rising_distress_raises_a_repeat_caller_alert(engine: CallEngine) -> None:
    calls = (prior(9, peak=0.3), prior(6, peak=0.4), prior(2, peak=0.55))
    alerts = [o for o in run(engine, history(*calls), text="hello") if isinstance(o, AlertRaised)]
    assert [(a.kind, a.severity, a.policy_rule, a.evidence) for a in alerts] == [
        ("repeat_caller", "warning", "rising-distress-across-calls", ())
    ]
    assert "0.30 → 0.40 → 0.55" in alerts[0].reason


def test_history_rules_are_deterministic(engine: CallEngine) -> None:
    hist = history(prior(3, "imminent", 0.3), prior(2, "low", 0.5), prior(1, "none", 0.7))
    assert run(engine, hist) == run(engine, hist)
