"""Versioned model artifacts and the serving pointer.

Layout under ``settings.models_path``::

    <model name>/                     e.g. risk-baseline/
        current                       one line: the version being served
        <version>/                    e.g. 20250301T101500Z-3fa9c2d1
            model.joblib              the trained model (joblib pickle: load only artifacts you made)
            card.json                 the model card: data, configuration, threshold, evaluation

A version id is the UTC training time plus the first 8 hex digits of the
training-data hash, so two models trained on the same data are recognisably so.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import sklearn

from riskmine.models.base import RiskModel
from riskmine.models.baseline import MODEL_NAME
from riskmine.models.encoder.cascade import MODEL_NAME as CASCADE_NAME
from riskmine.schema.errors import RiskmineError

if TYPE_CHECKING:
    from riskmine.settings import Settings

log = logging.getLogger(__name__)

MODEL_NAMES = (MODEL_NAME, CASCADE_NAME)
AUTO = "auto"
ARTIFACT = "model.joblib"
CARD = "card.json"
CURRENT = "current"
FILE_MODE = 0o644
DIR_MODE = 0o755


class ModelNotFoundError(RiskmineError, LookupError):
    """No trained model (or not the version asked for); says how to make one."""

    code = "model_not_found"
    status = 503


class ModelLoadError(RiskmineError, RuntimeError):
    """A stored artifact could not be loaded (damaged, or made by an incompatible library version)."""

    code = "model_load_failed"
    status = 503


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: str
    path: Path
    current: bool
    card: dict[str, Any]


def _settings(settings: Settings | None) -> Settings:
    if settings is None:
        from riskmine.settings import get_settings

        return get_settings()
    return settings


@functools.lru_cache(maxsize=1)
def ml_available() -> bool:
    """Whether the transformer's optional dependencies (the ``ml`` extra) are installed (looked up once)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


def serving_name(settings: Settings | None = None) -> str:
    """The model the classify stage serves: RISKMINE_RISK_MODEL, or for ``auto`` (the default) the cascade
    when one has been trained and the ``ml`` extra is installed, else the baseline."""
    choice = str(getattr(_settings(settings), "risk_model", AUTO) or AUTO).strip()
    if choice in MODEL_NAMES:
        return choice
    if choice != AUTO:
        raise ModelNotFoundError(
            f"RISKMINE_RISK_MODEL={choice!r} names no risk model; use {AUTO}, " + " or ".join(MODEL_NAMES)
        )
    version = current_version(settings, CASCADE_NAME)
    if version is not None and (ml_available() or exported(settings, version)):
        return CASCADE_NAME
    return MODEL_NAME


def exported(settings: Settings | None, version: str, name: str = CASCADE_NAME) -> bool:
    """Whether a saved version serves without torch: its card lists an ONNX export (written at training time)."""
    try:
        card = read_card(version, settings, name)
    except RiskmineError:  # no card, or an unreadable one: not servable without torch
        return False
    return bool((card.get("artifacts") or {}).get("onnx"))


def model_root(settings: Settings | None = None, name: str = MODEL_NAME) -> Path:
    return Path(_settings(settings).models_path) / name


def make_version(data_hash: str, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return f"{when.astimezone(UTC):%Y%m%dT%H%M%SZ}-{data_hash[:8]}"


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600 files; artifacts are readable like any other file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def current_version(settings: Settings | None = None, name: str = MODEL_NAME) -> str | None:
    pointer = model_root(settings, name) / CURRENT
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return version or None


def set_current(version: str, settings: Settings | None = None, name: str = MODEL_NAME) -> None:
    """Point serving at ``version`` (which must exist)."""
    root = model_root(settings, name)
    if not (root / version / ARTIFACT).is_file():
        known = ", ".join(v.version for v in list_versions(settings, name)) or "none"
        raise ModelNotFoundError(f"{name} has no version {version!r} under {root}; versions: {known}")
    _write_text_atomic(root / CURRENT, version + "\n")


def read_card(version: str, settings: Settings | None = None, name: str = MODEL_NAME) -> dict[str, Any]:
    path = model_root(settings, name) / version / CARD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"no model card {path}") from None
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"model card {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"model card {path} is not a JSON object")
    return data


def write_card(version: str, card: dict[str, Any], settings: Settings | None = None, name: str = MODEL_NAME) -> Path:
    path = model_root(settings, name) / version / CARD
    if not path.parent.is_dir():
        raise ModelNotFoundError(f"{name} has no version {version!r} under {path.parent.parent}")
    _write_text_atomic(path, json.dumps(card, ensure_ascii=False, indent=2, default=str) + "\n")
    return path


def list_versions(settings: Settings | None = None, name: str = MODEL_NAME) -> list[VersionInfo]:
    """Saved versions, oldest first."""
    root = model_root(settings, name)
    if not root.is_dir():
        return []
    current = current_version(settings, name)
    out = []
    for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (path / ARTIFACT).is_file():
            continue
        try:
            card = read_card(path.name, settings, name)
        except (ModelNotFoundError, ModelLoadError):
            card = {}
        out.append(VersionInfo(name, path.name, path, path.name == current, card))
    return out


