"""`riskmine migrate`: copy the embedded store into another backend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from riskmine.store.base import Collection, StoreError

app = typer.Typer(help="Copy the embedded SQLite store into Elasticsearch.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _target(to: str, settings: Any, target_path: Path | None) -> tuple[Any, str]:
    """The target store and a description naming it (kept in the checkpoint)."""
    from riskmine.store.factory import open_elasticsearch

    if to in ("es", "elasticsearch"):
        if not settings.es_url:
            raise StoreError("set RISKMINE_ES_URL to the cluster to copy into, e.g. http://127.0.0.1:9200")
        store = open_elasticsearch(settings.model_copy(update={"es_refresh": "false"}))
        return store, f"es:{settings.es_url}/{settings.es_index_prefix}"
    if to == "sqlite":
        if target_path is None:
            raise StoreError("--to sqlite needs --target-path, the SQLite file to copy into")
        from riskmine.store.sqlite import SQLiteStore

        if target_path.resolve() == Path(settings.database).resolve():
            raise StoreError(f"the target {target_path} is the source database itself")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(target_path), f"sqlite:{target_path.resolve()}"
    raise StoreError(f"unknown migration target {to!r}; targets: es, sqlite")


@app.callback(invoke_without_command=True)
def migrate_cmd(
    to: Annotated[str, typer.Option("--to", help="es (RISKMINE_ES_URL) or sqlite (--target-path)")],
    target_path: Annotated[Path | None, typer.Option(help="the SQLite file to copy into (--to sqlite)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="records per write")] = 500,
    restart: Annotated[bool, typer.Option("--restart", help="ignore the checkpoint and copy everything")] = False,
    sample: Annotated[int, typer.Option(min=0, help="records compared field by field at the end")] = 100,
) -> None:
    """Copy every collection of the SQLite store into the target, resuming after an interruption,
    then verify counts and a sample of records."""
    from riskmine.settings import get_settings
    from riskmine.store.migrate import Checkpoint, migrate
    from riskmine.store.sqlite import SQLiteStore

    settings = get_settings()
    if not Path(settings.database).exists():
        console.print(f"[red]error[/red] no SQLite store at {settings.database} (RISKMINE_VAR_DIR / RISKMINE_DB_PATH)")
        raise typer.Exit(code=2)
    try:
        source = SQLiteStore(settings.database)
    except StoreError as exc:
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(code=2) from None
    try:
        target, name = _target(to.strip().lower(), settings, target_path)
    except StoreError as exc:
        source.close()
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(code=2) from None
    safe = "".join(ch if ch.isalnum() else "_" for ch in name)[:120]
    cp_path = settings.var_dir / "migrate" / f"{safe}.checkpoint.json"
    try:
        if restart and cp_path.exists():
            cp_path.unlink()
        checkpoint = Checkpoint.load(cp_path, name)
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
            tasks = {c: bar.add_task(c.value, total=source.count(c)) for c in Collection}
            report = migrate(
                source,
                target,
                checkpoint=checkpoint,
                batch_size=batch_size,
                sample_size=sample,
                progress=lambda c, n: bar.advance(tasks[c], n),
            )
    except StoreError as exc:
        console.print(f"[red]error[/red] {exc}")
        console.print(f"progress is kept in {cp_path}: run the same command again to resume")
        raise typer.Exit(code=1) from None
    finally:
        source.close()
        target.close()
    for rep in report.collections:
        mark = "[green]ok[/green]" if rep.ok else "[red]MISMATCH[/red]"
        out.print(
            f"{rep.collection.value}: {rep.source_count} → {rep.target_count} records "
            f"({rep.copied} copied now, {rep.resumed_from} before; {rep.sampled} sampled) {mark}"
        )
    if not report.ok:
        for problem in report.problems():
            console.print(f"[red]✗[/red] {problem}")
        raise typer.Exit(code=1)
    out.print(f"migration into {name} verified")
