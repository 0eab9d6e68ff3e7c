"""Settings from the environment (RISKMINE_*), with safe defaults; data under ./var/."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_PIPELINE_FILE = PACKAGE_DIR / "pipeline.toml"


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
    host: str = "127.0.0.1"
    port: int = 8000
    batch_size: int = 256
    max_upload_bytes: int = 50 * 1024 * 1024
    secret_key: str = "dev-secret-change-me"

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
