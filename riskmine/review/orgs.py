"""The organisation tree (province → city → county → station) and who sees what.

Organisations are named nodes kept in the review repository; a user's ``organisation`` and a
candidate's ``organisation`` name one. A station's submissions carry the document source
``station:<organisation name>``, set by the server (see riskmine.review.roles.submission_source).

Visibility rule (what "a user sees data of their own subtree" means):

* nobody sees a candidate without logging in; an admin sees everything; an api_consumer sees no
  candidates (published advisories only);
* a user whose organisation is in the tree sees a candidate when the candidate's
  ``organisation`` is in the user's subtree, or when one of the candidate's signals came
  from a station source (``station:<name>``) of an organisation in that subtree;
* a candidate with no organisation and no station signal of a known organisation is
  province-level: it is seen by users whose organisation is a province (a root of the
  tree) and by the assessment centre above it;
* analysts, publishers and viewers whose organisation is not in the tree (or unset) belong
  to the assessment centre (风评机构) that runs the analysis, above every province: they see
  everything;
* a station user whose organisation is not in the tree sees only the candidates built from its
  own submissions (source ``station:<organisation or username>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskmine.review import audit
from riskmine.review.errors import ReviewConflict, ReviewError, ReviewNotFound
from riskmine.review.records import Org, OrgLevel, iso, now_utc
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import ADMIN, API_CONSUMER, STATION, Actor, role_name
from riskmine.schema.enums import STATION_SOURCE_PREFIX, station_source
from riskmine.store.base import Collection, Store

MAX_ORG_NAME_CHARS = 100
MAX_KNOWN = 10_000


_RANK = {OrgLevel.province: 0, OrgLevel.city: 1, OrgLevel.county: 2, OrgLevel.station: 3}

# Demo tree: a province, a city, a county and a station under it.
DEMO_ORGS: tuple[tuple[str, OrgLevel, str | None], ...] = (
    ("四川省", OrgLevel.province, None),
    ("成都市", OrgLevel.city, "四川省"),
    ("武侯区", OrgLevel.county, "成都市"),
    ("武侯区产品质量监测站", OrgLevel.station, "武侯区"),
)


def _parse_level(level: str | OrgLevel) -> OrgLevel:
    try:
        return OrgLevel(level)
    except ValueError:
        raise ReviewError(
            f"unknown organisation level {level!r}; levels are: {', '.join(x.value for x in OrgLevel)}"
        ) from None


def get_org(db: ReviewRepository, name: str) -> Org | None:
    return db.get_org(name)


def add_org(db: ReviewRepository, name: str, level: str | OrgLevel, parent: str | None, actor: Actor) -> Org:
    """Add an organisation under `parent` (None for a province). A child ranks below its parent:
    city under a province, county under a city, a station under any of them."""
    name = (name or "").strip()
    if not name or len(name) > MAX_ORG_NAME_CHARS:
        raise ReviewError(f"organisation name must be 1-{MAX_ORG_NAME_CHARS} characters")
    lvl = _parse_level(level)
    parent = parent.strip() if parent else None
    if db.get_org(name) is not None:
        raise ReviewConflict(f"organisation {name!r} already exists; names are unique across the tree")
    if parent is None:
        if lvl is not OrgLevel.province:
            raise ReviewError(f"a {lvl.value} needs a parent organisation; only a province is a root")
    else:
        p = db.get_org(parent)
        if p is None:
            raise ReviewNotFound(f"no parent organisation {parent!r}; add it first (riskmine orgs add)")
        if p.level is OrgLevel.station:
            raise ReviewError(f"{parent!r} is a station; a station has no organisations under it")
        if lvl is not OrgLevel.station and _RANK[lvl] != _RANK[p.level] + 1:
            raise ReviewError(
                f"a {lvl.value} cannot sit under the {p.level.value} {parent!r}: "
                "the tree is province → city → county, with stations under any of them"
            )
    org = Org(name, lvl, parent, iso(now_utc()))
    db.add_org(org, audit.entry(actor, "org.add", "org", name, after=org.public()))
    return org


def list_orgs(db: ReviewRepository) -> list[Org]:
    return db.list_orgs()


def tree(db: ReviewRepository) -> list[dict[str, Any]]:
    """The organisations as nested dicts: {name, level, children: [...]}, roots first, children by name."""
    orgs = list_orgs(db)
    nodes: dict[str, dict[str, Any]] = {o.name: {"name": o.name, "level": o.level.value, "children": []} for o in orgs}
    roots: list[dict[str, Any]] = []
    for o in orgs:
        if o.parent and o.parent in nodes:
            nodes[o.parent]["children"].append(nodes[o.name])
        else:
            roots.append(nodes[o.name])
    return roots


def tree_lines(db: ReviewRepository) -> list[str]:
    """The tree drawn as indented lines, e.g. for the command line."""
    out: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        out.append(f"{'  ' * depth}{node['name']} ({node['level']})")
        for child in node["children"]:
            walk(child, depth + 1)

    for root in tree(db):
        walk(root, 0)
    return out


def subtree(db: ReviewRepository, name: str) -> frozenset[str]:
    """The organisation and every organisation below it (empty when it is not in the tree)."""
    return db.subtree(name)


def ensure_demo_orgs(db: ReviewRepository, actor: Actor) -> list[Org]:
    """Create the demo tree (四川省 → 成都市 → 武侯区 → 武侯区产品质量监测站) where missing."""
    out = []
    for name, level, parent in DEMO_ORGS:
        org = get_org(db, name) or add_org(db, name, level, parent, actor)
        out.append(org)
    return out


@dataclass(frozen=True)
class Scope:
    """What part of the candidates a user sees (see the module docstring for the rule)."""

    everything: bool = False
    orgs: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    province_level: bool = False  # sees candidates that belong to no organisation

    def allows(self, organisation: str | None, signal_sources: Iterable[str], known_orgs: frozenset[str]) -> bool:
        """Whether a candidate with this organisation and these signal sources is visible.
        `known_orgs` are all organisations in the tree (to tell province-level candidates apart)."""
        if self.everything:
            return True
        if organisation and organisation in self.orgs:
            return True
        sources = set(signal_sources)
        if sources & self.sources:
            return True
        if self.province_level and not (organisation and organisation in known_orgs):
            station_orgs = {s[len(STATION_SOURCE_PREFIX) :] for s in sources if s.startswith(STATION_SOURCE_PREFIX)}
            return not (station_orgs & known_orgs)
        return False


def scope_for(db: ReviewRepository, actor: Actor | None) -> Scope:
    """The scope of a user; None (nobody logged in) sees no candidate: they are unpublished (Sichuan 第七条)."""
    if actor is None:
        return Scope()
    role = role_name(actor.role)
    if role == ADMIN:
        return Scope(everything=True)
    if role == API_CONSUMER:
        return Scope()
    org = get_org(db, actor.organisation) if actor.organisation else None
    if org is None:
        if role == STATION:
            return Scope(sources=frozenset({station_source(actor.organisation or actor.username)}))
        return Scope(everything=True)  # the assessment centre, above the provinces
    names = subtree(db, org.name)
    return Scope(
        orgs=names,
        sources=frozenset(station_source(n) for n in names),
        province_level=org.parent is None,
    )


def known_orgs(db: ReviewRepository) -> frozenset[str]:
    return db.org_names()


def known_organisations(db: ReviewRepository, store: Store) -> frozenset[str]:
    """Every organisation name the system knows: the tree, the organisations responsible for candidates, and the
    stations that submitted data (source ``station:<name>``)."""
    names = set(db.org_names())
    names.update(str(b.key) for b in store.aggregate(Collection.candidates, "organisation", size=MAX_KNOWN) if b.key)
    for bucket in store.aggregate(Collection.signals, "source", size=MAX_KNOWN):
        if isinstance(bucket.key, str) and bucket.key.startswith(STATION_SOURCE_PREFIX):
            names.add(bucket.key[len(STATION_SOURCE_PREFIX) :])
    return frozenset(names)
