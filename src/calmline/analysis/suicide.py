"""Suicide risk (C-SSRS levels and a risk tier) and non-suicidal self-injury.

Levels, lowest first: ``wish_to_be_dead``, ``suicidal_thoughts``, ``method``, ``intent``, ``plan``,
``behavior``. The tier reads the level together with support signals:

* ``imminent``: an act in progress ("I've taken all my pills"), or ideation with means at hand and a timeframe
  of now/tonight/today, or intent/plan with such a timeframe;
* ``high``: intent, plan or behaviour, or any ideation with means at hand;
* ``moderate``: active thoughts or a method;
* ``low``: a passive wish to be dead.

Means and method words alone ("I have my pills right here") never fire: they combine with ideation said in the
same utterance or in the speaker's recent turns ("I want to die" ... "I have the pills right here").
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.analysis.base import AnalysisContext
from calmline.analysis.lexicon import Hit, LexiconAnalyzer
from calmline.events import Finding
from calmline.events.findings import Tier

#: Minimum score of a finding at each level (method and means weigh more than the word "suicide").
LEVEL_SCORE: dict[str, float] = {
    "wish_to_be_dead": 0.55,
    "suicidal_thoughts": 0.65,
    "method": 0.75,
    "intent": 0.85,
    "plan": 0.9,
    "behavior": 0.9,
}
TIER_SCORE: dict[str, float] = {"low": 0.0, "moderate": 0.0, "high": 0.85, "imminent": 0.97}
#: How many of the speaker's earlier turns are read for ideation to combine with.
HISTORY_TURNS = 6
#: Support tags that may combine with ideation from earlier turns.
_COMBINING: frozenset[str] = frozenset({"means", "method", "intent"})


def risk_tier(level: str, tags: set[str]) -> Tier:
    """The risk tier of a (present) finding at ``level`` with support ``tags``."""
    if "in_progress" in tags:
        return "imminent"
    if "now" in tags and ("means" in tags or level in ("intent", "plan")):
        return "imminent"
    if level in ("intent", "plan", "behavior") or "means" in tags:
        return "high"
    if level in ("suicidal_thoughts", "method"):
        return "moderate"
    return "low"


class SuicideAnalyzer(LexiconAnalyzer):
    """Suicidal ideation, intent, plan and behaviour, direct or indirect, with turn history."""

    name = "suicide"
    finding_type = "suicide_risk"
    lexicon_file = "suicide.yaml"
    code_version = "1"

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """One finding per (assertion, experiencer), support signals folded into the present one."""
        support = [h for h in hits if h.rule.role == "support" and h.present]
        groups: dict[tuple[str, str], list[Hit]] = {}
        for hit in hits:
            if hit.rule.role == "signal":
                groups.setdefault((hit.assertion, hit.experiencer), []).append(hit)
        earlier_level, earlier_tags, earlier_seqs = self._earlier(ctx)
        support_tags = {t for h in support for t in h.tags}
        own_combines = "intent" in support_tags and bool(support_tags & {"means", "method"})
        live_key = next((k for k in groups if k[0] in ("present", "uncertain") and k[1] == "caller"), None)
        if live_key is None and support and (own_combines or (earlier_level and support_tags & _COMBINING)):
            live_key = ("present", "caller")
            groups[live_key] = []
        out: list[Finding] = []
        for key, group in groups.items():
            if key == live_key:
                out.append(self._live(group, support, earlier_level, earlier_tags, earlier_seqs))
            else:
                present = key[0] in ("present", "uncertain")
                level = self._top_level(group)
                tier = risk_tier(level, {t for h in group for t in h.tags}) if present else "low"
                out.append(self.finding(group, level=level, tier=tier, score=self._score(level, tier)))
        return out

    def _live(
        self,
        group: list[Hit],
        support: list[Hit],
        earlier_level: str | None,
        earlier_tags: set[str],
        earlier_seqs: list[int],
    ) -> Finding:
        """The caller's present finding: this turn's signals, support and earlier ideation together."""
        tags = {t for h in (*group, *support) for t in h.tags} | earlier_tags
        candidates = [h.rule.level for h in group]
        candidates += [h.rule.level for h in support if "intent" in h.tags or "method" in h.tags]
        if earlier_level:
            candidates.append(earlier_level)
        level = max(candidates, key=self.lexicon.rank)
        if level == "intent" and tags & {"means", "now"}:
            level = "plan"
        elif self.lexicon.rank(level) < self.lexicon.rank("method") and tags & {"means", "method"}:
            level = "method"
        tier = risk_tier(level, tags)
        notes = []
        if earlier_seqs and (not group or earlier_level == level):
            notes.append(f"combined with ideation in earlier turn(s) {', '.join(map(str, earlier_seqs))}")
        hits = [*group, *support]
        return self.finding(
            hits,
            level=level,
            tier=tier,
            score=self._score(level, tier),
            extra_notes=notes,
            rule_id=group[0].rule.id if group else ("si-combined-history" if earlier_seqs else "si-combined"),
        )

    def _earlier(self, ctx: AnalysisContext) -> tuple[str | None, set[str], list[int]]:
        """Highest present ideation level and tags in the speaker's recent turns."""
        level: str | None = None
        tags: set[str] = set()
        seqs: list[int] = []
        turns = [t for t in ctx.history if t.speaker == ctx.speaker][-HISTORY_TURNS:]
        for turn in turns:
            found = [h for h in self.hits(turn.text) if h.present and h.experiencer == "caller"]
            signals = [h for h in found if h.rule.role == "signal"]
            if not signals:
                continue
            seqs.append(turn.seq)
            top = self._top_level(signals)
            level = top if level is None or self.lexicon.rank(top) > self.lexicon.rank(level) else level
            tags |= {t for h in found for t in h.tags if t in ("means", "method", "preparatory")}
        return level, tags, seqs

    def _top_level(self, hits: list[Hit]) -> str:
        return max((h.rule.level for h in hits), key=self.lexicon.rank)

    @staticmethod
    def _score(level: str, tier: Tier) -> float:
        return max(LEVEL_SCORE[level], TIER_SCORE[tier])


class SelfHarmAnalyzer(LexiconAnalyzer):
    """Non-suicidal self-injury: cutting, burning, hitting, scratching."""

    name = "self_harm"
    finding_type = "self_harm"
    lexicon_file = "self_harm.yaml"
    code_version = "1"
