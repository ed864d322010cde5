"""Patient feedback: post-call survey results (CSAT 1–5 and free text) linked to the call.

The free text is read by the same analyzers as a caller's words (the running engine's registry), so a comment
such as "I still don't see the point of going on" is flagged like it would be on a call. Only the *redacted*
text is stored (``calmline.privacy``: names, numbers and dates replaced by placeholders), with a summary of
the findings (type, level, tier, score, assertion, experiencer, analyzer and version; no character spans,
which would point into the raw text). A comment with a present risk finding of the caller is marked ``risk``
and logged by id, for the caring-contact team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from calmline.aftercall.common import CallFilter, iso
from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.events import RISK_TYPES
from calmline.privacy import redact
from calmline.store.schema import calls, patient_feedback

log = structlog.get_logger("calmline.aftercall")

MAX_COMMENT = 4000
#: Finding fields kept with the stored feedback (never spans or notes).
_KEPT = (
    "type",
    "level",
    "tier",
    "score",
    "assertion",
    "experiencer",
    "analyzer",
    "analyzer_version",
    "rule_id",
)
#: Risk types that mark feedback for attention.
ATTENTION_TYPES = frozenset({"suicide_risk", "self_harm", "medical_emergency", "violence_threat"})


@dataclass(frozen=True, slots=True)
class Recorded:
    """The stored feedback and whether it was new (False: the same ``source``/``external_id`` was known)."""

    feedback: dict[str, Any]
    created: bool


def analyze_comment(
    registry: AnalyzerRegistry | None, text: str
) -> tuple[list[dict[str, Any]], float | None]:
    """Findings (summarised) and the distress score of a caller-side text; empty without a registry."""
    if registry is None or not text.strip():
        return [], None
    found = registry.run(AnalysisContext(text=text, speaker="caller"))
    summary = []
    distress: float | None = None
    for f in found:
        if f.type == "distress":
            distress = max(distress or 0.0, float(f.score))
        summary.append({k: getattr(f, k) for k in _KEPT if getattr(f, k, None) is not None})
    summary.sort(key=lambda d: (str(d.get("type")), str(d.get("level")), -float(d.get("score", 0))))
    return summary, (round(distress, 3) if distress is not None else None)


def _is_risk(findings: list[dict[str, Any]]) -> bool:
    return any(
        f.get("type") in ATTENTION_TYPES
        and f.get("assertion") == "present"
        and f.get("experiencer") == "caller"
        for f in findings
    )


def _dict(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "call_id": row.call_id,
        "source": row.source,
        "external_id": row.external_id,
        "csat": row.csat,
        "comment": row.comment,
        "findings": row.analysis.get("findings", []) if isinstance(row.analysis, dict) else [],
        "distress": row.distress,
        "risk": bool(row.risk),
        "received_at": iso(row.received_at),
        "received_by": row.received_by,
    }


class FeedbackBook:
    """Records and lists patient feedback (``patient_feedback`` table)."""

    def __init__(self, db: Engine, registry: AnalyzerRegistry | None = None) -> None:
        self.db = db
        self.registry = registry

    def record(
        self,
        *,
        call_id: str,
        csat: int | None,
        comment: str | None,
        source: str,
        external_id: str | None,
        received_by: str,
        at: datetime,
    ) -> Recorded:
        """Analyse and store one survey answer. Raises KeyError for an unknown call."""
        if csat is not None and not 1 <= csat <= 5:
            raise ValueError("csat must be 1 to 5")
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ValueError(f"comment is longer than {MAX_COMMENT} characters")
        with self.db.connect() as conn:
            if conn.execute(select(calls.c.call_id).where(calls.c.call_id == call_id)).first() is None:
                raise KeyError(call_id)
            if external_id is not None:
                known = self._find(conn, source, external_id)
                if known is not None:
                    return Recorded(known, False)
        found, distress = analyze_comment(self.registry, comment or "")
        risk = _is_risk(found)
        stored_text = redact(comment).text if comment and comment.strip() else None
        values = {
            "call_id": call_id,
            "external_id": external_id,
            "source": source,
            "csat": csat,
            "comment": stored_text,
            "analysis": {"findings": found, "analyzers": self.registry.versions() if self.registry else {}},
            "distress": distress,
            "risk": risk,
            "received_at": at,
            "received_by": received_by,
        }
        try:
            with self.db.begin() as conn:
                new_id = conn.execute(insert(patient_feedback).values(**values)).inserted_primary_key
                row = conn.execute(
                    select(patient_feedback).where(patient_feedback.c.id == (new_id[0] if new_id else -1))
                ).one()
        except IntegrityError:  # the same survey answer arrived twice at once
            with self.db.connect() as conn:
                known = self._find(conn, source, external_id or "")
            if known is None:
                raise
            return Recorded(known, False)
        if risk:
            log.warning("feedback.risk", call_id=call_id, feedback_id=int(row.id))
        return Recorded(_dict(row), True)

    @staticmethod
    def _find(conn: Any, source: str, external_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            select(patient_feedback).where(
                patient_feedback.c.source == source, patient_feedback.c.external_id == external_id
            )
        ).first()
        return _dict(row) if row is not None else None

    def for_call(self, call_id: str) -> list[dict[str, Any]]:
        """The call's feedback, oldest first."""
        query = (
            select(patient_feedback)
            .where(patient_feedback.c.call_id == call_id)
            .order_by(patient_feedback.c.received_at, patient_feedback.c.id)
        )
        with self.db.connect() as conn:
            return [_dict(r) for r in conn.execute(query)]

    def list(self, flt: CallFilter | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Feedback on real calls matching ``flt`` (practice calls excluded), newest first."""
        real = (flt or CallFilter()).apply(select(calls.c.call_id)).subquery()
        query = (
            select(patient_feedback)
            .where(patient_feedback.c.call_id.in_(select(real.c.call_id)))
            .order_by(patient_feedback.c.received_at.desc(), patient_feedback.c.id.desc())
            .limit(limit)
        )
        with self.db.connect() as conn:
            return [_dict(r) for r in conn.execute(query)]


__all__ = ["RISK_TYPES", "FeedbackBook", "Recorded", "analyze_comment"]
