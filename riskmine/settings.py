"""Settings from the environment (RISKMINE_*), with safe defaults; data under ./var/."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_PIPELINE_FILE = PACKAGE_DIR / "pipeline.toml"


def shared_data_dir() -> Path:
    """The public data sets used to label corpora and measure: RISKMINE_SHARED_DATA, else
    the `shared/data` folder beside the checkout (where CI and developers have it)."""
    return Path(os.environ.get("RISKMINE_SHARED_DATA") or REPO_DIR.parent / "shared" / "data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISKMINE_", extra="ignore")

    env: str = Field("development", description="development | production")
    var_dir: Path = Field(Path("var"), description="where all runtime data lives")
    db_path: Path | None = Field(None, description="SQLite file; default <var_dir>/riskmine.sqlite3")
    store: str = Field("sqlite", description="sqlite | es (elasticsearch)")
    es_url: str | None = Field(None, description="Elasticsearch URL, e.g. http://127.0.0.1:9200")
    es_api_key: str | None = None
    es_username: str | None = None
    es_password: str | None = None
    es_ca_certs: Path | None = Field(None, description="CA bundle to verify the cluster's certificate")
    es_index_prefix: str = Field("riskmine", description="prefix of the Elasticsearch indices and aliases")
    es_refresh: str = Field("wait_for", description="wait_for | true | false: when writes become visible")
    pipeline_file: Path = DEFAULT_PIPELINE_FILE
    disabled_stages: str = Field("", description="comma-separated stage names to switch off")
    models_dir: Path | None = Field(None, description="trained model artifacts; default <var_dir>/models")
    risk_model: str = Field(
        "auto",
        description="risk model served: auto (the cascade once trained, else the baseline) | risk-baseline"
        " | risk-cascade",
    )
    corpus_path: Path = Field(
        REPO_DIR / "data" / "corpus" / "labels", description="labelled risk corpus (a JSONL file or a folder of them)"
    )
    demo_path: Path = Field(REPO_DIR / "data" / "demo" / "demo.jsonl", description="bundled demo corpus")
    host: str = "127.0.0.1"
    port: int = 8000
    batch_size: int = 256
    max_upload_bytes: int = 50 * 1024 * 1024
    secret_key: str = "dev-secret-change-me"
    open_reads: bool | None = Field(None, description="reads without login; default: only in development")
    open_analyze: bool | None = Field(None, description="analyze without login; default: only in development")
    token_ttl_minutes: int = 480
    max_analyze_items: int = 10_000
    graph_update: bool = Field(True, description="update the knowledge graph as signals are processed")
    graph_path: Path | None = Field(None, description="persisted knowledge graph; default <var_dir>/graph/graph.pickle")
    candidate_review_top_n: int = Field(20, ge=0, description="candidates sent to analysts for review per period")
    candidate_review_period_days: int = Field(14, ge=1, description="days of signals that compete for review")
    candidate_review_min_priority: float = Field(0.2, ge=0, le=1, description="lowest priority sent to review")
    candidate_industry_min_organisations: int = Field(3, ge=2, description="enterprises/brands for industry-wide")
    # collection (issue 5): station batches, public reports, user-supplied URLs, shared crawl frontier
    public_report_limit: int = Field(5, description="public reports one client (IP) may send per window")
    public_report_window_seconds: float = Field(3600.0, description="the public-report rate-limit window")
    allow_private_urls: bool = Field(False, description="fetch user-supplied URLs on private/loopback addresses")
    redis_url: str | None = Field(None, description="Redis for a crawl frontier shared by several crawler processes")

    @property
    def database(self) -> Path:
        return self.db_path or self.var_dir / "riskmine.sqlite3"

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.var_dir / "models"

    @property
    def disabled(self) -> set[str]:
        return {s.strip() for s in self.disabled_stages.split(",") if s.strip()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
