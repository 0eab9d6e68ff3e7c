"""Settings from the environment (RISKMINE_*), with safe defaults; data under ./var/."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from riskmine.schema.errors import RiskmineError
from riskmine.schema.urls import web_url

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_PIPELINE_FILE = PACKAGE_DIR / "pipeline.toml"
# Data bundled inside the package (declared in pyproject's package-data), so a plain `pip install .`
# finds it as well as an editable install does.
DATA_DIR = PACKAGE_DIR / "data"
BUNDLED_CORPUS = DATA_DIR / "corpus" / "labels"
BUNDLED_DEMO = DATA_DIR / "demo" / "demo.jsonl"
BUNDLED_DISAMBIGUATION = DATA_DIR / "disambiguation" / "mentions.jsonl"


def shared_data_dir() -> Path:
    """The public data sets used to label corpora and measure: RISKMINE_SHARED_DATA, else
    the `shared/data` folder beside the checkout (where CI and developers have it)."""
    return Path(os.environ.get("RISKMINE_SHARED_DATA") or REPO_DIR.parent / "shared" / "data")


MIN_SECRET_CHARS = 32
DEFAULT_SECRET_KEY = "dev-secret-change-me"


class SettingsError(RiskmineError, ValueError):
    """A RISKMINE_* setting has a value riskmine cannot use; the message names each variable and what it takes."""

    code = "settings_invalid"
    status = 500


class InsecureSecretError(RiskmineError, RuntimeError):
    """Outside development, the API refuses the default or a short RISKMINE_SECRET_KEY."""

    code = "insecure_secret_key"
    status = 500


def _url_or_none(value: str | None, schemes: tuple[str, ...], kind: str, example: str) -> str | None:
    """A URL setting: blank is unset; otherwise one of these schemes, or a ValueError showing an example."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if "://" not in value or value.split("://", 1)[0].lower() not in schemes:
        raise ValueError(f"not a {kind} URL: use {example}")
    return value


