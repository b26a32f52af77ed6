"""The probe registry: check kind -> probe class; the check runner looks probes up here.

A site's check kind is the ``probe`` key of its check options (``http`` when
absent, see ``domain.checks.split_check``); the rest of the options are the
probe's own settings, validated by its ``Config``. One instance of each probe
kind serves every check of the process (:class:`ProbeSet`), built with the same
limits (deadline, egress policy, DNS servers, ...).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, Self, Unpack

from pydantic import BaseModel, ValidationError

from sitekeeper.config import Settings
from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.egress.policy import site_policy
from sitekeeper.errors import ConfigError
from sitekeeper.plugins import Registry
from sitekeeper.probes.client import ClientLimits


class Probe(Protocol):
    """One probe instance checks many sites of its kind, concurrently."""

    async def check(self, url: str, options: Any = None) -> CheckResult:
        """Check one site; ``options`` is an instance of the probe's ``Config``.

        A site's failure is a result (``up=False`` with an ``ErrorCategory``),
        never an exception.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the probe is not used afterwards."""
        ...


class ProbePlugin(Protocol):
    """What a probe registers (its class): the options model and a constructor."""

    @property
    def Config(self) -> type[BaseModel]:
        """The pydantic model of the probe's per-site options."""
        ...

    def __call__(self, **limits: Unpack[ClientLimits]) -> Probe:
        """A probe with the process's limits (a probe may ignore those it has no use for)."""
        ...


PROBES: Registry[ProbePlugin] = Registry("probe", builtins=["sitekeeper.probes.http"])

log = logging.getLogger(__name__)
_CACHE_MAX = 10_000


class ProbeSet:
    """One probe per check kind for a process, made on first use, with shared limits."""

    def __init__(self, **limits: Unpack[ClientLimits]) -> None:
        self._limits = limits
        self._probes: dict[str, Probe] = {}
        # Most sites share the same few option sets: validate each once.
        self._configs: dict[tuple[str, str], BaseModel] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ProbeSet:
        """The probes of a process configured by ``settings`` (deadline, size caps, egress)."""
        return cls(
            timeout=settings.check_timeout,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
            user_agent=settings.user_agent,
            per_ip_concurrency=settings.per_ip_concurrency,
            egress=site_policy(settings),
            dns_servers=settings.dns_servers,
            dns_timeout=settings.dns_timeout,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def probe(self, kind: str) -> Probe:
        """The probe of ``kind``; ConfigError for a kind nobody registered."""
        probe = self._probes.get(kind)
        if probe is None:
            probe = self._probes[kind] = PROBES.get(kind)(**self._limits)
        return probe

    def config(self, kind: str, options: Mapping[str, Any]) -> BaseModel:
        """``options`` validated by the ``kind`` probe's Config; ConfigError if invalid."""
        key = (kind, json.dumps(options, sort_keys=True, default=str))
        cached = self._configs.get(key)
        if cached is None:
            try:
                cached = PROBES.get(kind).Config.model_validate(dict(options))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "options"
                raise ConfigError(f"invalid {kind} check option {where}: {first['msg']}") from None
            if len(self._configs) < _CACHE_MAX:
                self._configs[key] = cached
        return cached

    async def check(self, kind: str, url: str, options: Mapping[str, Any]) -> CheckResult:
        """Check ``url`` with the ``kind`` probe and the site's stored options.

        A site whose kind is not installed (a plugin removed) or whose options its
        probe refuses is reported as a failed check saying so, like any other failure.
        """
        try:
            probe, config = self.probe(kind), self.config(kind, options)
        except ConfigError as exc:
            log.warning("cannot check %s: %s", url, exc)
            return CheckResult(
                url=url,
                up=False,
                status=None,
                error=ErrorCategory.INVALID_RESPONSE,
                response_ms=None,
                checked_at=datetime.now(UTC),
                detail=str(exc),
            )
        return await probe.check(url, config)

    async def aclose(self) -> None:
        """Close every probe made so far."""
        probes, self._probes = list(self._probes.values()), {}
        for probe in probes:
            await probe.aclose()
