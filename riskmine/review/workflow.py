"""The review workflow over candidate risks: status machine, assignment, comments, decisions,
merge and split, objections and the overdue list.

Status machine (anything else is refused with :class:`InvalidTransition`)::

    new ──▶ in_review ──▶ confirmed ──▶ disposed ──▶ closed
     │          ├──────▶ rejected ──▶ closed   (or back to in_review)
     └──────────┴──────▶ merged    (terminal; set by merge())

Every function takes the store (candidates, decisions, signals) and the review repository
(comments, objections, audit), checks the actor's role, changes what it must and appends an
audit event with the before/after of the review fields. Callers serialise writes to the store
(the API holds ``AppState.write_lock`` around these calls, like ingest and candidate refresh).
Errors are :class:`~riskmine.review.errors.ReviewError` subclasses with a stable ``code``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskmine.knowledge_graph.candidates import build_core
from riskmine.knowledge_graph.evidence import as_china_time
from riskmine.review import audit, deadlines, orgs
from riskmine.review.errors import (
    DeadlinePassed,
    InvalidTransition,
    ReviewConflict,
    ReviewError,
    ReviewForbidden,
    ReviewNotFound,
)
from riskmine.review.records import Comment, Objection, iso, now_utc
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import REVIEW_READER_ROLES, REVIEWER_ROLES, Actor, role_name
from riskmine.schema import (
    CandidateRisk,
    CandidateStatus,
    Decision,
    DispositionMeasure,
    RiskLevel,
    Signal,
    WarningColor,
    stable_id,
)
from riskmine.store.base import Collection, DuplicatePolicy, Store

S = CandidateStatus
TRANSITIONS: dict[CandidateStatus, frozenset[CandidateStatus]] = {
    S.new: frozenset({S.in_review, S.merged}),
    S.in_review: frozenset({S.confirmed, S.rejected, S.merged}),
    S.confirmed: frozenset({S.disposed}),
    S.disposed: frozenset({S.closed}),
    S.rejected: frozenset({S.closed, S.in_review}),
    S.merged: frozenset(),
    S.closed: frozenset(),
}
DECISION_STATUSES = frozenset({S.confirmed, S.rejected})
# A decision is taken on a new or in-review candidate; an advisory is drafted from a confirmed one.
DECIDABLE_STATUSES = frozenset({S.new, S.in_review})
DRAFTABLE_STATUSES = frozenset({S.confirmed, S.disposed, S.closed})
# Where assignment stops: the candidate was merged into another, or closed.
FINAL_STATUSES = frozenset({S.merged, S.closed})
MAX_COMMENT_CHARS = 5000
MAX_REASON_CHARS = 2000  # why a reviewer merged or split candidates (kept in the audit log)
MAX_RATIONALE_CHARS = 10_000
MAX_OBJECTION_CHARS = 20_000
OBJECTOR_KINDS = ("producer", "seller")


@dataclass(frozen=True)
class AllowedActions:
    """What an actor may do with a candidate now (what the console offers; the service checks again)."""

    may_review: bool  # the actor's role reviews at all
    decide: bool
    assign: bool
    next_steps: tuple[CandidateStatus, ...]  # plain status moves (decisions and merges have their own forms)
    draft: bool


def allowed_actions(cand: CandidateRisk, actor: Actor | None) -> AllowedActions:
    """The review actions open to ``actor`` (None: nobody signed in) on ``cand`` in its current status."""
    may = actor is not None and role_name(actor.role) in REVIEWER_ROLES
    steps = tuple(s for s in CandidateStatus if s in TRANSITIONS[cand.status] - DECISION_STATUSES - {S.merged})
    return AllowedActions(
        may_review=may,
        decide=may and cand.status in DECIDABLE_STATUSES,
        assign=may and cand.status not in FINAL_STATUSES,
        next_steps=steps if may else (),
        draft=may and cand.status in DRAFTABLE_STATUSES,
    )


# --- helpers ---------------------------------------------------------------------------


def require_role(actor: Actor, roles: frozenset[str], what: str) -> None:
    if role_name(actor.role) not in roles:
        raise ReviewForbidden(
            f"role {role_name(actor.role)!r} cannot {what}; it needs one of: {', '.join(sorted(roles))}"
        )


def review_view(c: CandidateRisk) -> dict[str, Any]:
    """The review-owned fields of a candidate, as recorded in the audit log."""
    return {
        "status": c.status.value,
        "assignee": c.assignee,
        "organisation": c.organisation,
        "merged_into": c.merged_into,
        "decision_id": c.decision_id,
        "due_at": iso(c.due_at) if c.due_at else None,
        "signal_count": c.signal_count,
    }


def get_candidate(store: Store, candidate_id: str) -> CandidateRisk:
    cand = store.get(Collection.candidates, candidate_id)
    if cand is None:
        raise ReviewNotFound(f"没有编号为 {candidate_id} 的候选风险")
    assert isinstance(cand, CandidateRisk)
    return cand


def signal_sources(store: Store, candidate: CandidateRisk) -> set[str]:
    """The document sources of the candidate's signals (for the organisation visibility rule)."""
    out = {e.source for e in candidate.evidence}
    missing = [sid for sid in candidate.signal_ids if sid not in {e.signal_id for e in candidate.evidence}]
    for start in range(0, len(missing), 500):
        out.update(s.document.source for s in store.get_many(Collection.signals, missing[start : start + 500]))
    return out


