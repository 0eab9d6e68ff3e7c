"""`riskmine crawl`: crawl one source, every due source (--due), or list the sources and their health."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Crawl configured sources (news, reviews, notices, complaints).", no_args_is_help=True)


def due_sources(settings: Any, *, now: datetime | None = None, sources_file: Path | None = None) -> list[str]:
    """Enabled sources whose interval has passed since their last run (or that never ran)."""
    from riskmine.crawler.health import last_runs
    from riskmine.crawler.sources import load_sources

    now = now or datetime.now(UTC)
    runs = last_runs(settings)
    return [
        name
        for name, src in sorted(load_sources(sources_file).items())
        if src.enabled and (name not in runs or now - runs[name] >= src.interval)
    ]


@app.command("crawl")
def crawl_cmd(
    source: str = typer.Argument(None, help="source name from sources.toml"),
    due: bool = typer.Option(False, "--due", help="crawl every source whose interval has passed"),
    start_url: list[str] = typer.Option(None, "--start-url", help="replace the source's start URLs"),
    sources_file: Path = typer.Option(None, "--sources", help="sources file (default: RISKMINE_CRAWL_SOURCES)"),
    sites_file: Path = typer.Option(None, "--sites", help="sites file (default: RISKMINE_CRAWL_SITES)"),
) -> None:
    """Crawl SOURCE, or with --due every source that is due."""
    from riskmine.crawler.run import crawl
    from riskmine.crawler.sources import ConfigError, load_sources
    from riskmine.settings import get_settings

    settings = get_settings()
    try:
        sources = load_sources(sources_file)
        names = due_sources(settings, sources_file=sources_file) if due else [source] if source else []
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not names:
        typer.echo("nothing to crawl" if due else "error: give a SOURCE or --due", err=not due)
        raise typer.Exit(0 if due else 2)
    failed = 0
    for name in names:
        if name not in sources:
            typer.echo(f"error: unknown source {name!r}; configured: {', '.join(sorted(sources))}", err=True)
            raise typer.Exit(2)
        report = crawl(name, settings, start_urls=start_url or None, sources_file=sources_file, sites_file=sites_file)
        state = "ok" if report.ok else "FAILED"
        typer.echo(
            f"{name}: {state} items={report.items} new={report.new_items} errors={report.errors} "
            f"finish={report.finish_reason}" + (f" ({report.error})" if report.error else "")
        )
        failed += not report.ok
    raise typer.Exit(1 if failed else 0)


@app.command("sources")
def sources_cmd(sources_file: Path = typer.Option(None, "--sources", help="sources file")) -> None:
    """List configured sources with their interval and health."""
    from riskmine.crawler.health import source_health
    from riskmine.crawler.sources import ConfigError, load_sources
    from riskmine.settings import get_settings

    try:
        sources = load_sources(sources_file)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    health = {h["source"]: h for h in source_health(get_settings())}
    for name, src in sorted(sources.items()):
        h = health.get(name, {})
        flag = " FLAGGED" if h.get("flagged") else ""
        typer.echo(
            f"{name}\t{src.spider}\t{src.source_type}\tevery {src.interval}\t"
            f"{'enabled' if src.enabled else 'disabled'}\tlast run {h.get('last_run', '-')}\t"
            f"last success {h.get('last_success', '-')}{flag}"
        )


def print_sources(console: Any, settings: Any) -> None:
    """The crawl sources and their health as a table (shown by `riskmine status`)."""
    from rich.table import Table

    from riskmine.crawler.health import source_overview
    from riskmine.crawler.sources import ConfigError

    try:
        rows = source_overview(settings)
    except ConfigError as exc:
        console.print(f"[red]crawl sources cannot be read[/red]: {exc}")
        return
    table = Table(title="crawl sources")
    for col in ("source", "interval", "last run", "items", "new", "errors", "last success", "failures", "state"):
        table.add_column(col, justify="right" if col in ("items", "new", "errors", "failures") else "left")
    for r in rows:
        if r["flagged"]:
            state = "[red]FLAGGED[/red]"
        elif not r["configured"]:
            state = "not configured"
        elif not r["enabled"]:
            state = "disabled"
        else:
            state = "due" if r["due"] else "ok"
        table.add_row(
            r["source"],
            r["interval"] or "-",
            r["last_run"] or "never",
            str(r["items"]),
            str(r["new_items"]),
            str(r["errors"]),
            r["last_success"] or "-",
            str(r["consecutive_failures"]),
            state,
        )
    console.print(table)
