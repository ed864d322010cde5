"""LearnedRiskAnalyzer: a conservative learned safety net behind the rule-based suicide analyzer."""

from datetime import UTC, datetime

import pytest

from calmline.analysis import AnalysisContext
from calmline.analysis.defaults import default_analyzers, default_registry
from calmline.analysis.learned_risk import FLAG_NOTE, FLAG_RULE_ID, LearnedRiskAnalyzer
from calmline.engine import load_alert_policy
from calmline.events import Finding
from calmline.protocols.interpreter import ActivateProtocol, FindingSeen, ProtocolState, RaiseAlert, step
from calmline.protocols.loader import load_library


@pytest.fixture(scope="module")
def analyzer() -> LearnedRiskAnalyzer:
    a = LearnedRiskAnalyzer(flag=True)
    a.setup()
    return a


def _fires(a: LearnedRiskAnalyzer, text: str, prior: tuple[Finding, ...] = ()) -> bool:
    return bool(a.analyze(AnalysisContext(text=text, prior=prior)))


def test_registered_after_rule_based_suicide_and_before_emotion() -> None:
    names = [a.name for a in default_analyzers()]
    assert names.index("suicide") < names.index("suicide_learned") < names.index("emotion")


def test_setup_not_in_constructor() -> None:
    a = LearnedRiskAnalyzer()
    assert a._models is None  # loads in setup(), not in __init__


def test_fires_on_clear_euphemistic_case(analyzer: LearnedRiskAnalyzer) -> None:
    text = "honestly everyone would be better off without me i just want it all to be over for good"
    (f,) = analyzer.analyze(AnalysisContext(text=text))
    assert f.type == "suicide_risk" and f.level == "suicidal_thoughts" and f.tier == "moderate"
    assert f.rule_id == "learned" and f.analyzer == "suicide_learned"
    assert f.analyzer_version == analyzer.version and f.analyzer_version.startswith("learned-")
    assert f.evidence == ((0, len(text)),)
    assert f.score >= analyzer.threshold


@pytest.mark.parametrize(
    "text",
    [
        "i would never kill myself i just need help with my pain",  # negated
        "i dont want to die i want help",  # negated
        "what if i wanted to kill myself",  # hypothetical
        "my brother said he wants to kill himself",  # third person
        "my friend killed himself last year and i miss him",  # third person, grief
        "this wait is killing me",  # idiom
        "i nearly died laughing at that",  # idiom
        "my feet are killing me after that shift",  # idiom
        "can i book an appointment for tuesday",
        "",
    ],
)
def test_silent_on_negated_third_person_and_idioms(analyzer: LearnedRiskAnalyzer, text: str) -> None:
    # the high-precision alert stays silent on its own; at the lower flag point "i dont want to die i want
    # help" and "what if i wanted to kill myself" would score, but the rules' negated/hypothetical finding
    # in ``prior`` silences the analyzer in the registry (next test)
    assert not [f for f in analyzer.analyze(AnalysisContext(text=text)) if f.rule_id == "learned"]
    found = default_registry().run(AnalysisContext(text=text))
    assert not [f for f in found if f.analyzer == "suicide_learned"], text


def test_silent_when_rules_already_found_suicide_risk(analyzer: LearnedRiskAnalyzer) -> None:
    text = "honestly everyone would be better off without me i just want it all to be over for good"
    prior = Finding(type="suicide_risk", level="suicidal_thoughts", score=0.7, analyzer="suicide",
                    analyzer_version="x", tier="moderate")
    assert not _fires(analyzer, text, (prior,))


def test_registry_never_doubles_rule_based_alert() -> None:
    found = default_registry().run(AnalysisContext(text="I want to kill myself"))
    risk = [f for f in found if f.type == "suicide_risk"]
    assert risk and all(f.analyzer != "suicide_learned" for f in risk)


# ---- the lower "flag" operating point ----------------------------------------------------------------

_EUPHEMISM = "honestly everyone would be better off without me i just want it all to be over for good"


def _flagging(p: float) -> LearnedRiskAnalyzer:
    """An analyzer whose flag threshold is just below ``p`` and alert threshold above it."""
    a = LearnedRiskAnalyzer()
    a.setup()
    a._flag_threshold, a._threshold = p - 0.01, min(1.0, p + 0.01)
    return a


