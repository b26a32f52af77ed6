"""Helpers for the kill -9 tests: a fleet of real ``sitekeeper serve`` processes on one
PostgreSQL, the fleet simulator's sites, a loopback alert receiver, and the counts taken
afterwards (tests/engine/test_kill_processes.py)."""
