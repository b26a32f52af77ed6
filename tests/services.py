"""Skip, or fail under CI, when a server a test needs is not running."""

from __future__ import annotations

import os
import socket

import pytest

REQUIRE = os.environ.get("SITEKEEPER_REQUIRE_SERVICES") == "1"


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def need(name: str, host: str, port: int) -> None:
    """Skip the test (or fail it when services are required) if the server is absent."""
    if reachable(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if REQUIRE:
        pytest.fail(f"{message} (SITEKEEPER_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)
