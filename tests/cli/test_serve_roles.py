"""``serve --role`` and ``--queues`` refused where they cannot work, before anything runs."""

from __future__ import annotations

from tests.cli.conftest import Run


def test_sqlite_runs_every_role_in_one_process(run: Run) -> None:
    result = run("serve", "--role", "worker", "--web-port", "0", ok=False)
    assert result.exit_code == 2
    assert "--role worker needs PostgreSQL" in result.stderr
    assert "one process holds the database" in result.stderr


def test_queues_are_for_workers(run: Run) -> None:
    result = run("serve", "--role", "scheduler", "--queues", "backups", ok=False)
    assert result.exit_code == 2
    assert "--queues is for workers" in result.stderr
    unknown = run("serve", "--role", "worker", "--queues", "backups,nope", ok=False)
    assert unknown.exit_code == 2
    assert "choose among tasks, scans, backups, updates, reports, feeds, schedule" in unknown.stderr


def test_a_location_is_a_plain_name(run: Run) -> None:
    result = run("serve", "--location", "eu central\x1b[31m", "--web-port", "0", ok=False)
    assert result.exit_code == 2
    assert "--location" in result.stderr and "\x1b" not in result.stderr


def test_workers_lists_nothing_before_any_serve(run: Run) -> None:
    assert run("workers", "--json").stdout.strip() == "[]"
