"""The default analyzer registry, in run order.

Context-aware risk detectors run first (the learned suicide safety net right after the rule-based
suicide analyzer, so it sees the rules' findings in ``ctx.prior``); the guardrail and the empathy scorer
read agent turns;
emotion and distress run last so that they can read the risk findings of the same utterance in ``ctx.prior``.
"""

from __future__ import annotations

from calmline.analysis.base import Analyzer, AnalyzerRegistry
from calmline.analysis.emotion import EmotionAnalyzer
from calmline.analysis.empathy import EmpathyAnalyzer
from calmline.analysis.guardrail import GuardrailAnalyzer
from calmline.analysis.learned_risk import LearnedRiskAnalyzer
from calmline.analysis.medical import MedicalAnalyzer
from calmline.analysis.requests import RequestAnalyzer
from calmline.analysis.suicide import SelfHarmAnalyzer, SuicideAnalyzer
from calmline.analysis.threat import AbuseAnalyzer, ViolenceAnalyzer


def default_analyzers(language: str = "en") -> list[Analyzer]:
    """Fresh instances of the default analyzers, in run order (not yet set up)."""
    return [
        SuicideAnalyzer(language),
        LearnedRiskAnalyzer(language),
        SelfHarmAnalyzer(language),
        MedicalAnalyzer(language),
        ViolenceAnalyzer(language),
        AbuseAnalyzer(language),
        RequestAnalyzer(language),
        GuardrailAnalyzer(language),
        EmpathyAnalyzer(language),
        EmotionAnalyzer(language),
    ]


def default_registry(language: str = "en") -> AnalyzerRegistry:
    """The default registry (call ``setup()`` once at start-up; ``run`` also does it lazily)."""
    return AnalyzerRegistry(default_analyzers(language))
