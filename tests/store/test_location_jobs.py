"""Which sites each check location checks besides the home one (``check@<location>`` jobs)."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select, update

from sitekeeper.store import plans
from sitekeeper.store.database import Database
from sitekeeper.store.location_jobs import chosen, location_kind, sync_location_jobs
from sitekeeper.store.location_tables import CheckLocation
from sitekeeper.store.locations import heard_from
from sitekeeper.store.tables import Job, Site
from tests.store import factories
from tests.store.factories import NOW

T = NOW.timestamp()


def _fleet(db: Database) -> dict[int, list[int]]:
    """Sites on plans checked from 1, 2 and 3 locations: locations wanted -> site ids."""
    fleet: dict[int, list[int]] = {}
    with db.session() as s:
        client = factories.baker(s)
        for wanted in (1, 2, 3):
            plan = plans.add_plan(
                s,
                name=f"L{wanted}",
                check_interval=60,
                price=Decimal(1),
                options={"check_locations": wanted},
            )
            contract = factories.contract(s, client, plan)
            fleet[wanted] = [
                factories.site(s, client, f"https://l{wanted}-{n}.example", contract).id
                for n in range(12)
            ]
        for name in ("default", "us-east", "ap-south"):
            heard_from(s.connection(), name, NOW)
    return fleet


def _sync(db: Database, location: str) -> tuple[int, int]:
    with db.session() as s:
        return sync_location_jobs(s, location, T, rng=random.Random(1))


def _checked_by(db: Database, location: str) -> set[int]:
    with db.session() as s:
        kind = location_kind(location)
        return set(s.scalars(select(Job.site_id).where(Job.kind == kind)))


def test_each_site_gets_the_second_opinions_its_plan_asks_for(db: Database) -> None:
    fleet = _fleet(db)
    assert _sync(db, "default") == (0, 0)  # the home location checks every site already
    _sync(db, "us-east")
    _sync(db, "ap-south")
    us, ap = _checked_by(db, "us-east"), _checked_by(db, "ap-south")
    assert not (us | ap) & set(fleet[1])  # one location wanted: the home one suffices
    assert us & ap & set(fleet[2]) == set()  # two: exactly one more location each...
    assert (us | ap) >= set(fleet[2])
    assert us & set(fleet[2]) and ap & set(fleet[2])  # ...spread over both
    assert us >= set(fleet[3]) and ap >= set(fleet[3])  # three: both others
    assert _sync(db, "us-east") == (0, 0)  # nothing changed, nothing to do


def test_a_silent_locations_sites_move_to_one_still_checking(db: Database) -> None:
    fleet = _fleet(db)
    _sync(db, "us-east")
    before = _checked_by(db, "us-east")
    with db.session() as s:
        s.execute(update(CheckLocation).where(CheckLocation.name == "ap-south").values(
            silent_since=NOW
        ))  # fmt: skip
    added, removed = _sync(db, "us-east")
    assert _checked_by(db, "us-east") == set(fleet[2]) | set(fleet[3])
    assert (added, removed) == (len(set(fleet[2]) - before), 0)


def test_a_paused_site_is_dropped(db: Database) -> None:
    fleet = _fleet(db)
    _sync(db, "us-east")
    site = fleet[3][0]
    with db.session() as s:
        s.execute(update(Site).where(Site.id == site).values(paused=True))
    assert _sync(db, "us-east") == (0, 1)
    assert site not in _checked_by(db, "us-east")


def test_the_choice_is_the_same_in_every_process_and_moves_little() -> None:
    names = ["ap-south", "eu-west", "us-east"]
    picks = {site: chosen(site, names, 1)[0] for site in range(300)}
    assert picks == {site: chosen(site, reversed(names), 1)[0] for site in range(300)}
    assert set(picks.values()) == set(names)
    without = {site: chosen(site, ["ap-south", "us-east"], 1)[0] for site in range(300)}
    moved = [s for s in picks if picks[s] != without[s]]
    assert moved == [s for s in picks if picks[s] == "eu-west"]  # only the lost one's sites
