"""Print a candidate batch for reading: one line per text, keyword hits in context for long texts.

python scripts/corpus/show.py /tmp/corpus/h1.jsonl [--from 0] [--to 200] [--width 260]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from corpus_io import fail


def display(text: str, hits: list[str], width: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    if not hits:
        return flat[:width] + f"…(+{len(flat) - width})"
    spans: list[tuple[int, int]] = []
    for kw in hits:
        start = flat.find(kw)
        while start >= 0:
            spans.append((max(0, start - 60), min(len(flat), start + len(kw) + 60)))
            start = flat.find(kw, start + 1)
    spans.sort()
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    parts = [("…" if a > 0 else "") + flat[a:b] + ("…" if b < len(flat) else "") for a, b in merged[:4]]
    return f"[{len(flat)}c] " + " ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("batch", type=Path)
    ap.add_argument("--from", dest="start", type=int, default=0)
    ap.add_argument("--to", dest="stop", type=int, default=10**9)
    ap.add_argument("--width", type=int, default=260)
    args = ap.parse_args()
    if not args.batch.exists():
        fail(f"no batch file {args.batch}")
    with args.batch.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if args.start <= rec["n"] < args.stop:
                hits = ",".join(rec["hits"])
                print(f"{rec['n']}|{rec['category'] or '-'}|{hits}|{display(rec['text'], rec['hits'], args.width)}")


if __name__ == "__main__":
    main()
