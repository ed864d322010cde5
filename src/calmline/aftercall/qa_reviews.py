"""Reviewer overrides of QA items (stored in ``qa_reviews``, audited) and the calibration across reviewers.

A reviewer overrides one item of one call with a score (0..1, or None: "not applicable") and a comment. Every
override is a new row (the history stays) and a hash-chained ``audit_log`` entry (``qa.override``; the entry
carries the scores and the comment's length, never the comment). A reviewer's *latest* row per item counts.

Calibration compares, item by item, the reviewers who scored the same call (do they agree with each other?)
and each reviewer with the automatic score (does the form measure what reviewers see?). Two scores agree when
they differ by at most the form's ``agreement_tolerance``. Practice calls are never part of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import Engine, insert, select

from calmline.aftercall.common import CallFilter, as_utc, iso, real_call_ids
from calmline.aftercall.qa_form import AutoScorecard, ScorecardForm, weighted_total
from calmline.store.audit import AuditLog
from calmline.store.schema import qa_reviews

MAX_COMMENT = 4000


@dataclass(frozen=True, slots=True)
class Review:
    """One reviewer's override of one item."""

    id: int
    call_id: str
    form_id: str
    item_id: str
    reviewer: str
    score: float | None
    auto_score: float | None
    comment: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {
            "id": self.id,
            "call_id": self.call_id,
            "form_id": self.form_id,
            "item_id": self.item_id,
            "reviewer": self.reviewer,
            "score": self.score,
            "auto_score": self.auto_score,
            "comment": self.comment,
            "created_at": iso(self.created_at),
        }


def _review(row: Any) -> Review:
    return Review(
        int(row.id),
        row.call_id,
        row.form_id,
        row.item_id,
        row.reviewer,
        row.score,
        row.auto_score,
        row.comment,
        as_utc(row.created_at) or row.created_at,
    )


class QaReviews:
    """Overrides and calibration over the ``qa_reviews`` table."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.audit = AuditLog(db)

    def override(
        self,
        *,
        call_id: str,
        form: ScorecardForm,
        item_id: str,
        reviewer: str,
        score: float | None,
        auto_score: float | None,
        comment: str,
        at: datetime,
    ) -> Review:
        """Store one override and its audit entry in one transaction."""
        if form.item(item_id) is None:
            raise KeyError(item_id)
        if score is not None and not 0.0 <= score <= 1.0:
            raise ValueError("score must be between 0 and 1")
        comment = comment.strip()
        if not comment or len(comment) > MAX_COMMENT:
            raise ValueError(f"a comment of 1 to {MAX_COMMENT} characters is required")
        values = {
            "call_id": call_id,
            "form_id": form.form_id,
            "item_id": item_id,
            "reviewer": reviewer,
            "score": score,
            "auto_score": auto_score,
            "comment": comment,
            "created_at": at,
        }
        with self.db.begin() as conn:
            new_id = conn.execute(insert(qa_reviews).values(**values)).inserted_primary_key
            self.audit.append(
                conn,
                at=at,
                actor=reviewer,
                action="qa.override",
                subject=f"qa:{call_id}:{item_id}",
                detail={
                    "form_id": form.form_id,
                    "form_version": form.version,
                    "score": score,
                    "auto_score": auto_score,
                    "comment_chars": len(comment),
                },
            )
        return Review(int(new_id[0]) if new_id else 0, **values)  # type: ignore[arg-type]

    def for_call(self, call_id: str, form_id: str | None = None) -> list[Review]:
        """Every override of the call, oldest first."""
        query = select(qa_reviews).where(qa_reviews.c.call_id == call_id).order_by(qa_reviews.c.id)
        if form_id:
            query = query.where(qa_reviews.c.form_id == form_id)
        with self.db.connect() as conn:
            return [_review(r) for r in conn.execute(query)]

    def latest(self, form_id: str, call_ids: Sequence[str] | None = None) -> list[Review]:
        """Each reviewer's latest override per (call, item) of the form, in (call, item, reviewer) order."""
        query = select(qa_reviews).where(qa_reviews.c.form_id == form_id).order_by(qa_reviews.c.id)
        with self.db.connect() as conn:
            rows = [_review(r) for r in conn.execute(query)]
        wanted = set(call_ids) if call_ids is not None else None
        last: dict[tuple[str, str, str], Review] = {}
        for r in rows:
            if wanted is None or r.call_id in wanted:
                last[(r.call_id, r.item_id, r.reviewer)] = r
        return [last[k] for k in sorted(last)]

    def calibration(self, form: ScorecardForm, flt: CallFilter | None = None) -> dict[str, Any]:
        """Agreement per item between reviewers and with the automatic score, over real calls only."""
        with self.db.connect() as conn:
            real = real_call_ids(conn, flt)
        return calibrate(form, self.latest(form.form_id, real))


