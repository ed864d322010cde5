"""``calmline practice``: run prints the scorecard as JSON; list; validate with FILE:LINE errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from calmline.cli import app
from tests.practice.scripts import GOOD, POOR

runner = CliRunner()


def test_practice_run_prints_the_scorecard(tmp_path: Path) -> None:
    good, poor = tmp_path / "good.json", tmp_path / "poor.yaml"
    good.write_text(json.dumps(GOOD))
    poor.write_text("".join(f"- {json.dumps(line)}\n" for line in POOR))
    cards = []
    for path in (good, poor):
        result = runner.invoke(app, ["practice", "run", "suicidal_guarded", "--responses", str(path)])
        assert result.exit_code == 0, result.output
        cards.append(json.loads(result.output))
    assert cards[0]["score"] > cards[1]["score"]
    assert cards[0]["outcome"] == "accepts_help" and cards[1]["outcome"] == "hangs_up"


def test_practice_list_and_validate(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["practice", "list", "--json"])
    assert listed.exit_code == 0
    assert len(json.loads(listed.output)) >= 12
    source = Path("src/calmline/resources/practice/grieving_parent.yaml")
    ok = runner.invoke(app, ["practice", "validate", str(source)])
    assert ok.exit_code == 0 and "ok" in ok.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(source.read_text().replace("goto: guilt_heard", "goto: nowhere"))
    bad = runner.invoke(app, ["practice", "validate", str(broken)])
    assert bad.exit_code == 1
    assert f"{broken}:" in bad.output and "unknown node 'nowhere'" in bad.output


def test_practice_run_refuses_a_bad_responses_file(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("answer: not a list\n")
    result = runner.invoke(app, ["practice", "run", "suicidal_guarded", "--responses", str(path)])
    assert result.exit_code != 0
