"""Claiming due jobs: a compare-and-set on ``next_run_at``, safe with many schedulers.

One UPDATE ... RETURNING claims a batch: the outer ``next_run_at <= now`` is
re-checked against the row version that wins, so on PostgreSQL two schedulers
never claim the same run (SKIP LOCKED keeps them from waiting on each other);
on SQLite the statement holds the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, case, cast, func, select, update

from sitekeeper.store.tables import Job

# Multiplicative hashing spreads ids evenly over [0, 1) without randomness
# (integer arithmetic, so it runs the same on SQLite and PostgreSQL). The product is
# taken in 64 bits: PostgreSQL's 32-bit integer overflows from job id 53,022 on.
_HASH_MUL, _HASH_MOD = 40503, 65536


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed run of a job: what to do, and when it was due (for lag)."""

    job_id: int
    site_id: int | None
    due_at: float


def claim_due(conn: Connection, kind: str, now: float, limit: int) -> list[Claim]:
    """Claim up to ``limit`` due jobs of ``kind`` and move each to its next run."""
    due = (
        select(Job.id)
        .where(Job.kind == kind, Job.enabled.is_(True), Job.next_run_at <= now)
        .order_by(Job.next_run_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Materialised, so the pick runs once: as a plain IN subquery PostgreSQL may re-run
    # it during the update, skip the rows just updated, and claim more than ``limit``.
    picked = due.cte("picked").prefix_with("MATERIALIZED")
    following = Job.next_run_at + Job.interval
    stmt = (
        update(Job)
        .where(Job.id.in_(select(picked.c.id)), Job.next_run_at <= now)
        .values(
            # Right-hand sides see the old row: last_due_at keeps the due time we claim.
            last_due_at=Job.next_run_at,
            next_run_at=case((following > now, following), else_=now + Job.interval),
        )
        .returning(Job.id, Job.site_id, Job.last_due_at)
        .execution_options(synchronize_session=False)
    )
    return [Claim(row[0], row[1], row[2]) for row in conn.execute(stmt)]


def respread_overdue(conn: Connection, kind: str, now: float, max_rate: float) -> int:
    """After a restart, spread overdue jobs so they don't all fire at once.

    Each overdue job is moved to ``now + u * spread`` with ``u`` a fixed
    per-job fraction; ``spread`` is what ``max_rate`` checks/s needs for the
    backlog, never more than the job's interval, so every job still runs
    within one interval of the start.
    """
    overdue = conn.scalar(
        select(func.count()).where(Job.kind == kind, Job.enabled.is_(True), Job.next_run_at < now)
    )
    if not overdue:
        return 0
    spread = overdue / max_rate
    fraction = ((cast(Job.id, BigInteger) * _HASH_MUL) % _HASH_MOD) / float(_HASH_MOD)
    window = case((Job.interval < spread, Job.interval), else_=spread)
    stmt = (
        update(Job)
        .where(Job.kind == kind, Job.enabled.is_(True), Job.next_run_at < now)
        .values(next_run_at=now + fraction * window)
        .execution_options(synchronize_session=False)
    )
    return conn.execute(stmt).rowcount
