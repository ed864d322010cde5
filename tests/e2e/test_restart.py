"""Killing the server while an imminent-risk alert awaits acknowledgement: the restarted server still
escalates it on time (deadlines live in the log, not in the process)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "calmline" / "resources" / "protocols"
#: The supervisor's window in this test (the shipped protocol gives 60 s): long enough for a restart.
ACK_WITHIN_S = 15
TICK_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    text = (SHIPPED / "suicide_imminent.yaml").read_text()
    text, n = re.subn(r"(level: 1, notify: supervisor, ack_within_s: )\d+", rf"\g<1>{ACK_WITHIN_S}", text)
    assert n == 1
    (protocols / "suicide_imminent.yaml").write_text(text)
    return {
        **os.environ,
        "CALMLINE_DATA_DIR": str(tmp_path / "data"),
        "CALMLINE_PROTOCOLS_DIR": str(protocols),
        "CALMLINE_PORT": str(free_port()),
    }


def calmline(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "-m", "calmline.cli", *args]
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=120).stdout


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "calmline.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{env['CALMLINE_PORT']}/healthz"
        for _ in range(240):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the server exited"
            time.sleep(0.25)
        raise AssertionError("the server did not come up")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_killed_server_still_escalates_on_time_after_restart(env: dict[str, str], server: Any) -> None:
    key = calmline(env, "users", "key", "test", "--role", "ingest", "--role", "admin").strip()
    headers = {"Authorization": f"Bearer {key}"}
    base = f"http://127.0.0.1:{env['CALMLINE_PORT']}"
    proc = server()
    started = datetime.now(UTC)
    events = [
        {"type": "call.started", "call_id": "k1", "seq": 0, "started_at": started.isoformat()},
        {
            "type": "utterance",
            "call_id": "k1",
            "seq": 1,
            "speaker": "caller",
            "text": "I've already taken all my pills, the whole bottle",
            "start_ms": 0,
            "end_ms": 1000,
        },
    ]
    for event in events:
        assert httpx.post(f"{base}/api/events", json=event, headers=headers, timeout=10).status_code == 202
    alerts = httpx.get(f"{base}/api/calls/k1/alerts", headers=headers, timeout=10).json()
    [alert] = [a for a in alerts if a["kind"] == "suicide_risk"]  # an overdose is a medical emergency too
    assert alert["severity"] == "critical" and alert["notify"] == "supervisor"
    deadline = datetime.fromisoformat(alert["ack_deadline"])
    assert deadline == started + timedelta(seconds=1 + ACK_WITHIN_S)

    proc.send_signal(signal.SIGKILL)  # no shutdown, no cleanup
    proc.wait(timeout=10)
    server()
    assert datetime.now(UTC) < deadline, "the restart took longer than the acknowledgement window"

    escalated: list[dict[str, Any]] = []
    while datetime.now(UTC) < deadline + timedelta(seconds=10) and not escalated:
        time.sleep(0.25)
        timeline = httpx.get(f"{base}/api/calls/k1/timeline", headers=headers, timeout=10).json()["events"]
        escalated = [
            e["payload"]
            for e in timeline
            if e["type"] == "alert.escalated" and e["payload"]["alert_id"] == alert["alert_id"]
        ]
    assert escalated, "no escalation after the restart"
    at = datetime.fromisoformat(escalated[0]["at"])
    assert deadline <= at <= deadline + timedelta(seconds=TICK_S + 0.5)
    assert escalated[0]["notify"] == "clinician"
    replay = httpx.get(f"{base}/api/calls/k1/replay", headers=headers, timeout=10).json()
    assert replay["ok"], replay["differences"]