class Settings(BaseSettings):
    """Every setting, typed and bounded: a bad value is refused when the settings are read, naming the variable."""

    model_config = SettingsConfigDict(env_prefix="RISKMINE_", extra="ignore")

    env: Literal["development", "production"] = Field("development", description="development | production")
    var_dir: Path = Field(Path("var"), description="where all runtime data lives")
    db_path: Path | None = Field(None, description="SQLite file; default <var_dir>/riskmine.sqlite3")
    store: Literal["sqlite", "es", "elasticsearch"] = Field("sqlite", description="sqlite | es (elasticsearch)")
    es_url: str | None = Field(None, description="Elasticsearch URL, e.g. http://127.0.0.1:9200")
    es_api_key: str | None = None
    es_username: str | None = None
    es_password: str | None = None
    es_ca_certs: Path | None = Field(None, description="CA bundle to verify the cluster's certificate")
    es_index_prefix: str = Field("riskmine", description="prefix of the Elasticsearch indices and aliases")
    es_engine: Literal["auto", "elasticsearch", "opensearch"] = Field(
        "auto", description="auto (ask the server: GET /) | elasticsearch | opensearch: which client talks to it"
    )
    es_refresh: Literal["wait_for", "true", "false"] = Field(
        "wait_for", description="wait_for | true | false: when writes become visible"
    )
    pipeline_file: Path = DEFAULT_PIPELINE_FILE
    disabled_stages: str = Field("", description="comma-separated stage names to switch off")
    models_dir: Path | None = Field(None, description="trained model artifacts; default <var_dir>/models")
    risk_model: Literal["auto", "risk-baseline", "risk-cascade"] = Field(
        "auto",
        description="risk model served: auto (the cascade once trained, else the baseline) | risk-baseline"
        " | risk-cascade",
    )
    corpus_path: Path = Field(BUNDLED_CORPUS, description="labelled risk corpus (a JSONL file or a folder of them)")
    demo_path: Path = Field(BUNDLED_DEMO, description="bundled demo corpus")
    host: str = "127.0.0.1"
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the site's public address (http(s)://host[:port]): absolute links such as the Atom feed's"
        " are built from it, never from the request's Host header",
    )
    port: int = Field(8000, ge=1, le=65535)
    batch_size: int = Field(256, ge=1)
    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1)
    secret_key: str = DEFAULT_SECRET_KEY
    # Anonymous callers reach only published advisories, the public-report form, /health, /docs and the login
    # page, in every mode (Sichuan 第七条: nothing unpublished goes out without approval); there is no switch
    # that opens signals, candidates or the console. Judging caller-supplied text stores and reveals nothing,
    # so a deployment may open that one route on purpose:
    open_analyze: bool = Field(
        False, description="POST /api/v1/analyze without login: an explicit opt-in, off in every mode"
    )
    token_ttl_minutes: int = Field(480, ge=1)
    max_analyze_items: int = Field(10_000, ge=1)
    export_max_rows: int = Field(
        20_000, ge=1, le=1_000_000, description="rows a console export (CSV/XLSX) of a filtered list holds at most"
    )
    graph_update: bool = Field(True, description="update the knowledge graph as signals are processed")
    graph_path: Path | None = Field(None, description="persisted knowledge graph; default <var_dir>/graph/graph.pickle")
    candidate_review_top_n: int = Field(20, ge=0, description="candidates sent to analysts for review per period")
    candidate_review_period_days: int = Field(14, ge=1, description="days of signals that compete for review")
    candidate_review_min_priority: float = Field(0.2, ge=0, le=1, description="lowest priority sent to review")
    candidate_industry_min_organisations: int = Field(3, ge=2, description="enterprises/brands for industry-wide")
    # collection (issue 5): station batches, public reports, user-supplied URLs, shared crawl frontier
    public_report_limit: int = Field(5, ge=1, description="public reports one client (IP) may send per window")
    public_report_window_seconds: float = Field(3600.0, gt=0, description="the public-report rate-limit window")
    batch_lease_seconds: float = Field(
        60.0,
        ge=1,
        description="a station batch being received is taken over (after a crash) once its receiver has not"
        " renewed its lease for this long",
    )
    # login throttling (issue 17): failed logins lock an account, and a client address, with doubling back-off
    login_max_failures: int = Field(5, ge=1, description="failed logins of one account before it is locked")
    login_client_max_failures: int = Field(20, ge=1, description="failed logins from one client before it is locked")
    login_failure_window_seconds: float = Field(
        900.0, gt=0, description="failed logins are forgotten this long after the last one"
    )
    login_lockout_seconds: float = Field(60.0, gt=0, description="the first lockout; each further failure doubles it")
    login_max_lockout_seconds: float = Field(900.0, gt=0, description="the longest lockout")
    trusted_proxies: str = Field(
        "",
        description="comma-separated IPs/CIDRs of the reverse proxies whose X-Forwarded-For names the client;"
        " default none: every client is its connecting address",
    )
    allow_private_urls: bool = Field(False, description="fetch user-supplied URLs on private/loopback addresses")
    redis_url: str | None = Field(None, description="Redis for a crawl frontier shared by several crawler processes")
    # the task queue (issue 20): submissions become tasks that `riskmine worker` processes on any host
    queue_url: str | None = Field(
        None,
        description="Redis of the task queue (redis://host:6379/1): submissions are stored, then processed by"
        " `riskmine worker` processes, sharing the near-duplicate index there; unset: processed in the request",
    )
    queue_redelivery_seconds: float = Field(
        60.0, ge=1, description="a task taken by a worker that stopped answering for this long is handed out again"
    )
    queue_refresh_max_delay_seconds: float = Field(
        5.0,
        ge=0,
        description="queue workers refresh candidates and graph at the latest this long after a signal"
        " was recorded (plus the task in hand); sooner when the queue is empty or enough signals are owed",
    )
    queue_refresh_min_owed: int = Field(
        2000, ge=1, description="queue workers refresh at once when this many signals are owed a refresh"
    )
    # alerts (issue 19): e-mail through this SMTP server, signed webhooks, retried with doubling back-off
    smtp_host: str | None = Field(None, description="SMTP server for alert e-mail; unset: e-mail alerts fail, logged")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = Field(None, description="SMTP login; unset: no login")
    smtp_password: str | None = None
    smtp_from: str = Field("riskmine@localhost", description="the From address of alert e-mail")
    smtp_starttls: bool = Field(True, description="upgrade the SMTP connection with STARTTLS before logging in")
    alert_worker: bool = Field(True, description="send alerts from a background thread of the API process")
    alert_poll_seconds: float = Field(30.0, gt=0, description="how often the alert sender looks for work")
    alert_max_attempts: int = Field(6, ge=1, description="tries of one alert delivery before it is given up")
    alert_retry_seconds: float = Field(30.0, gt=0, description="wait before the first retry; each retry doubles it")
    alert_deadline_hours: float = Field(4.0, gt=0, description="alert when a review deadline is this close")
    alert_digest_hour: int = Field(
        8, ge=0, le=23, description="hour (China time) the daily digest of the day before goes out"
    )
    alert_timeout_seconds: float = Field(10.0, gt=0, description="timeout of one SMTP or webhook attempt")
    # shared state (issue 20): review, users and keys, station batches in PostgreSQL for several API nodes
    database_url: str | None = Field(
        None,
        description="PostgreSQL for the review state, users and station batches shared by several nodes"
        " (postgresql://user:password@host:5432/riskmine); unset: SQLite files under the var dir",
    )
    database_pool_size: int = Field(10, ge=1, description="most PostgreSQL connections one process holds")
    # the scheduler (issue 19): `riskmine scheduler`, or inside `riskmine serve` with RISKMINE_SCHEDULER=true
    scheduler: bool = Field(False, description="run the scheduled jobs (crawls, refresh, reports) inside serve")
    scheduler_crawl_minutes: int = Field(10, ge=1, description="how often the scheduler crawls the sources due")
    scheduler_refresh_minutes: int = Field(60, ge=1, description="how often the candidates are refreshed")
    scheduler_report_hour: int = Field(8, ge=0, le=23, description="hour (China time) the monthly drafts are made")
    scheduler_report_orgs: str = Field(
        "", description="comma-separated organisations drafted monthly; default the provinces of the tree"
    )
    scheduler_lease_minutes: int = Field(180, ge=1, description="how long a job run holds its lock before it lapses")

    @property
    def database(self) -> Path:
        return self.db_path or self.var_dir / "riskmine.sqlite3"

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.var_dir / "models"

    @property
    def disabled(self) -> set[str]:
        return {s.strip() for s in self.disabled_stages.split(",") if s.strip()}

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_web_address(cls, value: str) -> str:
        if web_url(value) is None:
            raise ValueError(f"{value!r} 不是网址（absolute http(s) URL），例如 https://riskmine.example.cn")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: str | None) -> str | None:
        return _url_or_none(
            value, ("postgresql", "postgres"), "PostgreSQL", "postgresql://user:password@host:5432/riskmine"
        )

    @field_validator("queue_url")
    @classmethod
    def _queue_url_is_redis(cls, value: str | None) -> str | None:
        return _url_or_none(value, ("redis", "rediss", "unix"), "Redis", "redis://host:6379/1 (rediss:// for TLS)")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for entry in (p.strip() for p in value.split(",")):
            if entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is not an IP address or CIDR network (e.g. 10.0.0.5, 10.0.0.0/24)"
                    ) from None
        return value

    def check_secret(self) -> None:
        """Refuse the default (or a short) secret key unless env is development (the API calls this at start)."""
        if self.env == "development":
            return
        secret = str(self.secret_key or "")
        if secret == DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_CHARS:
            raise InsecureSecretError(
                f"refusing to start with RISKMINE_ENV={self.env!r} and "
                + ("the default RISKMINE_SECRET_KEY" if secret == DEFAULT_SECRET_KEY else "a short RISKMINE_SECRET_KEY")
                + f": set RISKMINE_SECRET_KEY to a random value of at least {MIN_SECRET_CHARS} characters, e.g. the "
                "output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`, or run with "
                "RISKMINE_ENV=development"
            )


def settings_problems(exc: ValidationError) -> str:
    """One line per bad setting, named as its environment variable, with what it takes and what it got."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        given = err.get("input")
        lines.append(f"RISKMINE_{name.upper()}: {err.get('msg', 'invalid value')} (got {given!r})")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (and ``overrides``), or a SettingsError naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(f"invalid settings: {settings_problems(exc)}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read and validated once (SettingsError names every bad RISKMINE_* variable)."""
    return load_settings()
