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
        grouped[n["type"]].append(f"{n['label']} ({n['hops']})" if n["type"] != "signal" else n["id"].split(":", 1)[1])
    table = Table("type", "reached", "listed (hops)")
    for kind, count in sorted(hood.counts.items(), key=lambda kv: kv[0] == "signal"):  # entities, then signals
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
