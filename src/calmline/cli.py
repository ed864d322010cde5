"""The ``calmline`` command. Every subcommand honours CALMLINE_DATA_DIR and CALMLINE_DATABASE_URL."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from calmline.cli_aftercall import register as register_aftercall
from calmline.cli_bus import bus_app
from calmline.cli_postcall import adapt_cmd, fhir_app
from calmline.cli_practice import practice_app
from calmline.cli_privacy import audit_app, privacy_app
from calmline.cli_protocols import protocols_app
from calmline.cli_security import register as register_security
from calmline.cli_webhooks import webhooks_app
from calmline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from calmline.service import CallService

T = TypeVar("T")

app = typer.Typer(
    help="calmline: real-time help for medical call centers with distressed callers.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(
    help="Manage people (logins with roles) and API keys for integrations.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(protocols_app, name="protocols")
app.add_typer(fhir_app, name="fhir")
app.command("adapt")(adapt_cmd)
app.add_typer(privacy_app, name="privacy")
app.add_typer(audit_app, name="audit")
app.add_typer(practice_app, name="practice")
app.add_typer(bus_app, name="bus")  # bus dead-letters list|redrive|drop (docs/SCALING.md)
register_aftercall(app)  # report, followups, qa
register_security(app)  # keys, retention
err = Console(stderr=True)
ROLES = ("agent", "supervisor", "qa", "admin", "auditor", "ingest", "routing", "read")


def _settings() -> Settings:
    return Settings()


def _service(settings: Settings | None = None) -> CallService:
    from calmline.runtime import build_service, configure_logging

    settings = settings or _settings()
    configure_logging("warning")
    return build_service(settings)


def _db() -> Engine:
    from calmline.store.db import make_engine, migrate

    settings = _settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.db_url)
    migrate(engine)
    return engine


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default CALMLINE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CALMLINE_PORT).")] = None,
    role: Annotated[
        str,
        typer.Option(
            help="all: one process steps what it ingests (default); api: ingest publishes to the Redis bus "
            "(CALMLINE_BUS_URL) and answers 202; engine: consume the bus and step (docs/SCALING.md)."
        ),
    ] = "all",
    metrics_port: Annotated[
        int | None, typer.Option(help="--role engine: serve /metrics on this loopback port.")
    ] = None,
) -> None:
    """Run the API, live feed and pages on the configured store (or an engine worker, with --role engine)."""
    import uvicorn

    from calmline.api.app import create_app
    from calmline.runtime import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    if role not in ("all", "api", "engine"):
        raise typer.BadParameter("--role must be all, api or engine")
    if role == "engine":
        from calmline.bus.worker import run_engine

        run_engine(settings, metrics_port=metrics_port)
        return
    application = create_app(settings)
    if role == "api":
        from calmline.bus.worker import api_app

        application = api_app(settings)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        ws_max_size=settings.max_body_bytes,
        # Small JSON messages on a LAN: compressing each one cost about a fifth of the event loop's time at
        # 500 calls, on both ends (docs/BENCHMARKS.md "Load").
        ws_per_message_deflate=False,
    )


@app.command()
def demo(
    headless: Annotated[
        bool, typer.Option(help="Play the scenarios without a server and print a JSON summary.")
    ] = False,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    speed: Annotated[float, typer.Option(help="Playback speed factor for the live demo.")] = 4.0,
) -> None:
    """Start the server on the embedded store and play the demo scenarios as live calls."""
    from calmline.runtime import configure_logging
    from calmline.sim.demo import run_demo

    configure_logging("warning")  # JSON logs, and only problems: the console belongs to the demo's own output
    run_demo(_settings(), headless=headless, duration=duration, speed=speed, loop=not headless)


@app.command()
def analyze(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.jsonl", help="Lines of {id, text, ...}.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write one JSON line per input line.")],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip and count malformed lines.")] = False,
) -> None:
    """Analyse a JSONL file with the batch contract (see docs/BATCH_CONTRACT.md)."""
    from calmline.batch import BatchInputError, run_batch
    from calmline.runtime import default_registry

    if not input_path.is_file():
        err.print(f"[red]error:[/red] no such input file: {input_path}")
        raise typer.Exit(2)
    try:
        report = run_batch(
            input_path, out, skip_bad=skip_bad, registry=default_registry(), progress=sys.stderr.isatty()
        )
    except BatchInputError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    err.print(
        f"{report.lines} lines in {report.seconds:.2f}s ({report.lines_per_second:.0f} lines/s)"
        + (f", {report.bad} malformed lines skipped" if report.bad else "")
    )


@app.command()
def replay(
    call_id: Annotated[str | None, typer.Argument(help="The call to replay; all calls when omitted.")] = None,
) -> None:
    """Re-derive every output of a call from its stored inputs and report any difference."""
    service = _service()
    calls = [call_id] if call_id else [s for s in service.log.streams() if not s.startswith("agent:")]
    if call_id and not service.log.read(call_id):
        err.print(f"[red]error:[/red] no call {call_id!r} in the store")
        raise typer.Exit(2)
    reports = [service.replay(c) for c in calls]
    for r in reports:
        typer.echo(
            json.dumps(
                {
                    "call_id": r.call_id,
                    "inputs": r.inputs,
                    "outputs": r.outputs,
                    "differences": list(r.differences),
                }
            )
        )
    total = sum(len(r.differences) for r in reports)
    err.print(f"{len(reports)} call(s) replayed, {total} difference(s)")
    raise typer.Exit(1 if total else 0)


@app.command()
def rebuild() -> None:
    """Drop and recompute every projection (live calls, alerts, findings) from the event log."""
    service = _service()
    rows = service.rebuild()
    err.print(f"rebuilt projections from {rows} log rows")


@app.command()
def simulate(
    scenario: Annotated[
        str,
        typer.Argument(
            help="A scenario id (see docs/SCENARIOS.md) or a YAML file; `routing`: the routing simulator."
        ),
    ],
    url: Annotated[
        str | None, typer.Option(help="Send to a running server instead of the local store.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="Ingest API key for --url.", envvar="CALMLINE_API_KEY")
    ] = None,
    speed: Annotated[float, typer.Option(help="Playback speed factor (0 = as fast as possible).")] = 0.0,
    seed: Annotated[int, typer.Option(help="routing: seed of the simulated days.")] = 7,
    days: Annotated[int, typer.Option(min=1, max=60, help="routing: days simulated (replications).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="routing: the JSON report on stdout.")] = False,
    plots: Annotated[Path | None, typer.Option(help="routing: folder for the PNG plots.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="routing: YAML of simulation settings (agents, mix, occupancy ...).")
    ] = None,
    routing_config: Annotated[
        Path | None, typer.Option(help="routing: routing and wellbeing policy YAML (default: shipped).")
    ] = None,
) -> None:
    """Play one scripted call into the store (or a server) and print what it raised.

    ``calmline simulate routing [--seed N] [--days D] [--json] [--plots DIR]`` instead simulates whole days
    on a call-center floor and compares FIFO, skills-and-priority and calmline's routing (docs/EVALUATION.md).
    """
    if scenario == "routing":
        _simulate_routing(seed, days, as_json, plots, config, routing_config)
        return
    from calmline.sim.demo import simulate as run

    result = run(_settings(), scenario, url=url, api_key=api_key, speed=speed)
    typer.echo(json.dumps(result, indent=2, sort_keys=True, default=str))


def _simulate_routing(
    seed: int, days: int, as_json: bool, plots: Path | None, config: Path | None, routing_config: Path | None
) -> None:
    from rich.progress import Progress

    from calmline.routing.loader import load_routing_config
    from calmline.routing.simulator import load_sim_config, simulate_routing

    cfg = load_sim_config(config)
    routing = load_routing_config(routing_config)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("simulating", total=1.0)
        sim = simulate_routing(
            seed=seed, days=days, cfg=cfg, routing=routing, progress=lambda f: bar.update(task, completed=f)
        )
    if plots is not None:
        from calmline.routing.plots import write_plots

        for path in write_plots(sim, plots):
            err.print(f"plot: {path}")
    report = sim.report
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    table = Table(title=f"routing simulation, seed {seed}, {days} days")
    table.add_column("target")
    table.add_column("calmline", justify="right")
    table.add_column("bound", justify="right")
    table.add_column("met")
    for name, t in report["targets"].items():
        table.add_row(name, str(t["value"]), str(t["target"]), "yes" if t["met"] else "NO")
    Console().print(table)


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="Folder for the JSON Schema files.")] = Path("docs/schema"),
) -> None:
    """Export the JSON Schema of every event."""
    from calmline.schema_export import export_schemas

    for path in export_schemas(out):
        typer.echo(str(path))


bench_app = typer.Typer(
    help="Benchmarks that print JSON (figures kept in docs/BENCHMARKS.md).", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("analyze")
def bench_analyze_cmd(
    n: Annotated[int, typer.Option("--n", help="Utterances to time.")] = 5000,
    sets: Annotated[Path, typer.Option(help="Folder of labelled sets whose texts join the corpus.")] = Path(
        "eval/sets"
    ),
) -> None:
    """Per-utterance latency of the whole pipeline on one core, and its ratio to the raw embedding call.

    ``pipeline`` times the analyzers; ``engine_step`` a full engine step (alerts, protocols, agent intents).
    """
    from calmline.bench import bench_analyze
    from calmline.runtime import build_engine

    engine = build_engine()
    typer.echo(json.dumps(bench_analyze(engine.registry, n=n, sets_dir=sets, engine=engine), indent=2))


@bench_app.command("routing")
def bench_routing_cmd(
    n: Annotated[int, typer.Option("--n", help="Decisions to time on each floor.")] = 2000,
    agents: Annotated[int, typer.Option(help="Agents on the synthetic floor.")] = 1000,
    calls: Annotated[int, typer.Option(help="Waiting calls.")] = 500,
) -> None:
    """One routing decision (the top waiting call, every agent ranked for it) on one core; target p99 1 ms."""
    from calmline.routing.bench import bench_routing

    typer.echo(json.dumps(bench_routing(agents=agents, calls=calls, n=n), indent=2))


@bench_app.command("load")
def bench_load_cmd(
    calls: Annotated[int, typer.Option(help="Concurrent simulated calls.")] = 500,
    duration: Annotated[float, typer.Option(help="Seconds of load.")] = 60.0,
    workers: Annotated[
        int,
        typer.Option(help="Engine workers (Redis + PostgreSQL from CALMLINE_BUS_URL and _DATABASE_URL)."),
    ] = 0,
    url: Annotated[
        str | None, typer.Option(help="A running deployment on loopback instead of starting one.")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between a call's utterances.")] = 4.0,
) -> None:
    """Concurrent calls over real WebSockets; utterance-to-live-feed latency. Last line: the JSON report."""
    from calmline.bench_load import run_load

    typer.echo(json.dumps(run_load(calls, duration, workers=workers, url=url, interval=interval)))


@app.command("eval")
def eval_cmd(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the public data sets (goemotions, cssrs_reddit, "
            "ethos_violence); skipped when omitted."
        ),
    ] = None,
    sets: Annotated[Path, typer.Option(help="Folder of our labelled sets.")] = Path("eval/sets"),
    seed: Annotated[int, typer.Option(help="Fold seed.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON report here.")] = None,
) -> None:
    """Cross-validated quality figures against keyword and TF-IDF baselines, printed as JSON."""
    from calmline.evaluation.callset import evaluate_callset
    from calmline.runtime import default_registry

    callset = sets / "call_utterances.jsonl"
    if not callset.is_file():
        err.print(f"[red]error:[/red] no labelled call set at {callset}")
        raise typer.Exit(2)
    registry = default_registry()
    report: dict[str, object] = {
        "call_utterances": {
            split or "all": evaluate_callset(callset, registry, seed=seed, split=split)
            for split in (None, "dev", "test")
        },
    }
    agent_turns = sets / "agent_guardrails.jsonl"
    if agent_turns.is_file():
        from calmline.evaluation.guardrails import evaluate_guardrails

        report["agent_guardrails"] = {
            split or "all": evaluate_guardrails(agent_turns, registry, seed=seed, split=split)
            for split in (None, "dev", "test")
        }
    pairs = sets / "empathy_pairs.jsonl"
    if pairs.is_file():
        from calmline.evaluation.empathy import evaluate_empathy

        report["empathy"] = {
            split or "all": evaluate_empathy(pairs, registry, seed=seed, split=split)
            for split in (None, "dev", "test")
        }
    if data is not None:
        if not data.is_dir():
            err.print(f"[red]error:[/red] no data folder at {data}")
            raise typer.Exit(2)
        try:
            from calmline.training import evaluate
        except ImportError as exc:  # pragma: no cover - depends on the training extras
            err.print(
                f"[red]error:[/red] the public-data evaluation needs the training extras ({exc.name}); "
                "run `make train-env` and use .venv-train/bin/calmline"
            )
            raise typer.Exit(2) from exc
        from calmline.evaluation.public import evaluate_cssrs_users

        report["cssrs_users_through_analyzers"] = evaluate_cssrs_users(data, registry)
        report["public_data"] = evaluate(data, seed)
    text = json.dumps(report, indent=2, default=str)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Folder of the public data sets.")],
    out: Annotated[Path, typer.Option(help="Where to write the artifacts.")] = Path(
        "src/calmline/resources/models"
    ),
    seed: Annotated[int, typer.Option(help="Seed for every random choice.")] = 0,
) -> None:
    """Rebuild every learned artifact reproducibly from a data folder (needs the training extras)."""
    try:
        from calmline.training import train_all
    except ImportError as exc:  # pragma: no cover - depends on the training extras
        err.print(f"[red]error:[/red] training needs the training extras ({exc.name}); run `make train-env`")
        raise typer.Exit(2) from exc
    if not data.is_dir():
        err.print(f"[red]error:[/red] no data folder at {data}")
        raise typer.Exit(2)
    typer.echo(json.dumps(train_all(data, out, seed), indent=2, default=str))


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help=f"One of {', '.join(ROLES[:-1])}; repeatable.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="CALMLINE_NEW_PASSWORD"),
    ],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a person who can log in."""
    from calmline.api.auth import create_user

    _check_roles(role)
    _auth_call(create_user, _db(), username, password, role, display_name=name)
    err.print(f"user {username} created with roles {', '.join(role)}")


