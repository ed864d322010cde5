"""LearnedRiskAnalyzer: a conservative learned safety net behind the rule-based suicide analyzer."""

import pytest

from calmline.analysis import AnalysisContext
from calmline.analysis.defaults import default_analyzers, default_registry
from calmline.analysis.learned_risk import LearnedRiskAnalyzer
from calmline.events import Finding


@pytest.fixture(scope="module")
def analyzer() -> LearnedRiskAnalyzer:
    a = LearnedRiskAnalyzer()
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
    assert not _fires(analyzer, text)


def test_silent_when_rules_already_found_suicide_risk(analyzer: LearnedRiskAnalyzer) -> None:
    text = "honestly everyone would be better off without me i just want it all to be over for good"
    prior = Finding(type="suicide_risk", level="suicidal_thoughts", score=0.7, analyzer="suicide",
                    analyzer_version="x", tier="moderate")
    assert not _fires(analyzer, text, (prior,))


def test_registry_never_doubles_rule_based_alert() -> None:
    found = default_registry().run(AnalysisContext(text="I want to kill myself"))
    risk = [f for f in found if f.type == "suicide_risk"]
    assert risk and all(f.analyzer != "suicide_learned" for f in risk)
