"""Nodes of a riskmine cluster for the integration tests: the engines every node shares (OpenSearch, PostgreSQL,
Redis), a node's processes (``riskmine serve`` and ``riskmine worker``, each node with a var dir of its own, as two
hosts would have), a corpus with near duplicates, and what a run leaves behind, read for comparison."""

from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from riskmine.feeds.batches import open_batch_registry
from riskmine.queue import NAMESPACE, QUEUE_NAME
from riskmine.review.records import AuditQuery
from riskmine.review.repository import open_review_repository
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection, Store
from riskmine.store.factory import open_store
from tests.pg_server import PostgresServer

ADMIN, PASSWORD = "admin", "admin-pass-123"  # what tests.api.test_crash_recovery.Server logs in with

# ------------------------------------------------------------------------------------------------ the corpus

_PRODUCTS = {
    "充电宝": ["充电的时候冒烟了", "外壳鼓包发烫", "半夜充电起火", "用了两天就鼓包"],
    "电热毯": ["通电后冒烟", "用了一晚上就漏电", "开关处发烫冒烟", "插上电手碰到被电了一下"],
    "电动车": ["电池充电时起火", "停在楼下充电突然自燃", "电池鼓包冒烟差点爆炸", "刹车失灵下坡差点撞人"],
    "高压锅": ["用了一次就漏气", "锅盖差点飞出来", "排气阀堵住了压力很大", "把手松动烫伤了手"],
    "吹风机": ["用了十分钟就冒火花", "插头烫得不敢碰", "有一股烧焦的味道", "出风口喷火星"],
    "儿童玩具": ["小零件很容易掉下来", "孩子差点吞下去", "边缘锋利划破了手", "油漆味很重"],
}
_PLACES = ["在家里", "在宿舍", "在办公室", "在出租屋", "在老家", "在店里", "在车库", "在客厅"]
_WHEN = ["昨天晚上", "上周末", "今天早上", "前几天", "刚买回来", "用了一个月后", "上个月", "过年期间"]
_END = [
    "太危险了",
    "大家千万别买",
    "商家不给处理",
    "已经投诉了",
    "吓死人了",
    "望有关部门管管",
    "质量太差了",
    "差点出大事",
]
# long reports whose variants differ in one character, all at one place: every two are near duplicates
_NEAR = [
    "这个充电宝充电的时候冒烟了，外壳鼓包发烫，差点起火，太吓人了，大家千万别买这个牌子，商家还不给退{}",
    "电热毯通电后冒烟，还烧焦了一块，差点着火，晚上睡觉都不敢开了，质量太差，商家还不给退{}",
    "电动车停在楼下充电突然自燃，烧了好几辆车，物业说是电池的问题，太危险了，商家还不给退{}",
    "儿童玩具的小零件很容易掉下来，孩子差点吞下去，家长们一定要注意看好孩子，商家还不给退{}",
    "新买的高压锅用了一次就漏气，锅盖差点飞出来，把厨房的墙都弄脏了，太可怕了，商家还不给退{}",
    "吹风机用了十分钟就开始冒火花，还有一股烧焦的味道，插头都烫得不敢碰了，商家还不给退{}",
    "充电宝用了两天就鼓包，充电时烫手还冒烟，放在床上差点把被子点着了，真是太危险了，商家还不给退{}",
    "电动车电池充电时起火，楼道里全是烟，邻居们都吓得跑下楼了，希望有关部门查一查，商家还不给退{}",
]
_NEAR_PRODUCTS = ["充电宝", "电热毯", "电动车", "儿童玩具", "高压锅", "吹风机", "充电宝", "电动车"]
_VARIANTS = "货款换"


def _distinct(n: int) -> list[tuple[str, str]]:
    """``n`` (product, text) reports, every two differing in at least three of their five parts: none is a near
    duplicate of another (estimated Jaccard of their shingles below 0.5)."""
    combos = [
        (p, s, pl, w, e) for p, ss in _PRODUCTS.items() for s in ss for pl in _PLACES for w in _WHEN for e in _END
    ]
    random.Random(7).shuffle(combos)
    chosen: list[tuple[str, str, str, str, str]] = []
    for c in combos:
        if all(sum(a != b for a, b in zip(c, d, strict=True)) >= 3 for d in chosen):
            chosen.append(c)
            if len(chosen) == n:
                break
    return [(p, f"{w}{pl}用的{p}{s}，{e}") for p, s, pl, w, e in chosen]


@dataclass(frozen=True)
class Corpus:
    """Four submissions, two for each node: (rows of POST /api/v1/documents, rows of a station upload)."""

    posts: tuple[list[dict[str, str]], list[dict[str, str]]]
    uploads: tuple[list[dict[str, str]], list[dict[str, str]]]

    @property
    def size(self) -> int:
        return sum(len(rows) for rows in (*self.posts, *self.uploads))


def corpus(distinct: int = 160) -> Corpus:
    """``distinct`` unrelated reports, eight groups of three near duplicates and six exact duplicates of
    unrelated reports, dealt so that the members of every group are sent through both nodes."""
    parts: list[list[dict[str, str]]] = [[], [], [], []]  # post A, post B, upload A, upload B
    reports = _distinct(distinct)
    for n, (product, text) in enumerate(reports):
        parts[n % 4].append({"id": f"u{n:03d}", "text": text, "product": product})
    for g, (template, product) in enumerate(zip(_NEAR, _NEAR_PRODUCTS, strict=True)):
        for k, variant in enumerate(_VARIANTS):  # the k-th member goes to a node by turns, first A, then B
            part = (g + k) % 2 + (2 if k == 2 else 0)
            parts[part].append({"id": f"n{g}{variant}", "text": template.format(variant), "product": product})
    for d in range(6):  # an exact copy of a report the other node receives
        product, text = reports[d]
        parts[(d % 4 + 1) % 4].append({"id": f"x{d}", "text": text, "product": product})
    return Corpus((parts[0], parts[1]), (parts[2], parts[3]))


