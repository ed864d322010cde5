"""Medical emergencies: symptom lexicon, urgency levels, combinations and follow-up questions.

Each symptom rule has a ``category`` (chest_pain, breathing, stroke, ...) and a ``level`` (routine, urgent,
emergency). Combinations in the lexicon raise urgency when features occur together ("chest pain" with pain
"going down my left arm"). A symptom in someone the caller is with keeps its level: the finding's experiencer
is ``other``, not a lower score. Where the level stays below emergency the finding lists ``follow_up``
questions that let the agent settle the urgency.
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.analysis.base import AnalysisContext
from calmline.analysis.lexicon import Combination, Hit, LexiconAnalyzer
from calmline.events import Finding
from calmline.events.findings import Experiencer


class MedicalAnalyzer(LexiconAnalyzer):
    """Symptoms of medical emergencies, for the caller or someone with them."""

    name = "medical"
    finding_type = "medical_emergency"
    lexicon_file = "medical.yaml"
    code_version = "1"

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """One finding per (category, assertion, experiencer), raised by combinations."""
        lex = self.lexicon
        groups: dict[tuple[str, str, Experiencer], list[Hit]] = {}
        for hit in hits:
            if hit.rule.role == "signal":
                key = (hit.rule.category or "other", hit.assertion, hit.experiencer)
                groups.setdefault(key, []).append(hit)
        upgrades = self._combinations([h for h in hits if h.present])
        out: list[Finding] = []
        raised: set[str] = set()
        for (category, assertion, _experiencer), group in groups.items():
            level = max((h.rule.level for h in group), key=lex.rank)
            combo_hits: list[Hit] = []
            combo: Combination | None = None
            if assertion in ("present", "uncertain") and category in upgrades:
                candidate, contrib = upgrades[category]
                if lex.rank(candidate.level) >= lex.rank(level):
                    combo, combo_hits, level = candidate, contrib, candidate.level
                    raised.add(category)
            out.append(self._emit([*group, *combo_hits], category, level, combo))
        for category, (combo, contrib) in upgrades.items():
            if category not in raised and not any(
                k[0] == category and k[1] in ("present", "uncertain") for k in groups
            ):
                out.append(self._emit(contrib, category, combo.level, combo))
        return out

    def _combinations(self, present: list[Hit]) -> dict[str, tuple[Combination, list[Hit]]]:
        """The strongest satisfied combination per category, with the hits that satisfied it."""
        lex = self.lexicon
        tags = {t for h in present for t in h.tags}
        best: dict[str, tuple[Combination, list[Hit]]] = {}
        for combo in lex.combinations:
            if not combo.satisfied(tags):
                continue
            wanted = {alt for entry in combo.all_of for alt in entry.split("|")}
            contrib = [h for h in present if h.tags & wanted]
            category = combo.category or contrib[0].rule.category or "other"
            if category not in best or lex.rank(combo.level) > lex.rank(best[category][0].level):
                best[category] = (combo, contrib)
        return best

    def _emit(self, hits: list[Hit], category: str, level: str, combo: Combination | None) -> Finding:
        experiencer: Experiencer = "other" if any(h.experiencer == "other" for h in hits) else "caller"
        follow_up = self.lexicon.follow_up.get(category, ()) if level != "emergency" else ()
        return self.finding(
            hits,
            level=level,
            category=category,
            score=combo.score if combo else None,
            rule_id=combo.id if combo else None,
            follow_up=follow_up,
            experiencer=experiencer,
        )
