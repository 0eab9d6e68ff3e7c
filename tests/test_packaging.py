"""A plain (non-editable) install finds the bundled corpus, demo corpus and disambiguation set.

The cheap check: every default data path lies inside the package and is declared as package-data.
The slow check builds the wheel from a copy of the source (no network: no index, no build isolation),
installs it into a fresh virtual environment and reads the data from outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from riskmine.models.corpus import CORPUS_ENV, default_corpus_path
from riskmine.nlp.disambiguate import LABELS_PATH
from riskmine.settings import (
    BUNDLED_CORPUS,
    BUNDLED_DEMO,
    BUNDLED_DISAMBIGUATION,
    DATA_DIR,
    PACKAGE_DIR,
    Settings,
)

REPO = Path(__file__).resolve().parents[1]


def _bundled_files() -> list[Path]:
    """The data files riskmine reads at run time, and the notes saying what they are and where they came from."""
    shards = sorted(BUNDLED_CORPUS.glob("*.jsonl"))
    assert shards, f"no corpus shards in {BUNDLED_CORPUS}"
    notes = [DATA_DIR / "corpus" / "README.md", DATA_DIR / "corpus" / "GUIDE.md"]
    notes += [BUNDLED_DEMO.parent / "README.md", BUNDLED_DISAMBIGUATION.parent / "README.md"]
    return [*shards, BUNDLED_DEMO, BUNDLED_DISAMBIGUATION, *notes]


def _package_data() -> dict[str, list[str]]:
    with (REPO / "pyproject.toml").open("rb") as fh:
        return dict(tomllib.load(fh)["tool"]["setuptools"]["package-data"])


def test_default_data_paths_lie_inside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RISKMINE_CORPUS_PATH", "RISKMINE_DEMO_PATH", CORPUS_ENV):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    defaults = [settings.corpus_path, settings.demo_path, default_corpus_path(None), LABELS_PATH]
    assert defaults == [BUNDLED_CORPUS, BUNDLED_DEMO, BUNDLED_CORPUS, BUNDLED_DISAMBIGUATION]
    for path in defaults:
        assert path.is_relative_to(PACKAGE_DIR), f"{path} is outside the package {PACKAGE_DIR}"
        assert path.exists(), path


def test_environment_still_overrides_the_bundled_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RISKMINE_CORPUS_PATH", str(tmp_path / "labels"))
    monkeypatch.setenv("RISKMINE_DEMO_PATH", str(tmp_path / "demo.jsonl"))
    settings = Settings()
    assert (settings.corpus_path, settings.demo_path) == (tmp_path / "labels", tmp_path / "demo.jsonl")


def test_package_data_declares_every_bundled_file() -> None:
    # setuptools globs each pattern relative to its package's folder; a "*" pattern applies to every package
    # folder itself, so only the "riskmine" patterns can reach into riskmine/data/
    patterns = _package_data().get("riskmine", []) + _package_data().get("*", [])
    declared = {p.resolve() for pattern in patterns for p in PACKAGE_DIR.glob(pattern)}
    missing = [str(f.relative_to(PACKAGE_DIR)) for f in _bundled_files() if f.resolve() not in declared]
    assert not missing, f"bundled data not declared in [tool.setuptools.package-data] 'riskmine': {missing}"


def _copy_source(dest: Path) -> Path:
    """The files a wheel is built from, without build leftovers (a stale build/ or egg-info leaks into wheels)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(PACKAGE_DIR, dest / "riskmine", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


_PROBE = """
import json, sys
from pathlib import Path
import riskmine
from riskmine.models.corpus import load_corpus
from riskmine.nlp.disambiguate import load_labels
from riskmine.settings import Settings
s = Settings()
print(json.dumps({
    "package": str(Path(riskmine.__file__).resolve().parent),
    "corpus": str(s.corpus_path), "corpus_texts": len(load_corpus(s.corpus_path).examples),
    "demo": str(s.demo_path), "demo_lines": sum(1 for line in s.demo_path.open(encoding="utf-8") if line.strip()),
    "mentions": len(load_labels()),
}))
"""


@pytest.mark.slow
def test_a_plain_install_finds_the_bundled_data(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    src = _copy_source(tmp_path / "src")
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    build = [*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-q", "-w", str(wheels), str(src)]
    subprocess.run(build, check=True, capture_output=True, cwd=tmp_path, timeout=240)
    (wheel,) = wheels.glob("riskmine-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    for f in _bundled_files():
        assert f"riskmine/{f.relative_to(PACKAGE_DIR).as_posix()}" in names, f"{f} is not in {wheel.name}"
    code_in_data = sorted(n for n in names if n.startswith("riskmine/data/") and n.endswith(".py"))
    assert not code_in_data, f"build-time scripts shipped as modules: {code_in_data}"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [*pip, "--python", str(python), "install", "-q", "--no-index", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=240)
    # riskmine's dependencies come from this environment, appended after the new venv's own site-packages
    # (a .pth line, not PYTHONPATH, so that this environment's riskmine, editable or not, cannot shadow it)
    new_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (new_site / "zz_riskmine_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMINE_") and k != "PYTHONPATH"}
    out = subprocess.run(
        [str(python), "-c", _PROBE], check=True, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=240
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    installed = Path(found["package"])
    assert installed.is_relative_to(venv.resolve()), f"imported riskmine from {installed}, not the installed wheel"
    assert Path(found["corpus"]) == installed / BUNDLED_CORPUS.relative_to(PACKAGE_DIR)
    assert Path(found["demo"]) == installed / BUNDLED_DEMO.relative_to(PACKAGE_DIR)
    assert found["corpus_texts"] > 0 and found["demo_lines"] > 0 and found["mentions"] > 0, found