def can_see(store: Store, db: ReviewRepository, actor: Actor | None, candidate: CandidateRisk) -> bool:
    """Whether the actor's organisation scope covers the candidate (rule in riskmine.review.orgs)."""
    scope = orgs.scope_for(db, actor)
    if scope.everything:
        return True
    if not scope.orgs and not scope.sources:
        return False
    if candidate.organisation and candidate.organisation in scope.orgs:
        return True
    return scope.allows(candidate.organisation, signal_sources(store, candidate), orgs.known_orgs(db))


# Most candidates a full-text search scans for a scoped reader (the scope is checked on each).
MAX_SCOPED_SCAN = 10_000


def visible_candidates(
    store: Store, db: ReviewRepository, actor: Actor | None, filters: dict[str, Any], text: str | None = None
) -> list[CandidateRisk]:
    """The candidates matching ``filters`` (and full-text ``text``) that the actor's organisation scope covers:
    the one queue every list of a scoped reader starts from. Candidates are the reviewed clusters (hundreds to a
    few thousand), so they are scanned rather than indexed by scope."""
    if text:
        found: Iterable[CandidateRisk] = store.query(
            Collection.candidates, filters=filters, text=text, limit=MAX_SCOPED_SCAN
        ).items
    else:
        found = store.iterate(Collection.candidates, filters=filters)
    return [c for c in found if can_see(store, db, actor, c)]


def visible_candidate(store: Store, db: ReviewRepository, actor: Actor, candidate_id: str) -> CandidateRisk:
    """The candidate if the actor may read it; ReviewNotFound otherwise (not revealing that it exists)."""
    require_role(actor, REVIEW_READER_ROLES, "read candidates")
    cand = get_candidate(store, candidate_id)
    if not can_see(store, db, actor, cand):
        raise ReviewNotFound(f"您所在单位的范围内没有编号为 {candidate_id} 的候选风险")
    return cand


def _editable(store: Store, db: ReviewRepository, actor: Actor, candidate_id: str, what: str) -> CandidateRisk:
    require_role(actor, REVIEWER_ROLES, what)
    return visible_candidate(store, db, actor, candidate_id)


def latest_decision(store: Store, candidate: CandidateRisk) -> Decision | None:
    if not candidate.decision_id:
        return None
    found = store.get(Collection.decisions, candidate.decision_id)
    return found if isinstance(found, Decision) else None


def _save(store: Store, cand: CandidateRisk, when: datetime) -> None:
    cand.updated_at = when
    store.write(Collection.candidates, [cand], DuplicatePolicy.overwrite)


def _check_transition(cand: CandidateRisk, to: CandidateStatus) -> None:
    allowed = TRANSITIONS[cand.status]
    if to not in allowed:
        nexts = ", ".join(sorted(s.value for s in allowed)) or "none (final)"
        raise InvalidTransition(
            f"candidate {cand.id} is {cand.status.value}; it cannot move to {to.value} (allowed next: {nexts})"
        )


