"""`riskmine models …`: train, evaluate and list the risk models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from riskmine.models.baseline import BaselineConfig, ThresholdRule
from riskmine.models.corpus import CorpusError, InsufficientDataError, as_served, default_corpus_path, load_corpus
from riskmine.models.encoder.load import EncoderUnavailable
from riskmine.models.registry import (
    MODEL_NAMES,
    ModelLoadError,
    ModelNotFoundError,
    current_version,
    list_versions,
    load_model,
    read_card,
    serving_name,
    set_current,
    write_card,
)

app = typer.Typer(help="Train, evaluate and list the risk models.", no_args_is_help=True)
out = Console(soft_wrap=True)  # messages hold paths: never break them across lines
err = Console(stderr=True, soft_wrap=True)

_USER_ERRORS = (CorpusError, InsufficientDataError, ModelNotFoundError, ModelLoadError, EncoderUnavailable)
_MODEL_HELP = "risk-baseline or risk-cascade (default: the one served, RISKMINE_RISK_MODEL)"


def _model_name(model: str | None, settings: Any) -> str:
    if model is None:
        return serving_name(settings)
    if model not in MODEL_NAMES:
        raise _fail(ValueError(f"--model must be one of {', '.join(MODEL_NAMES)}, got {model!r}"))
    return model


def _settings() -> Any:
    from riskmine.settings import get_settings

    return get_settings()


def _fail(exc: Exception) -> typer.Exit:
    code = getattr(exc, "code", "error")
    err.print(f"[bold red]error[/bold red] ({code}): {exc}", markup=True, highlight=False)
    return typer.Exit(code=2)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("–" if value is None else str(value))


@app.command()
def train(
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--corpus", help="labels JSONL file or folder (default: RISKMINE_CORPUS_PATH or the bundled corpus)"
        ),
    ] = None,
    with_feedback: Annotated[
        Path | None, typer.Option("--with-feedback", help="JSONL of analyst-labelled rows appended to train")
    ] = None,
    threshold_rule: Annotated[
        str, typer.Option("--threshold-rule", help="max_f1 (default) or min_precision")
    ] = "max_f1",
    min_precision: Annotated[float, typer.Option(help="precision floor for --threshold-rule min_precision")] = 0.9,
    promote: Annotated[bool, typer.Option("--promote/--no-promote", help="serve the new version")] = True,
    cascade: Annotated[
        bool, typer.Option("--cascade", help="also train the transformer head and the cascade (needs the ml extra)")
    ] = False,
    max_share: Annotated[float, typer.Option(help="with --cascade: most dev texts sent to the transformer")] = 0.10,
    source_thresholds: Annotated[
        bool,
        typer.Option(
            "--source-thresholds/--no-source-thresholds",
            help="also choose a threshold per source type on out-of-source scores (5 folds of source groups; "
            "off by default: on held-out sources it lowered the recall on texts that state harm)",
        ),
    ] = False,
    transformer: Annotated[
        str,
        typer.Option(
            help="with --cascade: finetune (the encoder fine-tuned, better; ~30 min on 2 cores) or head "
            "(logistic regression on frozen embeddings; minutes)"
        ),
    ] = "finetune",
    measured: Annotated[
        bool,
        typer.Option(
            "--measured-finetune",
            help="with --cascade: fine-tune as the held-out comparison did (top 4 layers, 1 epoch, 96 tokens, "
            "one thread; the configuration whose held-out figures docs/risk-model.md gives)",
        ),
    ] = False,
) -> None:
    """Train the baseline on the corpus's train split, choose its threshold and evaluate on dev, save it.

    With --cascade, then the transformer head on the encoder's embeddings and the cascade's band (chosen on
    dev); the cascade is saved as risk-cascade and, unless RISKMINE_RISK_MODEL says otherwise, served.
    """
    from riskmine.models.evaluate import render_evaluation
    from riskmine.models.training import train_and_register

    if threshold_rule not in ("max_f1", "min_precision"):
        raise _fail(ValueError(f"--threshold-rule must be max_f1 or min_precision, got {threshold_rule!r}"))
    if not 0.0 <= max_share <= 1.0:
        raise _fail(ValueError(f"--max-share must lie in [0, 1], got {max_share}"))
    if transformer not in ("finetune", "head"):
        raise _fail(ValueError(f"--transformer must be finetune or head, got {transformer!r}"))
    settings = _settings()
    config = BaselineConfig(threshold_rule=cast(ThresholdRule, threshold_rule), min_precision=min_precision)
    try:
        if cascade:
            from riskmine.models.encoder.load import require_ml

            require_ml()  # before minutes of work, not after
        with err.status("training the baseline"):
            result = train_and_register(
                settings,
                corpus_path=corpus,
                feedback=with_feedback,
                config=config,
                promote=promote,
                source_folds=5 if source_thresholds else 0,
            )
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    card = result.card
    summary = card["corpus"]
    out.print(
        f"trained [bold]{result.model.name}[/bold] version [bold]{result.version}[/bold] on "
        f"{summary['train']['examples']} texts ({summary['train']['risk']} risks) in "
        f"{card['model']['training']['seconds_total']:.1f} s; saved to {result.saved.path}"
        + (" (serving)" if promote else "")
    )
    if summary["feedback"]["path"]:
        fb = summary["feedback"]
        out.print(f"feedback {fb['path']}: {fb['added']} added to train, {fb['corrected']} corrected")
    if summary["leaked_texts"]:
        err.print(f"[yellow]warning[/yellow]: {summary['leaked_texts']} dev/test text(s) also occur in train")
    out.print(f"threshold {result.model.threshold:.4f}: {result.model.threshold_note}")
    per_source = result.model.source_thresholds
    if per_source:
        listed = ", ".join(f"{s} {t:.4f}" for s, t in sorted(per_source.items()))
        out.print(f"thresholds per source type ({result.model.source_threshold_notes.get('*', '')}): {listed}")
    if "dev" in card["evaluation"]:
        render_evaluation(card["evaluation"]["dev"], out)
    else:
        err.print("[yellow]warning[/yellow]: the corpus has no dev split; nothing evaluated")
    if cascade:
        _train_cascade(settings, result.model, corpus, with_feedback, max_share, transformer, promote, measured)


def _train_cascade(
    settings: Any,
    baseline: Any,
    corpus: Path | None,
    feedback: Path | None,
    max_share: float,
    transformer: str,
    promote: bool,
    measured: bool = False,
) -> None:
    from riskmine.models.encoder.training import HELD_OUT_FINETUNE, TransformerKind, train_cascade_and_register
    from riskmine.models.evaluate import render_evaluation

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epoch {task.fields[epoch]} loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=False, disable=not err.is_terminal) as progress:
            task = progress.add_task(
                f"training the transformer ({transformer}; a first run rebuilds the encoder)",
                total=None,
                epoch="-",
                loss="-",
            )

            def on_step(step: int, total: int, epochs: float, loss: float) -> None:
                progress.update(task, total=total, completed=step, epoch=f"{epochs:.2f}", loss=f"{loss:.4f}")

            result = train_cascade_and_register(
                settings,
                corpus_path=corpus,
                feedback=feedback,
                baseline=baseline,
                max_share=max_share,
                transformer=cast(TransformerKind, transformer),
                finetune_config=HELD_OUT_FINETUNE if measured else None,
                promote=promote,
                on_step=on_step,
            )
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    card, band = result.card, result.model.band
    dev = card["evaluation"]["dev"]
    out.print(
        f"trained [bold]{result.model.name}[/bold] version [bold]{result.version}[/bold] "
        f"(baseline {card['baseline_version']}, encoder {card['encoder']}); saved to {result.saved.path}"
        + (" (serving)" if promote and serving_name(settings) == result.model.name else "")
    )
    out.print(
        f"band [{band.low:.4f}, {band.high:.4f}) sends {dev['routed']['texts']} of {dev['examples']} dev texts "
        f"({dev['routed']['share']:.1%}) to the transformer; dev figures are optimistic (band chosen on dev)"
    )
    out.print(
        f"transformer alone on dev: F1 {card['transformer_dev']['risk']['f1']:.3f}, "
        f"{card['transformer_dev']['speed']['texts_per_second']} texts/s on one thread"
    )
    render_evaluation(dev, out)


@app.command()
def evaluate(
    version: Annotated[str | None, typer.Option("--version", help="version id (default: the serving one)")] = None,
    split: Annotated[str, typer.Option("--split", help="dev or test")] = "dev",
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="labels JSONL file or folder (default: the model's corpus)")
    ] = None,
    model_name: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
    held_out: Annotated[
        str | None,
        typer.Option(
            "--held-out",
            help="source: leave-one-source-out (train without each source group, test on it); "
            "figures go to the served baseline's card and, with --out, to a JSON file",
        ),
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="with --held-out: write the table as JSON")] = None,
    folds: Annotated[
        int | None,
        typer.Option("--folds", min=2, help="with --held-out: K folds of whole source groups instead of one per group"),
    ] = None,
) -> None:
    """Evaluate a saved version on the dev or test split; the figures are written into its card.json.

    With --held-out source: for each source group of the corpus, train the baseline on all other groups and
    test on it, then print the table (F1, macro F1, recall on texts that state harm, precision@50, hazard
    accuracy) for the model alone, with thresholds per source type, the rules alone, and the served decision.
    With --model risk-cascade as well: the cascade (fine-tuned encoder on the baseline's band) against the
    baseline trained on the same splits, fold by fold (hours on a CPU with one fold per group: use --folds).
    """
    from riskmine.models.evaluate import evaluate_model, render_evaluation

    if held_out is not None:
        if model_name == "risk-cascade":
            _held_out_cascade(held_out, corpus, out_file, folds)
        else:
            _held_out(held_out, corpus, out_file, folds)
        return
    if split not in ("dev", "test"):
        raise _fail(ValueError(f"--split must be dev or test, got {split!r}"))
    settings = _settings()
    try:
        model = load_model(version, settings, _model_name(model_name, settings))
        card = read_card(model.version, settings, model.name)
        path = corpus or Path(card.get("corpus", {}).get("path") or default_corpus_path(settings))
        data = load_corpus(path, settings=settings)
        if card.get("train_hash") and data.data_hash(["train"]) != card["train_hash"]:
            err.print(
                f"[yellow]warning[/yellow]: the train split of {path} differs from the one {model.version} was "
                "trained on; figures may be optimistic if texts moved between splits"
            )
        with err.status(f"evaluating {model.name} {model.version} on {split}"):
            metrics = evaluate_model(model, as_served(data.split(split)), split=split)
        routed = getattr(model, "last_routed", None)
        if routed is not None:
            metrics["routed"] = {"texts": routed, "share": routed / metrics["examples"]}
            out.print(
                f"the transformer decided {routed} of {metrics['examples']} texts ({routed / metrics['examples']:.1%})"
            )
        card.setdefault("evaluation", {})[split] = metrics
        write_card(model.version, card, settings, model.name)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    render_evaluation(metrics, out)


def _held_out_folds(kind: str, examples: list[Any], folds: int | None) -> list[list[str]] | None:
    from riskmine.models.heldout import source_group_folds

    if kind != "source":
        raise _fail(ValueError(f"--held-out must be 'source', got {kind!r}"))
    return source_group_folds(examples, folds) if folds else None


def _write_table(table: dict[str, Any], out_file: Path | None) -> None:
    import json

    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(table, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        out.print(f"wrote {out_file}")


def _prefixed(report: Callable[[str], Any], prefix: str) -> Callable[[str], None]:
    return lambda msg: report(prefix + msg)


def _held_out_cascade(kind: str, corpus: Path | None, out_file: Path | None, folds: int | None) -> None:
    from riskmine.models.encoder.training import cascade_fold_fit
    from riskmine.models.heldout import fit_on_train_split, held_out_table, out_of_source_predictions, render_held_out

    settings = _settings()
    tables: dict[str, Any] = {}
    try:
        data = load_corpus(corpus, settings=settings)
        examples = as_served(data.examples)
        fold_groups = _held_out_folds(kind, examples, folds)
        for name, fit in (("risk-baseline", fit_on_train_split), ("risk-cascade", cascade_fold_fit(settings))):
            with err.status(f"{name}: held-out sources") as status:
                oos = out_of_source_predictions(
                    examples, fold_groups, progress=_prefixed(status.update, f"{name}: "), fit=fit
                )
            tables[name] = held_out_table(oos)
            tables[name]["folds"] = fold_groups
            out.print(f"{name} (trained on the train and test splits of the other groups, thresholds on their dev):")
            render_held_out(tables[name], out)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    _write_table(
        {"corpus": {"path": str(data.path), "data_hash": data.data_hash(), "texts": len(data.examples)}, **tables},
        out_file,
    )


def _held_out(kind: str, corpus: Path | None, out_file: Path | None, folds: int | None = None) -> None:
    from riskmine.models.heldout import held_out_table, out_of_source_predictions, render_held_out

    settings = _settings()
    try:
        data = load_corpus(corpus, settings=settings)
        examples = as_served(data.examples)
        fold_groups = _held_out_folds(kind, examples, folds)
        with err.status("held-out sources") as status:
            oos = out_of_source_predictions(examples, fold_groups, progress=lambda msg: status.update(msg))
            table = held_out_table(oos)
            untouched = held_out_table(oos, splits=("dev", "test"))
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    table["corpus"] = {"path": str(data.path), "data_hash": data.data_hash(), "texts": len(data.examples)}
    table["dev_test_only"] = untouched
    render_held_out(table, out)
    out.print(
        "the same models and thresholds, figures on the held-out source's dev and test texts only "
        "(rules and features were developed on train texts):"
    )
    render_held_out(untouched, out)
    out.print(f"{len(table['groups'])} held-out sources; {table['seconds_training']} s of training and scoring")
    _write_table(table, out_file)
    if fold_groups is not None:
        return  # the served card keeps the leave-one-source-out table
    try:
        version = current_version(settings)
        if version is not None:
            card = read_card(version, settings)
            card.setdefault("evaluation", {})["held_out_source"] = {
                "summary": table["summary"],
                "summary_dev_test_only": untouched["summary"],
                "groups": table["groups"],
                "corpus": table["corpus"],
            }
            write_card(version, card, settings)
    except _USER_ERRORS as exc:
        err.print(f"[yellow]warning[/yellow]: the served model's card was not updated: {exc}")


@app.command("list")
def list_cmd() -> None:
    """Saved versions of each model; ▶ marks the version served, · the current version of a model not served."""
    settings = _settings()
    serving = serving_name(settings)
    found = False
    for name in MODEL_NAMES:
        versions = list_versions(settings, name)
        if not versions:
            continue
        found = True
        table = Table(title=f"{name} under {settings.models_path}" + (" (served)" if name == serving else ""))
        for col in ("", "version", "created", "train", "risks", "threshold", "dev F1", "dev PR-AUC", "hazard acc."):
            table.add_column(
                col, justify="left" if col in ("", "version", "created") else "right", no_wrap=col == "version"
            )
        for v in versions:
            card = v.card
            train_summary = card.get("corpus", {}).get("train", {})
            dev = card.get("evaluation", {}).get("dev", {})
            table.add_row(
                ("▶" if name == serving else "·") if v.current else "",
                v.version,
                str(card.get("created_at", "?"))[:16].replace("T", " "),
                str(train_summary.get("examples", "?")),
                str(train_summary.get("risk", "?")),
                _fmt(card.get("model", {}).get("threshold")),
                _fmt(dev.get("risk", {}).get("f1")),
                _fmt(dev.get("risk", {}).get("average_precision")),
                _fmt(dev.get("hazards", {}).get("accuracy")),
            )
        out.print(table)
    if not found:
        out.print(f"no trained models under {settings.models_path}; run `riskmine models train`")


@app.command()
def export(
    version: Annotated[str | None, typer.Argument(help="risk-cascade version id (default: the serving one)")] = None,
) -> None:
    """Export a cascade's fine-tuned encoder for ONNX Runtime (int8), so it is served without torch.

    Training exports it already; this is for versions trained before. Needs the `ml` extra (the torch weights)."""
    from riskmine.models.encoder.training import export_saved

    settings = _settings()
    try:
        with err.status("exporting the fine-tuned encoder to ONNX (int8) and checking it against torch"):
            summary = export_saved(settings, version)
    except (*_USER_ERRORS, ValueError) as exc:
        raise _fail(exc) from None
    out.print(
        f"exported: {summary['quantization']}, {summary['megabytes']} MiB; cosine to the fp32 encoder on "
        f"{summary['checked_texts']} dev texts: mean {summary['mean_cosine_to_fp32']}, "
        f"min {summary['min_cosine_to_fp32']}"
    )
    dev = cast(dict[str, Any], summary["dev"])
    out.print(
        f"dev F1 ({dev['dev_texts']} texts), unquantised fp32 → int8 as served: transformer alone "
        f"{dev['transformer_f1_fp32']:.4f} → {dev['transformer_f1_int8']:.4f}; cascade {dev['cascade_f1_fp32']:.4f} → "
        f"{dev['cascade_f1_int8']:.4f} ({dev['cascade_decisions_changed']} of {dev['routed']} band decisions changed)"
    )


@app.command()
def serve(
    version: Annotated[str, typer.Argument(help="version id to serve")],
    model_name: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
) -> None:
    """Point the `current` pointer at another saved version (roll back or forward)."""
    settings = _settings()
    name = _model_name(model_name, settings)
    previous = current_version(settings, name)
    try:
        set_current(version, settings, name)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    out.print(f"serving {version}" + (f" (was {previous})" if previous and previous != version else ""))
