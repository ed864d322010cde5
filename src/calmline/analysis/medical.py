"""Medical emergencies: symptom lexicon, urgency levels, combinations and follow-up questions.

Each symptom rule has a ``category`` (chest_pain, breathing, stroke, ...) and a ``level`` (routine, urgent,
emergency). Combinations in the lexicon raise urgency when features occur together ("chest pain" with pain
"going down my left arm"). A symptom in someone the caller is with keeps its level: the finding's experiencer
is ``other``, not a lower score. Where the level stays below emergency the finding lists ``follow_up``
questions that let the agent settle the urgency.

Two tag conventions keep routine calls routine without ever lowering an emergency:

* ``minor``: a rule for the routine reading of a phrase ("my gums bleed", "a small burn on my finger"). A
  present minor hit drops the non-emergency hits of its category that overlap it.
* ``lower:<category>``: a reassurance ("but he's fine", "I can breathe fine", "eating and playing fine").
  While one is present, an *urgent* finding of that category is reported as routine. Emergencies stay
  emergencies, and so does a category with a present hit tagged ``keep`` ("knocked out ... but seems ok").

Symptoms listed one after another describe one person: in "my mum has collapsed and won't wake up" the second
symptom is hers too, although "and" ends the scope of "my mum". When some hit is about someone else and the
caller never speaks of themself ("I", "me"), hits that context left at the default experiencer go to
``other``.
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.analysis.base import AnalysisContext
from calmline.analysis.lexicon import Combination, Hit, LexiconAnalyzer
from calmline.analysis.text import normalize
from calmline.events import Finding
from calmline.events.findings import Experiencer

MINOR = "minor"
LOWER = "lower:"
KEEP = "keep"
#: First-person words that make the caller a possible experiencer ("my" alone does not: "my mum").
_FIRST_PERSON: frozenset[str] = frozenset({"i", "im", "ive", "id", "ill", "me", "myself"})


class MedicalAnalyzer(LexiconAnalyzer):
    """Symptoms of medical emergencies, for the caller or someone with them."""

    name = "medical"
    finding_type = "medical_emergency"
    lexicon_file = "medical.yaml"
    code_version = "2"

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """One finding per (category, assertion, experiencer), raised by combinations."""
        lex = self.lexicon
        top = lex.levels[-1]
        hits = _drop_minor_overlaps(hits, {r.id for r in lex.rules if r.level == top})
        lowered = {t[len(LOWER) :] for h in hits if h.present for t in h.rule.tags if t.startswith(LOWER)}
        lowered -= {h.rule.category or "other" for h in hits if h.present and KEEP in h.rule.tags}
        inherit = _others_symptoms_only(ctx.text, hits)
        groups: dict[tuple[str, str, Experiencer], list[Hit]] = {}
        for hit in hits:
            if hit.rule.role == "signal":
                key = (hit.rule.category or "other", hit.assertion, _experiencer(hit, inherit))
                groups.setdefault(key, []).append(hit)
        upgrades = self._combinations([h for h in hits if h.present])
        out: list[Finding] = []
        raised: set[str] = set()
        for (category, assertion, experiencer), group in groups.items():
            level = max((h.rule.level for h in group), key=lex.rank)
            combo_hits: list[Hit] = []
            combo: Combination | None = None
            if assertion in ("present", "uncertain") and category in upgrades:
                candidate, contrib = upgrades[category]
                if lex.rank(candidate.level) >= lex.rank(level):
                    combo, combo_hits, level = candidate, contrib, candidate.level
                    raised.add(category)
                    if any(_experiencer(h, inherit) == "other" for h in contrib):
                        experiencer = "other"
            if assertion in ("present", "uncertain"):
                level = self._lowered(category, level, lowered)
            out.append(self._emit([*group, *combo_hits], category, level, combo, experiencer))
        for category, (combo, contrib) in upgrades.items():
            if category not in raised and not any(
                k[0] == category and k[1] in ("present", "uncertain") for k in groups
            ):
                experiencer = (
                    "other" if any(_experiencer(h, inherit) == "other" for h in contrib) else "caller"
                )
                level = self._lowered(category, combo.level, lowered)
                out.append(self._emit(contrib, category, level, combo, experiencer))
        return out

    def _lowered(self, category: str, level: str, lowered: set[str]) -> str:
        """``level``, or the lowest level when a reassurance covers ``category`` and the level is urgent."""
        lex = self.lexicon
        if category in lowered and 0 < lex.rank(level) < len(lex.levels) - 1:
            return lex.levels[0]
        return level

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

    def _emit(
        self,
        hits: list[Hit],
        category: str,
        level: str,
        combo: Combination | None,
        experiencer: Experiencer,
    ) -> Finding:
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


def _drop_minor_overlaps(hits: list[Hit], emergency_rules: set[str]) -> list[Hit]:
    """Drop non-emergency hits that overlap a present ``minor`` hit of the same category."""
    minors = [h for h in hits if MINOR in h.rule.tags and h.present]
    if not minors:
        return hits
    return [
        h
        for h in hits
        if MINOR in h.rule.tags
        or h.rule.id in emergency_rules
        or not any(
            m.rule.category == h.rule.category and h.span[0] < m.span[1] and m.span[0] < h.span[1]
            for m in minors
        )
    ]


def _others_symptoms_only(text: str, hits: list[Hit]) -> bool:
    """Whether some hit is about someone else and the caller never speaks of themself."""
    if not any(h.experiencer == "other" for h in hits):
        return False
    return not any(t.norm in _FIRST_PERSON for t in normalize(text).tokens)


def _experiencer(hit: Hit, inherit: bool) -> Experiencer:
    """The hit's experiencer; a default ``caller`` (no context trigger) becomes ``other`` when inherited."""
    if (
        inherit
        and hit.experiencer == "caller"
        and hit.rule.experiencer == "context"
        and not hit.context.modifiers
    ):
        return "other"
    return hit.experiencer