def calibrate(form: ScorecardForm, reviews: Iterable[Review]) -> dict[str, Any]:
    """The calibration figures from reviewers' latest overrides (pure)."""
    tol = form.agreement_tolerance
    by_item_call: dict[str, dict[str, list[Review]]] = defaultdict(lambda: defaultdict(list))
    per_reviewer: dict[str, list[float]] = defaultdict(list)
    all_reviews = list(reviews)
    for r in all_reviews:
        by_item_call[r.item_id][r.call_id].append(r)

    def agree(a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) <= tol + 1e-9

    items = []
    for item in form.items:
        calls = by_item_call.get(item.id, {})
        pairs = [(a, b) for rs in calls.values() for a, b in combinations(rs, 2)]
        vs_auto = [r for rs in calls.values() for r in rs]
        diffs = [abs(a.score - b.score) for a, b in pairs if a.score is not None and b.score is not None]
        auto_diffs = [
            abs(r.score - r.auto_score) for r in vs_auto if r.score is not None and r.auto_score is not None
        ]
        for r in vs_auto:
            if r.score is not None and r.auto_score is not None:
                per_reviewer[r.reviewer].append(abs(r.score - r.auto_score))
        items.append(
            {
                "item_id": item.id,
                "title": item.title,
                "calls_reviewed": len(calls),
                "calls_with_several_reviewers": sum(1 for rs in calls.values() if len(rs) > 1),
                "reviews": len(vs_auto),
                "reviewer_pairs": len(pairs),
                "reviewer_agreement": _share(agree(a.score, b.score) for a, b in pairs),
                "reviewer_mean_abs_diff": _mean(diffs),
                "auto_agreement": _share(agree(r.score, r.auto_score) for r in vs_auto),
                "auto_mean_abs_diff": _mean(auto_diffs),
            }
        )
    reviewers = [
        {
            "reviewer": name,
            "reviews": sum(1 for r in all_reviews if r.reviewer == name),
            "mean_abs_diff_from_auto": _mean(per_reviewer.get(name, [])),
        }
        for name in sorted({r.reviewer for r in all_reviews})
    ]
    return {
        "form_id": form.form_id,
        "form_version": form.version,
        "agreement_tolerance": tol,
        "items": items,
        "reviewers": reviewers,
    }


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return round(sum(values) / len(values), 3) if values else None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def scorecard(
    form: ScorecardForm, auto: AutoScorecard, reviews: Sequence[Review], *, practice: bool = False
) -> dict[str, Any]:
    """The call's scorecard: each item's automatic score and evidence, overrides, and the effective score.

    The effective score of an item is the newest override by anyone, else the automatic score.
    """
    items: list[dict[str, Any]] = []
    for item in auto.items:
        mine = [r for r in reviews if r.item_id == item.item_id]
        latest = mine[-1] if mine else None
        effective = latest.score if latest is not None else item.score
        items.append(
            {
                "item_id": item.item_id,
                "kind": item.kind,
                "title": item.title,
                "weight": item.weight,
                "auto_score": item.score,
                "evidence": item.evidence,
                "score": effective,
                "overridden": latest is not None,
                "reviews": [r.to_dict() for r in mine],
            }
        )
    total = weighted_total((float(i["weight"]), i["score"]) for i in items)
    auto_total = weighted_total((i.weight, i.score) for i in auto.items)
    return {
        "call_id": auto.call_id,
        "practice": practice,
        "form_id": form.form_id,
        "form_version": form.version,
        "title": form.title,
        "pass_mark": form.pass_mark,
        "items": items,
        "total": total,
        "auto_total": auto_total,
        "passed": None if total is None else total >= form.pass_mark,
    }
