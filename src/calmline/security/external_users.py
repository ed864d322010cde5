"""People who sign in through the identity provider: claims to roles, and the local users they become.

``identity_from_claims`` is pure: it names the user (``CALMLINE_OIDC_USERNAME_CLAIM``, else the e-mail, else
a hash of issuer and subject) and maps the role claim's values through ``CALMLINE_OIDC_ROLE_MAP``; no mapped
value, no sign-in. ``link_user`` makes that person a local user marked external (an unusable password and a
row of ``external_identities`` keyed by issuer and subject, migration 0009) and sets its roles again at every
sign-in, so every check that reads ``users`` and ``sessions`` applies to them unchanged. A name a local
(password) account holds is never linked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from calmline.security.oidc import OidcConfig, OidcError
from calmline.store.schema import external_identities, sessions, users

#: Stored as the password hash of external users: not an argon2 hash, so no password ever matches it.
EXTERNAL_PASSWORD = "!external:oidc"
_USERNAME = re.compile(r"^[!-~]{1,64}$")  # printable ASCII, no spaces (as ``calmline users add``)


@dataclass(frozen=True, slots=True)
class Identity:
    """A person the IdP vouched for, with the calmline roles their claims map to."""

    issuer: str
    subject: str
    username: str
    email: str | None
    display_name: str | None
    roles: tuple[str, ...]


# -- claims to a person ----------------------------------------------------------------------------------


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by its name or, failing that, a dotted path (``realm_access.roles``)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def role_values(config: OidcConfig, claims: Mapping[str, Any]) -> list[str]:
    """The values of the role claim (a string or a list of strings; anything else counts as none)."""
    raw = claim(claims, config.role_claim)
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list | tuple):
        return [v for v in raw if isinstance(v, str)]
    return []


def identity_from_claims(config: OidcConfig, claims: Mapping[str, Any]) -> Identity:
    """Who the claims name and which roles they map to (pure).

    Raises:
        OidcError: ``email_not_allowed`` or ``no_role`` (403), with the username when known.
    """
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    username = next(
        (
            v
            for v in (claim(claims, config.username_claim), email)
            if isinstance(v, str) and _USERNAME.match(v)
        ),
        None,
    )
    if username is None:  # deterministic, unique, and nothing about the person
        digest = hashlib.sha256(f"{claims['iss']}\n{claims['sub']}".encode()).hexdigest()
        username = f"oidc-{digest[:16]}"
    if config.allowed_domains:
        domain = email.rpartition("@")[2].lower() if email else ""
        if domain not in config.allowed_domains or claims.get("email_verified") is False:
            raise OidcError(
                "email_not_allowed",
                403,
                "Your account's e-mail domain may not use calmline.",
                username=username,
            )
    seen = role_values(config, claims)
    roles = sorted({role for value in seen for role in config.role_map.get(value, ())})
    if not roles:
        raise OidcError(
            "no_role",
            403,
            "Your account holds no group that gives a calmline role. Ask your administrator.",
            username=username,
        )
    name = claims.get("name")
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        username=username,
        email=email[:320] if email else None,
        display_name=name[:128] if isinstance(name, str) and name else None,
        roles=tuple(roles),
    )


def link_user(db: Engine, identity: Identity, now: datetime) -> str:
    """The local user name for ``identity``: created (marked external) on first sign-in, roles updated after.

    Raises:
        OidcError: ``username_taken`` (409: a local account holds that name) or ``disabled`` (403).
    """
    key = (external_identities.c.issuer == identity.issuer) & (
        external_identities.c.subject == identity.subject
    )
    try:
        with db.begin() as conn:
            linked = conn.execute(select(external_identities.c.username).where(key)).scalar()
            username = linked or identity.username
            row = conn.execute(select(users).where(users.c.username == username)).first()
            if linked is None and row is not None:
                raise OidcError(
                    "username_taken",
                    409,
                    "A calmline account with your user name already exists. Ask your administrator.",
                    username=username,
                )
            if row is not None and row.disabled:
                raise OidcError("disabled", 403, "Your calmline account is disabled.", username=username)
            values = {"roles": list(identity.roles), "display_name": identity.display_name}
            if row is None:
                conn.execute(
                    insert(users).values(
                        username=username,
                        password_hash=EXTERNAL_PASSWORD,
                        disabled=False,
                        created_at=now,
                        **values,
                    )
                )
            else:
                conn.execute(update(users).where(users.c.username == username).values(**values))
            if linked is None:
                conn.execute(
                    insert(external_identities).values(
                        issuer=identity.issuer,
                        subject=identity.subject,
                        username=username,
                        email=identity.email,
                        created_at=now,
                        last_login_at=now,
                    )
                )
            else:
                conn.execute(
                    update(external_identities).where(key).values(email=identity.email, last_login_at=now)
                )
    except IntegrityError:  # two first sign-ins at once, or a name another identity holds
        raise OidcError(
            "username_taken", 409, "This sign-in collided with another account. Ask your administrator."
        ) from None
    return username


def revoke_external(db: Engine, issuer: str, subject: str) -> str | None:
    """End every session of the user linked to ``(issuer, subject)`` (the IdP no longer grants a role)."""
    key = (external_identities.c.issuer == issuer) & (external_identities.c.subject == subject)
    with db.begin() as conn:
        username = conn.execute(select(external_identities.c.username).where(key)).scalar()
        if username is not None:
            conn.execute(update(users).where(users.c.username == username).values(roles=[]))
            conn.execute(sessions.delete().where(sessions.c.username == username))
    return username
