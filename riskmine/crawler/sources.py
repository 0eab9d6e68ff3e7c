"""Crawl sources (sources.toml: spider, start URLs, interval, options) and site profiles (sites.toml:
per-site selectors and noise nodes), read and checked with errors naming the file and the entry."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from riskmine.crawler.extract import SiteProfile
from riskmine.schema import SourceType
from riskmine.schema.errors import RiskmineError

__all__ = [
    "DEFAULT_SITES_FILE",
    "DEFAULT_SOURCES_FILE",
    "SPIDERS",
    "ConfigError",
    "Source",
    "load_sites",
    "load_sources",
    "parse_interval",
    "sites_file",
    "sources_file",
]

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCES_FILE = HERE / "sources.toml"
DEFAULT_SITES_FILE = HERE / "sites.toml"
SPIDERS = ("news", "reviews", "notices", "complaints")
_DEFAULT_TYPES = {"news": "news", "reviews": "review", "notices": "recall", "complaints": "complaint"}
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ConfigError(RiskmineError, ValueError):
    """A sources or sites file that cannot be used, naming the file and entry."""

    code = "source_config_invalid"
    status = 400


def sources_file() -> Path:
    return Path(os.environ.get("RISKMINE_CRAWL_SOURCES") or DEFAULT_SOURCES_FILE)


def sites_file() -> Path:
    return Path(os.environ.get("RISKMINE_CRAWL_SITES") or DEFAULT_SITES_FILE)


def parse_interval(value: Any) -> timedelta:
    """'30m', '6h', '1d', '1w' (or a number of minutes) as a timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return timedelta(minutes=float(value))
    m = _INTERVAL_RE.match(str(value))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"interval {value!r} is not a duration (use e.g. '30m', '6h', '1d', '1w')")
    return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})


@dataclass(frozen=True)
class Source:
    """One configured source."""

    name: str
    spider: str
    source_type: str
    start_urls: tuple[str, ...]
    interval: timedelta
    site: str = "default"
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    scrapy_settings: dict[str, Any] = field(default_factory=dict)


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def load_sources(path: Path | None = None) -> dict[str, Source]:
    """Sources by name from a sources file ([defaults] and [source.NAME] tables)."""
    path = Path(path) if path is not None else sources_file()
    data = _read(path, "sources")
    defaults = data.get("defaults", {})
    out: dict[str, Source] = {}
    for name, raw in (data.get("source") or {}).items():
        where = f"{path}: [source.{name}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        entry = {**{k: v for k, v in defaults.items() if k in ("interval", "enabled")}, **raw}
        spider = entry.pop("spider", None)
        if spider not in SPIDERS:
            raise ConfigError(f"{where}: 'spider' must be one of {', '.join(SPIDERS)}, not {spider!r}")
        source_type = entry.pop("source_type", _DEFAULT_TYPES[spider])
        try:
            SourceType(source_type)
        except ValueError:
            known = ", ".join(t.value for t in SourceType)
            raise ConfigError(f"{where}: unknown source_type {source_type!r} (known: {known})") from None
        urls = entry.pop("start_urls", [])
        if isinstance(urls, str) or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
            raise ConfigError(f"{where}: 'start_urls' must be a list of http(s) addresses")
        try:
            interval = parse_interval(entry.pop("interval", "1d"))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        scrapy_settings = entry.pop("settings", {})
        out[name] = Source(
            name=name,
            spider=spider,
            source_type=source_type,
            start_urls=tuple(urls),
            interval=interval,
            site=str(entry.pop("site", "default")),
            enabled=bool(entry.pop("enabled", True)),
            options=entry,
            scrapy_settings=dict(scrapy_settings),
        )
    return out


def load_sites(path: Path | None = None) -> dict[str, SiteProfile]:
    """Site profiles by name from a sites file ([site.NAME] tables); 'default' always exists."""
    path = Path(path) if path is not None else sites_file()
    data = _read(path, "sites")
    out = {"default": SiteProfile()}
    for name, raw in (data.get("site") or {}).items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: [site.{name}] must be a table")
        try:
            out[name] = SiteProfile.from_mapping(name, raw)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return out
