"""The task queue: each task is claimed once, by one worker, on both dialects."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import delete, func, select

from sitekeeper.store import tasks, users
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site
from sitekeeper.store.task_tables import FAILED, OK, QUEUED, RUNNING, Task
from sitekeeper.store.web_tables import User
from tests.store.factories import NOW, baker, site

KINDS = ("check", "backup", "feeds-poll")


def _sites(db: Database, count: int) -> list[int]:
    with db.session() as s:
        owner = baker(s)
        return [site(s, owner, f"https://s{i}.example/").id for i in range(count)]


def _enqueue(db: Database, kind: str, site_id: int | None) -> tuple[int, bool]:
    with db.session() as s:
        task, created = tasks.enqueue(
            s, kind, site_id=site_id, params={}, requested_by=None, now=NOW
        )
        return task.id, created


def _status(db: Database, task_id: int) -> Task:
    with db.session() as s:
        task = tasks.get_task(s, task_id)
        assert task is not None
        return task


def test_racing_workers_claim_each_task_once(db: Database) -> None:
    site_ids = _sites(db, 50)
    queued = [_enqueue(db, kind, sid)[0] for sid in site_ids for kind in ("check", "backup")]
    queued += [_enqueue(db, "feeds-poll", None)[0] for _ in range(20)]
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        while True:
            with db.engine.begin() as conn:
                batch = tasks.claim(conn, name, NOW, 3, KINDS)
            if not batch:
                return
            with lock:
                claimed.extend((name, t.id) for t in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [task_id for _, task_id in claimed]
    assert sorted(ids) == sorted(queued), "a task was claimed twice or never"
    with db.session() as s:
        rows = {t.id: t for t in s.scalars(select(Task))}
    assert all(rows[i].status == RUNNING for i in ids)
    assert all(rows[i].worker == name for name, i in claimed), "the row names another worker"


def test_claims_the_oldest_queued_tasks_of_known_kinds_only(db: Database) -> None:
    (one,) = _sites(db, 1)
    backup, _ = _enqueue(db, "backup", one)
    check, _ = _enqueue(db, "check", one)
    other, _ = _enqueue(db, "update", one)  # a kind this worker has no handler for
    with db.engine.begin() as conn:
        first = tasks.claim(conn, "w", NOW, 1, ("check", "backup"))
        rest = tasks.claim(conn, "w", NOW, 10, ("check", "backup"))
        assert tasks.claim(conn, "w", NOW, 10, ("check", "backup")) == []
    assert [t.id for t in first] == [backup]
    assert [t.id for t in rest] == [check]
    assert (rest[0].kind, rest[0].site_id, rest[0].params) == ("check", one, {})
    assert _status(db, other).status == QUEUED
    assert _status(db, backup).started_at == NOW


def test_a_second_active_task_of_a_kind_for_a_site_is_the_first(db: Database) -> None:
    one, two = _sites(db, 2)
    first, created = _enqueue(db, "backup", one)
    assert created
    assert _enqueue(db, "backup", one) == (first, False)  # a double click
    assert _enqueue(db, "check", one)[1], "another kind is another task"
    assert _enqueue(db, "backup", two)[1], "another site is another task"
    with db.engine.begin() as conn:
        (running,) = tasks.claim(conn, "w", NOW, 1, ("backup",))
    assert _enqueue(db, "backup", one) == (first, False), "a running one counts too"
    with db.engine.begin() as conn:
        assert tasks.finish(conn, running.id, "w", {"ok": True}, NOW)
    again, created = _enqueue(db, "backup", one)
    assert created and again != first, "once it is done, a new one can be queued"
    # Site-less tasks (a feed poll) are not refused.
    assert _enqueue(db, "feeds-poll", None)[1] and _enqueue(db, "feeds-poll", None)[1]


def test_concurrent_requests_for_the_same_site_make_one_task(db: Database) -> None:
    (one,) = _sites(db, 1)
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(4)

    def click() -> None:
        barrier.wait()
        results.append(_enqueue(db, "backup", one))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({task_id for task_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_the_same_kind_with_other_parameters_is_a_conflict_not_the_first(db: Database) -> None:
    (one,) = _sites(db, 1)

    def restore(params: dict[str, object]) -> tuple[int, bool]:
        with db.session() as s:
            try:
                task, created = tasks.enqueue(
                    s, "restore", site_id=one, params=params, requested_by=None, now=NOW
                )
            except tasks.TaskConflict as exc:
                return -exc.task.id, exc.task.params == {"in_place": True}
            return task.id, created

    first, _ = restore({"in_place": True})
    assert restore({"in_place": True}) == (first, False)  # the same request: the same task
    # Another request: refused with the task already there (as it was asked for).
    assert restore({"in_place": False, "to": "before-update"}) == (-first, True)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 1


def test_concurrent_different_requests_make_one_task_and_conflicts(db: Database) -> None:
    (one,) = _sites(db, 1)
    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def click(snapshot: str) -> None:
        barrier.wait()
        with db.session() as s:
            try:
                task, _ = tasks.enqueue(
                    s, "drill", site_id=one, params={"snapshot": snapshot}, requested_by=None,
                    now=NOW,
                )  # fmt: skip
            except tasks.TaskConflict as exc:
                task = exc.task
            outcomes.append(task.params["snapshot"])

    snapshots = ["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"]
    threads = [threading.Thread(target=click, args=(snap,)) for snap in snapshots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Everyone was told about the one task that got in, whichever it was.
    assert len(outcomes) == 4 and len(set(outcomes)) == 1


def test_a_restart_fails_what_this_worker_was_running(db: Database) -> None:
    one, two = _sites(db, 2)
    mine, _ = _enqueue(db, "backup", one)
    theirs, _ = _enqueue(db, "backup", two)
    waiting, _ = _enqueue(db, "check", one)
    with db.engine.begin() as conn:
        tasks.claim(conn, "me", NOW, 1, ("backup",))
        tasks.claim(conn, "them", NOW, 1, ("backup",))
        later = NOW + timedelta(minutes=5)
        assert tasks.mark_interrupted(conn, "me", later) == 1
        # The interrupted task is not ours any more: a late finish does not overwrite it.
        assert not tasks.finish(conn, mine, "me", {"late": True}, later)
    failed = _status(db, mine)
    assert (failed.status, failed.error, failed.finished_at) == (
        FAILED,
        tasks.INTERRUPTED,
        NOW + timedelta(minutes=5),
    )
    assert failed.result is None
    assert _status(db, theirs).status == RUNNING
    assert _status(db, waiting).status == QUEUED


def test_finish_and_fail_record_the_outcome_for_the_owner_only(db: Database) -> None:
    one, two = _sites(db, 2)
    good, _ = _enqueue(db, "check", one)
    bad, _ = _enqueue(db, "check", two)
    with db.engine.begin() as conn:
        tasks.claim(conn, "w", NOW, 2, ("check",))
        assert not tasks.finish(conn, good, "intruder", {}, NOW)
        assert tasks.finish(conn, good, "w", {"up": True, "ms": 12}, NOW)
        assert tasks.fail(conn, bad, "w", "x" * 10_000, NOW, result={"run_id": 7})
        assert not tasks.fail(conn, good, "w", "too late", NOW)
    done = _status(db, good)
    assert (done.status, done.result, done.error) == (OK, {"up": True, "ms": 12}, None)
    failed = _status(db, bad)
    assert failed.status == FAILED and failed.result == {"run_id": 7}
    assert failed.error is not None and len(failed.error) == tasks.MAX_ERROR


def test_listing_filters_newest_first_with_the_site_name(db: Database) -> None:
    one, two = _sites(db, 2)
    ids = [
        _enqueue(db, "check", one)[0],
        _enqueue(db, "backup", one)[0],
        _enqueue(db, "check", two)[0],
        _enqueue(db, "feeds-poll", None)[0],
    ]
    with db.session() as s:
        everything, total = tasks.list_tasks(s, tasks.TaskFilter(), limit=2)
        assert total == 4
        assert [t.id for t, _ in everything] == [ids[3], ids[2]]
        assert [name for _, name in everything] == [None, "s1.example"]
        by_site, total = tasks.list_tasks(s, tasks.TaskFilter(site_id=one))
        assert total == 2 and [t.id for t, _ in by_site] == [ids[1], ids[0]]
        checks, _ = tasks.list_tasks(s, tasks.TaskFilter(kind="check", status=QUEUED))
        assert [t.id for t, _ in checks] == [ids[2], ids[0]]
        page2, _ = tasks.list_tasks(s, tasks.TaskFilter(), offset=2, limit=2)
        assert [t.id for t, _ in page2] == [ids[1], ids[0]]


def test_removing_a_site_or_a_user_keeps_the_store_consistent(db: Database) -> None:
    one, two = _sites(db, 2)
    with db.session() as s:
        user = users.add_user(
            s,
            email="tom@agency.example",
            role="technician",
            password="x" * 12,
            now=NOW,
        )
        task, _ = tasks.enqueue(s, "check", site_id=one, params={}, requested_by=user.id, now=NOW)
        kept, _ = tasks.enqueue(s, "check", site_id=two, params={}, requested_by=user.id, now=NOW)
        task_id, kept_id, user_id = task.id, kept.id, user.id
    with db.session() as s:
        s.execute(delete(Site).where(Site.id == one))
        s.execute(delete(User).where(User.id == user_id))
    with db.session() as s:
        assert tasks.get_task(s, task_id) is None, "a site's tasks go with it"
        survivor = tasks.get_task(s, kept_id)
        assert survivor is not None and survivor.requested_by is None


def test_finished_tasks_are_pruned_after_retention_active_ones_never(db: Database) -> None:
    one, two, three = _sites(db, 3)
    old, _ = _enqueue(db, "check", one)
    recent, _ = _enqueue(db, "check", two)
    waiting, _ = _enqueue(db, "check", three)
    with db.engine.begin() as conn:
        tasks.claim(conn, "w", NOW, 2, ("check",))
        tasks.finish(conn, old, "w", {}, NOW - timedelta(days=100))
        tasks.fail(conn, recent, "w", "refused", NOW - timedelta(days=10))
        assert tasks.prune_finished(conn, NOW - timedelta(days=90)) == 1
    with db.session() as s:
        assert {t.id for t in s.scalars(select(Task))} == {recent, waiting}