def _enter(store: Store, cand: CandidateRisk, to: CandidateStatus, when: datetime) -> None:
    """Set the status and the deadline that starts with it."""
    colour = None
    decision = latest_decision(store, cand)
    if decision is not None:
        colour = decision.warning_color
    cand.status = to
    deadline = deadlines.deadline_on_entry(to, cand, when, colour)
    cand.due_at = deadline.due_at if deadline else None


# --- status, assignment, comments ----------------------------------------------------------


def transition(
    store: Store,
    db: ReviewRepository,
    candidate_id: str,
    to: CandidateStatus | str,
    actor: Actor,
    *,
    now: datetime | None = None,
) -> CandidateRisk:
    """Move a candidate to status `to` along the status machine. Confirm and reject go through
    :func:`decide` (they need a decision); merge through :func:`merge`."""
    try:
        target = CandidateStatus(to)
    except ValueError:
        raise ReviewError(f"unknown status {to!r}; statuses are: {', '.join(s.value for s in S)}") from None
    cand = _editable(store, db, actor, candidate_id, "change a candidate's status")
    if target in DECISION_STATUSES:
        raise InvalidTransition(f"to mark a candidate {target.value}, record a decision (level, colour, rationale)")
    if target is S.merged:
        raise InvalidTransition("to merge a candidate, merge it into another one")
    _check_transition(cand, target)
    when = now or now_utc()
    before = review_view(cand)
    _enter(store, cand, target, when)
    _save(store, cand, when)
    audit.record(db, actor, "candidate.transition", "candidate", cand.id, before=before, after=review_view(cand))
    return cand


def assign(
    store: Store,
    db: ReviewRepository,
    candidate_id: str,
    actor: Actor,
    *,
    assignee: str | None,
    organisation: str | None = None,
    now: datetime | None = None,
) -> CandidateRisk:
    """Assign the candidate to a user (None: unassign) and, if given, to an organisation of the tree.
    A new candidate moves to in_review when it is assigned."""
    cand = _editable(store, db, actor, candidate_id, "assign candidates")
    if cand.status in FINAL_STATUSES:
        raise InvalidTransition(f"candidate {cand.id} is {cand.status.value}; it can no longer be assigned")
    if organisation is not None and orgs.get_org(db, organisation) is None:
        raise ReviewNotFound(f"no organisation {organisation!r}; see `riskmine orgs list`")
    when = now or now_utc()
    before = review_view(cand)
    cand.assignee = (assignee or "").strip() or None
    if organisation is not None:
        cand.organisation = organisation
    if cand.status is S.new and cand.assignee:
        _enter(store, cand, S.in_review, when)
    _save(store, cand, when)
    audit.record(db, actor, "candidate.assign", "candidate", cand.id, before=before, after=review_view(cand))
    return cand


def add_comment(store: Store, db: ReviewRepository, candidate_id: str, actor: Actor, text: str) -> Comment:
    """A comment by an analyst or admin on a candidate, kept in the review database."""
    cand = _editable(store, db, actor, candidate_id, "comment on candidates")
    text = (text or "").strip()
    if not text or len(text) > MAX_COMMENT_CHARS:
        raise ReviewError(f"a comment must have 1-{MAX_COMMENT_CHARS} characters")
    comment = Comment("m" + secrets.token_hex(8), cand.id, actor.username, text, iso(now_utc()))
    db.add_comment(comment, audit.entry(actor, "comment.add", "candidate", cand.id, after=comment.public()))
    return comment


def list_comments(store: Store, db: ReviewRepository, candidate_id: str, actor: Actor) -> list[Comment]:
    """The candidate's comments, oldest first."""
    cand = visible_candidate(store, db, actor, candidate_id)
    return db.comments(cand.id)


# --- decisions --------------------------------------------------------------------------------


