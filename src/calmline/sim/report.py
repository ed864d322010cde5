"""What a playback left in the store: counts, alerts per call, replay differences, unmet expectations."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from calmline.events import SEVERITY_RANK
from calmline.service import CallService
from calmline.sim.scenario import Scenario


def summarize(service: CallService, calls: Mapping[str, Scenario]) -> dict[str, Any]:
    """Counts over the stored log of ``calls`` (call id to its scenario), with a replay of every call.

    ``expectation_failures`` lists every scenario ``expect`` entry a call did not meet.
    """
    findings: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    utterances = 0
    differences = 0
    alerts_by_call: dict[str, list[str]] = {}
    protocols_by_call: dict[str, list[str]] = {}
    unmet: list[str] = []
    for call_id, scenario in calls.items():
        kinds: dict[str, str] = {}  # alert id -> kind
        best: dict[str, str] = {}  # alert id -> highest severity
        types: list[str] = []
        protocols: dict[str, list[str]] = {}  # protocol id -> steps completed
        for row in service.log.read(call_id):
            payload = row.payload
            if row.type == "protocol.activated":
                protocols.setdefault(payload["protocol_id"], [])
            elif row.type == "checklist.step" and payload["status"] == "done":
                protocols.setdefault(payload["protocol_id"], []).append(payload["step_id"])
            if row.type == "utterance":
                utterances += 1
            elif row.type == "finding":
                types.append(payload["finding"]["type"])
            elif row.type == "alert.raised":
                kinds[payload["alert_id"]] = payload["kind"]
            if row.type in ("alert.raised", "alert.escalated"):
                alert_id, severity = payload["alert_id"], payload["severity"]
                if SEVERITY_RANK[severity] >= SEVERITY_RANK[best.get(alert_id, "info")]:
                    best[alert_id] = severity
        findings.update(types)
        by_severity.update(best[a] for a in kinds)
        alerts_by_call[call_id] = list(kinds.values())
        reached: dict[str, str] = {}
        for alert_id, kind in kinds.items():
            if SEVERITY_RANK[best[alert_id]] >= SEVERITY_RANK[reached.get(kind, "info")]:
                reached[kind] = best[alert_id]
        unmet.extend(f"{call_id}: {p}" for p in scenario.expect.unmet(reached, types, protocols))
        protocols_by_call[call_id] = sorted(protocols)
        differences += len(service.replay(call_id).differences)
    return {
        "calls": len(calls),
        "utterances": utterances,
        "findings_by_type": dict(sorted(findings.items())),
        "alerts_by_severity": dict(sorted(by_severity.items(), key=lambda kv: SEVERITY_RANK[kv[0]])),
        "alerts_by_call": alerts_by_call,
        "protocols_by_call": protocols_by_call,
        "replay_differences": differences,
        "expectation_failures": unmet,
    }


def next_round(service: CallService, prefix: str = "demo", scenario_id: str | None = None) -> int:
    """The smallest ``n`` above every ``<prefix>-<scenario id>-<n>`` call already in the store.

    Restarting the demo (or simulating a scenario again) therefore never collides with earlier calls.
    """
    sid = re.escape(scenario_id) if scenario_id else "[a-z0-9_]+"
    pattern = re.compile(rf"^{re.escape(prefix)}-{sid}-(\d+)$")
    rounds = [int(m.group(1)) for s in service.log.streams() if (m := pattern.match(s))]
    return max(rounds, default=0) + 1
