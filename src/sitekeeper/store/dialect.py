"""Dialect differences kept in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def upsert_insert(conn: Connection) -> Any:
    """The dialect's INSERT construct, which has ``on_conflict_do_*``."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
