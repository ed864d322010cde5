"""``calmline practice``: list, validate and run practice scenarios against scripted agent answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

practice_app = typer.Typer(
    help="Practice calls: list the scenarios, validate scenario files, play one against scripted answers.",
    no_args_is_help=True,
)


def _responses(path: Path) -> list[str]:
    """A YAML or JSON list of strings (JSON is YAML)."""
    from calmline.protocols.loader import ProtocolError, parse_yaml

    try:
        data, _ = parse_yaml(path.read_text("utf-8"), str(path))
    except ProtocolError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not isinstance(data, list) or not all(isinstance(x, str) and x.strip() for x in data):
        raise typer.BadParameter(f"{path}: expected a list of non-empty strings")
    return data


@practice_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The shipped practice scenarios."""
    from calmline.practice.live import scenario_summary
    from calmline.practice.loader import shipped_scenarios

    items = [scenario_summary(s) for s in shipped_scenarios().values()]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for s in items:
        protocols = ", ".join(s["expected_protocols"]) or "-"
        typer.echo(f"{s['id']:<24} {s['difficulty']:<13} {protocols:<28} {s['title']}")


@practice_app.command("validate")
def validate_cmd(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Scenario files (default: the shipped ones).")
    ] = None,
    rehearse: Annotated[
        bool, typer.Option("--rehearse/--no-rehearse", help="Also play each scenario's rehearsal.")
    ] = True,
) -> None:
    """Check scenario files (schema, names, graph; FILE:LINE errors) and play their rehearsals."""
    from calmline.practice.loader import PracticeError, load_file, shipped_scenarios
    from calmline.practice.runner import run_scripted

    failed = False
    try:
        scenarios = [load_file(f) for f in files] if files else list(shipped_scenarios().values())
    except PracticeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    for scenario in scenarios:
        problem = ""
        if rehearse and scenario.rehearsal is not None:
            card = run_scripted(scenario, list(scenario.rehearsal.responses))
            missing = [e["id"] for e in card["expected_protocols"] if not e["ran"]]
            if card["outcome"] != scenario.rehearsal.reaches:
                problem = f"rehearsal reached {card['outcome']!r}, not {scenario.rehearsal.reaches!r}"
            elif missing:
                problem = f"rehearsal did not run {missing}"
        failed |= bool(problem)
        typer.echo(f"{'FAIL' if problem else 'ok':<5}{scenario.id} {problem}".rstrip())
    if failed:
        raise typer.Exit(1)


@practice_app.command("run")
def run_cmd(
    scenario: Annotated[str, typer.Argument(help="A scenario id, or a scenario file.")],
    responses: Annotated[Path, typer.Option("--responses", help="YAML/JSON list of the agent's answers.")],
    mode: Annotated[str, typer.Option("--mode", help="assist or assessment.")] = "assist",
    agent: Annotated[str, typer.Option("--agent", help="The trainee named on the scorecard.")] = "scripted",
) -> None:
    """Play SCENARIO against the scripted answers (pure engine, no store) and print the scorecard as JSON."""
    from calmline.practice.loader import PracticeError, get_scenario
    from calmline.practice.runner import run_scripted

    if mode not in ("assist", "assessment"):
        raise typer.BadParameter("mode must be assist or assessment")
    try:
        found = get_scenario(scenario)
    except KeyError:
        typer.echo(f"no practice scenario {scenario!r} (try: calmline practice list)", err=True)
        raise typer.Exit(2) from None
    except PracticeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    card = run_scripted(found, _responses(responses), agent_id=agent, mode=mode)  # type: ignore[arg-type]
    typer.echo(json.dumps(card, indent=2, ensure_ascii=False))
