"""Build, inspect and evaluate the product knowledge graph and candidate risks."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Build, inspect and evaluate the knowledge graph and candidates.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _open_store() -> tuple[Any, Any]:
    from riskmine.settings import get_settings
    from riskmine.store.factory import open_store

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings, open_store(settings)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error[/red] {message}")
    return typer.Exit(code=1)


@app.command("build")
def build_cmd() -> None:
    """Rebuild the knowledge graph from every stored signal and save it under the var dir."""
    from riskmine.knowledge_graph.graph import forget_graphs, graph_file, rebuild_graph, save_graph
    from riskmine.store.base import Collection

    settings, store = _open_store()
    try:
        total = store.count(Collection.signals)
        t0 = time.perf_counter()
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("graph", total=total)
            kg = rebuild_graph(store, progress=lambda n: progress.advance(task, n))
        path = graph_file(settings)
        save_graph(kg, path)
        forget_graphs()
        seconds = time.perf_counter() - t0
    finally:
        store.close()
    stats = kg.stats()
    out.print(f"graph built from {stats['signals']} signals in {seconds:.1f} s → {path}")
    table = Table("node type", "count")
    for kind, n in stats["nodes_by_type"].items():
        table.add_row(kind, str(n))
    out.print(table)
    table = Table("relation", "edges")
    for rel, n in stats["edges_by_relation"].items():
        table.add_row(rel, str(n))
    out.print(table)


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="a name, alias or node id (格力, GREE, enterprise:极充科技)")],
    node_type: Annotated[str | None, typer.Option("--type", help="only entities of this node type")] = None,
    depth: Annotated[int, typer.Option(min=1, max=4, help="hops to walk")] = 1,
    limit: Annotated[int, typer.Option(min=1, max=500, help="most neighbours listed")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Look an entity up and show its neighbourhood."""
    from riskmine.knowledge_graph.graph import GraphError, current_graph

    settings, store = _open_store()
    try:
        kg = current_graph(settings, store)
        try:
            matches = kg.lookup(name, node_type, limit=10)
        except GraphError as exc:
            raise _fail(str(exc)) from None
        if not matches:
            raise _fail(f"no entity named {name!r} in the graph ({kg.signal_count} signals)")
        hood = kg.neighbourhood(matches[0].id, depth=depth, limit=limit)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps({"matches": [m.to_dict() for m in matches], **hood.to_dict()}, ensure_ascii=False))
        return
    centre = hood.nodes[0]
    out.print(f"[bold]{centre['label']}[/bold] ({centre['id']}, {centre['degree']} edges)")
    if len(matches) > 1:
        out.print("also matching: " + ", ".join(f"{m.label} ({m.id})" for m in matches[1:]))
    grouped: dict[str, list[str]] = defaultdict(list)
    for n in hood.nodes[1:]:
        if n["type"] != "signal":
            grouped[n["type"]].append(f"{n['label']} ({n['hops']})")
    table = Table("type", "reached", "listed (hops)")
    for kind, count in hood.counts.items():
        table.add_row(kind, str(count), ", ".join(grouped.get(kind, [])[:12]))
    out.print(table)
    if hood.truncated:
        out.print(f"[yellow]only the first {limit} neighbours are listed[/yellow]")


