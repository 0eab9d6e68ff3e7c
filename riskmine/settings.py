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
    store: str = Field("sqlite", description="sqlite | elasticsearch")
    es_url: str | None = None
    pipeline_file: Path = DEFAULT_PIPELINE_FILE
    disabled_stages: str = Field("", description="comma-separated stage names to switch off")
    models_dir: Path | None = Field(None, description="trained model artifacts; default <var_dir>/models")
    corpus_path: Path = Field(REPO_DIR / "data" / "corpus" / "labels.jsonl", description="labelled risk corpus")
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
