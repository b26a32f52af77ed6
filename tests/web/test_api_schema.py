"""Property-based: schemathesis drives every API operation from the OpenAPI schema and
no request, however odd, may produce a server error (5xx)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from sitekeeper.store.database import Database
from tests.web.conftest import Live, seed


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, str]]:
    """One server for all examples (module scope keeps the run well under a minute)."""
    home: Path = tmp_path_factory.mktemp("schema")
    db = Database(f"sqlite:///{home / 'test.db'}")
    world = seed(db)
    live = Live(db, home / "home")
    yield live, world.admin_token
    live.stop()
    db.dispose()


def test_no_request_makes_the_api_fail(served: tuple[Live, str]) -> None:
    live, token = served
    auth = {"Authorization": f"Bearer {token}"}
    document = httpx.get(f"{live.base}/api/openapi.json", headers=auth).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        # Driven by hand (not schemathesis' pytest plugin) so it works on every pytest.
        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=live.base, headers=auth)
            case.validate_response(response, checks=[not_a_server_error])

        no_server_error()
