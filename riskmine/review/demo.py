"""The demo's review data, set up by `riskmine demo` beside the demo tree and users
(riskmine.review.users.ensure_demo_users): candidates handed down to the demo city.

Why: a candidate belongs to no organisation until an analyst assigns one, and such a candidate is
province-level (riskmine.review.orgs): a city sees only its own subtree. The demo corpus is national and
none of it comes from the demo tree's station, so without this every demo candidate is province-level and
the demo viewer, who belongs to 成都市, sees none.
"""

from __future__ import annotations

from riskmine.review import orgs, workflow
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Actor, SystemActor
from riskmine.schema import Signal
from riskmine.store.base import Collection, Store

# The demo tree's city (riskmine.review.orgs.DEMO_ORGS), where the demo viewer belongs.
DEMO_CITY = "成都市"
DEMO_SETUP = SystemActor("demo-setup")


def located_city(signal: Signal) -> str | None:
    """The city the signal's document says it comes from (its region metadata), if it names one."""
    return next((r.city for r in signal.regions if r.source == "meta" and r.city), None)


def hand_down_local_candidates(
    store: Store, db: ReviewRepository, city: str = DEMO_CITY, actor: Actor = DEMO_SETUP
) -> list[str]:
    """Assign `city` the open candidates that belong to no organisation yet and at least half of whose signals
    located in a city are located in `city`, as the province's analysts would (POST
    /api/v1/review/candidates/{id}/assign with an organisation; recorded in the audit log). Candidates an
    analyst already gave an organisation are left alone, so running it again changes nothing.
    Returns the ids of the candidates handed down (none when `city` is not in the tree)."""
    if orgs.get_org(db, city) is None:
        return []
    handed: list[str] = []
    for cand in list(store.iterate(Collection.candidates)):
        if cand.organisation or cand.status in workflow.FINAL_STATUSES:
            continue
        cities = [c for s in store.get_many(Collection.signals, cand.signal_ids) if (c := located_city(s))]
        if cities and 2 * cities.count(city) >= len(cities):
            workflow.assign(store, db, cand.id, actor, assignee=cand.assignee, organisation=city)
            handed.append(cand.id)
    return handed