def decide(
    store: Store,
    db: ReviewRepository,
    candidate_id: str,
    actor: Actor,
    *,
    status: CandidateStatus | str,
    risk_level: RiskLevel | str | None = None,
    warning_color: WarningColor | str | None = None,
    measures: Sequence[DispositionMeasure | str] = (),
    rationale: str,
    now: datetime | None = None,
) -> Decision:
    """Record an analyst's decision: confirm (needs risk level and warning colour) or reject a candidate
    that is new or in review. Stores a Decision, sets the candidate's status, decision_id, grade (the decided
    level and colour every output shows from now on) and deadline (a major risk, confirmed red or orange or found
    in the immediate tier: its 24-hour report, which the immediate report written here meets). Returns the Decision."""
    cand = _editable(store, db, actor, candidate_id, "decide on candidates")
    try:
        target = CandidateStatus(status)
        level = RiskLevel(risk_level) if risk_level else None
        colour = WarningColor(warning_color) if warning_color else None
        chosen = list(dict.fromkeys(DispositionMeasure(m) for m in measures))
    except ValueError as exc:
        raise ReviewError(f"invalid decision: {exc}") from None
    if target not in DECISION_STATUSES:
        raise ReviewError(f"a decision confirms or rejects; {target.value!r} is not a decision status")
    rationale = (rationale or "").strip()
    if not rationale or len(rationale) > MAX_RATIONALE_CHARS:
        raise ReviewError(f"a decision needs a rationale of 1-{MAX_RATIONALE_CHARS} characters")
    if target is S.confirmed and (level is None or colour is None):
        raise ReviewError("confirming a candidate needs a risk level (high/medium/low) and a warning colour")
    if cand.status not in DECIDABLE_STATUSES:
        raise InvalidTransition(
            f"candidate {cand.id} is {cand.status.value}; only a new or in_review candidate can be decided"
        )
    when = now or now_utc()
    before = review_view(cand)
    decision = Decision(
        candidate_id=cand.id,
        status=target,
        risk_level=level,
        warning_color=colour,
        measures=chosen,
        rationale=rationale,
        decided_by=actor.username,
        decided_at=when,
    )
    store.write(Collection.decisions, [decision], DuplicatePolicy.fail)
    cand.record_decision(decision)
    cand.status = S.in_review
    _enter(store, cand, target, when)
    _save(store, cand, when)
    audit.record(db, actor, "decision.add", "decision", decision.id, after=decision)
    audit.record(db, actor, "candidate.decide", "candidate", cand.id, before=before, after=review_view(cand))
    if target is S.confirmed:
        _immediate_report(store, db, actor, cand, decision, when)
    return decision


def _immediate_report(
    store: Store, db: ReviewRepository, actor: Actor, cand: CandidateRisk, decision: Decision, when: datetime
) -> None:
    """A confirmed major risk (immediate tier, or red/orange) gets its immediate report at once (files beside the
    review db), which meets its 24-hour deadline: the deadline is cleared and the audit says whether in time."""
    from riskmine.reports.immediate import on_candidate_confirmed

    files = on_candidate_confirmed(store, cand, decision, db.var_dir)
    if files is None:
        return
    due = cand.due_at
    if due is not None:
        cand.due_at = None
        _save(store, cand, when)
    written = {"docx": str(files.docx), "html": str(files.html), "due_at": None, "on_time": due is None or when < due}
    before = {"due_at": iso(due) if due else None}
    audit.record(db, actor, "report.immediate", "candidate", cand.id, before=before, after=written)


def decisions_of(store: Store, db: ReviewRepository, candidate_id: str, actor: Actor) -> list[Decision]:
    """The candidate's decisions, newest first."""
    cand = visible_candidate(store, db, actor, candidate_id)
    page = store.query(Collection.decisions, filters={"candidate_id": cand.id}, sort="time", limit=500)
    return [d for d in page.items if isinstance(d, Decision)]


# --- merge and split ---------------------------------------------------------------------------


def _signals(store: Store, ids: Iterable[str]) -> list[Signal]:
    ids = list(dict.fromkeys(ids))
    out: list[Signal] = []
    for start in range(0, len(ids), 500):
        out.extend(s for s in store.get_many(Collection.signals, ids[start : start + 500]) if isinstance(s, Signal))
    return out


# Signal-based fields recomputed over a candidate's new members on merge and split; the rest
# (priority, tier, statistics, scope, review fields) stays as it was until the next candidate refresh.
SIGNAL_BASED_FIELDS = (
    "title",
    "signal_ids",
    "evidence",
    "signal_count",
    "event_count",
    "counts_by_source_type",
    "counts_by_region",
    "counts_by_week",
    "first_seen",
    "last_seen",
    "brands",
    "enterprises",
    "populations",
    "harm_count",
)


