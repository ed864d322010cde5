"""CLI: ``python -m calmline.training {train,evaluate} --data DIR [--out DIR] [--seed N] [--json FILE]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from calmline.training.pipeline import evaluate, train_all


def main() -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(prog="python -m calmline.training")
    ap.add_argument("command", choices=["train", "evaluate"])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, default=Path("src/calmline/resources/models"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tasks", default="", help="comma-separated subset of tasks (evaluate only)")
    ap.add_argument("--json", type=Path, default=None, help="write the result as JSON here")
    args = ap.parse_args()
    if args.command == "train":
        result = train_all(args.data, args.out, args.seed)
    else:
        wanted = tuple(t for t in args.tasks.split(",") if t) or None
        result = evaluate(args.data, args.seed, wanted)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
