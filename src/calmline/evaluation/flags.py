"""How often the suicide detectors flag text that holds no suicidal content (alert-fatigue check).

Two sources: the call set's rows with no present ``suicide_risk`` label (calm calls, medical, requests, and
the suicide group's negated, historical, hypothetical and third-person rows), and GoEmotions Reddit comments
the learned suicide head never trained on (the ``GOEMOTIONS_SUICIDE_NEGATIVES`` sample of
``calmline.training`` is left out). A text is flagged when any ``suicide_risk`` finding is asserted present
or uncertain; flags from the learned analyzer are also counted by ``rule_id`` ("learned", "learned-flag").

Command: ``.venv/bin/python -m calmline.evaluation.flags [--data ../shared/data]``.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.evaluation.callset import analyse, gold_positive, load_rows
from calmline.events import Finding

#: Must equal ``calmline.training.pipeline.GOEMOTIONS_SUICIDE_NEGATIVES`` (and the seed), so that the
#: comments measured here are the ones the suicide head never saw (kept apart: no sklearn at run time).
TRAINING_GOEMOTIONS_SAMPLE = 4000


def _flags(found: Sequence[Finding]) -> tuple[bool, str | None]:
    risk = [f for f in found if f.type == "suicide_risk" and f.is_present]
    learned = next((f.rule_id for f in risk if f.analyzer == "suicide_learned"), None)
    return bool(risk), learned


def _rates(flags: Sequence[tuple[bool, str | None]]) -> dict[str, Any]:
    n = len(flags)
    flagged = sum(f for f, _ in flags)
    by_rule: dict[str, int] = {}
    for _, rule in flags:
        if rule is not None:
            by_rule[rule] = by_rule.get(rule, 0) + 1
    return {
        "rows": n,
        "flagged": flagged,
        "rate": round(flagged / n, 4) if n else 0.0,
        "learned_by_rule": dict(sorted(by_rule.items())),
    }


def callset_false_flags(path: Path, registry: AnalyzerRegistry, split: str | None = None) -> dict[str, Any]:
    """Flags on call-set rows with no present ``suicide_risk`` label, overall and per group/kind."""
    from calmline.evaluation.callset import split_of

    rows = [r for r in load_rows(path) if not gold_positive(r, "suicide_risk")]
    rows = [r for r in rows if split is None or split_of(r.id) == split]
    flags = [_flags(found) for found in analyse(rows, registry)]
    out = _rates(flags)
    groups: dict[str, list[tuple[bool, str | None]]] = {}
    for row, flag in zip(rows, flags, strict=True):
        groups.setdefault(f"{row.group}/{row.kind}", []).append(flag)
    out["by_group"] = {g: _rates(v) for g, v in sorted(groups.items()) if any(f for f, _ in v)}
    return out


def goemotions_false_flags(
    data_dir: Path, registry: AnalyzerRegistry, n: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Flags on ``n`` GoEmotions comments outside the suicide head's training sample (evenly spaced)."""
    lines = (data_dir / "goemotions" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    seen = set(random.Random(seed).sample(range(len(texts)), TRAINING_GOEMOTIONS_SAMPLE))
    held_out = [i for i in range(len(texts)) if i not in seen]
    step = max(1, len(held_out) // n)
    pick = held_out[::step][:n]
    return _rates([_flags(registry.run(AnalysisContext(text=texts[i]))) for i in pick])


def main() -> None:
    """Print the false-flag figures of the default analyzers as JSON."""
    from calmline.analysis.defaults import default_registry

    ap = argparse.ArgumentParser(prog="python -m calmline.evaluation.flags")
    ap.add_argument("--sets", type=Path, default=Path("eval/sets"))
    ap.add_argument("--data", type=Path, default=None, help="public data (GoEmotions); skipped if unset")
    args = ap.parse_args()
    registry = default_registry()
    registry.setup()
    report: dict[str, Any] = {
        "call_set_no_suicide_label": {
            split or "all": callset_false_flags(args.sets / "call_utterances.jsonl", registry, split)
            for split in (None, "dev", "test")
        }
    }
    if args.data is not None:
        report["goemotions_held_out"] = goemotions_false_flags(args.data, registry)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
