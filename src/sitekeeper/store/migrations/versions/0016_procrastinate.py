"""procrastinate's schema (PostgreSQL only) and the job id a task row is carried by

Revision ID: 0016
Revises: 0015

On PostgreSQL the API's tasks are carried by procrastinate jobs (engine.dispatch); its
tables, types and functions are created here from the schema file procrastinate ships,
read at migration time, so the version installed is the version applied (the package is
pinned to one minor release in pyproject; a newer one comes with a migration that runs
its ``sql/migrations`` files). SQLite gets only the column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager  # noqa: PLC0415 - PostgreSQL only

    # exec_driver_sql: the file has no parameters, and psycopg must not read its '%'.
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Every object of procrastinate's lives in this schema and is named procrastinate_*.
        bind.exec_driver_sql(
            "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_jobs, procrastinate_workers CASCADE"
        )
        functions = bind.exec_driver_sql(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname LIKE "
            "'procrastinate%%' AND p.pronamespace = current_schema()::regnamespace"
        ).scalars()
        for function in list(functions):
            bind.exec_driver_sql(f"DROP ROUTINE IF EXISTS {function} CASCADE")
        bind.exec_driver_sql(
            "DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type, "
            "procrastinate_job_to_defer_v1 CASCADE"
        )
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("job_id")
