"""Persistence: engine and sessions, tables, named queries, Alembic migrations.

Dialect quirks (SQLite vs PostgreSQL) live here and nowhere else.
"""