def _rebuilt(base: CandidateRisk, members: list[Signal], *, new_id: str | None = None) -> CandidateRisk:
    """`base` with its signal-based fields recomputed over `members` by the candidate builder."""
    if not members:
        raise ReviewError("a candidate needs at least one stored signal")
    now = max((s.when for s in members), key=as_china_time)
    fresh = build_core(base.product_category, base.hazard, members, now=now, evidence_limit=max(len(base.evidence), 20))
    update = {name: getattr(fresh, name) for name in SIGNAL_BASED_FIELDS}
    if new_id is not None:
        update |= {"id": new_id, "key": f"{base.key}#split-{new_id}"}
    return base.model_copy(update=update, deep=True)


def merge(
    store: Store,
    db: ReviewRepository,
    target_id: str,
    source_ids: Sequence[str],
    actor: Actor,
    *,
    now: datetime | None = None,
    reason: str | None = None,
) -> CandidateRisk:
    """Merge candidates `source_ids` into `target_id`: each source becomes merged (merged_into = target,
    no deadline) and the target's signals become the union, its statistics recomputed. Returns the target.
    `reason` (the reviewer's words) is kept in the audit entries."""
    if not source_ids:
        raise ReviewError("name at least one candidate to merge into the target")
    if target_id in source_ids:
        raise ReviewError("a candidate cannot be merged into itself")
    target = _editable(store, db, actor, target_id, "merge candidates")
    if target.status in (S.merged, S.closed, S.rejected):
        raise InvalidTransition(f"candidate {target.id} is {target.status.value}; merge into an open candidate")
    sources = [_editable(store, db, actor, sid, "merge candidates") for sid in dict.fromkeys(source_ids)]
    for src in sources:
        _check_transition(src, S.merged)
    when = now or now_utc()
    before = review_view(target) | {"signal_ids": list(target.signal_ids)}
    union = list(dict.fromkeys([*target.signal_ids, *(sid for s in sources for sid in s.signal_ids)]))
    merged_target = _rebuilt(target, _signals(store, union))
    merged_target.updated_at = when
    for src in sources:
        src_before = review_view(src)
        src.status = S.merged
        src.merged_into = merged_target.id
        src.due_at = None
        src.updated_at = when
        src_after = review_view(src) | ({"reason": reason} if reason else {})
        audit.record(db, actor, "candidate.merged", "candidate", src.id, before=src_before, after=src_after)
    store.write(Collection.candidates, [merged_target, *sources], DuplicatePolicy.overwrite)
    after = (
        review_view(merged_target)
        | {
            "signal_ids": list(merged_target.signal_ids),
            "merged": [s.id for s in sources],
        }
        | ({"reason": reason} if reason else {})
    )
    audit.record(db, actor, "candidate.merge", "candidate", merged_target.id, before=before, after=after)
    return merged_target


