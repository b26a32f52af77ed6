"""A throwaway probe kind, registered in-process, for tests of choosing a site's check kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ConfigDict

from sitekeeper.probes.registry import PROBES


class Echo:
    """A test probe kind (never checks anything): one option of its own, nothing else."""

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")

        greeting: str = "hello"


@pytest.fixture
def echo() -> Iterator[None]:
    """The ``echo`` kind registered for one test, forgotten afterwards."""
    PROBES.add("echo", Echo)  # type: ignore[arg-type]  # never asked to check
    try:
        yield
    finally:
        PROBES.remove("echo")
