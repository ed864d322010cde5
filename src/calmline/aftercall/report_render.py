"""Render a :class:`~calmline.aftercall.reports.Report`: a self-contained HTML file or a PDF.

Charts are drawn with matplotlib's object API (``Figure`` + the Agg canvas: no pyplot, no global state, safe
in worker threads). HTML embeds them as base64 PNG (``data:`` URIs), so the file opens anywhere offline; the
PDF is built with matplotlib's ``PdfPages``: one page per chart and the tables drawn as text on figure pages.
Output is byte-for-byte the same for the same data: PNG ``Software`` and PDF ``CreationDate`` metadata are
cleared and nothing reads a clock.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from calmline.aftercall.reports import Chart, Report, Section

PNG_METADATA: dict[str, Any] = {"Software": None}
PDF_METADATA: dict[str, Any] = {
    "CreationDate": None,
    "ModDate": None,
    "Creator": "calmline",
    "Producer": None,
}
_ROWS_PER_PAGE = 32
_PALETTE = ("#2f6f8f", "#d98c3a", "#7a9e4f", "#a84c6b", "#6b5ca5", "#888888")
_RC: Any = {"svg.hashsalt": "calmline", "font.family": "DejaVu Sans", "font.size": 9}

_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.title }}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d2733;max-width:1100px}
h1{font-size:1.5rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd5df;padding-bottom:.25rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccd5df;padding:.25rem .5rem;text-align:left}
th{background:#eef2f6}.note{color:#55606d;font-size:.9rem}
img{max-width:100%;height:auto;display:block;margin:.5rem 0}
.empty{color:#55606d;font-style:italic}
</style>
</head>
<body>
<h1>{{ report.title }}</h1>
<p class="note">Calls: {{ report.scope }}. Data through {{ report.data_through or "–" }}.
Practice calls excluded. No transcript text.</p>
{% for s in sections %}
<section id="{{ s.key }}">
<h2>{{ s.title }}</h2>
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
{% if s.png %}<img alt="Chart: {{ s.title }}" src="data:image/png;base64,{{ s.png }}">{% endif %}
{% if s.rows %}
<table><thead><tr>{% for c in s.columns %}<th scope="col">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in s.rows %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% else %}<p class="empty">No data.</p>{% endif %}
</section>
{% endfor %}
</body>
</html>
"""
_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def chart_figure(chart: Chart, title: str, size: tuple[float, float] = (8.0, 3.4)) -> Figure:
    """A matplotlib figure of one chart."""
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    labels = list(chart.labels)
    x = list(range(len(labels)))
    n = max(1, len(chart.series))
    if chart.kind == "line":
        for k, (name, values) in enumerate(chart.series):
            ax.plot(x, list(values), marker="o", label=name, color=_PALETTE[k % len(_PALETTE)])
    elif chart.kind == "stacked":
        bottom = [0.0] * len(labels)
        for k, (name, values) in enumerate(chart.series):
            ax.bar(x, list(values), bottom=bottom, label=name, color=_PALETTE[k % len(_PALETTE)])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    else:
        width = 0.8 / n
        for k, (name, values) in enumerate(chart.series):
            offs = [i - 0.4 + width * (k + 0.5) for i in x]
            ax.bar(offs, list(values), width=width, label=name, color=_PALETTE[k % len(_PALETTE)])
    ax.set_xticks(x)
    ax.set_xticklabels(
        labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center"
    )
    ax.set_ylabel(chart.ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if len(chart.series) > 1:
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def chart_png(chart: Chart, title: str) -> bytes:
    """One chart as PNG bytes (deterministic)."""
    from matplotlib import rc_context

    with rc_context(_RC):
        fig = chart_figure(chart, title)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata=PNG_METADATA)
    return buf.getvalue()


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document (charts inline as base64 PNG)."""
    sections = []
    for s in report.sections:
        png = base64.b64encode(chart_png(s.chart, s.title)).decode("ascii") if s.chart else None
        sections.append(
            {"key": s.key, "title": s.title, "note": s.note, "columns": s.columns, "rows": s.rows, "png": png}
        )
    return _ENV.from_string(_HTML).render(report=report, sections=sections)


def _table_pages(section: Section) -> list[Figure]:
    pages = []
    rows = [tuple(str(v) for v in r) for r in section.rows] or [
        ("No data.",) + ("",) * (len(section.columns) - 1)
    ]
    chunks: Sequence[Sequence[tuple[str, ...]]] = [
        rows[i : i + _ROWS_PER_PAGE] for i in range(0, len(rows), _ROWS_PER_PAGE)
    ]
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=(8.27, 11.69), dpi=100)  # A4 portrait
        FigureCanvasAgg(fig)
        more = f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        fig.text(0.06, 0.95, section.title + more, fontsize=13, weight="bold")
        if section.note:
            fig.text(0.06, 0.925, section.note, fontsize=8, color="#55606d", wrap=True)
        ax = fig.add_axes((0.06, 0.05, 0.88, 0.85))
        ax.axis("off")
        height = min(0.85, 0.03 * (len(chunk) + 1))
        table = ax.table(
            cellText=[list(r) for r in chunk],
            colLabels=list(section.columns),
            loc="upper left",
            cellLoc="left",
            colLoc="left",
            bbox=Bbox.from_bounds(0.0, 1.0 - height, 1.0, height),
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        for (row, _col), cell in table.get_celld().items():
            if row == 0:
                cell.set_facecolor("#eef2f6")
        pages.append(fig)
    return pages


def render_pdf(report: Report) -> bytes:
    """The report as a PDF (a cover, then per section its chart page and its table pages)."""
    from matplotlib import rc_context

    buf = io.BytesIO()
    with rc_context(_RC), PdfPages(buf, metadata=PDF_METADATA) as pdf:
        cover = Figure(figsize=(8.27, 11.69), dpi=100)
        FigureCanvasAgg(cover)
        cover.text(0.08, 0.85, report.title, fontsize=20, weight="bold")
        cover.text(0.08, 0.80, f"Calls: {report.scope}", fontsize=11)
        cover.text(0.08, 0.77, f"Data through: {report.data_through or '–'}", fontsize=11)
        cover.text(0.08, 0.74, "Practice calls excluded. No transcript text.", fontsize=10, color="#55606d")
        for k, s in enumerate(report.sections):
            cover.text(0.1, 0.68 - 0.025 * k, f"{k + 1}. {s.title}", fontsize=10)
        pdf.savefig(cover)
        for s in report.sections:
            if s.chart is not None:
                pdf.savefig(chart_figure(s.chart, s.title, size=(11.69, 5.5)))
            for page in _table_pages(s):
                pdf.savefig(page)
    return buf.getvalue()
