"""The shape of a report: sections, each a table and maybe a chart (rendered by ``report_render``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Tables the routing desk adds; without them the debrief column says "no routing data".
ROUTING_TABLES = ("agent_ledger", "debrief_tasks")
NO_ROUTING_DATA = "no routing data"


@dataclass(frozen=True, slots=True)
class Chart:
    """What to draw: ``kind`` bar, line or stacked; one value list per series, aligned with ``labels``."""

    kind: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]
    ylabel: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a report: a title, a note, a table and maybe a chart."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""
    chart: Chart | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (charts as their data)."""
        out: dict[str, Any] = {
            "key": self.key,
            "title": self.title,
            "note": self.note,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
        }
        if self.chart is not None:
            out["chart"] = {
                "kind": self.chart.kind,
                "labels": list(self.chart.labels),
                "series": [{"name": n, "values": list(v)} for n, v in self.chart.series],
                "ylabel": self.chart.ylabel,
            }
        return out


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report."""

    title: str
    scope: str
    data_through: str | None
    named_agents: bool
    sections: tuple[Section, ...] = field(default=())

    def section(self, key: str) -> Section:
        """The section with this key."""
        return next(s for s in self.sections if s.key == key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {
            "title": self.title,
            "scope": self.scope,
            "data_through": self.data_through,
            "named_agents": self.named_agents,
            "sections": [s.to_dict() for s in self.sections],
        }
