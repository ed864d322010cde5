"""A learned safety net behind the rule-based suicide analyzer (name ``suicide_learned``).

It adds at most one ``suicide_risk`` finding (level ``suicidal_thoughts``, evidence = the whole utterance) for
an utterance the rules did not flag, at one of two operating points of the learned suicide head's calibrated
probability ``p`` (both chosen in cross-validation by ``calmline train``, see
``resources/models/suicide.card.yaml``):

* ``p >= alert threshold`` (high precision): assertion ``present``, tier ``moderate``, ``rule_id``
  "learned" - an alert like a rule finding;
* ``flag threshold <= p < alert threshold`` (recall 0.90 on unseen synthetic call-style positives):
  assertion ``uncertain``, tier ``low``, ``rule_id`` "learned-flag", a note telling the agent to ask
  directly. The alert policy raises no supervisor alert for it and the low-tier protocol does not start
  (``alert_policy.yaml``, ``protocols/suicide_risk_low.yaml``): the caller's answer decides, via the rules.

Both fire only when all of these hold, so that the net stays quiet in ordinary calls:

1. no ``suicide_risk`` finding (in any assertion) and no present ``self_harm`` finding is already in
   ``ctx.prior`` - the rules have spoken, the learned head must not add a second alert or overrule them;
2. the caller speaks about themself: a first-person word is present and no third-person singular
   pronoun ("he", "her", "himself" ...);
3. no context trigger of the utterance (negation, hypothetical, historical, another experiencer) *lowers*
   the risk: for each such trigger the utterance is re-scored without it; if removing it raises the logit
   (by more than a small margin), the trigger is modifying the statement ("I would never kill myself",
   "what if I wanted to die") and the analyzer stays silent. A trigger that is part of the risk phrase
   itself ("I don't want to live", "better off without me") does not raise it when removed. The flag is
   stricter: any historical or hypothetical trigger silences it ("at uni I stood on a bridge once").

The flag (below the alert threshold) also needs an *ideation cue* (:data:`CUE_PATTERNS`: words about dying,
existing, ending, leaving for good, a reason to live, a burden, a method) outside the suicide lexicon's
hyperbole suppressions ("dying for a coffee", "I'd rather die than ..."). Without that gate the head, which
learned forum topic more than risk, flagged one ordinary caller line in seven ("im ringing to pay my bill"
scores 0.78); with it, 2 of 442 call-set caller rows without a suicide label (DECISIONS D13, issue 3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from calmline.analysis.base import AnalysisContext
from calmline.analysis.context import ContextEngine, default_engine
from calmline.analysis.learned import LearnedModels, load_models
from calmline.analysis.lexicon import Lexicon
from calmline.analysis.rules import load_rules
from calmline.analysis.suicide import informal_document
from calmline.analysis.text import compile_pattern, normalize
from calmline.events import Finding, Speaker

_FIRST_PERSON = frozenset({"i", "im", "ive", "id", "ill", "me", "my", "myself", "mine"})
_THIRD_PERSON = frozenset({"he", "she", "him", "her", "his", "hers", "himself", "herself", "themselves"})
_SECOND_PERSON = frozenset({"you", "your", "youre", "yours", "yourself", "youve", "youll", "youd", "ya"})
_SILENCING_ASSERTIONS = frozenset({"negated", "hypothetical", "historical"})
#: The flag (below the alert point) stays silent on any historical or hypothetical trigger, modifier or not.
_FLAG_SILENCING = frozenset({"hypothetical", "historical"})
#: A context trigger is a modifier (silences the alert) when removing it raises the logit by more than this.
_ABLATION_MARGIN = 0.25
#: ``rule_id`` of the uncertain low-tier finding between the flag and the alert threshold.
FLAG_RULE_ID = "learned-flag"
FLAG_NOTE = "learned model, uncertain: ask directly whether they are thinking about suicide"
#: Ideation cues, one of which the flag needs (matched on the suicide analyzer's informal normalisation).
#: Broad on purpose (the head decides); only the words' everyday uses are excluded.
CUE_PATTERNS: tuple[str, ...] = (
    r"(?<!going to )(?<!about to )die(?! (?:of|from|laughing|for|my|her|his|their|it))",
    r"dying(?! (?:to|for|of|laughing|my|her|his|their|it))",
    r"dead(?! (?:tired|serious|end|line|battery|phone))",
    r"death(?! of me)",
    r"suicid\w*|kms|unaliv\w*|ctb|sewerslide",
    r"(?:be|being|stay|staying|still|feel|not) alive",
    r"exist|existing|existence|vanish|be gone|im gone|goodbye|burden|forever|for good",
    r"disappear(?! (?:under|into|to|for a|from|off))",
    r"wake up|waking up",
    r"(?:end|ending) (?:it|it all|everything|things|my life|myself)(?! with)",
    r"(?:kill|killing) (?:myself|my self)(?! (?:for|laughing|trying|working))",
    r"(?:no|the|any) point|pointless|no reason|reason to|hopeless|give up|giving up|better off|without me",
    r"(?:cant|cannot) (?:go on|do this|carry on|take (?:it|this)|keep (?:going|living|doing this|on))",
    r"live(?! (?:in|at|with|near|on|by|alone|abroad|here|there|nearby|stream|music|chat))",
    r"living(?! (?:in|at|with|near|on|by|room|alone|abroad|wage|arrangements))",
    r"nothing left|(?:no one|nobody) would|last (?:post|message|goodbye)",
    r"overdose|od|hang myself|rope|noose|bridge|pills|the edge",
    r"jump(?! (?:in|on|into|to|at|the|start|ship|out))",
)
_CUE = compile_pattern("|".join(f"(?:{p})" for p in CUE_PATTERNS))


def speaks_of_self(text: str) -> bool:
    """Guard 2: a first-person word and no third-person singular pronoun."""
    words = {t.norm for t in normalize(text).tokens}
    return bool(words & _FIRST_PERSON) and not words & _THIRD_PERSON


def addresses_another(text: str) -> bool:
    """More second-person words than first-person ones: a reply to someone else (support, advice)."""
    words = [t.norm for t in normalize(text).tokens]
    second = sum(w in _SECOND_PERSON for w in words)
    return second > 0 and second >= sum(w in _FIRST_PERSON for w in words)


def _logit(p: float) -> float:
    q = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(q / (1.0 - q))


class LearnedRiskAnalyzer:
    """Learned ``suicide_risk`` (an alert, or an uncertain flag) for utterances the rules did not flag."""

    name = "suicide_learned"
    speakers: frozenset[Speaker] = frozenset({"caller"})

    def __init__(self, language: str = "en", *, flag: bool = True, cue_gate: bool = True) -> None:
        """``flag``: also emit the uncertain low-tier finding between the flag and the alert threshold.

        ``cue_gate``: the flag needs an ideation cue (:data:`CUE_PATTERNS`). On by default since issue 3; the
        ungated flag (``cue_gate=False``, decision D13) scores ordinary call lines ("can I get a reminder
        text? thanks, bye") above the flag threshold and marked about one caller line in seven.
        """
        self.language = language
        self.flag = flag
        self.cue_gate = cue_gate
        self._models: LearnedModels | None = None
        self._context: ContextEngine | None = None
        self._suppress: list[re.Pattern[str]] = []
        self._threshold = 1.0
        self._flag_threshold = 1.0

    @property
    def version(self) -> str:
        """The learned artifacts' version (content hash written by ``calmline.training``)."""
        self.setup()
        assert self._models is not None
        if not self.flag:
            return self._models.version
        return f"{self._models.version}+flag" + ("-cue" if self.cue_gate else "")

    @property
    def threshold(self) -> float:
        """The alert threshold on the suicide head's calibrated probability."""
        self.setup()
        return self._threshold

    @property
    def flag_threshold(self) -> float:
        """The lower flag threshold (an ``uncertain`` low-tier finding at or above it, below the alert)."""
        self.setup()
        return self._flag_threshold

    def setup(self) -> None:
        """Load the learned heads and the context rules once."""
        if self._models is not None:
            return
        models = load_models()
        self._threshold = models.suicide_alert_threshold
        self._flag_threshold = (
            min(models.suicide_flag_threshold, models.suicide_alert_threshold)
            if self.flag
            else self._threshold
        )
        self._context = default_engine(self.language)
        lexicon = load_rules("suicide.yaml", Lexicon, self.language)
        self._suppress = [compile_pattern(p) for p in lexicon.suppress]
        self._models = models

    def has_cue(self, text: str) -> bool:
        """Whether ``text`` holds an ideation cue outside the suicide lexicon's hyperbole suppressions."""
        self.setup()
        norm = informal_document(normalize(text)).norm
        blocked = [m.span() for rx in self._suppress for m in rx.finditer(norm)]
        return any(
            not any(m.start() < end and m.end() > start for start, end in blocked)
            for m in _CUE.finditer(norm)
        )

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
        if p < self._flag_threshold:
            return ()
        if not speaks_of_self(ctx.text):
            return ()
        doc = normalize(ctx.text)
        rules = self._context.rules
        alert = p >= self._threshold
        for trig in self._context.triggers(doc):
            cat = trig.rule.category
            if not alert and rules.assertions.get(cat) in _FLAG_SILENCING:
                return ()  # a flag is only a prompt to ask: none for the past or a what-if
            if rules.assertions.get(cat) in _SILENCING_ASSERTIONS or rules.experiencers.get(cat) == "other":
                rest = " ".join(t.norm for i, t in enumerate(doc.tokens) if not trig.start <= i < trig.end)
                if _logit(self.probability(rest)) > _logit(p) + _ABLATION_MARGIN:
                    return ()
        if not doc.tokens:
            return ()
        if not alert and self.cue_gate and (not self.has_cue(ctx.text) or addresses_another(ctx.text)):
            return ()
        note = (
            f"learned suicide head p={p:.3f} >= alert threshold {self._threshold:.3f}"
            if alert
            else f"learned suicide head p={p:.3f} >= flag threshold {self._flag_threshold:.3f}"
            f" (alert threshold {self._threshold:.3f})"
        )
        return (
            Finding(
                type="suicide_risk",
                level="suicidal_thoughts",
                score=round(min(1.0, max(0.0, p)), 4),
                evidence=((doc.tokens[0].start, doc.tokens[-1].end),),
                assertion="present" if alert else "uncertain",
                tier="moderate" if alert else "low",
                analyzer=self.name,
                analyzer_version=self.version,
                rule_id="learned" if alert else FLAG_RULE_ID,
                notes=(note,) if alert else (FLAG_NOTE, note),
            ),
        )
