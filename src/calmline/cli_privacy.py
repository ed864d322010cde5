"""``calmline privacy`` (redact, evaluate against Presidio) and ``calmline audit`` (verify, anchor)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from calmline.settings import Settings

privacy_app = typer.Typer(
    help="PHI redaction: redact transcripts, measure redaction (vs Presidio).", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The tamper-evident audit log: verify the chain, anchor its head.", no_args_is_help=True
)
err = Console(stderr=True)

PRESIDIO_MISSING = (
    "presidio-analyzer is not installed: it is an evaluation-only extra. Install it with\n"
    '  .venv/bin/pip install -e ".[privacy-eval]"   (or: make eval-privacy)\n'
    "or run calmline's side alone with --no-presidio."
)


@privacy_app.command("eval")
def eval_cmd(
    n: Annotated[int, typer.Option("--n", min=1, help="Utterances per template family.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Corpus seed (rules were developed on seed 1).")] = 7,
    presidio: Annotated[bool, typer.Option("--presidio/--no-presidio", help="Also run Presidio.")] = True,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Timed passes (best is kept).")] = 3,
) -> None:
    """Recall, precision and utterances/second of calmline's redactor and Presidio on the synthetic corpus.

    Prints one JSON report: per entity type, per group and overall, for each template family (``dev``: the
    rules were developed on it; ``heldout``: never tuned on). The matching rule is in
    ``calmline.privacy.evaluate``.
    """
    from calmline.privacy import evaluate
    from calmline.privacy.corpus import FAMILIES, generate

    predictors: dict[str, evaluate.Predict] = {"calmline": evaluate.calmline_predictor()}
    presidio_info: dict[str, Any] | None = None
    if presidio:
        try:
            predictors["presidio"], presidio_info = evaluate.presidio_predictor()
        except ImportError:
            err.print(PRESIDIO_MISSING, markup=False, highlight=False)
            raise typer.Exit(2) from None
    results: dict[str, Any] = {}
    for family in FAMILIES:
        corpus = generate(n, seed=seed, family=family)
        results[family] = {}
        for name, predict in predictors.items():
            predictions, per_second = evaluate.run(predict, corpus, repeat=repeat)
            results[family][name] = {
                "utterances_per_second": per_second,
                **evaluate.score(corpus, predictions),
            }
    report = {
        "command": f"calmline privacy eval --n {n} --seed {seed} --{'' if presidio else 'no-'}presidio",
        "corpus": {
            "utterances_per_family": n,
            "seed": seed,
            "families": list(FAMILIES),
            "development_seed": 1,
        },
        "matching": "a gold span is found when a predicted span of its group overlaps it (evaluate.py)",
        "presidio": presidio_info,
        "results": results,
    }
    if presidio:
        report["targets"] = _targets(results)
    typer.echo(json.dumps(report, indent=2))


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    """Per family: recall ≥ 0.98 and above Presidio's on names, numbers and dates; ≥ 5× its speed."""
    out: dict[str, Any] = {}
    for family, systems in results.items():
        ours, theirs = systems["calmline"], systems["presidio"]
        checks: dict[str, Any] = {}
        for group in ("name", "number", "date"):
            r = ours["per_group"][group]["recall"] or 0.0
            p = theirs["per_group"][group]["recall"] or 0.0
            checks[f"{group}_recall"] = {"calmline": r, "presidio": p, "met": r >= 0.98 and r > p}
        speedup = ours["utterances_per_second"] / max(theirs["utterances_per_second"], 1e-9)
        checks["speedup"] = {"x": round(speedup, 1), "met": speedup >= 5}
        checks["all_met"] = all(c["met"] for c in checks.values() if isinstance(c, dict))
        out[family] = checks
    return out


@privacy_app.command("redact")
def redact_cmd(
    source: Annotated[
        Path | None, typer.Argument(help="A text or JSONL file; standard input when absent.")
    ] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Input is JSON lines with a text field.")] = False,
    field: Annotated[str, typer.Option("--field", help="The text field of each JSON line.")] = "text",
    call_field: Annotated[
        str, typer.Option("--call-field", help="JSON field naming the call: pseudonyms are per call.")
    ] = "call_id",
) -> None:
    """Print the input with PHI replaced by placeholders (``[NAME_1]``), consistent within each call.

    Plain text: every line is one utterance of one call. JSONL: each object's ``--field`` is replaced, and a
    ``phi`` list (kind, start, end, label: offsets into the original text, never the values) is added.
    """
    from calmline.privacy import CallRedactor

    lines = source.read_text("utf-8").splitlines() if source else sys.stdin.read().splitlines()
    calls: dict[str, CallRedactor] = {}
    for number, line in enumerate(lines, start=1):
        if not jsonl:
            typer.echo(calls.setdefault("", CallRedactor()).redact(line).text)
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row[field]
        except (ValueError, KeyError, TypeError):
            err.print(
                f"line {number}: not a JSON object with a {field!r} field", markup=False, highlight=False
            )
            raise typer.Exit(1) from None
        redactor = calls.setdefault(str(row.get(call_field, "")), CallRedactor())
        result = redactor.redact(str(text))
        row[field] = result.text
        row["phi"] = [
            {"kind": s.kind, "start": s.start, "end": s.end, "label": s.label} for s in result.spans
        ]
        typer.echo(json.dumps(row))


AnchorsOpt = Annotated[
    Path | None,
    typer.Option(
        "--anchors",
        envvar="CALMLINE_AUDIT_ANCHORS",
        help="Anchor file (JSON lines); default: CALMLINE_DATA_DIR/audit-anchors.jsonl. Copy it off the box.",
    ),
]


def _audit() -> tuple[Any, Settings]:
    from calmline.store.audit import AuditLog
    from calmline.store.db import make_engine, migrate

    settings = Settings()
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    migrate(db)
    return AuditLog(db), settings


def _anchor_path(anchors: Path | None, settings: Settings) -> Path:
    return anchors if anchors is not None else settings.data_dir / "audit-anchors.jsonl"


@audit_app.command("verify")
def verify_cmd(
    anchors: AnchorsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Check the audit chain of the configured store; exit 0 when intact, 1 naming the first bad row."""
    from calmline.store.audit import Anchor

    log, settings = _audit()
    path = _anchor_path(anchors, settings)
    known = (
        [Anchor.from_json(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
        if path.exists()
        else []
    )
    report = log.check(known)
    if as_json:
        body = {
            "ok": report.ok,
            "rows": report.rows,
            "head_hash": report.head_hash,
            "anchors_checked": report.anchors_checked,
            "problems": [
                {"position": p.position, "id": p.id, "kind": p.kind, "detail": p.detail}
                for p in report.problems
            ],
        }
        typer.echo(json.dumps(body, indent=2))
    elif report.ok:
        typer.echo(
            f"audit log intact: {report.rows} rows, {report.anchors_checked} anchors, head {report.head_hash}"
        )
    else:
        first = report.problems[0]
        err.print(f"audit log BROKEN at {first.describe()}", markup=False, highlight=False)
        for extra in report.problems[1:]:
            err.print(f"  also {extra.describe()}", markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def anchor_cmd(anchors: AnchorsOpt = None) -> None:
    """Append the chain's head (row count, last id, hash) to the anchor file; run it on a schedule (cron)."""
    log, settings = _audit()
    anchor = log.anchor(datetime.now(UTC))
    path = _anchor_path(anchors, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(anchor.to_json() + "\n")
    typer.echo(f"anchored {anchor.count} rows, head {anchor.head_hash} (last id {anchor.last_id}) in {path}")
