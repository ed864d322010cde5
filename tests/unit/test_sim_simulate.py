"""``simulate``: one scenario into the store, or to a server."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from calmline.runtime import build_engine
from calmline.settings import Settings
from calmline.sim.demo import simulate
from calmline.testing.keywords import keyword_registry


def test_simulate_into_the_store_prints_and_summarises(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    out = StringIO()
    engine = build_engine(keyword_registry())
    console = Console(file=out, width=200)
    first = simulate(settings, "chest_pain", engine=engine, console=console)
    assert first["call_id"] == "sim-chest_pain-1"
    assert first["alerts_by_call"] == {"sim-chest_pain-1": ["medical_emergency"]}
    assert first["alerts_by_severity"] == {"critical": 1}
    assert first["replay_differences"] == 0 and first["expectation_failures"] == []
    printed = out.getvalue()
    assert "crushing pain in my chest" in printed and "ALERT critical" in printed and "finding" in printed
    again = simulate(settings, "chest_pain", engine=engine, console=console, speed=0)
    assert again["call_id"] == "sim-chest_pain-2"


def test_simulate_to_a_server_needs_an_api_key(tmp_path: Path):
    with pytest.raises(ValueError, match="API key"):
        simulate(Settings(data_dir=tmp_path), "chest_pain", url="http://127.0.0.1:9")