@users_app.command("list")
def users_list() -> None:
    """List people and their roles."""
    from calmline.api.auth import list_users

    table = Table("username", "roles", "disabled")
    for user in list_users(_db()):
        table.add_row(user["username"], ", ".join(user["roles"]), str(user.get("disabled", False)))
    Console().print(table)


@users_app.command("key")
def users_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'telephony-adapter'.")],
    role: Annotated[list[str], typer.Option("--role", help="Roles of the key; default ingest.")] = ["ingest"],  # noqa: B006
) -> None:
    """Create an API key for an integration; the key is printed once."""
    from calmline.api.auth import create_api_key

    _check_roles(role)
    typer.echo(_auth_call(create_api_key, _db(), name, role))


@users_app.command("revoke-key")
def users_revoke_key(key_id: str) -> None:
    """Revoke an API key by its id (the part after ``cl_``)."""
    from calmline.api.auth import revoke_api_key

    _auth_call(revoke_api_key, _db(), key_id)
    err.print(f"key {key_id} revoked")


def _auth_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    from calmline.api.auth import AuthError

    try:
        return fn(*args, **kwargs)
    except AuthError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _check_roles(roles: list[str]) -> None:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        err.print(f"[red]error:[/red] unknown role(s) {', '.join(bad)}; choose from {', '.join(ROLES)}")
        raise typer.Exit(2)


def main() -> None:
    """Entry point of the ``calmline`` console script."""
    app()


if __name__ == "__main__":  # python -m calmline.cli
    main()
