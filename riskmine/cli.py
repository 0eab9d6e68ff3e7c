"""The `riskmine` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from riskmine.settings import Settings, get_settings

if TYPE_CHECKING:
    from riskmine.pipeline import Pipeline
    from riskmine.store.base import Store

app = typer.Typer(help="riskmine: mine product quality-safety risk signals from Chinese text.", no_args_is_help=True)


console = Console(stderr=True)
out = Console()


@app.callback()
def _validate_settings() -> None:
    # every RISKMINE_* setting is read and checked once, before any command runs
    from riskmine.settings import SettingsError

    try:
        get_settings()
    except SettingsError as exc:
        console.print(f"[red]error[/red] {exc}", highlight=False)
        raise typer.Exit(code=2) from None


def _mount_subcommands() -> None:
    from riskmine.crawler.cli import crawl_cmd, sources_cmd
    from riskmine.knowledge_graph.cli import app as graph_app
    from riskmine.models.cli import app as models_app
    from riskmine.report_cli import app as report_app
    from riskmine.review.cli import keys_app, orgs_app, users_app
    from riskmine.scenario_cli import scenario_cmd
    from riskmine.store.migrate_cli import app as migrate_app

    app.add_typer(models_app, name="models", help="Train, evaluate and list the risk models.")
    graph_app.command("scenario")(scenario_cmd)  # runs the whole system: it lives in the shell, not the graph
    app.add_typer(graph_app, name="graph", help="Build, inspect and evaluate the knowledge graph and candidates.")
    app.add_typer(report_app, name="report", help="Monthly forms, immediate reports and thematic reports.")
    app.add_typer(users_app, name="users", help="Create, list and change users and their roles.")
    app.add_typer(keys_app, name="keys", help="Issue, list and revoke API keys.")
    app.add_typer(orgs_app, name="orgs", help="The organisation tree: province, city, county, station.")
    app.add_typer(migrate_app, name="migrate", help="Copy the embedded store into Elasticsearch.")
    app.command("crawl")(crawl_cmd)
    app.command("sources")(sources_cmd)


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Any]:
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _open(settings: Settings) -> Store:
    from riskmine.store.factory import open_store

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings)


def _pipeline(settings: Settings, store: Store | None = None) -> Pipeline:
    from riskmine.models.registry import ModelNotFoundError
    from riskmine.pipeline import Pipeline, PipelineConfigError

    try:
        return Pipeline.from_settings(settings, store)
    except (ModelNotFoundError, PipelineConfigError) as exc:
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(code=2) from None


def _count_lines(path: Path) -> int | None:
    if path.suffix.lower() not in {".jsonl", ".ndjson", ".csv", ".tsv", ".json"}:
        return None
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="JSONL, CSV or XLSX files (UTF-8, GBK/GB18030 or UTF-16)")],
    source: Annotated[str | None, typer.Option(help="source name for rows that give none")] = None,
    source_type: Annotated[str | None, typer.Option(help="source type for rows that give none, e.g. review")] = None,
    station: Annotated[str | None, typer.Option(help="monitoring station submitting the file")] = None,
    rejects: Annotated[Path | None, typer.Option(help="where to write rejected rows (JSONL)")] = None,
    process: Annotated[bool, typer.Option(help="run the NLP pipeline on the new documents")] = True,
    local: Annotated[
        bool, typer.Option("--local", help="process here even when a task queue (RISKMINE_QUEUE_URL) is set")
    ] = False,
) -> None:
    """Load documents from files into the store; list every rejected row. With a task queue
    (RISKMINE_QUEUE_URL) the new documents are sent to it for `riskmine worker` unless --local."""
    from riskmine.feeds import FeedError
    from riskmine.ingest import write_rejections
    from riskmine.submission import Submission

    settings = get_settings()
    store = _open(settings)
    submission = Submission(store, settings=settings)  # files stored one by one, processed together below
    any_rejected = False
    new_ids: list[str] = []
    stored_before: list[str] = []  # rows stored by an earlier run: processed now if that run was cut short
    try:
        for path in paths:
            if not path.exists():
                console.print(f"[red]error[/red] {path}: no such file")
                any_rejected = True
                continue
            src = f"station:{station}" if station else source
            stype = source_type or ("station_report" if station else None)
            try:
                with _progress(f"ingest {path.name}", _count_lines(path)) as advance:
                    outcome = submission.path(path, source=src, source_type=stype, progress=advance, process=False)
                assert outcome.ingest is not None
                report = outcome.ingest
            except (FeedError, ValueError) as exc:
                console.print(f"[red]error[/red] {exc}")
                any_rejected = True
                continue
            new_ids.extend(report.document_ids)
            stored_before.extend(report.duplicate_ids)
            out.print(
                f"{path}: {report.rows} rows, [green]{report.accepted} accepted[/green], "
                f"{report.duplicates} duplicates, [red]{len(report.rejected)} rejected[/red]"
            )
            for warning in report.warnings[:20]:
                out.print(f"  [yellow]![/yellow] row {warning.row}: {warning.reason}")
            if report.rejected:
                any_rejected = True
                target = rejects or settings.var_dir / "rejects" / f"{path.stem}.rejected.jsonl"
                target.parent.mkdir(parents=True, exist_ok=True)
                write_rejections(report.rejected, target)
                for rej in report.rejected[:20]:
                    out.print(f"  [red]✗[/red] {rej.reason}")
                if len(report.rejected) > 20:
                    out.print(f"  … {len(report.rejected) - 20} more")
                out.print(f"  rejected rows written to {target}")
        if process:
            from riskmine.processing import unprocessed

            new_ids.extend(unprocessed(store, stored_before))
        if process and new_ids:
            if settings.queue_url and not local:
                _enqueue(settings, new_ids)
            else:
                _process(settings, store, new_ids)
    finally:
        store.close()
    if any_rejected:
        raise typer.Exit(code=2)


def _enqueue(settings: Settings, ids: list[str]) -> None:
    """Send the documents to the task queue as one task (as the API does); a worker processes them."""
    from riskmine.queue import QueueError, TaskQueue, redacted
    from riskmine.schema.labels import CLI_QUEUE_LABELS

    try:
        TaskQueue(settings).enqueue(ids)
    except QueueError as exc:
        console.print(f"[red]错误[/red] {CLI_QUEUE_LABELS['failed'].format(error=exc)}", highlight=False)
        raise typer.Exit(code=1) from None
    url = redacted(settings.queue_url or "")
    out.print(CLI_QUEUE_LABELS["queued"].format(count=len(ids), url=url), highlight=False, soft_wrap=True)


def _process(settings: Settings, store: Store, ids: list[str] | None, workers: int = 1) -> None:
    from riskmine.processing import pending_document_ids
    from riskmine.submission import Processor, SerialProcessor, Submission

    todo = ids if ids is not None else pending_document_ids(store)
    processor: Processor
    errors: tuple[type[Exception], ...] = ()
    if workers > 1:
        from riskmine.parallel import ConfiguredStages, ParallelProcessingError, ParallelProcessor

        parallel = ParallelProcessor(ConfiguredStages(settings), workers)
        if todo:
            parallel.start()  # the workers load their models while this process reads the documents
        processor, errors, label = parallel, (ParallelProcessingError,), f"process ({workers} workers)"
    else:
        processor, label = SerialProcessor(_pipeline(settings, store)), "process"
    from riskmine.review.alerts import refresh_hook

    submission = Submission(
        store, processor, batch_size=settings.batch_size, settings=settings, after_refresh=refresh_hook(settings)
    )  # immediate-tier candidates reach the alert outbox; the server's alert sender tells people
    if not todo:
        out.print("nothing to process")
    with _progress(label, len(todo)) as advance:
        try:
            outcome = submission.process(todo, progress=advance)
        except errors as exc:
            console.print(f"[red]error[/red] {exc}")
            raise typer.Exit(code=1) from None
        finally:
            submission.close()  # the worker pool, if any
    rep = outcome.process
    if todo and rep is not None:
        out.print(
            f"processed {rep.processed} documents in {rep.seconds:.1f}s: {rep.risks} risk signals, "
            f"{rep.duplicates} duplicates, {rep.noisy} noisy"
        )
    out.print(f"{outcome.candidates} candidate risks")


@app.command()
def process(
    all_documents: Annotated[bool, typer.Option("--all", help="reprocess every document, not only new ones")] = False,
    workers: Annotated[int, typer.Option(min=1, help="processes running the NLP stages (results written here)")] = 1,
    local: Annotated[
        bool, typer.Option("--local", help="process here even when a task queue (RISKMINE_QUEUE_URL) is set")
    ] = False,
) -> None:
    """Run the NLP pipeline over stored documents not yet processed, then refresh candidates. With a task
    queue (RISKMINE_QUEUE_URL) they are sent to it for `riskmine worker` unless --local (--all: always here)."""
    from riskmine.store.base import Collection

    settings = get_settings()
    store = _open(settings)
    try:
        ids = [d.id for d in store.iterate(Collection.documents)] if all_documents else None
        if settings.queue_url and not local:
            if all_documents:  # a worker skips documents processed already: reprocessing is done here
                from riskmine.schema.labels import CLI_QUEUE_LABELS

                out.print(CLI_QUEUE_LABELS["all_local"], highlight=False)
            else:
                from riskmine.processing import pending_document_ids

                pending = pending_document_ids(store)
                if pending:
                    _enqueue(settings, pending)
                    return
        _process(settings, store, ids, workers)
    finally:
        store.close()


@app.command()
def analyze(
    in_path: Annotated[Path, typer.Option("--in", help="JSONL of {id, text, ...} objects")],
    out_path: Annotated[Path, typer.Option("--out", help="JSONL results, one per input line")],
) -> None:
    """Judge texts without storing them (the analyze contract)."""
    from riskmine.analyze import analyze_file

    settings = get_settings()
    if not in_path.exists():
        console.print(f"[red]error[/red] {in_path}: no such file")
        raise typer.Exit(code=2)
    pipeline = _pipeline(settings, None)
    with _progress("analyze", _count_lines(in_path)) as advance:
        written, rejected = analyze_file(in_path, out_path, pipeline, progress=advance)
    out.print(f"{written} results written to {out_path}; {len(rejected)} rejected")
    for rej in rejected[:20]:
        out.print(f"  [red]✗[/red] {rej.reason}")
    if rejected:
        raise typer.Exit(code=2)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default RISKMINE_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default RISKMINE_PORT or 8000")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes (reads scale with them; writes take turns)")
    ] = 1,
) -> None:
    """Serve the API and the review console."""
    _serve(get_settings(), host, port, workers)


def _serve(settings: Settings, host: str | None, port: int | None, workers: int = 1) -> None:
    import uvicorn

    from riskmine.api.app import create_app
    from riskmine.settings import InsecureSecretError

    h, p = host or settings.host, port or settings.port
    try:
        application = create_app(settings)  # also checks the settings before any worker starts
    except InsecureSecretError as exc:
        console.print(f"[red]refusing to start[/red]: {exc}")
        raise typer.Exit(code=2) from None
    if settings.scheduler:  # the scheduled jobs, in background threads of this (the parent) process
        from riskmine.scheduler import start_background

        start_background(settings)
    processes = f", {workers} processes" if workers > 1 else ""
    out.print(f"riskmine serving on [bold]http://{h}:{p}/[/bold]  (API docs: http://{h}:{p}/docs){processes}")
    # proxy_headers off: uvicorn would believe X-Forwarded-For from loopback; the app trusts RISKMINE_TRUSTED_PROXIES
    if workers == 1:
        uvicorn.run(application, host=h, port=p, log_level="warning", proxy_headers=False)
        return
    # each process builds its app from the same RISKMINE_* environment; one write at a time across them
    # (riskmine.store.locks), and a batch or journal a killed process left is finished by the others' recovery
    uvicorn.run(
        "riskmine.api.app:create_app",
        factory=True,
        workers=workers,
        host=h,
        port=p,
        log_level="warning",
        proxy_headers=False,
    )


@app.command()
def worker() -> None:
    """Process queued submissions (RISKMINE_QUEUE_URL): run one per core, on any host, until stopped."""
    import signal
    import threading

    from riskmine.queue import QueueError, check_queue
    from riskmine.review.alerts import refresh_hook
    from riskmine.schema.labels import WORKER_LABELS
    from riskmine.worker import TaskRunner, serve_tasks

    settings = get_settings()
    try:
        check_queue(settings)
    except QueueError as exc:
        console.print(f"[red]错误[/red] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def log(line: str) -> None:
        out.print(line, highlight=False)

    store = _open(settings)
    try:
        log(WORKER_LABELS["loading"])
        pipeline = _pipeline(settings, store)  # models load once, here, for every task this process takes
        runner = TaskRunner(settings, store, pipeline, after_refresh=refresh_hook(settings), log=log)
        try:
            serve_tasks(settings, runner, stop, log=log)
        except KeyboardInterrupt:
            return
    finally:
        store.close()


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = False,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Load the bundled demo corpus, train the baseline if needed, process, build candidates."""
    from riskmine.models.corpus import CorpusError, InsufficientDataError
    from riskmine.models.registry import ensure_model
    from riskmine.review.demo import DEMO_CITY, hand_down_local_candidates
    from riskmine.review.repository import open_review_repository
    from riskmine.review.users import DEMO_USERS, ensure_demo_users
    from riskmine.store.base import Collection
    from riskmine.submission import Submission

    settings = get_settings()
    store = _open(settings)
    try:
        try:
            with console.status("checking the risk model"):
                version = ensure_model(settings)
        except (CorpusError, InsufficientDataError) as exc:
            console.print(f"[red]cannot train the risk model[/red]: {exc}")
            raise typer.Exit(code=2) from None
        out.print(f"risk model: {version}")
        if store.count(Collection.documents) == 0:
            with _progress("load demo corpus", _count_lines(settings.demo_path)) as advance:
                loaded = Submission(store, settings=settings).path(
                    settings.demo_path, source=None, progress=advance, process=False
                )
            assert loaded.ingest is not None
            report = loaded.ingest
            out.print(f"demo corpus: {report.accepted} documents loaded, {len(report.rejected)} rejected")
        _process(settings, store, None)
        users = ensure_demo_users(settings)
        handed = hand_down_local_candidates(store, open_review_repository(settings))
    finally:
        store.close()
    if handed:
        out.print(f"{len(handed)} candidates located in {DEMO_CITY} handed to {DEMO_CITY} (what its viewer sees)")
    if users:
        # Everything but the published advisories and the public-report form needs a login, in every mode.
        where = {u: f", {org}" if org else "" for u, _, _, org in DEMO_USERS}
        out.print("demo logins (log in at /login, or POST /api/v1/auth/token for the API):")
        for u, pw, role in users:
            out.print(f"  [bold]{u}[/bold] / {pw}  ({role}{where.get(u, '')})")
    if serve_after:
        _serve(settings, host, port)


