"""Webhook endpoints from a YAML file (``CALMLINE_WEBHOOKS_FILE``), validated by pydantic.

The file is data a site administrator edits::

    timeout_s: 5          # per request
    max_attempts: 8       # then the delivery is dead-lettered
    endpoints:
      - name: pager
        url: https://pager.example.org/hooks/calmline
        secret_env: CALMLINE_WEBHOOK_PAGER_SECRET   # or `secret: ...` inline
        events: [alert.raised, alert.escalated]      # default: every lifecycle event
        include_evidence_text: false                 # default: the WHY without the caller's words

Errors name the file and line (``webhooks.yaml:7: endpoints.0.url: ...``) and never echo a secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from calmline.configfile import ConfigError, parse_mapping, validation_error
from calmline.protocols.loader import line_of

#: What an endpoint gets when it lists no ``events``: the alert and protocol lifecycles.
DEFAULT_WEBHOOK_EVENTS: tuple[str, ...] = (
    "alert.raised",
    "alert.acknowledged",
    "alert.escalated",
    "alert.resolved",
    "protocol.activated",
    "protocol.exited",
)
#: Event types a webhook may subscribe to: the lifecycles above, the end of a call, and the caring-contact
#: tasks (``followup.due`` when a task opens, ``followup.overdue`` when it is late; ``calmline.aftercall``).
#: Findings and per-utterance scores are deliberately absent (volume, and they are not pages).
WEBHOOK_EVENTS: tuple[str, ...] = (
    *DEFAULT_WEBHOOK_EVENTS,
    "call.ended",
    "followup.due",
    "followup.overdue",
)
#: Input events (rather than engine outputs) of the log that are delivered.
INPUT_WEBHOOK_EVENTS: frozenset[str] = frozenset({"call.ended"})
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

EndpointName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]


class WebhooksConfigError(ConfigError):
    """A webhooks file that cannot be used: ``file``, 1-based ``line`` and ``reason``."""


class WebhookEndpoint(BaseModel):
    """One receiving system (a pager, an on-call tool) and what it may see."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: EndpointName
    url: str = Field(max_length=2000)
    secret: SecretStr | None = Field(default=None, description="Inline signing secret (16+ characters).")
    secret_env: str | None = Field(default=None, description="Environment variable holding the secret.")
    events: tuple[str, ...] = Field(default=DEFAULT_WEBHOOK_EVENTS, min_length=1)
    include_evidence_text: bool = Field(
        default=False, description="Send the caller's words behind each finding (PHI) to this receiver."
    )
    allow_http: bool = Field(
        default=False, description="Allow plain http:// to a host other than loopback (a trusted LAN)."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in value if e not in WEBHOOK_EVENTS]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; choose from {', '.join(WEBHOOK_EVENTS)}"
            )
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _checks(self) -> WebhookEndpoint:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("give exactly one of secret or secret_env")
        if self.secret is not None and len(self.secret.get_secret_value()) < 16:
            raise ValueError("secret must be at least 16 characters")
        parts = urlsplit(self.url)
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not self.allow_http:
            raise ValueError(
                "plain http:// is only allowed to loopback; use https:// or set allow_http: true"
            )
        return self

    def signing_secret(self) -> bytes:
        """The secret as bytes (resolved from ``secret_env`` at load time)."""
        assert self.secret is not None, "load_webhooks resolves secret_env"
        return self.secret.get_secret_value().encode("utf-8")

    def safe_url(self) -> str:
        """The URL without query or credentials, for listings (tokens sometimes hide in URLs)."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class WebhooksConfig(BaseModel):
    """Every configured endpoint, and the delivery policy they share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_s: tuple[float, ...] = Field(
        default=(5.0, 30.0, 120.0, 600.0),
        min_length=1,
        description="Waits after each failure; the last repeats.",
    )
    endpoints: tuple[WebhookEndpoint, ...] = ()

    @field_validator("endpoints")
    @classmethod
    def _unique(cls, value: tuple[WebhookEndpoint, ...]) -> tuple[WebhookEndpoint, ...]:
        names = [e.name for e in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate endpoint name(s) {', '.join(dupes)}")
        return value

    def endpoint(self, name: str) -> WebhookEndpoint | None:
        """The endpoint called ``name``, if any."""
        return next((e for e in self.endpoints if e.name == name), None)


def parse_webhooks(text: str, file: str, environ: dict[str, str] | None = None) -> WebhooksConfig:
    """Validate a webhooks document and resolve ``secret_env``; ``file`` names it in errors."""
    data, node = parse_mapping(text, file, error=WebhooksConfigError)
    try:
        config = WebhooksConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, node, file, error=WebhooksConfigError) from exc
    env = os.environ if environ is None else environ
    resolved = []
    for i, endpoint in enumerate(config.endpoints):
        if endpoint.secret_env is not None:
            value = env.get(endpoint.secret_env, "")
            if len(value) < 16:
                raise WebhooksConfigError(
                    file,
                    line_of(node, ("endpoints", i, "secret_env")),
                    f"endpoints.{i}.secret_env: {endpoint.secret_env} is unset or shorter than 16 characters",
                )
            endpoint = endpoint.model_copy(update={"secret": SecretStr(value)})
        resolved.append(endpoint)
    return config.model_copy(update={"endpoints": tuple(resolved)})


def load_webhooks(path: str | Path) -> WebhooksConfig:
    """Load and validate the webhooks file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise WebhooksConfigError(str(path), 1, f"cannot read: {exc.strerror or exc}") from exc
    return parse_webhooks(text, str(path))
