"""Requests an agent must not simply answer: someone else's health information, medical and legal advice.

One analyzer emits three finding types (the rule's ``type`` in ``rules/en/requests.yaml``):
``phi_request_third_party``, ``medical_advice_request`` and ``legal_advice_request``.

A request the caller made on an earlier call ("I rang last week and asked for my son's results", "last time I
asked about my dad's diagnosis") is not being made now: support rules tagged ``past_request`` mark such a
report, and a request that follows one in the same sentence is asserted ``historical``. This is specific to
requests: for risks, "last week" is recent and stays present.
"""

from __future__ import annotations

from dataclasses import replace

from calmline.analysis.context import ContextResult
from calmline.analysis.lexicon import Hit, LexiconAnalyzer
from calmline.events.findings import Modifier

#: Characters that end a sentence: a past-request report does not reach over them.
_SENTENCE_END = frozenset(".!?")


class RequestAnalyzer(LexiconAnalyzer):
    """Third-party PHI requests, medical advice requests and legal advice requests."""

    name = "requests"
    finding_type = "medical_advice_request"
    lexicon_file = "requests.yaml"
    code_version = "2"
    group_by_level = False

    def hits(self, text: str) -> list[Hit]:
        """Rule matches; a request reported as made on an earlier occasion becomes historical."""
        found = super().hits(text)
        past = [h for h in found if h.rule.role == "support" and "past_request" in h.rule.tags]
        if not past:
            return found
        return [_as_past(h, past, text) if h.rule.role == "signal" else h for h in found]


def _as_past(hit: Hit, past: list[Hit], text: str) -> Hit:
    """``hit`` made historical when a past-request report precedes it in the same sentence."""
    if hit.context.assertion != "present":
        return hit
    for report in past:
        start, end = report.span
        if start <= hit.span[0] and not _SENTENCE_END.intersection(text[end : hit.span[0]]):
            modifier = Modifier(category="HISTORICAL", rule_id=report.rule.id, span=report.span)
            context = ContextResult(
                assertion="historical",
                experiencer=hit.context.experiencer,
                modifiers=(*hit.context.modifiers, modifier),
            )
            return replace(hit, context=context)
    return hit
