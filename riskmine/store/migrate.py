"""Copy every collection from one store into another, resumably, and verify the copy.

Written against the :class:`~riskmine.store.base.Store` Protocol only, so the same code
copies SQLite into Elasticsearch (``riskmine migrate --to es``) or into another SQLite
file (how it is tested).

* Records are read in id order (``iterate``) and written in batches with the
  ``overwrite`` policy, so writing a batch twice is harmless.
* After each batch, a checkpoint file records per collection the last id copied and
  the count. A resumed run reads the source from the start again but skips, without
  writing, every id up to the checkpoint (reads are cheap next to writes; the
  Protocol has no "ids after" filter), then goes on.
* At the end, the counts of source and target must agree per collection, and a
  sample of records (spread over the whole id range, chosen with a fixed seed) must
  be equal in both.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmine.store.base import Collection, DuplicatePolicy, Store, StoreError

CHECKPOINT_VERSION = 1


class MigrationError(StoreError):
    code = "migration_failed"


@dataclass
class CollectionProgress:
    """Where a collection's copy stands: the last id written and how many records so far."""

    last_id: str | None = None
    copied: int = 0
    done: bool = False


class Checkpoint:
    """Per-collection progress in a JSON file, replaced atomically after every batch."""

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self.state: dict[str, CollectionProgress] = {}

    @classmethod
    def load(cls, path: Path, target: str) -> Checkpoint:
        """The checkpoint at `path` (empty if none); MigrationError if it is unreadable or for another target."""
        cp = cls(path, target)
        if not path.exists():
            return cp
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"unknown checkpoint version {data.get('version')!r}")
            colls = data["collections"]
            cp.state = {
                str(name): CollectionProgress(
                    last_id=v.get("last_id"), copied=int(v.get("copied", 0)), done=bool(v.get("done", False))
                )
                for name, v in colls.items()
            }
            saved_target = data.get("target")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MigrationError(
                f"cannot read the migration checkpoint {path}: {exc}; delete it (or use --restart) to start over"
            ) from None
        if saved_target != target:
            raise MigrationError(
                f"the checkpoint {path} belongs to a migration into {saved_target!r}, not {target!r}; "
                "use --restart to start over"
            )
        return cp

    def of(self, collection: Collection) -> CollectionProgress:
        return self.state.setdefault(collection.value, CollectionProgress())

    def save(self) -> None:
        data = {
            "version": CHECKPOINT_VERSION,
            "target": self.target,
            "collections": {
                name: {"last_id": p.last_id, "copied": p.copied, "done": p.done} for name, p in self.state.items()
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)


@dataclass
class CollectionReport:
    collection: Collection
    source_count: int = 0
    target_count: int = 0
    copied: int = 0  # written in this run
    resumed_from: int = 0  # already copied by an earlier run
    sampled: int = 0
    mismatched: list[str] = field(default_factory=list)  # sampled ids that differ or are missing

    @property
    def ok(self) -> bool:
        return self.source_count == self.target_count and not self.mismatched


@dataclass
class MigrationReport:
    collections: list[CollectionReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.collections)

    def problems(self) -> list[str]:
        out = []
        for c in self.collections:
            if c.source_count != c.target_count:
                out.append(
                    f"{c.collection.value}: {c.source_count} records in the source, {c.target_count} in the target"
                )
            if c.mismatched:
                out.append(
                    f"{c.collection.value}: sampled records differ or are missing: {', '.join(c.mismatched[:5])}"
                )
        return out


Progress = Callable[[Collection, int], None]


def migrate(
    source: Store,
    target: Store,
    *,
    checkpoint: Checkpoint,
    batch_size: int = 500,
    collections: Sequence[Collection] | None = None,
    sample_size: int = 100,
    progress: Progress | None = None,
    seed: int = 9,
) -> MigrationReport:
    """Copy `collections` (default all) from `source` to `target`, resuming from `checkpoint`, then verify.

    `progress(collection, n)` is called as records are copied or skipped (n records more).
    Raises whatever the stores raise (the checkpoint keeps what was done); returns the
    report of the verification, whose ``ok`` says whether counts and samples agree.
    """
    if batch_size < 1:
        raise MigrationError(f"batch_size must be at least 1 (got {batch_size})")
    report = MigrationReport()
    for coll in collections or list(Collection):
        report.collections.append(_copy(source, target, coll, checkpoint, batch_size, sample_size, progress, seed))
    refresh = getattr(target, "refresh", None)
    if callable(refresh):
        refresh()
    for rep in report.collections:
        _verify(source, target, rep)
    return report


def _copy(
    source: Store,
    target: Store,
    coll: Collection,
    checkpoint: Checkpoint,
    batch_size: int,
    sample_size: int,
    progress: Progress | None,
    seed: int,
) -> CollectionReport:
    state = checkpoint.of(coll)
    rep = CollectionReport(coll, resumed_from=state.copied)
    rng = random.Random(f"{seed}:{coll.value}")
    sample: list[str] = []
    seen = 0
    batch: list[Any] = []

    def flush() -> None:
        target.write(coll, batch, DuplicatePolicy.overwrite)
        state.last_id = batch[-1].id
        state.copied += len(batch)
        rep.copied += len(batch)
        checkpoint.save()
        if progress:
            progress(coll, len(batch))
        batch.clear()

    skipped = 0
    for record in source.iterate(coll, batch_size=batch_size):
        seen += 1
        if len(sample) < sample_size:  # reservoir sample over every record, copied now or before
            sample.append(record.id)
        else:
            j = rng.randrange(seen)
            if j < sample_size:
                sample[j] = record.id
        if state.done or (state.last_id is not None and record.id <= state.last_id):
            skipped += 1
            if progress and skipped % batch_size == 0:
                progress(coll, batch_size)
            continue
        batch.append(record)
        if len(batch) >= batch_size:
            flush()
    if progress and skipped % batch_size:
        progress(coll, skipped % batch_size)
    if batch:
        flush()
    state.done = True
    checkpoint.save()
    rep.sampled = len(sample)
    rep.mismatched = sample  # replaced by the ids that do not match in _verify
    return rep


def _verify(source: Store, target: Store, rep: CollectionReport) -> None:
    ids = rep.mismatched
    rep.source_count = source.count(rep.collection)
    rep.target_count = target.count(rep.collection)
    theirs = {r.id: r for r in target.get_many(rep.collection, ids)}
    ours = {r.id: r for r in source.get_many(rep.collection, ids)}
    rep.mismatched = [i for i in ids if i in ours and theirs.get(i) != ours[i]]