@app.command()
def status() -> None:
    """Counts in the store, the pipeline in force, and the crawl sources with their health."""
    from riskmine.store.base import Collection

    settings = get_settings()
    store = _open(settings)
    try:
        table = Table(title=f"riskmine store ({settings.store}: {settings.database})")
        table.add_column("collection")
        table.add_column("records", justify="right")
        for coll in Collection:
            table.add_row(coll.value, str(store.count(coll)))
        table.add_row("risk signals", str(store.count(Collection.signals, filters={"is_risk": True})))
        out.print(table)
        cand = store.aggregate(Collection.candidates, "tier")
        if cand:
            out.print("candidates by tier: " + ", ".join(f"{b.key} {b.count}" for b in cand))
    finally:
        store.close()
    _print_stages(settings)
    from riskmine.crawler.cli import print_sources

    print_sources(out, settings)
    _print_jobs(settings)


def _print_jobs(settings: Settings) -> None:
    from riskmine.scheduler import job_rows

    table = Table(title="scheduled jobs (riskmine scheduler)")
    for col in ("job", "last run", "outcome", "next run", "message"):
        table.add_column(col)
    for r in job_rows(settings):
        colour = {"ok": "green", "failed": "red"}.get(r["outcome"], "yellow")
        outcome = f"[{colour}]{r['outcome']}[/{colour}]"
        table.add_row(r["name"], r["last_started"] or "never", outcome, r["next_run"] or "-", r["message"])
    out.print(table)


