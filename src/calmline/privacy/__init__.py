"""Privacy: PHI redaction of transcripts (``redact``), its evaluation corpus and the Presidio comparison."""

from calmline.privacy.redact import CallRedactor, PhiSpan, PseudonymMap, Redacted, Redactor, redact

__all__ = ["CallRedactor", "PhiSpan", "PseudonymMap", "Redacted", "Redactor", "redact"]
