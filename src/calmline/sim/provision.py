"""Demo accounts and the ingest API key, created with ``calmline.api.auth``."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from calmline.service import CallService
from calmline.settings import Settings

log = structlog.get_logger("calmline.sim")

#: Password of every demo account. Demo only: the demo refuses to run with ``CALMLINE_ENV=prod``.
DEMO_PASSWORD = "calmline-demo"
#: (username, role) of the demo accounts.
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("super", "supervisor"),
    ("agent", "agent"),
    ("qa", "qa"),
    ("admin", "admin"),
    ("auditor", "auditor"),
)
API_KEY_NAME = "demo-player"


@dataclass
class Provisioned:
    """What the demo set up, to print for the person running it."""

    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)
    api_key: str | None = None
    notes: list[str] = field(default_factory=list)


def provision(settings: Settings, service: CallService) -> Provisioned:
    """Create the demo users (kept when they exist) and a fresh ingest API key; problems go to ``notes``."""
    done = Provisioned()
    try:
        from calmline.api import auth
    except ImportError as exc:  # pragma: no cover - the API ships with calmline
        done.notes.append(f"calmline.api.auth is not available ({exc}); no demo accounts were created")
        return done
    for username, role in DEMO_USERS:
        try:
            auth.create_user(service.db, username, DEMO_PASSWORD, [role], display_name=f"Demo {role}")
        except auth.AuthError as exc:
            if "already exists" not in str(exc):
                done.notes.append(f"user {username!r} was not created: {exc}")
                continue
            log.info("demo.user_exists", username=username)
        done.logins.append((username, DEMO_PASSWORD, role))
    try:
        done.api_key = auth.create_api_key(service.db, API_KEY_NAME, ("ingest",))
    except auth.AuthError as exc:
        done.notes.append(f"could not create an API key ({exc}); scenarios are played in-process")
    return done
