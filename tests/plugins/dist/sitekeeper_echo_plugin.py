"""A third-party plugin as an agency would write one: a probe and a notifier.

``tcp-echo`` checks that a TCP service on the site's host answers what it is
sent; ``filelog://PATH`` channels append each alert to a local file.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.egress.policy import EgressPolicy
from sitekeeper.notify.registry import NOTIFIERS
from sitekeeper.notify.severity import Severity
from sitekeeper.probes.client import ClientLimits
from sitekeeper.probes.registry import PROBES


class EchoOptions(BaseModel):
    """Where the service listens and the exchange expected of it."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(ge=1, le=65535)
    send: str = "ping"
    expect: str = "ping"


@PROBES.register("tcp-echo")
class EchoProbe:
    """Connects to the site's host at ``port``, sends ``send``, expects ``expect`` back."""

    Config = EchoOptions

    def __init__(self, **limits: Unpack[ClientLimits]) -> None:
        self._timeout = limits.get("timeout", 10.0)

    async def check(self, url: str, options: Any = None) -> CheckResult:
        opts = options if isinstance(options, EchoOptions) else EchoOptions.model_validate(options)
        host = urlsplit(url).hostname or ""
        started = datetime.now(UTC)
        error: ErrorCategory | None = None
        detail: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await asyncio.open_connection(host, opts.port)
                writer.write(opts.send.encode() + b"\n")
                await writer.drain()
                answer = (await reader.readline()).decode(errors="replace").strip()
                writer.close()
                await writer.wait_closed()
            if answer != opts.expect:
                error, detail = ErrorCategory.INVALID_RESPONSE, f"echo said {answer!r}"
        except TimeoutError:
            error, detail = ErrorCategory.TIMEOUT, "no echo"
        except OSError as exc:
            error, detail = ErrorCategory.REFUSED, str(exc)
        elapsed = datetime.now(UTC) - started
        return CheckResult(
            url=url,
            up=error is None,
            status=None,
            error=error,
            response_ms=round(elapsed.total_seconds() * 1000),
            checked_at=started,
            detail=detail,
        )

    async def aclose(self) -> None:
        return None


@NOTIFIERS.register("filelog")
class FileLogNotifier:
    """``filelog:///var/log/alerts.log``: one block per alert, appended."""

    def __init__(self, *, egress: EgressPolicy, timeout: float) -> None:
        self._timeout = timeout

    async def send(
        self, url: str, *, title: str, body: str, severity: Severity = Severity.INFO
    ) -> None:
        path = Path(urlsplit(url).path)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"[{severity}] {title}\n{body}\n---\n")
