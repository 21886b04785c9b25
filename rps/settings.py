"""The one typed settings object, read from ``RPS_*`` environment variables.

Build it once per process (``Settings()``) and pass it down; tests construct it
directly with keyword arguments instead of patching the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self, TypedDict

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "rps"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "rps"


class HttpServerOptions(TypedDict):
    """The ``uvicorn.Config`` arguments that :meth:`Settings.http_server_options` sets."""

    http: Literal["h11"]
    server_header: bool
    timeout_keep_alive: int
    h11_max_incomplete_event_size: int
    limit_concurrency: int


class Settings(BaseSettings):
    """Everything a process needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="RPS_", frozen=True, extra="ignore")

    # Kafka
    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    allow_plaintext_kafka: bool = False
    """Production only: allow an unencrypted connection to a Kafka off loopback (a trusted
    network). Refused otherwise; see rps/production.py."""

    # Topics
    topic_prefix: str = "rps"
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=7)
    inbound_retention_ms: int = 7 * 24 * 3600 * 1000
    """How long the inbound topics (consents, control) and the dead letters keep records, in
    plain text as published: long enough to decide them and to look at a dead letter."""
    attributes_retention_ms: int | None = None
    """The attributes topic's own retention; unset, ``inbound_retention_ms``."""
    records_retention_ms: int = -1
    """The retained record (the sealed facts log replay reads, the audit trail, the operators'
    actions): kept for ever by default."""
    default_retention_ms: int = 30 * 24 * 3600 * 1000

    # Worker
    app_id: str = "rps-worker"
    store: str = "memory://"
    rocksdb_cache_mib: int = Field(default=128, ge=8, le=65536)
    """RocksDB's block cache, MiB, for each store a worker opens (``RPS_STORE=rocksdb://``:
    one per table partition it holds). Faust's own default, 2 GiB each, let a worker's memory
    grow with every block it ever read."""
    expiry_tick_seconds: float = Field(default=1.0, gt=0)
    worker_name: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Names this worker's local state directory (RocksDB): give each worker on a host its own."""
    worker_session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)
    """How long a silent worker keeps its partitions before the others take them over."""
    worker_stall_check_seconds: float = Field(default=5.0, gt=0)
    """How often a worker looks for fetched inputs never handed on (streams/runtime/stall.py)."""
    pseudonym_key: SecretStr = SecretStr("local-development-pseudonym-key")
    audit_key_id: str = Field(default="local-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Names the key that signs new audit records (kept in each record's chain)."""
    audit_key: SecretStr = SecretStr("local-development-audit-key")
    """The HMAC-SHA256 key that signs new audit records."""
    audit_keys: SecretStr = SecretStr("")
    """Retired keys still accepted by `rps audit verify`: "id:secret,id:secret"."""
    fault_crash_after: int = Field(default=0, ge=0)
    """Fault injection for the tests: exit hard at the N-th input (0: never) ..."""
    fault_crash_at: Literal["recorded", "sent"] = "sent"
    """... once its decision is recorded (outputs unsent), or once its outputs are sent
    (offset not committed)."""
    fault_drop_after: int = Field(default=0, ge=0)
    """Fault injection for the tests: after the N-th input (0: never), pass over the next
    ``fault_drop_count`` records of its partition unprocessed, as if the consumer had
    dropped them (see streams/runtime/faults.py)."""
    fault_drop_count: int = Field(default=5, ge=0)

    # Who may say what (docs/trust.md)
    registry_grace_seconds: float = Field(default=30.0, ge=0, le=86_400)
    """How far in the future `rps publishers` sets a key's added_at and revoked_at: longer than
    any worker may take to read the registry topic, so live and replay judge alike."""
    signing_key_file: Path | None = None
    """The publisher's Ed25519 private key (PEM) that the SDK and `rps publish` sign with."""
    signing_key_id: str | None = None
    """Its key id as registered, e.g. urn:gss:E08000012#2026-12-05a."""
    gateway_source: str = "urn:org:rps-gateway"
    """The gateway's own source: it vouches for publishers as this (role ``gateway``)."""
    gateway_signing_key_file: Path | None = None
    """The gateway's private key; unset, the gateway neither checks roles nor vouches."""
    gateway_signing_key_id: str | None = None
    trust: Literal["enforce", "off"] = "enforce"
    """Whether the worker and replay admit only events proven to come from their source and
    permitted to its role (docs/trust.md); ``off`` only for development (refused in production)."""

    # SQL (SQLite by default so the demo needs no server)
    database_url: SecretStr = SecretStr("")
    """The hub's database; default ``sqlite+aiosqlite:///<state_dir>/rps-hub.db`` (absolute)."""

    # Residents' data keys (rps/keystore.py), kept in the database above
    master_key_id: str = Field(default="local-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Names the master key that wraps new data keys (kept beside each wrapped key)."""
    master_key: SecretStr = SecretStr("local-development-master-key")
    """The master key's secret: a long random string in production (or a KMS, see docs)."""
    master_keys: SecretStr = SecretStr("")
    """Retired master keys still unwrapped until `rps keys rotate-master`: "id:secret,..."."""
    keystore_attempts: int = Field(default=8, ge=1, le=100)
    """Tries of one key store operation (backoff between them) before it is reported down."""
    keystore_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    seal_profiles: bool = True
    """Seal the claim values in the worker's stored profiles (its changelog) under each
    resident's data key, so erasing the key shreds them (docs/data-lifecycle.md)."""

    # Publishing: the SDK, `rps publish` and the HTTP gateway
    publisher_source: str | None = (
        None  # the `source` `rps publish` fills in, e.g. urn:gss:E08000012
    )
    publish_max_in_flight: int = Field(default=5000, ge=1, le=1_000_000)
    producer_linger_ms: int = Field(default=5, ge=0, le=10_000)
    producer_send_timeout_seconds: float = Field(default=10.0, gt=0)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=0, le=65535)
    gateway_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    gateway_max_batch_events: int = Field(default=1000, ge=1, le=100_000)
    gateway_retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    gateway_credential_cache_seconds: float = Field(default=5.0, ge=0)

    # The HTTP servers (the gateway and the portal): limits that keep slow clients in check
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    """How long an idle connection stays open waiting for its next request."""
    http_max_header_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    """The most of a request line and headers held while they arrive; past it, 400."""
    http_max_connections: int = Field(default=1000, ge=1, le=100_000)
    """Connections and requests under way at once; past this, new ones get 503."""
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    """The gateway's longest wait for a whole request body; a slower one gets 408."""

    # Subscribers (`rps subscribe`) and the hub read model (`rps readmodel`)
    subscriber_retention_days: int = Field(default=0, ge=0, le=3650)  # 0: delete on consent end
    subscriber_crash_after_commit: int | None = Field(default=None, ge=1)  # tests only: os._exit
    consumer_batch_size: int = Field(default=500, ge=1, le=100_000)
    """Records the read model and the webhook process read (and the read model writes) at once."""
    subscriber_batch_size: int = Field(default=2000, ge=1, le=100_000)
    """Deliveries the reference subscriber applies in one transaction, at most: the statements
    a batch costs do not grow with it, so larger batches apply faster."""
    consumer_db_attempts: int = Field(default=12, ge=1, le=100)
    """Tries of one database write before a subscriber gives up (exit 1). With the backoff
    doubling from ``consumer_db_backoff_seconds`` up to 30 s, 12 tries wait about three
    minutes in all: long enough for a database restart or failover."""
    consumer_db_backoff_seconds: float = Field(default=0.5, gt=0, le=60)
    consumer_poison_attempts: int = Field(default=3, ge=1, le=100)
    """Tries of one record, written alone, before it is dead-lettered as one that cannot be
    applied (a transient database error is retried as above and does not count)."""
    subscriber_group_id: str | None = None
    """The subscriber's consumer group; default ``<topic_prefix>-subscriber-<authority>``."""
    readmodel_group_id: str | None = None
    """The read model's consumer group; default ``<topic_prefix>-readmodel``."""

    # Webhooks (`rps webhooks run`): deliveries POSTed to an authority's HTTPS endpoint
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_backoff_initial_seconds: float = Field(default=0.5, gt=0, le=60)
    webhook_backoff_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    """The longest wait between two tries of one delivery; tries go on until a final answer."""
    webhook_max_retry_after_seconds: float = Field(default=600.0, gt=0, le=86_400)
    """A ``Retry-After`` longer than this is cut to it."""
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    """Residents whose deliveries are in flight at once (each resident's stay in order); raise
    it for a distant endpoint, whose round trips dominate."""

    # The resident portal (`rps portal`)
    portal_host: str = "127.0.0.1"
    portal_port: int = Field(default=8090, ge=0, le=65535)
    portal_source: str = "urn:org:resident-app"
    """The CloudEvents ``source`` of what residents do in the portal (consents, own claims)."""
    portal_session_secret: SecretStr = SecretStr("local-development-portal-session-secret")
    """Signs the portal's session cookie; set a long random secret in production."""
    portal_session_max_age_seconds: int = Field(default=3600, ge=60, le=86_400)
    portal_cookie_secure: bool = True
    """Mark the session cookie ``Secure``; false only for plain-HTTP development off loopback."""
    portal_development_sign_in: bool | None = None
    """The local sign-in that lets you pick a resident: on by default in development, never in
    production."""
    portal_oidc_issuer: str | None = None
    """The OpenID provider, e.g. https://oidc.account.gov.uk/ (its discovery document is read)."""
    portal_oidc_client_id: str | None = None
    portal_oidc_client_secret: SecretStr | None = None
    """For ``client_secret_post``; leave unset when a private key is given."""
    portal_oidc_private_key_file: Path | None = None
    """PEM RSA key for ``private_key_jwt`` client authentication (what GOV.UK One Login uses)."""
    portal_oidc_redirect_url: str = "http://127.0.0.1:8090/sign-in/callback"
    portal_oidc_scopes: str = "openid email phone"
    portal_oidc_vtr: str | None = None
    """GOV.UK One Login's vector of trust, e.g. '["Cl.Cm"]' (sent only when set)."""
    portal_resident_map: Path | None = None
    """JSON object from OIDC ``sub`` to hub resident id, for residents linked by hand."""

    # Local services started by `rps infra up`
    state_dir: Path = Field(default_factory=_default_state_dir)
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    postgres_port: int = 55432
    kafka_heap: str = Field(default="1g", pattern=r"^[1-9][0-9]*[mMgG]$")
    kafka_retention_check_ms: int = Field(default=300_000, ge=100)
    """How often the local broker deletes records past their topic's retention (Kafka's
    ``log.retention.check.interval.ms``); short only for tests that watch retention happen."""
    cache_dir: Path = Field(default_factory=_default_cache_dir)  # resolved Kafka classpath
    maven_repo: Path | None = None  # Maven's local repository; None means Maven's own default
    manage_postgres: bool = True  # `rps infra up` starts a local PostgreSQL
    service_start_timeout: float = Field(default=180.0, gt=0)

    # Metrics and health (rps/metrics.py): every long-running process, on loopback
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """Port of this process's /metrics, /livez and /readyz (0: none). Give each process its own."""
    metrics_host: str = "127.0.0.1"

    # Logging
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    environment: Literal["development", "production"] = "development"
    """``production`` refuses to start a process on unsafe settings (see rps/production.py)."""

    @model_validator(mode="before")
    @classmethod
    def _hub_database_under_state_dir(cls, data: Any) -> Any:
        """Default the hub database to an absolute path, whatever folder a command runs in."""
        if isinstance(data, dict) and not data.get("database_url"):
            state_dir = Path(data.get("state_dir") or _default_state_dir()).expanduser()
            url = f"sqlite+aiosqlite:///{state_dir.absolute() / 'rps-hub.db'}"
            data = {**data, "database_url": url}
        return data

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("memory://", "rocksdb://", "rocksdict://")):
            raise ValueError("store must be memory://, rocksdb:// or rocksdict://")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not value or not set(value) <= allowed:
            raise ValueError("topic_prefix may hold only letters, digits, '.', '_' and '-'")
        return value

    @model_validator(mode="after")
    def _no_development_sign_in_in_production(self) -> Self:
        if self.environment == "production" and self.portal_development_sign_in:
            raise ValueError("portal_development_sign_in cannot be enabled in production")
        return self

    @property
    def portal_development_sign_in_enabled(self) -> bool:
        """Whether the portal offers its development sign-in (never in production)."""
        if self.environment == "production":
            return False
        return self.portal_development_sign_in is not False

    def kafka_client_options(self) -> dict[str, object]:
        """Connection options shared by every aiokafka client we build."""
        options: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
                certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
                keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
            )
        return options

    def http_server_options(self) -> HttpServerOptions:
        """uvicorn options shared by the gateway and the portal: no banner, bounded clients.

        h11 is named rather than left to uvicorn's choice because the header
        limit is h11's. uvicorn has no timeout for a request's headers: in
        production a reverse proxy in front sets one (see docs/infra.md).
        """
        return {
            "http": "h11",
            "server_header": False,
            "timeout_keep_alive": self.http_keep_alive_seconds,
            "h11_max_incomplete_event_size": self.http_max_header_bytes,
            "limit_concurrency": self.http_max_connections,
        }

    def database_url_for_logs(self) -> str:
        """The database URL with any password masked."""
        return redact_url(self.database_url.get_secret_value())


def redact_url(url: str) -> str:
    """Mask the password in ``scheme://user:password@host/...``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, location = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{location}" if ":" in credentials else url
