"""The words a FHIR export carries, redacted with :mod:`calmline.privacy` (one pseudonym map per call).

Raw transcript text lives only in the event log (architecture principle 6): the Encounter's reason, the
transcript Communication and the evidence quoted in the RiskAssessment are all redacted here, with the same
placeholders throughout the call (``[NAME_1]`` is the same person in the transcript and in a quote). Quotes
are cut from the *redacted whole utterance*, so an identifier is found with its full context even when the
quote holds only part of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.events import UtteranceReceived
from calmline.privacy import CallRedactor, Redacted, Redactor


class CallMasker:
    """Redacted text of one call: its stated reason, each utterance, and quotes from utterances."""

    def __init__(
        self,
        reason: str | None,
        utterances: Sequence[UtteranceReceived],
        redactor: Redactor | None = None,
    ) -> None:
        """Redact everything once, in a fixed order (reason, then utterances by ``seq``): deterministic."""
        call = CallRedactor(redactor, salt=b"")  # the salt only keys hashes; placeholders never depend on it
        self.reason = call.redact(reason).text if reason else None
        self._texts = {u.seq: u.text for u in utterances}
        self._redacted: dict[int, Redacted] = {
            u.seq: call.redact(u.text) for u in sorted(utterances, key=lambda u: u.seq)
        }

    def utterance(self, seq: int) -> str:
        """The whole utterance ``seq``, redacted."""
        return self._redacted[seq].text

    def quote(self, seq: int, start: int, end: int) -> str:
        """``text[start:end]`` of utterance ``seq``, identifiers touching it replaced by placeholders."""
        text = self._texts.get(seq)
        if text is None:
            return ""
        pieces: list[str] = []
        pos = start
        for span in self._redacted[seq].spans:
            if span.end <= start or span.start >= end:
                continue
            if span.start > pos:
                pieces.append(text[pos : span.start])
            pieces.append(span.label)
            pos = max(pos, span.end)
        if pos < end:
            pieces.append(text[pos:end])
        return "".join(pieces)
