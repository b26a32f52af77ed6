"""Dialect differences kept in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def upsert_insert(conn: Connection) -> Any:
    """The dialect's INSERT construct, which has ``on_conflict_do_*``."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


class unindexed(FunctionElement[str]):
    """A text column as an expression no index may serve, to steer the planner to another
    index of the query when it has no statistics to choose by: SQLite has none unless
    ANALYZE ran (sitekeeper runs none), PostgreSQL none until autovacuum analyzes."""

    type = String()
    inherit_cache = True


@compiles(unindexed)
def _concatenated(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} || '')"


@compiles(unindexed, "sqlite")
def _plus(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))  # SQLite's documented idiom
