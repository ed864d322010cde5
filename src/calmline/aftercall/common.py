"""Shared pieces: which calls are real (not practice), date-range filters, percentiles, YAML errors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, not_, or_, select

from calmline.practice import PRACTICE_PREFIX, PRACTICE_QUEUE
from calmline.store.schema import calls

#: Calls whose id starts with this, or in this queue, are practice (training) calls: never in reports,
#: calibration or follow-ups (the same values as ``calmline.practice``).
#: Projection columns that may mark a call as practice (the training work adds one of them).
_PRACTICE_COLUMNS = ("practice", "is_practice")
#: Tiers from lowest to highest.
TIER_ORDER: tuple[str, ...] = ("low", "moderate", "high", "imminent")
TIER_RANK: dict[str, int] = {t: k for k, t in enumerate(TIER_ORDER)}


def is_practice(call_id: str, row: Mapping[str, Any] | Any | None = None) -> bool:
    """Whether a call is a practice call: its id says so, or its projection row is marked."""
    if call_id.startswith(PRACTICE_PREFIX):
        return True
    if row is not None:
        if row.get("queue") == PRACTICE_QUEUE:
            return True
        return any(bool(row.get(name)) for name in _PRACTICE_COLUMNS)
    return False


def real_calls_clause() -> ColumnElement[bool]:
    """A WHERE clause on ``calls`` keeping only real calls (not practice)."""
    clauses: list[ColumnElement[bool]] = [
        not_(calls.c.call_id.startswith(PRACTICE_PREFIX, autoescape=True)),
        calls.c.queue != PRACTICE_QUEUE,
    ]
    for name in _PRACTICE_COLUMNS:
        column = calls.c.get(name)
        if column is not None:
            clauses.append(or_(column.is_(None), column == false()))
    return and_(*clauses)


def has_site_column() -> bool:
    """Whether calls carry a site (a ``site`` column on the calls projection)."""
    return calls.c.get("site") is not None


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls: started in ``[start, end]`` (UTC days, inclusive), of a site and a queue (None: all)."""

    start: date | None = None
    end: date | None = None
    site: str | None = None
    queue: str | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The half-open UTC instant range ``[lo, hi)`` the days cover."""
        lo = datetime.combine(self.start, time(0), UTC) if self.start else None
        hi = datetime.combine(self.end, time(0), UTC) + timedelta(days=1) if self.end else None
        return lo, hi

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` (over ``calls``) restricted to real calls matching this filter."""
        query = query.where(real_calls_clause())
        lo, hi = self.bounds()
        if lo is not None:
            query = query.where(calls.c.started_at >= lo)
        if hi is not None:
            query = query.where(calls.c.started_at < hi)
        if self.queue:
            query = query.where(calls.c.queue == self.queue)
        site = calls.c.get("site")
        if self.site:
            if site is None:
                raise ValueError("calls carry no site on this installation: leave the site filter empty")
            query = query.where(site == self.site)
        return query

    def describe(self) -> str:
        """One line for a report's header."""
        days = f"{self.start or 'the beginning'} to {self.end or 'the latest call'}"
        parts = [days]
        if self.site:
            parts.append(f"site {self.site}")
        if self.queue:
            parts.append(f"queue {self.queue}")
        return ", ".join(parts)


def real_call_ids(conn: Any, flt: CallFilter | None = None) -> list[str]:
    """Ids of the real calls matching ``flt``, in id order."""
    query = (flt or CallFilter()).apply(select(calls.c.call_id)).order_by(calls.c.call_id)
    return [str(r[0]) for r in conn.execute(query)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks; None when empty."""
    data = sorted(values)
    if not data:
        return None
    k = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    value = data[lo] if lo == hi else data[lo] + (data[hi] - data[lo]) * (k - lo)
    return round(value, 3)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back (stored as UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``, or None."""
    value = as_utc(value)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