def test_flag_threshold_sits_below_the_alert(analyzer: LearnedRiskAnalyzer) -> None:
    assert 0.0 < analyzer.flag_threshold < analyzer.threshold < 1.0


def test_between_flag_and_alert_an_uncertain_low_tier_prompt(analyzer: LearnedRiskAnalyzer) -> None:
    p = analyzer.probability(_EUPHEMISM)
    (f,) = _flagging(p).analyze(AnalysisContext(text=_EUPHEMISM))
    assert (f.type, f.level, f.assertion, f.tier) == ("suicide_risk", "suicidal_thoughts", "uncertain", "low")
    assert f.rule_id == FLAG_RULE_ID == "learned-flag" and f.analyzer == "suicide_learned"
    assert f.score == round(p, 4) and f.evidence == ((0, len(_EUPHEMISM)),)
    assert f.notes[0] == FLAG_NOTE and "ask directly" in f.notes[0]
    assert f.is_present  # the batch contract acts on it: the agent asks


def test_flag_keeps_every_guard(analyzer: LearnedRiskAnalyzer) -> None:
    prior = Finding(type="suicide_risk", level="wish_to_be_dead", score=0.5, analyzer="suicide",
                    analyzer_version="x", tier="low", assertion="negated")
    for text in ("my brother said he wants to kill himself", "i would never kill myself"):
        a = _flagging(analyzer.probability(text))
        assert not a.analyze(AnalysisContext(text=text)), text
    a = _flagging(analyzer.probability(_EUPHEMISM))
    assert not a.analyze(AnalysisContext(text=_EUPHEMISM, prior=(prior,)))


# Shipped thresholds: the flag fires on first-person statements the rules miss, and stays silent on negated,
# hypothetical, historical, third-person, idiomatic and everyday rows.
@pytest.mark.parametrize(
    "text",
    [
        "i would never kill myself i just need help with my pain",  # negated
        "im not suicidal i just need to talk to someone",  # negated
        "i dont want to die i want help",  # negated
        "what if i wanted to kill myself",  # hypothetical
        "if i ever felt like ending it i would call someone",  # hypothetical
        "i tried to kill myself when i was a teenager but im doing well now",  # historical
        "years ago i took an overdose but thats behind me",  # historical
        "my brother said he wants to kill himself",  # third person
        "she told me she took all her pills",  # third person
        "my friend killed himself last year and i miss him",  # third person, grief
        "this wait is killing me",  # idiom
        "i nearly died laughing at that",  # idiom
        "i need a refill of my blood pressure pills",  # everyday means word
        "can i book an appointment for tuesday",
        "i feel a bit tired today but otherwise fine",
    ],
)
def test_shipped_thresholds_stay_silent(analyzer: LearnedRiskAnalyzer, text: str) -> None:
    found = default_registry().run(AnalysisContext(text=text))
    assert not [f for f in found if f.analyzer == "suicide_learned"], text


def test_flag_raises_no_alert_and_starts_no_protocol(analyzer: LearnedRiskAnalyzer) -> None:
    (f,) = _flagging(analyzer.probability(_EUPHEMISM)).analyze(AnalysisContext(text=_EUPHEMISM))
    assert load_alert_policy().match(f) is None
    state = ProtocolState()
    _, commands = step(load_library(), state, FindingSeen(f, 1), datetime(2026, 11, 25, tzinfo=UTC))
    assert not [c for c in commands if isinstance(c, ActivateProtocol | RaiseAlert)]
    # the learned high-precision alert still alerts and starts the moderate protocol
    (g,) = _alerting(analyzer).analyze(AnalysisContext(text=_EUPHEMISM))
    rule = load_alert_policy().match(g)
    assert g.rule_id == "learned" and rule is not None and rule.id == "suicide-moderate"


def _alerting(analyzer: LearnedRiskAnalyzer) -> LearnedRiskAnalyzer:
    a = LearnedRiskAnalyzer()
    a.setup()
    a._flag_threshold = a._threshold = analyzer.probability(_EUPHEMISM) - 0.01
    return a
