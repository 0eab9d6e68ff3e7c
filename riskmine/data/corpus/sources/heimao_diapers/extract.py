#!/usr/bin/env python3
"""Extract 黑猫投诉 (tousu.sina.com.cn) complaint records committed by the
bageyalu160/universal-scraper-auto GitHub Actions crawler.

Reads every historical version of data/daily/*/heimao_data.json and
data/heimao/heimao_data.json from a bare/mirror git directory (standard
library only; needs the `git` binary), de-duplicates, and writes texts.jsonl.

Usage: python3 extract.py [GIT_DIR] [OUT_DIR]
"""

import json
import os
import random
import re
import subprocess
import sys
import unicodedata

REPO = "bageyalu160/universal-scraper-auto"
GIT_DIR = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/bageyalu160+universal-scraper-auto/repo"
OUT_DIR = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
SHORT = "heimao_diapers"
HAZARD = [
    "漏电",
    "触电",
    "起火",
    "着火",
    "冒烟",
    "自燃",
    "爆炸",
    "烫伤",
    "中毒",
    "过敏",
    "刹车",
    "熄火",
    "断裂",
    "受伤",
    "窒息",
    "甲醛",
    "刺鼻",
    "鼓包",
    "发烫",
    "召回",
]
MAX_ROWS, SEED = 2000, 20240601


def git(*args):
    return subprocess.run(
        ["git", "--git-dir", GIT_DIR, *list(args)], capture_output=True, text=True, check=False
    ).stdout


def clean(s):
    s = re.sub(r"<[^>]+>", " ", s or "")
    s = re.sub(r"\s+", " ", s).strip()
    return s


def norm_key(s):
    return "".join(
        ch
        for ch in s
        if not (ch.isspace() or unicodedata.category(ch).startswith("P") or unicodedata.category(ch).startswith("S"))
    )


def main():
    commits = git(
        "log", "--all", "--reverse", "--format=%H", "--", "data/daily", "data/heimao/heimao_data.json"
    ).split()
    records = {}  # complaint id -> (record, path, commit)
    for c in commits:
        for path in git("show", "--name-only", "--format=", c).splitlines():
            if not path.endswith("heimao_data.json"):
                continue
            try:
                d = json.loads(git("show", f"{c}:{path}"))
            except ValueError:
                continue
            for x in d.get("complaints", []):
                cid = str(x.get("id", ""))
                if cid and cid not in records:
                    records[cid] = (x, path, c)
    rows, seen = [], set()
    for cid in sorted(records):
        x, path, c = records[cid]
        title, content = clean(x.get("title")), clean(x.get("content"))
        text = (
            title if not content else (title + "。" + content if title and not content.startswith(title) else content)
        )
        text = text[:500]
        k = norm_key(text)
        if not k or k in seen:
            continue
        seen.add(k)
        row = {"text": text, "kind": "complaint"}
        ts = x.get("timestamp") or ""
        if ts:
            row["date"] = ts[:10]
        row.update(
            {
                "repo": REPO,
                "path": path,
                "record": cid,
                "commit_seen": c,
                "orig": {k2: x.get(k2) for k2 in ("company", "issue", "appeal", "cost", "url")},
            }
        )
        row["slice"] = "hazard_word" if any(h in text for h in HAZARD) else "random"
        rows.append(row)
    haz = [r for r in rows if r["slice"] == "hazard_word"]
    rest = [r for r in rows if r["slice"] != "hazard_word"]
    if len(rows) > MAX_ROWS:  # large-source rule: all hazard rows + equal-size seeded sample
        random.Random(SEED).shuffle(rest)
        rest = rest[: max(0, min(len(haz), MAX_ROWS - len(haz)))]
    out = haz + rest
    out.sort(key=lambda r: r["record"])
    with open(os.path.join(OUT_DIR, "texts.jsonl"), "w", encoding="utf-8") as f:
        for i, r in enumerate(out, 1):
            r = {"id": f"{SHORT}-{i}", **r}
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(
        f"commits scanned={len(commits)} unique complaint ids={len(records)} "
        f"after text dedup={len(rows)} hazard={len(haz)} written={len(out)}"
    )


if __name__ == "__main__":
    main()
