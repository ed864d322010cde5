"""Guardrails on what the agent says: false reassurance, medical advice, unsafe messaging about suicide.

Reads AGENT utterances only. Context matters here as much as for callers: "I can't tell you it's nothing" is
negated, and quoting ("the nurse said it's probably nothing, but ...") is reported speech, not the agent's own
reassurance. Quoted findings are kept as ``uncertain`` with a halved score and a note, for QA review, rather
than as a live warning.
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.analysis.base import AnalysisContext
from calmline.analysis.lexicon import Hit, LexiconAnalyzer
from calmline.events import Finding, Speaker
from calmline.events.findings import GUARDRAIL_TYPE

QUOTED_NOTE = "quoted or reported speech, not the agent's own words"


class GuardrailAnalyzer(LexiconAnalyzer):
    """Checks agent utterances against the guardrail lexicon."""

    name = "guardrail"
    finding_type = GUARDRAIL_TYPE
    lexicon_file = "guardrail.yaml"
    code_version = "1"
    speakers: frozenset[Speaker] = frozenset({"agent"})

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """One finding per level and assertion; reported speech is softened to ``uncertain``."""
        out: list[Finding] = []
        for finding in super().build(ctx, hits):
            quoted = any(m.category == "REPORTED_SPEECH" for m in finding.modifiers)
            if quoted and finding.assertion == "present":
                finding = finding.model_copy(
                    update={
                        "assertion": "uncertain",
                        "score": round(finding.score * 0.5, 4),
                        "notes": (*finding.notes, QUOTED_NOTE),
                    }
                )
            out.append(finding)
        return out
