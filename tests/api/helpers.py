from __future__ import annotations

from typing import Any

PASSWORD = "correct horse battery"
ROLES = ("agent", "supervisor", "qa", "admin", "auditor")
STARTED_AT = "2026-01-01T09:00:00Z"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def started(call_id: str = "c1", seq: int = 0, **extra: Any) -> dict[str, Any]:
    return {"type": "call.started", "call_id": call_id, "seq": seq, "started_at": STARTED_AT, **extra}


def utterance(call_id: str, seq: int, text: str, speaker: str = "caller") -> dict[str, Any]:
    return {
        "type": "utterance",
        "call_id": call_id,
        "seq": seq,
        "speaker": speaker,
        "text": text,
        "start_ms": seq * 1000,
        "end_ms": seq * 1000 + 900,
    }


def ended(call_id: str, seq: int) -> dict[str, Any]:
    return {"type": "call.ended", "call_id": call_id, "seq": seq, "at": "2026-01-01T09:05:00Z"}
