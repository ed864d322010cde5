"""A tiny keyword analyzer for tests of the shell (player, demo, store) that must not depend on the real ones.

It is deliberately naive: a phrase found in the text yields one finding. Never use it to judge risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.events import Finding, Speaker


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """Emit a finding of ``type``/``level`` (and ``tier``) when ``phrase`` occurs, case-insensitively."""

    phrase: str
    type: str
    level: str
    tier: str | None = None
    experiencer: str = "caller"
    score: float = 0.9


#: Phrases from the shipped scenarios, so a stub-driven demo still raises the expected alerts.
DEFAULT_RULES: tuple[KeywordRule, ...] = (
    KeywordRule("not wake up", "suicide_risk", "low", tier="low", score=0.6),
    KeywordRule("take them all tonight", "suicide_risk", "imminent", tier="imminent", score=0.97),
    KeywordRule("crushing pain in my chest", "medical_emergency", "emergency", score=0.95),
    KeywordRule("face is drooping", "medical_emergency", "emergency", experiencer="other", score=0.95),
    KeywordRule("the worst one i've ever had", "medical_emergency", "emergency", score=0.85),
    KeywordRule("he hits me", "abuse_disclosure", "disclosed", score=0.9),
    KeywordRule("my father's test results", "phi_request_third_party", "request", score=0.8),
    KeywordRule("how much paracetamol", "medical_advice_request", "dosing", score=0.8),
    KeywordRule("cutting my arms again", "self_harm", "cutting", score=0.8),
    KeywordRule("i swear i'll kill him", "violence_threat", "threat_to_others", score=0.85),
    KeywordRule("my english is not good", "language_barrier", "limited_english", score=0.7),
    KeywordRule("sort you out myself", "violence_threat", "threat_to_agent", score=0.85),
)


@dataclass(frozen=True)
class KeywordAnalyzer:
    """Finds fixed phrases in caller speech (and agent speech for ``guardrail`` phrases)."""

    rules: tuple[KeywordRule, ...] = DEFAULT_RULES
    guardrail_phrases: tuple[str, ...] = ("you'll be fine", "mils of the paracetamol")
    name: str = "keyword-test"
    version: str = "0"
    speakers: frozenset[Speaker] = field(default_factory=lambda: frozenset({"caller", "agent"}))

    def setup(self) -> None:
        """Nothing to load."""

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per matching rule."""
        text = ctx.text.lower()
        found: list[Finding] = []
        if ctx.speaker == "agent":
            for phrase in self.guardrail_phrases:
                at = text.find(phrase)
                if at >= 0:
                    found.append(
                        self._finding("guardrail", "false_reassurance", None, "caller", 0.8, at, phrase)
                    )
            return found
        for rule in self.rules:
            at = text.find(rule.phrase)
            if at >= 0:
                found.append(
                    self._finding(
                        rule.type, rule.level, rule.tier, rule.experiencer, rule.score, at, rule.phrase
                    )
                )
        return found

    def _finding(
        self, kind: str, level: str, tier: str | None, experiencer: str, score: float, at: int, phrase: str
    ) -> Finding:
        return Finding.model_validate(
            {
                "type": kind,
                "level": level,
                "tier": tier,
                "experiencer": experiencer,
                "score": score,
                "evidence": ((at, at + len(phrase)),),
                "analyzer": self.name,
                "analyzer_version": self.version,
                "rule_id": phrase,
            }
        )


def keyword_registry(rules: Sequence[KeywordRule] | None = None) -> AnalyzerRegistry:
    """A registry holding only the keyword analyzer (with ``rules``, or the defaults)."""
    analyzer = KeywordAnalyzer(tuple(rules)) if rules is not None else KeywordAnalyzer()
    return AnalyzerRegistry([analyzer])