def split(
    store: Store,
    db: ReviewRepository,
    candidate_id: str,
    signal_ids: Sequence[str],
    actor: Actor,
    *,
    now: datetime | None = None,
    reason: str | None = None,
) -> tuple[CandidateRisk, CandidateRisk]:
    """Move `signal_ids` out of a candidate into a new candidate (status in_review, same organisation).
    Returns (the reduced candidate, the new one). `reason` (the reviewer's words) is kept in the audit entries."""
    cand = _editable(store, db, actor, candidate_id, "split candidates")
    if cand.status not in (S.new, S.in_review):
        raise InvalidTransition(f"candidate {cand.id} is {cand.status.value}; only new or in_review ones can be split")
    moving = list(dict.fromkeys(signal_ids))
    unknown = [sid for sid in moving if sid not in set(cand.signal_ids)]
    if unknown:
        raise ReviewError(f"signals not in candidate {cand.id}: {', '.join(unknown[:10])}")
    staying = [sid for sid in cand.signal_ids if sid not in set(moving)]
    if not moving or not staying:
        raise ReviewError("a split moves some, not none or all, of the candidate's signals")
    when = now or now_utc()
    before = review_view(cand) | {"signal_ids": list(cand.signal_ids)}
    new_id = stable_id(cand.id, "split", *sorted(moving), prefix="c")
    if store.get(Collection.candidates, new_id) is not None:
        raise ReviewConflict(f"these signals were already split off into candidate {new_id}")
    reduced = _rebuilt(cand, _signals(store, staying))
    template = cand.model_copy(
        update={
            "status": S.in_review,
            "assignee": cand.assignee,
            "decision_id": None,
            "decided": None,
            "merged_into": None,
        }
    )
    created = _rebuilt(template, _signals(store, moving), new_id=new_id)
    created.created_at = when
    deadline = deadlines.initial_deadline(created)
    created.due_at = deadline.due_at if deadline else None
    reduced.updated_at = created.updated_at = when
    store.write(Collection.candidates, [reduced, created], DuplicatePolicy.overwrite)
    why = {"reason": reason} if reason else {}
    after = review_view(reduced) | {"signal_ids": list(reduced.signal_ids), "split_into": created.id} | why
    audit.record(db, actor, "candidate.split", "candidate", cand.id, before=before, after=after)
    audit.record(
        db,
        actor,
        "candidate.create",
        "candidate",
        created.id,
        after=review_view(created) | {"signal_ids": list(created.signal_ids), "split_from": cand.id} | why,
    )
    return reduced, created


# --- objections ------------------------------------------------------------------------------


def record_objection(
    store: Store,
    db: ReviewRepository,
    candidate_id: str,
    actor: Actor,
    *,
    objector: str,
    objector_kind: str,
    text: str,
    received_at: datetime | None = None,
    result_received_at: datetime | None = None,
) -> Objection:
    """Record an objection received at `received_at` (default now) against the candidate's latest decision.
    The 15-day window (ending on a working day) runs from `result_received_at`, when the objector received the
    result (Sichuan 第二十一条); unknown (None), from the decision, and the objection says so (deadline_basis).
    Refused with DeadlinePassed when received after the window."""
    cand = _editable(store, db, actor, candidate_id, "record objections")
    decision = latest_decision(store, cand)
    if decision is None:
        raise ReviewError(f"candidate {cand.id} has no decision to object to")
    if objector_kind not in OBJECTOR_KINDS:
        raise ReviewError(f"objector_kind must be one of: {', '.join(OBJECTOR_KINDS)}")
    objector, text = (objector or "").strip(), (text or "").strip()
    if not objector or len(objector) > 200:
        raise ReviewError("name the producer or seller objecting (1-200 characters)")
    if not text or len(text) > MAX_OBJECTION_CHARS:
        raise ReviewError(f"the objection text must have 1-{MAX_OBJECTION_CHARS} characters")
    received = deadlines.aware(received_at or now_utc())
    result_received_at = deadlines.aware(result_received_at) if result_received_at else None
    if received < decision.decided_at:
        raise ReviewError("an objection cannot be received before the decision it objects to")
    if result_received_at is not None:
        _check_result_received(result_received_at, decision, received)
    due = deadlines.objection_deadline(decision.decided_at, result_received_at)
    if received >= due:
        basis = (
            f"of {iso(result_received_at)}, when the {objector_kind} received the result"
            if result_received_at
            else f"of the decision ({iso(decision.decided_at)}), as no date of receipt was given (give "
            f"result_received_at, the day the {objector_kind} received the result, if it is known)"
        )
        raise DeadlinePassed(
            f"objection received {iso(received)} is too late: objections to decision {decision.id} were due "
            f"within {deadlines.OBJECTION_DAYS} days of the day {basis}, by {iso(due)}"
        )
    obj = Objection(
        id="o" + secrets.token_hex(8),
        candidate_id=cand.id,
        decision_id=decision.id,
        objector=objector,
        objector_kind=objector_kind,
        text=text,
        received_at=iso(received),
        deadline=iso(due),
        recorded_by=actor.username,
        status="open",
        answer=None,
        answered_by=None,
        answered_at=None,
        result_received_at=iso(result_received_at) if result_received_at else None,
    )
    db.add_objection(obj, audit.entry(actor, "objection.add", "objection", obj.id, after=obj.public()))
    from riskmine.review.alerts import objection_received  # alerts reads candidates through this module

    objection_received(db, cand, obj)  # into the alert outbox beside the review state; never fails the objection
    return obj


