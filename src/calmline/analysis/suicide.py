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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from calmline.analysis.base import AnalysisContext
from calmline.analysis.lexicon import Hit, LexiconAnalyzer
from calmline.analysis.text import NormText, Token, from_tokens, normalize
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
_COMBINING: frozenset[str] = frozenset(
    {"means", "method", "intent", "contemplation", "preparatory", "plan_detail", "laid_out", "in_progress"}
)
#: Support tags that say the caller will act or is working out how; with means or a method they fire alone.
_RESOLVE: frozenset[str] = frozenset({"intent", "contemplation"})
#: Support tags that name means or a method.
_MEANS: frozenset[str] = frozenset({"means", "method", "laid_out"})
#: Support tags carried over from earlier turns (a timeframe or resolve said before the means).
_CARRIED: frozenset[str] = frozenset(
    {"means", "method", "preparatory", "laid_out", "intent", "now", "plan_detail"}
)
#: Support tags whose rule level is a candidate level of the finding.
_LEVELLING: frozenset[str] = frozenset({"intent", "method", "contemplation", "preparatory", "plan_detail"})


#: Intensifiers and tags of informal posts that carry no risk meaning; dropped so that bounded patterns
#: ("want to (?:just )?die") also read "i literally fucking want to die tbh".
INFORMAL_FILLERS: frozenset[str] = frozenset(
    {
        "tbh", "ngl", "fr", "frfr", "lowkey", "highkey", "istg", "fucking", "fuckin", "fkn", "fking",
        "freaking", "frickin", "effing", "literally", "honestly", "actually", "seriously", "legit",
    }
)  # fmt: skip
#: Informal spellings read as their full form (text speak; the shared normaliser already expands "wanna").
INFORMAL_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "tryna": ("trying", "to"),
    "finna": ("going", "to"),
    "tmrw": ("tomorrow",),
    "tmr": ("tomorrow",),
    "tmrrw": ("tomorrow",),
    "2moro": ("tomorrow",),
    "2morrow": ("tomorrow",),
    "tonite": ("tonight",),
    "2nite": ("tonight",),
    "tn": ("tonight",),
    "no1": ("no", "one"),
    "noone": ("no", "one"),
    "every1": ("everyone",),
    "any1": ("anyone",),
    "ppl": ("people",),
    "bc": ("because",),
    "bcuz": ("because",),
    "bcoz": ("because",),
    "coz": ("because",),
    "jus": ("just",),
    "rly": ("really",),
    "wud": ("would",),
    "cud": ("could",),
    "shud": ("should",),
    "abt": ("about",),
    "evry": ("every",),
    "anymor": ("anymore",),
    "anymroe": ("anymore",),
    "myslef": ("myself",),
    "mysef": ("myself",),
}
_RUN = re.compile(r"([a-z])\1{2,}")


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    text = resources.files("calmline.resources").joinpath("privacy/common_words.txt").read_text("utf-8")
    return frozenset(w for w in text.split() if not w.startswith("#"))


def _squeeze(word: str) -> str:
    """A letter repeated three times or more ("sooo", "dieee", "killll") as the word it stretches."""
    one, two = _RUN.sub(r"\1", word), _RUN.sub(r"\1\1", word)
    words = _common_words()
    return two if two in words and one not in words else one


def informal_document(doc: NormText) -> NormText:
    """``doc`` with informal-post noise removed: stretched letters, text speak and empty intensifiers.

    Tokens keep their character spans, so evidence still points into the original text.
    """
    tokens: list[Token] = []
    changed = False
    for tok in doc.tokens:
        word = _squeeze(tok.norm) if _RUN.search(tok.norm) else tok.norm
        if word in INFORMAL_FILLERS:
            changed = True
            continue
        parts = INFORMAL_EXPANSIONS.get(word, (word,))
        changed = changed or parts != (tok.norm,)
        tokens.extend(Token(part, tok.start, tok.end) for part in parts)
    if not changed:
        return doc
    return from_tokens(doc.text, tokens)


