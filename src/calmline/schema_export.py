"""Export the JSON Schema of every event to ``docs/schema/`` (one file per event type)."""

from __future__ import annotations

import json
from pathlib import Path

from calmline.events import INPUT_TYPES, OUTPUT_TYPES, Finding, event_type


def export_schemas(out_dir: Path) -> list[Path]:
    """Write ``<type>.schema.json`` for each input and output event, plus the finding; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    models = [(event_type(m), m) for m in (*INPUT_TYPES, *OUTPUT_TYPES)] + [("finding.model", Finding)]
    for name, model in models:
        schema = model.model_json_schema()
        schema["$id"] = f"urn:calmline:schema:{name}"
        path = out_dir / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