@app.command("enterprise")
def enterprise_cmd(
    name: Annotated[str, typer.Argument(help="the enterprise, any spelling (深圳市极充科技有限公司, 极充科技)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the whole profile as JSON")] = False,
) -> None:
    """Show an enterprise's profile (企业画像): signals, hazards, spot-check failures, candidates by month."""
    from riskmine.knowledge_graph.graph import GraphError, current_graph
    from riskmine.knowledge_graph.profiles import enterprise_profile

    settings, store = _open_store()
    try:
        kg = current_graph(settings, store)
        try:
            profile = enterprise_profile(kg, name, store)
        except GraphError as exc:
            raise _fail(str(exc)) from None
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps(profile.to_dict(), ensure_ascii=False))
        return
    region = profile.region["name"] if profile.region else "unknown region"
    out.print(f"[bold]{profile.name}[/bold] (key {profile.key}, {region})")
    out.print(
        f"{profile.signals} signals, {profile.risk_signals} risk signals, "
        f"{profile.spot_check_failures} failed spot checks, {profile.first_seen} to {profile.last_seen}"
    )
    for title, counts in (
        ("hazards", profile.hazards),
        ("categories", profile.categories),
        ("brands", profile.brands),
        ("source types", profile.source_types),
    ):
        if counts:
            out.print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in list(counts.items())[:10]))
    table = Table("month", "signals", "risk signals", "failed spot checks")
    for month, c in profile.monthly.items():
        table.add_row(month, str(c["signals"]), str(c["risk_signals"]), str(c["spot_check_failures"]))
    out.print(table)
    for f in profile.failures[:10]:
        out.print(f"不合格 {f['published_at'][:10]} {f.get('title') or ''} {f.get('test_item') or ''}")
    for c in profile.candidates[:10]:
        out.print(f"candidate {c['id']} [{c['tier']}] {c['title']} (priority {c['priority']:.2f})")


@app.command("scenario")
def scenario_cmd(
    weeks: Annotated[int, typer.Option(min=4, help="weeks of stream; the stories start halfway")] = 12,
    background_per_week: Annotated[int, typer.Option(min=0, help="real background texts per week")] = 250,
    step_days: Annotated[int, typer.Option(min=1, help="days fed per step (now advances by this)")] = 1,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    review_top_n: Annotated[int, typer.Option(min=0, help="review budget per period")] = 10,
    keep: Annotated[str | None, typer.Option(help="folder to keep the scenario's store in (default: temp)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run planted stories over real background text through the whole system and report what was found."""
    import tempfile
    from pathlib import Path

    from riskmine.knowledge_graph.scenarios import ScenarioConfig, ScenarioError, run_scenario
    from riskmine.pipeline import Pipeline
    from riskmine.settings import get_settings
    from riskmine.store.sqlite import SQLiteStore

    cfg = ScenarioConfig(
        weeks=weeks, background_per_week=background_per_week, step_days=step_days, seed=seed, review_top_n=review_top_n
    )
    with tempfile.TemporaryDirectory(prefix="riskmine-scenario-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        store = SQLiteStore(folder / "scenario.sqlite3")
        try:
            # the scenario's own var dir keeps its dedup journal out of the real one; models stay shared
            settings = get_settings()
            scenario_settings = settings.model_copy(update={"var_dir": folder, "models_dir": settings.models_path})
            pipeline = Pipeline.from_settings(scenario_settings, store)
            report = run_scenario(store, pipeline, cfg, progress=lambda line: console.print(line, highlight=False))
        except ScenarioError as exc:
            raise _fail(str(exc)) from None
        finally:
            store.close()
    result = report.to_dict()
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    table = Table("planted story", "should reach review", "detected", "tier", "days to detection", "candidate")
    for s in result["stories"]:
        table.add_row(
            s["name"],
            "yes" if s["should_review"] else "no",
            (s["detected_at"] or "no")[:10],
            s["tier"] or "-",
            "-" if s["days_to_detection"] is None else f"{s['days_to_detection']:.1f}",
            s["candidate_key"] or "-",
        )
    out.print(table)
    out.print(
        f"planted stories found: {result['planted_found']}/{result['planted_expected']}; "
        f"loud one-off in review: {'yes' if result['loud_one_off_in_review'] else 'no'}; "
        f"false review candidates per week: {result['false_review_per_week']} "
        f"(mean {result['false_review_mean_per_week']}); "
        f"{result['documents']} documents in {result['seconds']} s"
    )
    for title in result["false_review_titles"]:
        out.print(f"  not planted, in review: {title}")
