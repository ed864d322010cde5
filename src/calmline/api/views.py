"""How log rows are shown to people: one message shape for the timeline and the live feed.

Utterance text is shown only to roles that work with the call's content (``TEXT_ROLES``); for everyone else
(admin, auditor) it is replaced by ``[redacted]``. Raw-text access rules are deepened in ``privacy/``.
"""

from __future__ import annotations

from typing import Any

from calmline.api.auth import Principal
from calmline.api.deps import TEXT_ROLES
from calmline.store.log import StoredEvent

REDACTED = "[redacted]"


def may_read_text(principal: Principal) -> bool:
    """Whether ``principal`` sees utterance text."""
    return principal.has_any(TEXT_ROLES)


def row_message(row: StoredEvent, *, show_text: bool) -> dict[str, Any]:
    """A log row as the API shows it: ``{"id", "stream", "pos", "kind", "type", "seq", "payload"}``."""
    payload = row.payload
    if not show_text and row.type == "utterance" and "text" in payload:
        payload = {**payload, "text": REDACTED}
    return {
        "id": row.id,
        "stream": row.stream,
        "pos": row.pos,
        "kind": row.kind,
        "type": row.type,
        "seq": row.seq,
        "payload": payload,
    }
