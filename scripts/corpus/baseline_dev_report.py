"""Dev-split figures of the risk baseline with and without the hazard-sense indicators, for label and feature work.

    python scripts/corpus/baseline_dev_report.py [--cv] [--speed-rounds N]

Reads **only the train and dev rows** of riskmine/data/corpus/labels/ (test rows are skipped
as they are read, never parsed), trains the baseline on train with the threshold chosen
on dev, and prints for each configuration: F1 / precision / recall at that threshold,
PR-AUC, precision@50, hazard accuracy (and its flagged variant), harm PR-AUC, and the
texts per CPU-second of ``model.predict`` on the dev texts on one thread (interleaved
rounds, median). ``--cv`` adds 5-fold cross-validation of the risk head over train+dev
with 3 seeds (mean PR-AUC and best F1 of the out-of-fold scores), the less noisy figure
for comparing features, since dev holds only ~900 texts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from riskmine.models.baseline import BaselineConfig, BaselineRiskModel, _fit_head, train_baseline  # noqa: E402
from riskmine.models.corpus import LabelledExample, as_served, corpus_files, parse_example  # noqa: E402
from riskmine.models.evaluate import evaluate_model, measure_speed  # noqa: E402
from riskmine.models.features import FeatureConfig, build_features  # noqa: E402

LABELS = REPO / "riskmine" / "data" / "corpus" / "labels"
CONFIGS = {
    "before (no hazard-sense indicators)": BaselineConfig(features=FeatureConfig(hazard_sense=False)),
    "after (default config)": BaselineConfig(),
}


def load_train_dev(path: Path = LABELS) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """The train and dev examples as served; test rows are dropped unparsed."""
    train: list[LabelledExample] = []
    dev: list[LabelledExample] = []
    lines = [line for file in corpus_files(path) for line in file.read_text(encoding="utf-8").splitlines()]
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("split") not in ("train", "dev"):
            continue
        example = parse_example(obj, f"{path.name} line {n}")
        (train if example.split == "train" else dev).append(example)
    return as_served(train), as_served(dev)


def dev_figures(model: BaselineRiskModel, dev: list[LabelledExample]) -> dict[str, float]:
    m = evaluate_model(model, dev)
    risk, hazards, harm = m["risk"], m["hazards"], m["harm"]
    return {
        "F1": risk["f1"],
        "precision": risk["precision"],
        "recall": risk["recall"],
        "PR-AUC": risk["average_precision"],
        "P@50": risk["precision_at_k"]["value"],
        "hazard acc": hazards["accuracy"],
        "hazard acc (flagged)": hazards["accuracy_flagged"],
        "harm PR-AUC": harm.get("average_precision") or 0.0,
        "threshold": model.threshold,
    }


def best_f1(y: np.ndarray, scores: np.ndarray) -> float:
    p, r, _ = precision_recall_curve(y, scores)
    return float(np.max(np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)))


def cross_validate(
    config: BaselineConfig, examples: list[LabelledExample], seeds: tuple[int, ...]
) -> tuple[float, float]:
    """Mean (PR-AUC, best F1) of 5-fold out-of-fold risk scores over ``examples``, one value per seed."""
    y = np.array([e.is_risk for e in examples], dtype=np.int8)
    texts = [e.text for e in examples]
    aps, f1s = [], []
    for seed in seeds:
        oof = np.zeros(len(y))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
            features = build_features(config.features)
            X = features.fit_transform([texts[i] for i in tr]).tocsr()
            head = _fit_head(X, y[tr], config)
            oof[te] = head.predict_proba(features.transform([texts[i] for i in te]))[:, 1]
        aps.append(float(average_precision_score(y, oof)))
        f1s.append(best_f1(y, oof))
    return float(np.mean(aps)), float(np.mean(f1s))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cv", action="store_true", help="add 5-fold x 3-seed cross-validation over train+dev")
    ap.add_argument("--speed-rounds", type=int, default=5, help="interleaved speed rounds (median reported)")
    args = ap.parse_args()
    with threadpool_limits(1):
        train, dev = load_train_dev()
        print(f"train {len(train)} texts ({sum(e.is_risk for e in train)} risks), dev {len(dev)} texts")
        models = {name: train_baseline(train, dev, cfg) for name, cfg in CONFIGS.items()}
        for name, model in models.items():
            figures = dev_figures(model, dev)
            print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
        speeds: dict[str, list[float]] = {name: [] for name in models}
        texts = [e.text for e in dev]
        for _ in range(args.speed_rounds):
            for name, model in models.items():
                speeds[name].append(measure_speed(model, texts, repeats=2)["texts_per_cpu_second"])
        for name, values in speeds.items():
            print(f"{name}: predict {statistics.median(values):.0f} texts per CPU-second (median of {len(values)})")
        if args.cv:
            for name, cfg in CONFIGS.items():
                ap_mean, f1_mean = cross_validate(cfg, train + dev, (11, 22, 33))
                print(f"{name}: 5-fold CV over train+dev, PR-AUC {ap_mean:.4f}, best F1 {f1_mean:.4f}")


if __name__ == "__main__":
    main()