def _check_result_received(result_received_at: datetime, decision: Decision, received: datetime) -> None:
    """The day the objector received the result lies between the decision's day and the objection."""
    if deadlines.china_day(result_received_at) < deadlines.china_day(decision.decided_at):
        raise ReviewError(
            f"result_received_at {iso(result_received_at)} is before the decision it reports "
            f"(made {iso(decision.decided_at)}): the result cannot have been received then"
        )
    if result_received_at > received:
        raise ReviewError(
            f"result_received_at {iso(result_received_at)} is after the objection was received ({iso(received)}): "
            "an objection answers a result already received"
        )


def answer_objection(store: Store, db: ReviewRepository, objection_id: str, actor: Actor, answer: str) -> Objection:
    """Answer an open objection (once)."""
    answer = (answer or "").strip()
    if not answer or len(answer) > MAX_OBJECTION_CHARS:
        raise ReviewError(f"the answer must have 1-{MAX_OBJECTION_CHARS} characters")
    obj = db.get_objection(objection_id)
    if obj is None:
        raise ReviewNotFound(f"no objection with id {objection_id!r}")
    _editable(store, db, actor, obj.candidate_id, "answer objections")
    if obj.status != "open":
        raise ReviewConflict(f"objection {obj.id} was already answered by {obj.answered_by} at {obj.answered_at}")
    answered = Objection(
        **(
            obj.public()
            | {
                "status": "answered",
                "answer": answer,
                "answered_by": actor.username,
                "answered_at": iso(now_utc()),
            }
        )
    )
    change = audit.entry(actor, "objection.answer", "objection", obj.id, before=obj.public(), after=answered.public())
    if not db.answer_objection(answered, change):
        raise ReviewConflict(f"objection {obj.id} was answered by someone else just now")
    return answered


def list_objections(
    store: Store, db: ReviewRepository, actor: Actor, *, candidate_id: str | None = None, status: str | None = None
) -> list[Objection]:
    """Objections the actor may see (of one candidate, or all), oldest first."""
    if candidate_id is not None:
        visible_candidate(store, db, actor, candidate_id)
    out = db.objections(candidate_id=candidate_id, status=status)
    if candidate_id is None:
        require_role(actor, REVIEW_READER_ROLES, "read objections")
        seen: dict[str, bool] = {}
        for o in out:
            if o.candidate_id not in seen:
                cand = store.get(Collection.candidates, o.candidate_id)
                seen[o.candidate_id] = isinstance(cand, CandidateRisk) and can_see(store, db, actor, cand)
        out = [o for o in out if seen[o.candidate_id]]
    return out


# --- overdue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueItem:
    candidate_id: str
    title: str
    status: str
    tier: str
    organisation: str | None
    assignee: str | None
    deadline_kind: str
    due_at: str
    overdue_hours: float

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


def overdue(store: Store, db: ReviewRepository, actor: Actor, *, now: datetime | None = None) -> list[OverdueItem]:
    """Open candidates in the actor's scope whose current deadline has passed, most overdue first."""
    require_role(actor, REVIEW_READER_ROLES, "read the overdue list")
    when = now or now_utc()
    statuses = [s.value for s in deadlines.OPEN_STATUSES]
    out: list[OverdueItem] = []
    for cand in store.iterate(Collection.candidates, filters={"status": statuses}):
        deadline = deadlines.current_deadline(cand)
        if deadline is None or not deadline.overdue(when) or not can_see(store, db, actor, cand):
            continue
        out.append(
            OverdueItem(
                candidate_id=cand.id,
                title=cand.title,
                status=cand.status.value,
                tier=cand.tier.value,
                organisation=cand.organisation,
                assignee=cand.assignee,
                deadline_kind=deadline.kind.value,
                due_at=iso(deadline.due_at),
                overdue_hours=round((when - deadline.due_at).total_seconds() / 3600, 1),
            )
        )
    out.sort(key=lambda o: (-o.overdue_hours, o.candidate_id))
    return out
