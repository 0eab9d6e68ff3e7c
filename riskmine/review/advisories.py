"""Publication: advisories drafted from confirmed candidates, visible only after a publisher approves them.

Three audiences (Shanghai 2022 第9条): an internal bulletin (风险通报) goes to the regulators' staff,
an industry warning (风险警示) to businesses, a consumer advisory (消费提示) to the public. Nothing is
published without approval (Sichuan 第七条): a draft is seen by analysts, publishers and admins only.

Who sees a published advisory:

* internal_bulletin: admin, analyst, publisher, viewer;
* industry_warning: those, plus stations and API consumers;
* consumer_advisory: everyone, anonymous callers included (also in the Atom feed).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from xml.etree import ElementTree

from riskmine.review import audit
from riskmine.review.errors import ReviewConflict, ReviewError, ReviewNotFound
from riskmine.review.records import Advisory, iso, now_utc
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import (
    API_CONSUMER,
    INTERNAL_ROLES,
    PUBLISHER_ROLES,
    REVIEWER_ROLES,
    STATION,
    Actor,
    role_name,
)
from riskmine.review.workflow import DRAFTABLE_STATUSES, latest_decision, require_role, visible_candidate
from riskmine.schema import CandidateStatus, Decision
from riskmine.schema.labels import HAZARD_LABELS
from riskmine.store.base import Store

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 20_000
MAX_PAGE = 200
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50


class AdvisoryKind(StrEnum):
    internal_bulletin = "internal_bulletin"  # 风险通报
    industry_warning = "industry_warning"  # 风险警示
    consumer_advisory = "consumer_advisory"  # 消费提示


class AdvisoryStatus(StrEnum):
    draft = "draft"
    published = "published"


KIND_LABELS = {
    AdvisoryKind.internal_bulletin: "风险通报",
    AdvisoryKind.industry_warning: "风险警示",
    AdvisoryKind.consumer_advisory: "消费提示",
}
_LEVEL_LABELS = {"high": "高风险", "medium": "中风险", "low": "低风险"}
_COLOUR_LABELS = {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警", "green": "绿色预警"}
# Candidates in these statuses were confirmed: an advisory can be drafted from them.


def visible_kinds(actor: Actor | None) -> frozenset[AdvisoryKind]:
    """The kinds of published advisory an actor (None: anonymous) may read."""
    if actor is None:
        return frozenset({AdvisoryKind.consumer_advisory})
    role = role_name(actor.role)
    if role in INTERNAL_ROLES:
        return frozenset(AdvisoryKind)
    if role in (STATION, API_CONSUMER):
        return frozenset({AdvisoryKind.industry_warning, AdvisoryKind.consumer_advisory})
    return frozenset({AdvisoryKind.consumer_advisory})


def sees_drafts(actor: Actor | None) -> bool:
    return actor is not None and role_name(actor.role) in (REVIEWER_ROLES | PUBLISHER_ROLES)


def default_text(kind: AdvisoryKind, title: str, category: str | None, hazard: str | None, decision: Decision) -> str:
    """A first text for the draft, from the candidate and its decision (the analyst edits it)."""
    product = category or "相关产品"
    hazard_text = HAZARD_LABELS.get(hazard, hazard) if hazard else "质量安全"
    level = _LEVEL_LABELS.get(decision.risk_level.value if decision.risk_level else "", "")
    colour = _COLOUR_LABELS.get(decision.warning_color.value if decision.warning_color else "", "")
    if kind is AdvisoryKind.consumer_advisory:
        return (
            f"近期监测发现{product}存在{hazard_text}风险。请消费者选购正规渠道产品，使用时注意查看产品标识和说明书，"
            "发现异常立即停止使用，并可向市场监管部门投诉举报。"
        )
    if kind is AdvisoryKind.industry_warning:
        return (
            f"经研判，{product}存在{hazard_text}风险（{level}）。请相关生产者、销售者对照强制性标准开展自查，"
            "及时消除质量安全隐患，必要时主动召回。"
        )
    return f"{title}：经专家研判为{level}，{colour}。研判意见：{decision.rationale}"


def draft(
    store: Store,
    db: ReviewRepository,
    candidate_id: str,
    actor: Actor,
    *,
    kind: AdvisoryKind | str,
    title: str | None = None,
    body: str | None = None,
) -> Advisory:
    """Draft an advisory from a confirmed candidate (analyst or admin). Title and body default to a
    text built from the candidate and its decision. The draft is not visible to its audience yet."""
    require_role(actor, REVIEWER_ROLES, "draft advisories")
    try:
        k = AdvisoryKind(kind)
    except ValueError:
        raise ReviewError(
            f"unknown advisory kind {kind!r}; kinds are: {', '.join(x.value for x in AdvisoryKind)}"
        ) from None
    cand = visible_candidate(store, db, actor, candidate_id)
    decision = latest_decision(store, cand)
    if cand.status not in DRAFTABLE_STATUSES or decision is None or decision.status is not CandidateStatus.confirmed:
        raise ReviewError(
            f"candidate {cand.id} is {cand.status.value}; advisories are drafted from confirmed candidates"
        )
    label = KIND_LABELS[k]
    hazard = cand.hazard.value if cand.hazard else None
    title = (
        title or ""
    ).strip() or f"{label}：{cand.product_category or '相关产品'}{HAZARD_LABELS.get(hazard or '', '质量安全')}风险"
    body = (body or "").strip() or default_text(k, title, cand.product_category, hazard, decision)
    if len(title) > MAX_TITLE_CHARS:
        raise ReviewError(f"the title has {len(title)} characters; at most {MAX_TITLE_CHARS}")
    if len(body) > MAX_BODY_CHARS:
        raise ReviewError(f"the body has {len(body)} characters; at most {MAX_BODY_CHARS}")
    adv = Advisory(
        id="a" + secrets.token_hex(8),
        candidate_id=cand.id,
        kind=k.value,
        title=title,
        body=body,
        status=AdvisoryStatus.draft.value,
        organisation=cand.organisation,
        drafted_by=actor.username,
        drafted_at=iso(now_utc()),
        approved_by=None,
        published_at=None,
    )
    db.add_advisory(adv, audit.entry(actor, "advisory.draft", "advisory", adv.id, after=adv.public()))
    return adv


def approve(db: ReviewRepository, advisory_id: str, actor: Actor, *, now: datetime | None = None) -> Advisory:
    """A publisher (or admin) approves a draft: it is published to its audience from now on."""
    require_role(actor, PUBLISHER_ROLES, "approve advisories for publication")
    adv = db.get_advisory(advisory_id)
    if adv is None:
        raise ReviewNotFound(f"no advisory with id {advisory_id!r}")
    if adv.status != AdvisoryStatus.draft:
        raise ReviewConflict(f"advisory {adv.id} is already {adv.status} (approved by {adv.approved_by})")
    published = Advisory(
        **(adv.public() | {"status": "published", "approved_by": actor.username, "published_at": iso(now or now_utc())})
    )
    change = audit.entry(actor, "advisory.publish", "advisory", adv.id, before=adv.public(), after=published.public())
    if not db.publish_advisory(published, change):
        raise ReviewConflict(f"advisory {adv.id} was approved by someone else just now")
    return published


def get_advisory(db: ReviewRepository, advisory_id: str, actor: Actor | None) -> Advisory:
    """One advisory, if the actor may see it (else ReviewNotFound, not revealing it exists)."""
    adv = db.get_advisory(advisory_id)
    if adv is None or not _may_see(adv, actor):
        raise ReviewNotFound(f"no advisory with id {advisory_id!r}")
    return adv


def _may_see(adv: Advisory, actor: Actor | None) -> bool:
    if adv.status == AdvisoryStatus.draft:
        return sees_drafts(actor)
    return AdvisoryKind(adv.kind) in visible_kinds(actor)


def list_advisories(
    db: ReviewRepository,
    actor: Actor | None,
    *,
    kinds: Sequence[AdvisoryKind | str] | None = None,
    status: AdvisoryStatus | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Advisory], int]:
    """Advisories the actor may see, newest first, and how many there are. By default published ones;
    `status="draft"` lists drafts (for analysts, publishers and admins)."""
    st = AdvisoryStatus(status or AdvisoryStatus.published)
    if st is AdvisoryStatus.draft and not sees_drafts(actor):
        return [], 0
    allowed = visible_kinds(actor) if st is AdvisoryStatus.published else frozenset(AdvisoryKind)
    wanted = [k for k in (AdvisoryKind(x) for x in kinds) if k in allowed] if kinds else sorted(allowed)
    if not wanted:
        return [], 0
    return db.advisories(
        status=st.value,
        kinds=[k.value for k in wanted],
        limit=max(1, min(limit, MAX_PAGE)),
        offset=max(0, offset),
    )


def atom_feed(db: ReviewRepository, base_url: str, *, title: str = "riskmine 消费提示") -> bytes:
    """An Atom 1.0 feed (RFC 4287) of the latest published consumer advisories; every text is XML-escaped."""
    items, _ = list_advisories(db, None, kinds=[AdvisoryKind.consumer_advisory], limit=FEED_ENTRIES)
    base = base_url.rstrip("/")
    ElementTree.register_namespace("", ATOM_NS)

    def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str) -> ElementTree.Element:
        el = ElementTree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"{base}/api/v1/advisories/feed.atom")
    sub(feed, "title", title)
    sub(feed, "updated", items[0].published_at if items and items[0].published_at else iso(now_utc()))
    sub(feed, "link", rel="self", href=f"{base}/api/v1/advisories/feed.atom", type="application/atom+xml")
    author = sub(feed, "author")
    sub(author, "name", "riskmine")
    for adv in items:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base}/api/v1/advisories/{adv.id}")
        sub(entry, "title", adv.title)
        sub(entry, "updated", adv.published_at or adv.drafted_at)
        sub(entry, "published", adv.published_at or adv.drafted_at)
        sub(entry, "link", rel="alternate", href=f"{base}/api/v1/advisories/{adv.id}")
        sub(entry, "content", adv.body, type="text")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
