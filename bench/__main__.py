"""Run every benchmark module in this folder (or those named on the command line).

Each module exposes `main(argv: list[str]) -> None` and prints its own figures,
always as ratios against a reference measured in the same run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.targets import summary


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "main"):
            continue
        print(f"\n=== bench.{name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            module.main([])
        except Exception as exc:  # report and go on with the other benchmarks
            failed += 1
            print(f"bench.{name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"(bench.{name} took {time.perf_counter() - t0:.1f}s)", flush=True)
    table = summary()
    if table:
        print(f"\n=== targets (issue 18) ===\n{table}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
