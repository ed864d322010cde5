"""``calmline bench load``: simulated concurrent calls over real WebSockets against a loopback deployment.

Each call opens its own ``/ws/ingest`` connection, sends ``call.started``, then one caller or agent utterance
every ``interval`` seconds (calls start spread over the first interval), and ``call.ended`` at the end. One
``/ws/live`` connection watches the feed: an utterance's latency is from the moment it was sent to the
moment its log row reaches the live feed (its findings and alerts are committed in the same transaction and
published in the same batch, right behind it). The last line printed is the JSON report.

Without ``--url`` it starts the deployment itself, in child processes (so the load generator does not share
the server's interpreter): ``calmline serve`` on a fresh embedded store, or, with ``--workers K``, one
``calmline serve --role api`` and K ``calmline serve --role engine`` on ``CALMLINE_DATABASE_URL`` and
``CALMLINE_BUS_URL`` (which must then be set).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calmline.metrics import percentile

LINES = (
    ("caller", "hi, I'm calling about my mother's prescription refill"),
    ("agent", "of course, I can help with that. can I take her date of birth?"),
    ("caller", "I'm just so tired of everything, I can't cope anymore"),
    ("agent", "that sounds really hard. you're not alone, I'm here with you"),
    ("caller", "I've been having chest pain since this morning"),
    ("caller", "sometimes I think everyone would be better off without me"),
    ("agent", "thank you for telling me. are you safe right now?"),
    ("caller", "no, I'm fine, I would never hurt myself"),
    ("caller", "the pharmacy said the order was not ready yet"),
    ("agent", "let me check the order status for you"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _calmline() -> list[str]:
    exe = shutil.which("calmline") or str(Path(sys.executable).with_name("calmline"))
    return [exe] if Path(exe).exists() else [sys.executable, "-c", "from calmline.cli import main; main()"]


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the deployment at {url} did not become ready")


def _wait_engines(env: dict[str, str], workers: int, timeout: float = 90.0) -> None:
    """Wait until ``workers`` engine workers have a heartbeat and every partition has an owner."""
    import redis

    client = redis.Redis.from_url(env["CALMLINE_BUS_URL"], decode_responses=True)
    prefix = env.get("CALMLINE_BUS_PREFIX", "calmline")
    partitions = int(env.get("CALMLINE_BUS_PARTITIONS", "8"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = sum(1 for _ in client.scan_iter(f"{prefix}:worker:*"))
        owned = sum(1 for _ in client.scan_iter(f"{prefix}:lease:p*"))
        if alive >= workers and owned >= partitions:
            time.sleep(2.0)  # one more balance round, so the partitions are spread over the workers
            client.close()
            return
        time.sleep(0.25)
    client.close()
    raise RuntimeError(f"{workers} engine workers did not start")


def _make_key(env: dict[str, str]) -> str:
    """An admin API key (ingest and the live feed, without words) in the deployment's database."""
    from calmline.api.auth import create_api_key
    from calmline.settings import Settings
    from calmline.store.db import make_engine, migrate

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings()
        settings.ensure_data_dir()
        db = make_engine(settings.db_url)
        migrate(db)
        key = create_api_key(db, f"bench-{int(time.time() * 1000)}", ["admin"])
        db.dispose()
        return key
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def deployment(workers: int) -> Iterator[tuple[str, dict[str, str]]]:
    """Start an embedded (``workers == 0``) or Redis + PostgreSQL deployment; yields (url, env)."""
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="calmline-bench-")
    env = {**os.environ, "CALMLINE_LOG_LEVEL": "warning", "CALMLINE_ENV": "dev"}
    if workers == 0:
        env["CALMLINE_DATA_DIR"] = tmp
        env.pop("CALMLINE_DATABASE_URL", None)
        env.pop("CALMLINE_BUS_URL", None)
    elif not env.get("CALMLINE_DATABASE_URL") or not env.get("CALMLINE_BUS_URL"):
        raise RuntimeError("--workers needs CALMLINE_DATABASE_URL and CALMLINE_BUS_URL")
    else:
        env["CALMLINE_DATA_DIR"] = tmp
    cmd = _calmline()
    procs: list[subprocess.Popen[bytes]] = []
    role = ["--role", "api"] if workers else []
    logs = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115 - closed below
    try:
        procs.append(subprocess.Popen([*cmd, "serve", "--port", str(port), *role], env=env, stderr=logs))
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url)
        for _ in range(workers):
            procs.append(subprocess.Popen([*cmd, "serve", "--role", "engine"], env=env, stderr=logs))
        if workers:
            _wait_engines(env, workers)
        yield url, env
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        logs.close()
        shutil.rmtree(tmp, ignore_errors=True)


