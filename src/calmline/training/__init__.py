"""Training and evaluation of the learned heads (needs the ``.venv-train`` extras: scikit-learn, model2vec).

Run ``python -m calmline.training train --data /work/shared/data --out src/calmline/resources/models`` or
``python -m calmline.training evaluate --data /work/shared/data``. Nothing here is imported at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train_all(data_dir: Path, out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Rebuild every artifact under ``out_dir`` from ``data_dir`` (see :mod:`calmline.training.pipeline`)."""
    from calmline.training.pipeline import train_all as _train_all

    return _train_all(data_dir, out_dir, seed)


def evaluate(data_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Cross-validated per-class metrics, calibration and baselines for every head."""
    from calmline.training.pipeline import evaluate as _evaluate

    return _evaluate(data_dir, seed)
