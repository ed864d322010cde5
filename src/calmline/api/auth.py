"""People and integrations: users, password login sessions and API keys.

Passwords are hashed with argon2id. Session tokens and API keys are random and only their SHA-256 digest is
stored, so a copy of the database does not let anyone sign in. An API key reads ``cl_<key_id>_<secret>``: the
plaintext is shown once, when it is created. These functions are the library the CLI calls
(``calmline users add``, ``calmline keys create``...) as well as what the API's dependencies use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, insert, select, update

from calmline.api import permissions
from calmline.store.projections import utc
from calmline.store.schema import api_keys, sessions, users

#: Roles a person can hold.
USER_ROLES: frozenset[str] = frozenset(permissions.USER_ROLES)
#: Roles an API key can hold: a scope (``ingest`` for telephony/speech-to-text, ``routing`` for the ACD,
#: ``read`` for reporting: calls and alerts without words), or, for older keys, any person's role.
KEY_ROLES: frozenset[str] = USER_ROLES | set(permissions.KEY_SCOPES)

SESSION_PREFIX = "cs_"
KEY_PREFIX = "cl_"

# Module-level so tests can swap in cheaper parameters; the defaults are argon2-cffi's (RFC 9106 low-memory).
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a failed login takes as long either way.
_DUMMY_HASH: str | None = None


class AuthError(ValueError):
    """A user or key operation was refused (unknown user, bad role, duplicate name...)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user or an API key."""

    name: str
    roles: frozenset[str]
    kind: Literal["user", "api_key"]
    display_name: str | None = None
    session_hash: str | None = None

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether this principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)


@dataclass(frozen=True, slots=True)
class Session:
    """A fresh login: the token is returned to the client once and stored only as a digest."""

    token: str
    username: str
    roles: tuple[str, ...]
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_roles(roles: Iterable[str], allowed: frozenset[str]) -> list[str]:
    wanted = sorted(set(roles))
    if not wanted:
        raise AuthError("at least one role is required")
    unknown = [r for r in wanted if r not in allowed]
    if unknown:
        raise AuthError(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(sorted(allowed))}")
    return wanted


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise AuthError("password must be at least 8 characters")


# -- users ---------------------------------------------------------------------------------------------


def create_user(
    db: Engine,
    username: str,
    password: str,
    roles: Iterable[str],
    display_name: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Add a user.

    Raises:
        AuthError: the name is taken or malformed, the password is too short, or a role is unknown.
    """
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AuthError("username must be 1-64 printable characters without spaces")
    _check_password(password)
    checked = _check_roles(roles, USER_ROLES)
    with db.begin() as conn:
        if conn.execute(select(users.c.username).where(users.c.username == username)).first():
            raise AuthError(f"user {username!r} already exists")
        conn.execute(
            insert(users).values(
                username=username,
                password_hash=_HASHER.hash(password),
                roles=checked,
                display_name=display_name,
                disabled=False,
                created_at=now or _utcnow(),
            )
        )


def set_password(db: Engine, username: str, password: str) -> None:
    """Change a user's password and sign them out everywhere.

    Raises:
        AuthError: no such user, or the password is too short.
    """
    _check_password(password)
    with db.begin() as conn:
        done = conn.execute(
            update(users).where(users.c.username == username).values(password_hash=_HASHER.hash(password))
        )
        if done.rowcount == 0:
            raise AuthError(f"no user {username!r}")
        conn.execute(delete(sessions).where(sessions.c.username == username))


def set_disabled(db: Engine, username: str, disabled: bool = True) -> None:
    """Disable (or re-enable) a user; disabling also ends their sessions.

    Raises:
        AuthError: no such user.
    """
    with db.begin() as conn:
        done = conn.execute(update(users).where(users.c.username == username).values(disabled=disabled))
        if done.rowcount == 0:
            raise AuthError(f"no user {username!r}")
        if disabled:
            conn.execute(delete(sessions).where(sessions.c.username == username))


def list_users(db: Engine) -> list[dict[str, Any]]:
    """Every user, without password hashes."""
    query = select(
        users.c.username, users.c.roles, users.c.display_name, users.c.disabled, users.c.created_at
    ).order_by(users.c.username)
    with db.connect() as conn:
        return [{**r._mapping, "created_at": utc(r.created_at)} for r in conn.execute(query)]


