"""`riskmine crawl`: crawl one source, every due source (--due), or list the sources and their health."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    unknown = [name for name in names if name not in sources]
    if unknown:
        typer.echo(f"error: unknown source {unknown[0]!r}; configured: {', '.join(sorted(sources))}", err=True)
        raise typer.Exit(2)
    failed = 0
    with crawl_progress(len(names)) as progress:
        for name in names:
            progress(name)
            report = crawl(
                name, settings, start_urls=start_url or None, sources_file=sources_file, sites_file=sites_file
            )
            state = "ok" if report.ok else f"FAILED: {report.failure_label}"
            typer.echo(
                f"{name}: {state} items={report.items} new={report.new_items} errors={report.errors} "
                f"finish={report.finish_reason}" + (f" ({report.error})" if report.error else "")
            )
            failed += not report.ok
        progress(None)
    raise typer.Exit(1 if failed else 0)


@contextmanager
def crawl_progress(total: int) -> Iterator[Callable[[str | None], None]]:
    """A progress bar over the sources on stderr (off when stderr is not a terminal); the callable names the
    source now crawling (None when done) and counts the one before it as done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("crawl", total=total)
        started = False

        def step(name: str | None) -> None:
            nonlocal started
            if started:
                bar.advance(task)
            started = True
            bar.update(task, description=f"crawl {name}" if name else "crawl")

        yield step


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
        failure = (h.get("last_failure") or {}).get("label")
        typer.echo(
            f"{name}\t{src.spider}\t{src.source_type}\tevery {src.interval}\t"
            f"{'enabled' if src.enabled else 'disabled'}\tlast run {h.get('last_run', '-')}\t"
            f"last success {h.get('last_success', '-')}{flag}" + (f"\t失败原因 {failure}" if failure else "")
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
    cols = ("source", "interval", "last run", "items", "new", "errors", "last success", "failures", "state", "reason")
    for col in cols:
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
            r["failure_reason"] or "-",
        )
    console.print(table)
