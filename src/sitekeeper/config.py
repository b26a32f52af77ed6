"""Settings: the only module that reads the environment.

Every setting is ``SITEKEEPER_<NAME>``; any of them may instead be given as
``SITEKEEPER_<NAME>_FILE`` pointing at a file that holds the value (for
secrets mounted by an orchestrator). Invalid settings raise ``ConfigError``
at start-up with the offending name.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import platformdirs
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sitekeeper.errors import ConfigError

ENV_PREFIX = "SITEKEEPER_"


def _file_overrides(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """Values of ``SITEKEEPER_X_FILE`` variables, read from their files."""
    values: dict[str, str] = {}
    for key, path in environ.items():
        if key.startswith(ENV_PREFIX) and key.endswith("_FILE"):
            name = key[len(ENV_PREFIX) : -len("_FILE")].lower()
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from exc
    return values


class Settings(BaseSettings):
    """What an operator can set; defaults suit the embedded single-process mode.

    A ``SITEKEEPER_<NAME>`` that no field here claims is kept as an extra
    (``model_extra``): the CMS packages and plugins declare their own settings
    (a vendor's feed URL) as a model that :func:`extension_settings` reads from it.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="allow")

    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("sitekeeper")),
        description="Data directory (database, keys, caches).",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory."
    )
    alert_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Apprise URLs that receive every alert (comma or newline separated).",
    )
    default_check_interval: int = Field(
        default=300, ge=10, description="Check interval (s) for sites without a plan."
    )
    check_timeout: float = Field(default=10.0, gt=0, le=120, description="Total deadline (s).")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=30)
    confirm_delay: float = Field(
        default=5.0, ge=0, description="Seconds before the re-check that confirms a failure."
    )
    concurrency: int = Field(default=500, ge=1, description="Checks running at once.")
    per_ip_concurrency: int = Field(default=4, ge=1, description="Checks at once per server IP.")
    raw_retention_days: int = Field(default=14, ge=1, description="Keep raw check results.")
    task_retention_days: int = Field(
        default=90, ge=1, description="Keep finished tasks (API/UI actions) this long."
    )
    alert_reminder_hours: float = Field(
        default=0, ge=0, description="Re-send open incident alerts every N hours (0: never)."
    )
    notify_max_attempts: int = Field(default=8, ge=1)
    user_agent: str = "sitekeeper/0.1 (+uptime check)"
    advisory_sources: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Advisory URLs, files or directories to import regularly (comma separated).",
    )
    advisory_tokens: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        repr=False,
        description="Bearer token per advisory host: www.wordfence.com=TOKEN,...",
    )
    feed_poll_interval: float = Field(default=300.0, ge=30, description="Release feeds (s).")
    advisory_interval: float = Field(default=900.0, ge=30, description="Advisory sources (s).")
    inventory_interval: float = Field(default=86400.0, ge=60, description="SSH inventories (s).")
    fingerprint_interval: float = Field(default=86400.0, ge=60, description="Fingerprints (s).")
    # Fingerprints learn lazily (hash_learning); learning every release ahead of need is
    # optional: its first run streams every Joomla and Drupal release archive once.
    hash_learn_interval: float = Field(
        default=0.0,
        ge=0,
        description="Learning the static-file hashes of every CMS release ahead of need "
        "(s; 0: never — fingerprints learn the releases they need themselves).",
    )
    backup_concurrency: int = Field(default=4, ge=1, le=256, description="Sites backed up at once.")
    backup_bwlimit_kbps: int = Field(
        default=0, ge=0, description="Cap on a backup's transfer rate in KiB/s (0: none)."
    )
    backup_excludes: Annotated[list[str] | None, NoDecode] = Field(
        default=None, description="rsync patterns left out of backups (default: caches, backups)."
    )
    task_concurrency: int = Field(
        default=4, ge=1, le=256, description="Queued tasks (API and UI actions) run at once."
    )
    # PostgreSQL's task engine (procrastinate, engine.dispatch): a worker that stops sending
    # its heartbeat for job_stalled_seconds is taken for dead; its jobs are then re-run (a
    # kind that may be) or failed as interrupted by the sweep every job_sweep_seconds.
    job_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Heartbeat period (s) of task-engine workers and of every serve process "
        "in the workers registry (silent for 3 periods: listed as gone).",
    )
    job_stalled_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Heartbeat silence after which a worker is dead."
    )
    job_sweep_seconds: int = Field(
        default=10, ge=1, le=59, description="How often stalled jobs are looked for (s)."
    )
    # The long work's queues hold no LISTEN connection: they look for jobs on this period,
    # and a job waiting behind a server's lock starts at the next look after it frees.
    job_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often the queues without wake-ups (backups, updates, scans, "
        "reports, feeds) look for jobs (s); a job waiting for a server's slot starts at "
        "the next look after it frees.",
    )
    update_concurrency: int = Field(
        default=4, ge=1, le=64, description="Sites updated at once by the plans' update policies."
    )
    # Many client sites share one host: across all workers (PostgreSQL's job engine) no more
    # than this many backups, drills, restores and updates run on one server at once.
    server_parallel: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Backups, drills, restores and updates at once on one client server "
        "(across all workers).",
    )
    client_parallel: int = Field(
        default=0,
        ge=0,
        le=10000,
        description="Scheduled jobs of one kind one client may have queued or running at "
        "once (PostgreSQL's job engine; 0: no limit — clients still take turns).",
    )
    worker_name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=200,
        description="This worker's name on its tasks; stable across restarts, unique per process.",
    )
    location: str = Field(
        default="default",
        min_length=1,
        max_length=26,  # its checks' job kind is check@<location>, in 32 characters
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",  # as domain.workers.LOCATION
        description="Where this process runs and checks sites from (eu-central, us-east): "
        "on its checks, in quorum decisions and in `sitekeeper workers`.",
    )
    drill_db_host: str = Field(default="127.0.0.1", description="MariaDB for restore drills.")
    drill_db_port: int = Field(default=3306, ge=1, le=65535)
    drill_db_user: str = "root"
    drill_db_password: str | None = Field(default=None, repr=False)
    drill_run_as: str = Field(
        default="sitekeeper-drill",
        description="Unix user a drill's PHP runs as when sitekeeper is root (never root; "
        "nobody if this default user does not exist).",
    )
    browser_run_as: str = Field(
        default="sitekeeper-browser",
        description="Unix user the update's visual check runs Chromium as when sitekeeper is "
        "root: its own, not the drills' (a page that owns the browser must not reach a "
        "restored site's files); the check is skipped, saying so, if it does not exist.",
    )
    web_host: str = Field(default="127.0.0.1", description="Address the web UI listens on.")
    web_port: int = Field(default=8787, ge=0, le=65535, description="Port of the web UI (0: off).")
    status_page_ttl: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Seconds a client's public status page is served from memory before it is "
        "rendered again (0: every request reads the database).",
    )
    secret_key: str | None = Field(
        default=None, repr=False, description="Fernet key for secrets at rest."
    )

    # --- web: egress policy, request bodies, proxies ---
    egress_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks (CIDR) or address kinds that advisory sources, vendor feeds and "
        "alert URLs may reach although not public (default: public addresses only).",
    )
    site_egress_deny: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["metadata"],
        description="Address kinds (loopback, private, link-local, cgnat, multicast, "
        "unspecified, reserved, metadata, non-public) or networks that site checks and "
        "fingerprints may not reach.",
    )
    site_egress_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Exceptions to SITE_EGRESS_DENY (networks or kinds).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (CIDR) whose X-Forwarded-For is believed (default: none).",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Cap on a request body to the web UI/API."
    )
    max_upload_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024, description="Cap on an uploaded advisory file."
    )
    max_import_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Cap on a site import (CSV or JSON)."
    )

    @field_validator(
        "egress_allow", "site_egress_deny", "site_egress_allow", "trusted_proxies", mode="before"
    )
    @classmethod
    def _split_web_lists(cls, value: Any) -> Any:
        from sitekeeper.egress.policy import split_rules  # noqa: PLC0415 - keeps start-up light

        return split_rules(value)

    @field_validator("egress_allow", "site_egress_deny", "site_egress_allow")
    @classmethod
    def _egress_rules(cls, value: list[str]) -> list[str]:
        from sitekeeper.egress.policy import checked_rules  # noqa: PLC0415

        return checked_rules(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        from sitekeeper.egress.policy import checked_networks  # noqa: PLC0415

        return checked_networks(value)

    # --- ops: name resolution, stopping, logging ---
    dns_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="DNS servers for site checks (IP or IP:port, comma separated; "
        "default: those of /etc/resolv.conf).",
    )
    dns_timeout: float = Field(
        default=2.0, gt=0, le=30, description="Seconds per DNS query try (two tries per server)."
    )
    stop_timeout: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds `serve` lets running work finish after SIGTERM before cancelling it.",
    )
    log_level: str = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR (DEBUG also shows libraries')."
    )

    @field_validator("dns_servers", mode="before")
    @classmethod
    def _split_dns_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [s.strip() for s in value.replace("\n", ",").split(",") if s.strip()]
        for server in value if isinstance(value, list) else []:
            cls._check_dns_server(str(server))
        return value

    @staticmethod
    def _check_dns_server(server: str) -> None:
        """``IP``, ``IP:port`` or ``[IPv6]:port``, as c-ares takes them; ValueError otherwise."""
        host, port = server, ""
        if server.startswith("["):
            host, _, port = server[1:].partition("]")
            port = port.removeprefix(":")
        elif server.count(":") == 1:
            host, _, port = server.partition(":")
        try:
            ipaddress.ip_address(host)
            if port and not 0 < int(port) < 65536:
                raise ValueError(port)
        except ValueError:
            raise ValueError(f"{server!r} is not an IP address or IP:port") from None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
        return level

    # --- hostile (issue 16): every inventory of a client's server is bounded -----------------
    inventory_deadline: float = Field(
        default=300.0, gt=0, le=86400, description="Total deadline of one SSH inventory (s)."
    )
    inventory_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes one inventory may read from a site: file contents plus directory "
        "listings (each entry counted as 256 bytes); past it the inventory is refused.",
    )

    # --- intel ---
    hash_learning: bool = Field(
        default=True,
        description="Fingerprints of hardened sites learn the public files of the releases "
        "in their range from the vendors' archives (streamed, hashes kept) to narrow it.",
    )

    # --- backup ---
    manual_backup_keep_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days a manual backup (or the safety copy before a restore) is kept whatever "
        "the plan's retention says; 0: the plan's retention applies to them too.",
    )

    # --- scan (issue 12 §2): YARA over a site's PHP and JS files ---
    scan_rule_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Directories of the agency's own YARA rules (*.yar, *.yara; comma "
        "separated), compiled with sitekeeper's; a file that does not compile is named "
        "and left out.",
    )
    scan_max_file_bytes: int = Field(
        default=16 * 1024 * 1024,  # WordPress 7.1 ships a 13 MB worker.min.js
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Files larger than this are reported as not scanned.",
    )
    scan_file_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds YARA may spend on one file (whole seconds, at least 1); "
        "past it the file is reported as not scanned.",
    )

    # --- domain and DNS watch (issue 12 §5): RDAP, the site's records ---
    rdap_bootstrap_url: str = Field(
        default="https://data.iana.org/rdap/dns.json",
        description="IANA's RDAP bootstrap file for domains (RFC 9224), or a mirror of it.",
    )
    rdap_servers: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="RDAP base URL per TLD, asked before the bootstrap file "
        "(tld=https://rdap.example/,...): private registries, tests.",
    )
    rdap_bootstrap_max_age: float = Field(
        default=86400.0, ge=60, description="Seconds the cached bootstrap file is used (s)."
    )
    rdap_timeout: float = Field(default=20.0, gt=0, le=300, description="One RDAP look-up (s).")
    rdap_max_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Cap on one RDAP answer (bytes)."
    )
    domain_interval: float = Field(
        default=86400.0,
        ge=60,
        description="Domain and DNS watch per site (s), unless the plan's domain_interval says.",
    )

    @field_validator("rdap_servers")
    @classmethod
    def _rdap_servers_are_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for tld, base in value.items():
            if not base.startswith(("https://", "http://")):
                raise ValueError(f"{tld}: {base!r} is not an http(s) URL")
        return value

    # --- reports: e-mail delivery (SMTP) ---
    smtp_host: str | None = Field(
        default=None, description="SMTP server for client reports (unset: reports are not mailed)."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit TLS, port 465) or none (a local relay).",
    )
    smtp_user: str | None = Field(default=None, description="SMTP login (unset: no login).")
    smtp_password: str | None = Field(default=None, repr=False, description="SMTP password.")
    smtp_sender: str | None = Field(
        default=None,
        validate_default=True,
        description="From address of the reports, e.g. reports@agency.example.",
    )
    smtp_timeout: float = Field(
        default=60.0, gt=0, le=600, description="Seconds one SMTP conversation may take."
    )
    report_hour: int = Field(
        default=6,
        ge=0,
        le=23,
        description="Local hour (the client's zone) from which a due report goes out.",
    )
    report_max_attempts: int = Field(
        default=10, ge=1, description="Scheduled sends of one report before giving up on it."
    )
    report_print_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Processes printing the scheduled reports' PDFs at once (0: one per core).",
    )
    report_print_memory_mb: int = Field(
        default=1536,
        ge=256,
        description="Address space (MiB) of one PDF-printing process; a report needing more "
        "fails alone.",
    )

    @field_validator("smtp_sender")
    @classmethod
    def _smtp_sender_given(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("smtp_host") and not value:
            raise ValueError("needed with SITEKEEPER_SMTP_HOST (the reports' From address)")
        return value

    @field_validator(
        "alert_urls", "advisory_sources", "backup_excludes", "scan_rule_dirs", mode="before"
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """A comma (or line) separated list, as an environment variable gives it."""
        if isinstance(value, str):
            return [u.strip() for u in value.replace("\n", ",").split(",") if u.strip()]
        return value

    @field_validator("advisory_tokens", "rdap_servers", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        """``key=value`` pairs, comma (or line) separated, as an environment variable
        gives them."""
        if isinstance(value, str):
            pairs = [p.strip() for p in value.replace("\n", ",").split(",") if p.strip()]
            return dict(p.split("=", 1) for p in pairs if "=" in p)
        return value

    @property
    def listen_url(self) -> str:
        """``http://WEB_HOST:WEB_PORT``: the web UI's address when no public one is set."""
        host = f"[{self.web_host}]" if ":" in self.web_host else self.web_host
        return f"http://{host}:{self.web_port}"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'sitekeeper.db'}"


def _unclaimed(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """``SITEKEEPER_<NAME>`` variables no core setting claims: extensions' settings."""
    return {
        name: value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX)
        and not key.endswith("_FILE")
        and (name := key[len(ENV_PREFIX) :].lower()) not in Settings.model_fields
    }


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and ``*_FILE``), raising ConfigError if invalid."""
    values: dict[str, Any] = _unclaimed(os.environ)
    values.update(_file_overrides(os.environ))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc


M = TypeVar("M", bound=BaseModel)


def extension_settings(model: type[M], values: Mapping[str, Any] | None) -> M:
    """An extension's own settings, read from the values no core setting claimed.

    ``model``'s fields are named as the variables are (``SITEKEEPER_<FIELD>``);
    ``values`` is ``Settings.model_extra`` or what was derived from it. ConfigError
    names the variable when a value does not fit.
    """
    fields = model.model_fields
    try:
        return model.model_validate({k: v for k, v in (values or {}).items() if k in fields})
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