class _Run:
    def __init__(self) -> None:
        self.sent: dict[tuple[str, int], float] = {}
        #: (seconds after the start of the calls when the utterance was sent, latency in seconds)
        self.latencies: list[tuple[float, float]] = []
        self.go_at = 0.0
        self.errors: dict[str, int] = {}
        self.overloaded = 0
        self.alerts = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _last_id(url: str, key: str) -> int:
    """Where the live feed is now (``GET /api/live/board``), so the run skips the catch-up."""
    request = urllib.request.Request(f"{url}/api/live/board", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(json.loads(answer.read())["last_id"] or 0)


async def _live(ws_url: str, key: str, run: _Run, ready: asyncio.Event, stop: asyncio.Event) -> None:
    import websockets

    after = await asyncio.to_thread(_last_id, ws_url.replace("ws", "http", 1), key)
    async with websockets.connect(f"{ws_url}/ws/live?after={after}&token={key}", max_size=None) as ws:
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            row = json.loads(raw)
            if row.get("type") == "alert.raised":
                run.alerts += 1
            if row.get("kind") == "input" and row.get("type") == "utterance":
                sent = run.sent.pop((row["stream"], row["seq"]), None)
                if sent is not None:
                    run.latencies.append((sent - run.go_at, now - sent))


async def _call(
    ws_url: str,
    key: str,
    call_id: str,
    duration: float,
    interval: float,
    run: _Run,
    rng: random.Random,
    go: asyncio.Event,
    connected: list[int],
) -> None:
    import websockets

    try:
        async with websockets.connect(f"{ws_url}/ws/ingest?token={key}", max_size=None) as ws:
            # Connections open before the clock starts (a telephony gateway keeps its connections open);
            # the calls then start spread over the first interval.
            connected[0] += 1
            await go.wait()
            await asyncio.sleep(rng.uniform(0, interval))
            started = time.monotonic()

            async def send(event: dict[str, Any], track: bool = False) -> None:
                if track:
                    run.sent[(call_id, event["seq"])] = time.perf_counter()
                await ws.send(json.dumps(event))
                reply = json.loads(await ws.recv())
                status = reply.get("status")
                if status == "rejected" or "error" in reply:
                    if reply.get("error") == "overloaded":
                        run.overloaded += 1
                    run.error(str(reply.get("error", "rejected")))
                    run.sent.pop((call_id, event["seq"]), None)

            now = datetime.now(UTC).isoformat()
            await send({"type": "call.started", "call_id": call_id, "seq": 0, "started_at": now})
            seq = 1
            await asyncio.sleep(max(0.0, started + interval / 2 - time.monotonic()))  # the caller speaks
            while time.monotonic() - started + interval <= duration:
                speaker, text = LINES[(seq + rng.randrange(len(LINES))) % len(LINES)]
                event = {
                    "type": "utterance",
                    "call_id": call_id,
                    "seq": seq,
                    "speaker": speaker,
                    "text": text,
                    "start_ms": seq * int(interval * 1000),
                    "end_ms": seq * int(interval * 1000) + 2500,
                }
                await send(event, track=True)
                seq += 1
                await asyncio.sleep(
                    max(0.0, started + interval / 2 + (seq - 1) * interval - time.monotonic())
                )
            await send(
                {"type": "call.ended", "call_id": call_id, "seq": seq, "at": datetime.now(UTC).isoformat()}
            )
    except Exception as exc:  # a connection that failed counts as an error, never stops the run
        run.error(type(exc).__name__)


async def _drive(url: str, key: str, calls: int, duration: float, interval: float, seed: int) -> _Run:
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    run, ready, stop = _Run(), asyncio.Event(), asyncio.Event()
    live = asyncio.create_task(_live(ws_url, key, run, ready, stop))
    await asyncio.wait_for(ready.wait(), 30)
    rng = random.Random(seed)
    prefix = f"load-{int(time.time())}"
    go, connected = asyncio.Event(), [0]
    tasks = [
        asyncio.create_task(_call(ws_url, key, f"{prefix}-{i}", duration, interval, run, rng, go, connected))
        for i in range(calls)
    ]
    deadline = time.monotonic() + 120
    while connected[0] + sum(run.errors.values()) < calls and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # let the server settle after the handshakes
    run.go_at = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + 10  # late rows still count; what never comes is "missing"
    while run.sent and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await live
    return run


def run_load(
    calls: int,
    duration: float,
    *,
    workers: int = 0,
    url: str | None = None,
    interval: float = 4.0,
    seed: int = 7,
) -> dict[str, Any]:
    """Drive the load and return the report."""
    if url is not None:
        key = _make_key(dict(os.environ))
        return _report(
            asyncio.run(_drive(url, key, calls, duration, interval, seed)), calls, duration, workers, url
        )
    with deployment(workers) as (started_url, env):
        key = _make_key(env)
        run = asyncio.run(_drive(started_url, key, calls, duration, interval, seed))
    return _report(run, calls, duration, workers, "embedded" if workers == 0 else "redis+postgresql")


def _report(run: _Run, calls: int, duration: float, workers: int, target: str) -> dict[str, Any]:
    ms = [v * 1000 for _, v in run.latencies]
    warmup = min(15.0, duration / 4)
    steady = [v * 1000 for t, v in run.latencies if t >= warmup]

    def pct(p: float, values: list[float] | None = None) -> float | None:
        value = percentile(ms if values is None else values, p)
        return None if value is None else round(value, 1)

    return {
        "target": target,
        "calls": calls,
        "duration_s": duration,
        "engine_workers": workers,
        "utterances": len(ms),
        "utterances_per_s": round(len(ms) / duration, 1) if duration else 0.0,
        "latency_ms": {
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "max": round(max(ms), 1) if ms else None,
        },
        "steady_after_s": warmup,
        "steady_latency_ms": {
            "p50": pct(50, steady),
            "p95": pct(95, steady),
            "p99": pct(99, steady),
            "max": round(max(steady), 1) if steady else None,
        },
        "alerts_seen": run.alerts,
        "missing": len(run.sent),
        "overloaded_429": run.overloaded,
        "errors": sum(run.errors.values()) + len(run.sent),
        "error_kinds": run.errors,
    }