def risk_tier(level: str, tags: set[str]) -> Tier:
    """The risk tier of a (present) finding at ``level`` with support ``tags``.

    ``in_progress`` (an act under way) and ``laid_out`` (means in hand or laid out now) are imminent; so is a
    timeframe of now/tonight/today with means at hand or with intent or a plan.
    """
    if "in_progress" in tags and "recent_past" in tags:
        return "high"  # an act in the last days ("I took an overdose last Tuesday"): recent, not under way
    if tags & {"in_progress", "laid_out"}:
        return "imminent"
    if "now" in tags and ("means" in tags or level in ("intent", "plan")):
        return "imminent"
    if level in ("intent", "plan", "behavior") or "means" in tags:
        return "high"
    if level in ("suicidal_thoughts", "method"):
        return "moderate"
    return "low"


def _is_conditional(hit: Hit) -> bool:
    return any(m.category == "CONDITIONAL" for m in hit.context.modifiers)


def _support_tags(hit: Hit) -> set[str]:
    """Tags of a support hit; a timeframe inside an "if ..." condition is the condition's, not the act's."""
    tags = hit.tags
    if "now" in tags and _is_conditional(hit):
        tags = tags - {"now"}
    return tags


class SuicideAnalyzer(LexiconAnalyzer):
    """Suicidal ideation, intent, plan and behaviour, direct or indirect, with turn history."""

    name = "suicide"
    finding_type = "suicide_risk"
    lexicon_file = "suicide.yaml"
    code_version = "4"

    def document(self, text: str) -> NormText:
        """The shared normalisation plus :func:`informal_document` (posts and chat-style text)."""
        return informal_document(normalize(text))

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """One finding per (assertion, experiencer), support signals folded into the present one."""
        present_support = [h for h in hits if h.rule.role == "support" and h.present]
        protective = [h for h in hits if h.rule.role == "support" and "protective" in h.tags]
        support = [h for h in present_support if "protective" not in h.tags]
        groups: dict[tuple[str, str], list[Hit]] = {}
        for hit in hits:
            if hit.rule.role == "signal":
                groups.setdefault((hit.assertion, hit.experiencer), []).append(hit)
        earlier = self._earlier(ctx)
        support_tags = {t for h in support for t in _support_tags(h)}
        all_tags = support_tags | earlier.support_tags
        # Resolve with named means fires alone; "right here" or "everything is ready" needs ideation.
        named_means = any(h.tags & _MEANS and "vague" not in h.tags for h in support)
        own_combines = bool(all_tags & _RESOLVE) and named_means
        live_key = next((k for k in groups if k[0] in ("present", "uncertain") and k[1] == "caller"), None)
        if live_key is None and support and (own_combines or (earlier.level and support_tags & _COMBINING)):
            live_key = ("present", "caller")
            groups[live_key] = []
        other_key: tuple[str, str] | None = None
        earlier_other = _Earlier(None, set(), [])
        other_support = [h for h in support if h.experiencer == "other"]
        if ("present", "other") not in groups and other_support and support_tags & _COMBINING:
            # A third person's act or means ("he's taken something") after the caller reported that person's
            # ideation in an earlier turn ("my son says he wants to die").
            earlier_other = self._earlier(ctx, experiencer="other")
            if earlier_other.level:
                other_key = ("present", "other")
                groups[other_key] = []
        out: list[Finding] = []
        for key, group in groups.items():
            if key == live_key:
                out.append(self._live(ctx, group, support, protective, earlier))
            elif key == other_key:
                out.append(self._live(ctx, group, other_support, [], earlier_other))
            else:
                present = key[0] in ("present", "uncertain")
                level = self._top_level(group)
                tags = {t for h in group for t in h.tags}
                level = self._raise_level(level, tags)
                tier = risk_tier(level, tags) if present else "low"
                out.append(self.finding(group, level=level, tier=tier, score=self._score(level, tier)))
        return out

    def _live(
        self,
        ctx: AnalysisContext,
        group: list[Hit],
        support: list[Hit],
        protective: list[Hit],
        earlier: _Earlier,
    ) -> Finding:
        """The caller's present finding: this turn's signals, support and earlier ideation together."""
        tags = {t for h in group for t in h.tags} | {t for h in support for t in _support_tags(h)}
        tags |= earlier.support_tags
        candidates = [h.rule.level for h in group]
        candidates += [h.rule.level for h in support if h.tags & _LEVELLING]
        if earlier.level:
            candidates.append(earlier.level)
        level = self._raise_level(max(candidates, key=self.lexicon.rank), tags)
        tier = risk_tier(level, tags)
        notes = []
        if earlier.seqs and (not group or earlier.level == level):
            notes.append(f"combined with ideation in earlier turn(s) {', '.join(map(str, earlier.seqs))}")
        for hit in protective:
            said = ctx.text[hit.span[0] : hit.span[1]]
            notes.append(f'protective factor mentioned ("{said}"): explore it; it does not lower the tier')
        hits = [*group, *support]
        return self.finding(
            hits,
            level=level,
            tier=tier,
            score=self._score(level, tier),
            extra_notes=notes,
            rule_id=group[0].rule.id if group else ("si-combined-history" if earlier.seqs else "si-combined"),
        )

    def _raise_level(self, level: str, tags: set[str]) -> str:
        """C-SSRS level from the top level and the support: acts outrank plans, plans outrank intent."""
        rank = self.lexicon.rank
        if tags & {"in_progress", "laid_out"}:
            return "behavior"
        if level == "intent" and tags & {"means", "now", "method", "plan_detail", "si-method"}:
            return "plan"
        if rank(level) < rank("method") and tags & {"means", "method", "si-method"}:
            return "method"
        return level

    def _earlier(self, ctx: AnalysisContext, experiencer: str = "caller") -> _Earlier:
        """Highest present ideation level, support tags and turn numbers in the speaker's recent turns.

        ``experiencer`` is whose ideation is read: the caller's own, or a third person's the caller reported.
        """
        level: str | None = None
        tags: set[str] = set()
        seqs: list[int] = []
        turns = [t for t in ctx.history if t.speaker == ctx.speaker][-HISTORY_TURNS:]
        for turn in turns:
            found = [h for h in self.hits(turn.text) if h.present and h.experiencer == experiencer]
            turn_tags = {
                t for h in found if h.rule.role == "support" for t in _support_tags(h) if t in _CARRIED
            }
            tags |= turn_tags
            signals = [h for h in found if h.rule.role == "signal"]
            if not signals:
                # Intent with means or a method in one turn ("going to take them all", pills in hand)
                # was reported as a plan in that turn, so it counts as ideation for later turns.
                if "intent" in turn_tags and turn_tags & {"means", "method", "laid_out"}:
                    seqs.append(turn.seq)
                    level = (
                        "plan"
                        if level is None or self.lexicon.rank("plan") > self.lexicon.rank(level)
                        else level
                    )
                continue
            seqs.append(turn.seq)
            top = self._top_level(signals)
            level = top if level is None or self.lexicon.rank(top) > self.lexicon.rank(level) else level
            tags |= {t for h in signals for t in h.tags if t in ("preparatory",)}
        return _Earlier(level, tags, seqs)

    def _top_level(self, hits: list[Hit]) -> str:
        return max((h.rule.level for h in hits), key=self.lexicon.rank)

    @staticmethod
    def _score(level: str, tier: Tier) -> float:
        return max(LEVEL_SCORE[level], TIER_SCORE[tier])


@dataclass(frozen=True, slots=True)
class _Earlier:
    """What the speaker's recent turns said: top ideation level, support tags, and the turns with ideation."""

    level: str | None
    support_tags: set[str]
    seqs: list[int]


class SelfHarmAnalyzer(LexiconAnalyzer):
    """Non-suicidal self-injury: cutting, burning, hitting, scratching."""

    name = "self_harm"
    finding_type = "self_harm"
    lexicon_file = "self_harm.yaml"
    code_version = "1"