def verify_password(db: Engine, username: str, password: str) -> Principal | None:
    """The user, when the password is right and the account enabled; None otherwise (never says which)."""
    global _DUMMY_HASH
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(row.password_hash, password) or row.disabled:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        with db.begin() as conn:
            conn.execute(
                update(users).where(users.c.username == username).values(password_hash=_HASHER.hash(password))
            )
    return Principal(row.username, frozenset(row.roles), "user", row.display_name)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- sessions ------------------------------------------------------------------------------------------


def create_session(db: Engine, user: Principal, now: datetime, ttl: timedelta) -> Session:
    """Start a login session for ``user``; only the token's digest is stored."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = now + ttl
    with db.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.username == user.name, sessions.c.expires_at <= now))
        conn.execute(
            insert(sessions).values(
                token_hash=_digest(token), username=user.name, created_at=now, expires_at=expires
            )
        )
    return Session(token, user.name, tuple(sorted(user.roles)), expires)


def end_session(db: Engine, token_hash: str) -> None:
    """Sign a session out."""
    with db.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


def _session_principal(db: Engine, token: str, now: datetime) -> Principal | None:
    token_hash = _digest(token)
    query = (
        select(sessions.c.expires_at, users.c.username, users.c.roles, users.c.display_name, users.c.disabled)
        .join(users, users.c.username == sessions.c.username)
        .where(sessions.c.token_hash == token_hash)
    )
    with db.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.disabled:
        return None
    expires = utc(row.expires_at)
    if expires is None or expires <= now:
        end_session(db, token_hash)
        return None
    return Principal(row.username, frozenset(row.roles), "user", row.display_name, token_hash)


# -- API keys ------------------------------------------------------------------------------------------


def create_api_key(
    db: Engine, name: str, roles: Iterable[str] = ("ingest",), *, now: datetime | None = None
) -> str:
    """Create an API key and return its plaintext (``cl_<key_id>_<secret>``), which is never shown again.

    Raises:
        AuthError: the name is empty or too long, or a role is unknown.
    """
    if not name or len(name) > 128:
        raise AuthError("key name must be 1-128 characters")
    checked = _check_roles(roles, KEY_ROLES)
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    with db.begin() as conn:
        conn.execute(
            insert(api_keys).values(
                key_id=key_id, name=name, key_hash=_digest(key), roles=checked, created_at=now or _utcnow()
            )
        )
    return key


def revoke_api_key(db: Engine, key_id: str, *, now: datetime | None = None) -> None:
    """Revoke a key at once. Revoking twice is harmless.

    Raises:
        AuthError: no key has that id.
    """
    with db.begin() as conn:
        row = conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise AuthError(f"no API key {key_id!r}")
        if row.revoked_at is None:
            conn.execute(
                update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=now or _utcnow())
            )


def list_api_keys(db: Engine) -> list[dict[str, Any]]:
    """Every key's id, name, roles and dates (never the hash)."""
    query = select(
        api_keys.c.key_id, api_keys.c.name, api_keys.c.roles, api_keys.c.created_at, api_keys.c.revoked_at
    ).order_by(api_keys.c.created_at, api_keys.c.key_id)
    with db.connect() as conn:
        return [
            {**r._mapping, "created_at": utc(r.created_at), "revoked_at": utc(r.revoked_at)}
            for r in conn.execute(query)
        ]


def _key_principal(db: Engine, key: str) -> Principal | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    key_id = parts[1]
    with db.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _digest(key)):
        return None
    return Principal(f"key:{key_id}", frozenset(row.roles), "api_key", row.name)


# -- either --------------------------------------------------------------------------------------------


def authenticate(db: Engine, token: str, now: datetime) -> Principal | None:
    """The principal a bearer token (session token or API key) stands for, or None."""
    if not token or len(token) > 256:
        return None
    if token.startswith(KEY_PREFIX):
        return _key_principal(db, token)
    if token.startswith(SESSION_PREFIX):
        return _session_principal(db, token, now)
    return None


def _utcnow() -> datetime:
    return datetime.now(UTC)
