"""Settings from the environment (``CALMLINE_*``); unsafe defaults are refused outside dev."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from calmline.store.db import sqlite_url

if TYPE_CHECKING:
    from calmline.bus.redis_streams import StreamsConfig


class Settings(BaseSettings):
    """calmline's configuration. Every command reads the same variables."""

    model_config = SettingsConfigDict(env_prefix="CALMLINE_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default=Path("./data"), description="Where the embedded SQLite store lives.")
    database_url: str | None = Field(default=None, description="Another database, e.g. postgresql://...")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = "dev-only-secret-change-me"
    session_ttl_minutes: int = Field(default=480, ge=5)
    gap_timeout_s: float = Field(default=5.0, gt=0)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    log_level: str = "info"
    protocols_dir: Path | None = Field(
        default=None,
        description="Folder of protocol YAML files added or changed by the center (same id: replaces "
        "the shipped one). They take effect for new calls after `calmline protocols reload` or a restart.",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "prod" and self.secret_key.startswith("dev-only"):
            raise ValueError("CALMLINE_SECRET_KEY must be set to a random value when CALMLINE_ENV=prod")
        return self

    @property
    def db_url(self) -> str:
        """The database URL in force: ``database_url`` or the SQLite file inside ``data_dir``."""
        return self.database_url or sqlite_url(self.data_dir.resolve())

    def ensure_data_dir(self) -> None:
        """Create the data directory when the embedded store is used."""
        if self.database_url is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)

    # -- routing (calmline.routing; docs/API.md "Routing") ---------------------------------------------------
    routing_file: Path | None = Field(
        default=None,
        description="Routing and wellbeing policy YAML with the agents' roster; the shipped default (no "
        "roster: the ledger is kept, calls are not assigned) when unset.",
    )

    # -- webhooks for paging systems (calmline.webhooks; docs/API.md "Webhooks") ----------------------------
    webhooks_file: Path | None = Field(
        default=None, description="YAML file of signed webhook endpoints; none configured when unset."
    )
    webhooks_interval_s: float = Field(default=1.0, gt=0, description="How often due deliveries are sent.")

    # -- security (calmline.security; docs/SECURITY.md) ----------------------------------------------------
    encrypt_at_rest: bool = Field(
        default=True, description="Encrypt PHI fields of the event log (AES-GCM, envelope keys)."
    )
    keys_file: Path | None = Field(
        default=None,
        description="JSON file of key-encryption keys; default <data_dir>/keys.json (created 0600 when the "
        "embedded store is used).",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Key-encryption keys from the environment instead of a file: base64 of 32 bytes, or "
        "'id:base64,id:base64' (the first is active).",
    )
    retention_file: Path | None = Field(
        default=None, description="YAML retention policy per data class; shipped defaults when unset."
    )
    retention_interval_s: float = Field(default=3600.0, gt=0, description="How often the server purges.")
    login_max_failures: int = Field(default=5, ge=1, description="Failed logins before a username locks.")
    login_lockout_minutes: int = Field(default=15, ge=1, description="How long a locked username waits.")
    login_ip_max_failures: int = Field(
        default=30, ge=1, description="Failed logins from one address within the lockout window before 429."
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra origins (scheme://host[:port]) allowed to send cookie-authenticated writes, e.g. "
        "the public name behind a reverse proxy. No CORS headers are ever sent.",
    )

    # -- sign-in with the hospital's identity provider (calmline.security.oidc; docs/SECURITY.md "OIDC") ----
    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer URL of the OpenID Connect provider (its discovery document is at "
        "<issuer>/.well-known/openid-configuration). OIDC sign-in is off unless issuer, client id and "
        "redirect URL are all set.",
    )
    oidc_client_id: str | None = Field(default=None, description="The client id registered at the IdP.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The client secret (confidential client); unset: a public client (PKCE)."
    )
    oidc_token_auth: Literal["client_secret_basic", "client_secret_post"] = Field(
        default="client_secret_basic", description="How the client secret is sent to the token endpoint."
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback URL registered at the IdP, as the browser sees it, e.g. "
        "https://calmline.hospital.example/auth/oidc/callback.",
    )
    oidc_scopes: str = Field(default="openid profile email", description="Scopes asked for, space-separated.")
    oidc_provider_name: str = Field(
        default="your identity provider",
        max_length=64,
        description="Shown on the sign-in page: 'Sign in with <name>'.",
    )
    oidc_role_claim: str = Field(
        default="groups",
        description="The ID token claim whose values map to roles: a claim name, or a dotted path such as "
        "realm_access.roles.",
    )
    oidc_role_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Claim value -> calmline roles (JSON), e.g. {"calmline-supervisors": ["supervisor"]}. '
        "A person with no mapped value is refused.",
    )
    oidc_username_claim: str = Field(
        default="preferred_username", description="The claim that names the calmline user (else email)."
    )
    oidc_allowed_domains: list[str] = Field(
        default_factory=list,
        description="E-mail domains allowed to sign in (JSON list); empty: any. Needs the email claim.",
    )
    oidc_ca_bundle: Path | None = Field(
        default=None, description="CA bundle (PEM) for the IdP's TLS certificate; default: the system's."
    )
    oidc_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of each request to the IdP.")
    oidc_leeway_s: int = Field(default=60, ge=0, le=600, description="Clock skew allowed on token times.")

    @property
    def oidc_enabled(self) -> bool:
        """Whether OIDC sign-in is configured (issuer, client id and redirect URL)."""
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_redirect_url)

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        parts = {
            "CALMLINE_OIDC_ISSUER": self.oidc_issuer,
            "CALMLINE_OIDC_CLIENT_ID": self.oidc_client_id,
            "CALMLINE_OIDC_REDIRECT_URL": self.oidc_redirect_url,
        }
        given = [name for name, value in parts.items() if value]
        if not given:
            return self
        if len(given) < len(parts):
            missing = ", ".join(name for name in parts if name not in given)
            raise ValueError(f"OIDC sign-in is half configured: set {missing} as well")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("CALMLINE_OIDC_SCOPES must include 'openid'")
        if not self.oidc_role_map:
            raise ValueError("CALMLINE_OIDC_ROLE_MAP must map at least one claim value to a calmline role")
        from calmline.api.permissions import USER_ROLES  # here: the api package imports this module

        unknown = sorted({r for roles in self.oidc_role_map.values() for r in roles} - set(USER_ROLES))
        if unknown:
            raise ValueError(
                f"CALMLINE_OIDC_ROLE_MAP names unknown role(s) {', '.join(unknown)}; "
                f"choose from {', '.join(USER_ROLES)}"
            )
        if self.env == "prod":
            for name in ("CALMLINE_OIDC_ISSUER", "CALMLINE_OIDC_REDIRECT_URL"):
                if not str(parts[name]).startswith("https://"):
                    raise ValueError(f"{name} must be an https:// URL when CALMLINE_ENV=prod")
        return self

    # -- scale-out bus (calmline.bus; docs/SCALING.md) ------------------------------------------------------
    bus_url: str | None = Field(
        default=None,
        description="Redis URL of the Redis Streams bus (e.g. redis://127.0.0.1:6379/0); unset: the "
        "in-process bus (embedded default, needs no Redis). Required by `calmline serve --role api|engine`.",
    )
    bus_prefix: str = Field(default="calmline", description="Prefix of every Redis key the bus uses.")
    bus_partitions: int = Field(default=8, ge=1, le=1024, description="Partitions (streams) by call id.")
    bus_max_depth: int = Field(
        default=10_000, ge=1, description="Bus depth past which ingest answers 429 for calm calls."
    )
    bus_max_deliveries: int = Field(default=5, ge=1, description="Deliveries before a dead letter.")
    bus_claim_idle_ms: int = Field(
        default=3_000, ge=100, description="Idle time after which a dead worker's entries are reclaimed."
    )

    def streams_config(self) -> StreamsConfig:
        """The Redis Streams bus configuration (``bus_url`` must be set)."""
        from calmline.bus.redis_streams import StreamsConfig

        return StreamsConfig(
            url=self.bus_url or "redis://127.0.0.1:6379/0",
            prefix=self.bus_prefix,
            partitions=self.bus_partitions,
            max_depth=self.bus_max_depth,
            max_deliveries=self.bus_max_deliveries,
            claim_idle_ms=self.bus_claim_idle_ms,
            lease_ms=self.bus_claim_idle_ms,
        )