def save_model(
    model: RiskModel, card: dict[str, Any], settings: Settings | None = None, *, promote: bool = True
) -> VersionInfo:
    """Write ``model`` and its card as a new version (model.version must be set); optionally serve it."""
    if not model.version:
        raise ValueError("model.version is empty; set it (make_version) before saving")
    root = model_root(settings, model.name)
    root.mkdir(parents=True, exist_ok=True)
    final = root / model.version
    if final.exists():
        raise FileExistsError(f"{final} already exists")
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{model.version}."))
    try:
        joblib.dump(model, staging / ARTIFACT, compress=3)
        write = getattr(model, "write_artifacts", None)
        if callable(write):  # files the model serves from (the transformer's ONNX export), checked as they are made
            card = {**card, "artifacts": write(staging)}
        (staging / CARD).write_text(json.dumps(card, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
        os.chmod(staging, DIR_MODE)  # mkdtemp makes 0700 directories
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if promote:
        set_current(model.version, settings, model.name)
    return VersionInfo(model.name, model.version, final, promote, card)


_cache: dict[tuple[str, float], RiskModel] = {}
_cache_lock = threading.Lock()


def load_model(version: str | None = None, settings: Settings | None = None, name: str = MODEL_NAME) -> RiskModel:
    """Load a saved version (default: the serving one), cached per process."""
    version = version or current_version(settings, name)
    root = model_root(settings, name)
    if version is None:
        raise ModelNotFoundError(
            f"no trained {name} model under {root}: run `riskmine models train` (or `riskmine demo`, which trains it)"
        )
    path = root / version / ARTIFACT
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except FileNotFoundError:
        raise ModelNotFoundError(
            f"{name} version {version!r} is missing under {root}: run `riskmine models list` to see what exists"
        ) from None
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        try:
            model = joblib.load(path)
        except Exception as exc:  # unpickling can fail in many ways; all mean the same to the user
            raise ModelLoadError(
                f"cannot load {path}: {type(exc).__name__}: {exc}; retrain with `riskmine models train`"
            ) from exc
        if not isinstance(model, RiskModel):
            raise ModelLoadError(f"{path} does not hold a risk model (got {type(model).__name__})")
        model.version = version
        bind = getattr(model, "bind", None)
        if callable(bind):  # a cascade loads its encoder lazily, from these settings
            bind(_settings(settings))
        locate = getattr(model, "locate", None)
        if callable(locate):  # and from the files saved beside it (its ONNX export)
            locate(root / version)
        trained_with = _trained_sklearn(root / version)
        if trained_with and trained_with != sklearn.__version__:
            log.warning(
                "%s %s was trained with scikit-learn %s, running %s; retrain if its scores look wrong",
                name,
                version,
                trained_with,
                sklearn.__version__,
            )
        _cache[key] = model
        return model


def _trained_sklearn(version_dir: Path) -> str | None:
    try:
        card = json.loads((version_dir / CARD).read_text(encoding="utf-8"))
        return str(card["model"]["libraries"]["scikit-learn"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_serving(settings: Settings | None = None, name: str | None = None) -> RiskModel:
    """The version the `current` pointer of ``name`` (default: :func:`serving_name`) names.

    ModelNotFoundError when none was trained."""
    return load_model(None, settings, name or serving_name(settings))


@contextlib.contextmanager
def _training_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".train.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_model(settings: Settings | None = None, corpus_path: Path | None = None, name: str | None = None) -> str:
    """The serving version id, training the model from the bundled corpus first if none exists.

    ``name`` defaults to :func:`serving_name`. If versions exist but no `current` pointer, the
    newest is promoted. If the serving artifact cannot be loaded (e.g. made by another
    scikit-learn), a new one is trained. The baseline trains in seconds on the bundled corpus;
    the cascade (only when RISKMINE_RISK_MODEL names it) in a few minutes, the first time
    rebuilding the encoder checkpoint.
    """
    settings = _settings(settings)
    name = name or serving_name(settings)
    root = model_root(settings, name)
    with _training_lock(root):
        version = current_version(settings, name)
        if version is None:
            versions = list_versions(settings, name)
            if versions:
                set_current(versions[-1].version, settings, name)
                log.info("promoted the newest %s version %s to serving", name, versions[-1].version)
                version = versions[-1].version
        if version is not None:
            try:
                load_model(version, settings, name)
                return version
            except (ModelLoadError, ModelNotFoundError) as exc:
                log.warning("%s; training a new %s", exc, name)
        if name == CASCADE_NAME:
            from riskmine.models.encoder.training import train_cascade_and_register

            return train_cascade_and_register(settings, corpus_path=corpus_path).version
        from riskmine.models.training import train_and_register

        result = train_and_register(settings, corpus_path=corpus_path)
        return result.version
