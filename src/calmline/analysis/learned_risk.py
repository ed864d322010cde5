"""A learned safety net behind the rule-based suicide analyzer (name ``suicide_learned``).

It adds one ``suicide_risk`` finding (level ``suicidal_thoughts``, tier ``moderate``, ``rule_id`` "learned",
evidence = the whole utterance) only when all of these hold, so that it stays quiet in ordinary calls:

1. the learned suicide head's calibrated probability is at or above the *alert* threshold chosen in
   cross-validation for high precision (see ``resources/models/suicide.card.yaml``);
2. no ``suicide_risk`` finding (in any assertion) and no present ``self_harm`` finding is already in
   ``ctx.prior`` - the rules have spoken, the learned head must not add a second alert or overrule them;
3. the caller speaks about themself: a first-person word is present and no third-person singular
   pronoun ("he", "her", "himself" ...);
4. no context trigger of the utterance (negation, hypothetical, historical, another experiencer) *lowers*
   the risk: for each such trigger the utterance is re-scored without it; if removing it raises the logit
   (by more than a small margin), the trigger is modifying the statement ("I would never kill myself",
   "what if I wanted to die") and the analyzer stays silent. A trigger that is part of the risk phrase
   itself ("I don't want to live", "better off without me") does not raise it when removed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from calmline.analysis.base import AnalysisContext
from calmline.analysis.context import ContextEngine, default_engine
from calmline.analysis.learned import LearnedModels, load_models
from calmline.analysis.text import normalize
from calmline.events import Finding, Speaker

_FIRST_PERSON = frozenset({"i", "im", "ive", "id", "ill", "me", "my", "myself", "mine"})
_THIRD_PERSON = frozenset({"he", "she", "him", "her", "his", "hers", "himself", "herself", "themselves"})
_SILENCING_ASSERTIONS = frozenset({"negated", "hypothetical", "historical"})
#: A context trigger is a modifier (silences the alert) when removing it raises the logit by more than this.
_ABLATION_MARGIN = 0.25


def _logit(p: float) -> float:
    q = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(q / (1.0 - q))


class LearnedRiskAnalyzer:
    """High-precision learned ``suicide_risk`` for utterances the rules did not flag."""

    name = "suicide_learned"
    speakers: frozenset[Speaker] = frozenset({"caller"})

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._models: LearnedModels | None = None
        self._context: ContextEngine | None = None
        self._threshold = 1.0

    @property
    def version(self) -> str:
        """The learned artifacts' version (content hash written by ``calmline.training``)."""
        self.setup()
        assert self._models is not None
        return self._models.version

    @property
    def threshold(self) -> float:
        """The alert threshold on the suicide head's calibrated probability."""
        self.setup()
        return self._threshold

    def setup(self) -> None:
        """Load the learned heads and the context rules once."""
        if self._models is not None:
            return
        models = load_models()
        self._threshold = models.suicide_alert_threshold
        self._context = default_engine(self.language)
        self._models = models

    def probability(self, text: str) -> float:
        """The suicide head's calibrated probability for ``text``."""
        self.setup()
        assert self._models is not None
        return float(self._models.probabilities("suicide", [text])[0, 0])

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """At most one ``suicide_risk`` finding (see the module docstring for when)."""
        self.setup()
        assert self._context is not None
        if any(f.type == "suicide_risk" or (f.type == "self_harm" and f.is_present) for f in ctx.prior):
            return ()
        p = self.probability(ctx.text)
        if p < self._threshold:
            return ()
        doc = normalize(ctx.text)
        words = {t.norm for t in doc.tokens}
        if not words & _FIRST_PERSON or words & _THIRD_PERSON:
            return ()
        rules = self._context.rules
        for trig in self._context.triggers(doc):
            cat = trig.rule.category
            if rules.assertions.get(cat) in _SILENCING_ASSERTIONS or rules.experiencers.get(cat) == "other":
                rest = " ".join(t.norm for i, t in enumerate(doc.tokens) if not trig.start <= i < trig.end)
                if _logit(self.probability(rest)) > _logit(p) + _ABLATION_MARGIN:
                    return ()
        if not doc.tokens:
            return ()
        span = (doc.tokens[0].start, doc.tokens[-1].end)
        return (
            Finding(
                type="suicide_risk",
                level="suicidal_thoughts",
                score=round(min(1.0, max(0.0, p)), 4),
                evidence=(span,),
                tier="moderate",
                analyzer=self.name,
                analyzer_version=self.version,
                rule_id="learned",
                notes=(f"learned suicide head p={p:.3f} >= alert threshold {self._threshold:.3f}",),
            ),
        )