# ------------------------------------------------------------------------------------------------ a cluster


@dataclass(frozen=True)
class Cluster:
    """One deployment over the shared engines: an index prefix, a PostgreSQL database and a Redis database of its
    own (two clusters on the same engines never see each other's data)."""

    es_url: str
    es_prefix: str
    database_url: str
    queue_url: str
    models: Path

    def settings(self, var_dir: Path) -> Settings:
        return Settings(
            var_dir=var_dir,
            models_dir=self.models,
            store="es",
            es_url=self.es_url,
            es_index_prefix=self.es_prefix,
            database_url=self.database_url,
            queue_url=self.queue_url,
        )

    def env(self, var_dir: Path, **extra: str) -> dict[str, str]:
        """A node's processes' environment: their var dir, the shared engines, small batches, prompt redelivery."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMINE_")}
        env.update(
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
            RISKMINE_ENV="development",
            RISKMINE_VAR_DIR=str(var_dir),
            RISKMINE_MODELS_DIR=str(self.models),
            RISKMINE_STORE="es",
            RISKMINE_ES_URL=self.es_url,
            RISKMINE_ES_INDEX_PREFIX=self.es_prefix,
            RISKMINE_DATABASE_URL=self.database_url,
            RISKMINE_QUEUE_URL=self.queue_url,
            RISKMINE_QUEUE_REDELIVERY_SECONDS="2",
            RISKMINE_BATCH_SIZE="8",
            RISKMINE_ALERT_WORKER="false",
            **extra,
        )
        return env

    def pending_tasks(self) -> int:
        """Tasks sent and not yet acknowledged (waiting, or in a worker's hands), and dead-lettered ones."""
        import redis

        client = redis.Redis.from_url(self.queue_url)
        try:
            return sum(int(client.hlen(f"{NAMESPACE}:{QUEUE_NAME}{suffix}.msgs")) for suffix in ("", ".DQ", ".XQ"))
        finally:
            client.close()


@contextmanager
def cluster(
    name: str, es_url: str, pg: PostgresServer, redis_base: str, db: int, models: Path, var_dir: Path
) -> Iterator[Cluster]:
    """A cluster with an admin (in its PostgreSQL database); its indices dropped and database removed at the end."""
    with pg.fresh_database() as database_url:
        found = Cluster(
            es_url, f"{name}-{uuid.uuid4().hex[:8]}", database_url, redis_base.rsplit("/", 1)[0] + f"/{db}", models
        )
        UserStore.from_settings(found.settings(var_dir)).create_user(ADMIN, PASSWORD, "admin")
        try:
            yield found
        finally:
            store = open_store(found.settings(var_dir))
            try:
                drop = getattr(store, "drop", None)
                if callable(drop):
                    drop()  # the search store: its indices and templates
            finally:
                store.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300.0, say: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{say()}")
        time.sleep(0.3)


def drained(found: Cluster, store: Store, documents: int) -> bool:
    """Every document has its signal and no task is pending."""
    return store.count(Collection.signals) >= documents and found.pending_tasks() == 0


# ------------------------------------------------------------------------------------------------ what a run left

# audit fields that differ between runs by design: when, and the id of a new decision (random)
_RANDOM_TARGETS = {"decision"}


def outcome(found: Cluster, var_dir: Path) -> dict[str, Any]:
    """What a run left in the shared engines, in a form two runs can be compared by."""
    settings = found.settings(var_dir)
    store = open_store(settings)
    try:
        signals = list(store.iterate(Collection.signals))
        documents = [d.id for d in store.iterate(Collection.documents)]
        candidates = list(store.iterate(Collection.candidates))
        decisions = list(store.iterate(Collection.decisions))
    finally:
        store.close()
    groups: dict[str, set[str]] = {}
    for s in signals:
        groups.setdefault(s.duplicate_group or s.id, set()).add(s.id)
    review = open_review_repository(settings)
    events, _ = review.audit_events(AuditQuery(), limit=10_000, offset=0)
    batches, _ = open_batch_registry(settings).list(limit=500)
    return {
        "documents": sorted(documents),
        "signal_ids": sorted(s.id for s in signals),
        # who is first of a near-duplicate group (and gives it its id) depends on which worker got there first
        "duplicate_groups": sorted(sorted(members) for members in groups.values()),
        "accepted": sorted(s.id for s in signals if not s.is_duplicate),
        "risks": sorted(s.id for s in signals if s.is_risk),
        "candidates": sorted(
            (
                c.id,
                tuple(sorted(c.signal_ids)),
                c.signal_count,
                c.event_count,
                c.status.value,
                c.tier.value,
                c.merged_into,
                c.risk_level.value if c.risk_level else None,
                c.warning_color.value if c.warning_color else None,
                c.decided.model_dump_json() if c.decided else None,
            )
            for c in candidates
        ),
        "decisions": sorted(
            (
                d.candidate_id,
                d.status.value,
                d.risk_level.value if d.risk_level else None,
                d.warning_color.value if d.warning_color else None,
                tuple(m.value for m in d.measures),
                d.rationale,
                d.decided_by,
            )
            for d in decisions
        ),
        "batches": sorted(
            (b.id, b.status, b.rows, b.accepted, b.duplicates, b.rejected, tuple(sorted(b.document_ids)))
            for b in batches
        ),
        "audit": sorted(
            Counter(
                (e.actor, e.action, e.target_kind, None if e.target_kind in _RANDOM_TARGETS else e.target_id)
                for e in events
            ).items(),
            key=repr,
        ),
    }