@app.command("scheduler")
def scheduler_cmd(
    run: Annotated[str | None, typer.Option("--run", help="run this job once now and exit")] = None,
    once: Annotated[bool, typer.Option("--once", help="run the jobs that are due once and exit")] = False,
) -> None:
    """Run the scheduled jobs (due crawls, candidate refresh, monthly drafts, alerts, digest) until interrupted."""
    from riskmine.scheduler import JobRunner, run_forever

    settings = get_settings()
    if run is None and not once:
        out.print("riskmine scheduler running (Ctrl+C to stop)")
        run_forever(settings)
        return
    runner = JobRunner(settings)
    if run is not None and run not in runner.jobs:
        console.print(f"[red]error[/red] unknown job {run!r}; jobs: {', '.join(runner.jobs)}")
        raise typer.Exit(code=2)
    results = [runner.run(run, force=True)] if run is not None else runner.run_due()
    for result in results:
        if result is None:
            out.print(f"{run}: another process is running it")
        else:
            out.print(f"{result.job}: {result.outcome} {result.message}", highlight=False)
    raise typer.Exit(code=1 if any(r is not None and r.outcome != "ok" for r in results) else 0)


def _print_stages(settings: Settings) -> None:
    from riskmine.nlp.base import registered
    from riskmine.pipeline import analyze_stages, load_config

    regs = registered()
    table = Table(title=f"pipeline ({settings.pipeline_file})")
    for col in ("#", "stage", "enabled", "reads", "writes"):
        table.add_column(col)
    specs = load_config(settings.pipeline_file)
    for i, spec in enumerate(specs, start=1):
        on = spec.enabled and spec.name not in settings.disabled
        reg = regs.get(spec.name)
        table.add_row(
            str(i),
            spec.name,
            "yes" if on else "[yellow]off[/yellow]",
            ", ".join(reg.reads) if reg else "?",
            ", ".join(reg.writes) if reg else "[red]not registered[/red]",
        )
    out.print(table)
    enabled = [regs[s.name] for s in specs if s.enabled and s.name not in settings.disabled and s.name in regs]
    for problem in analyze_stages(enabled).problems:
        out.print(f"[yellow]warning[/yellow] {problem}")


@app.command()
def stages() -> None:
    """List the pipeline's stages, what each reads and writes, and whether it is on."""
    _print_stages(get_settings())


@app.command("export-signals")
def export_signals(
    out_path: Annotated[Path, typer.Option("--out")],
    risks_only: Annotated[bool, typer.Option("--risks-only/--all")] = True,
) -> None:
    """Write stored signals as JSONL."""
    from riskmine.store.base import Collection

    settings = get_settings()
    store = _open(settings)
    n = 0
    try:
        filters = {"is_risk": True} if risks_only else None
        with (
            out_path.open("w", encoding="utf-8") as fh,
            _progress("export signals", store.count(Collection.signals, filters=filters)) as advance,
        ):
            for sig in store.iterate(Collection.signals, filters=filters):
                fh.write(json.dumps(sig.model_dump(mode="json"), ensure_ascii=False) + "\n")
                n += 1
                advance(1)
    finally:
        store.close()
    out.print(f"{n} signals written to {out_path}")


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


_mount_subcommands()
