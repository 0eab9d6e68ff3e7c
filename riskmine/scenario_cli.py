"""``riskmine graph scenario``: planted stories over real background text, run through the whole system."""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
out = Console()


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

    from riskmine.pipeline import Pipeline
    from riskmine.scenarios import ScenarioConfig, ScenarioError, run_scenario
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
            # the latest step on a spinner on stderr; nothing where stderr is not a terminal
            with console.status("scenario") if console.is_terminal else nullcontext() as status:
                report = run_scenario(
                    store,
                    pipeline,
                    cfg,
                    progress=(lambda line: status.update(f"scenario {line}")) if status else (lambda line: None),
                    settings=scenario_settings,
                )
        except ScenarioError as exc:
            console.print(f"[red]error[/red] {exc}")
            raise typer.Exit(code=1) from None
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
