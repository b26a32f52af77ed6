"""IANA's RDAP bootstrap file for domains (RFC 9224): which registry's RDAP server answers
for a top-level domain.

The file (``dns.json``, some 100 kB) changes a few times a year, so it is cached on disk
in the data directory and fetched again only after its max age; a failed refresh keeps
using the stale copy (saying so) rather than stopping every domain check. An operator's
override map (TLD -> base URL) is asked first: private registries and tests.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_BOOTSTRAP_BYTES = 4 * 1024 * 1024
MAX_SERVICES = 10_000


class BootstrapError(ValueError):
    """The bootstrap file cannot be read or parsed."""


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """TLD (or longer suffix) -> the RDAP base URL to ask, from the file and the overrides."""

    bases: dict[str, str]

    @classmethod
    def parse(cls, raw: bytes) -> Bootstrap:
        """The ``services`` of a bootstrap file; BootstrapError if it is not one.

        Each service is ``[[labels...], [urls...]]``; an https URL is preferred.
        """
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # nested too deep too
            raise BootstrapError(f"not JSON ({type(exc).__name__})") from None
        services = document.get("services") if isinstance(document, dict) else None
        if not isinstance(services, list):
            raise BootstrapError("no services list")
        bases: dict[str, str] = {}
        for service in services[:MAX_SERVICES]:
            if not (isinstance(service, list) and len(service) >= 2):
                continue
            labels, urls = service[0], service[1]
            base = _pick(urls)
            if base is None or not isinstance(labels, list):
                continue
            for label in labels:
                if isinstance(label, str) and 0 < len(label) <= 253:
                    bases[label.lower().strip(".")] = base
        if not bases:
            raise BootstrapError("no usable service")
        return cls(bases)

    def base_for(self, domain: str, overrides: Mapping[str, str] = {}) -> str | None:
        """The RDAP base for ``domain``: the longest matching suffix, overrides first."""
        labels = domain.lower().strip(".").split(".")
        for start in range(len(labels)):
            suffix = ".".join(labels[start:])
            for table in (overrides, self.bases):
                if suffix in table:
                    return _with_slash(table[suffix])
        return None


def _pick(urls: Any) -> str | None:
    """The https URL of a service, else its first http one."""
    if not isinstance(urls, list):
        return None
    found = [u for u in urls if isinstance(u, str) and u.startswith(("https://", "http://"))]
    found.sort(key=lambda u: not u.startswith("https://"))
    return found[0][:500] if found else None


def _with_slash(base: str) -> str:
    return base if base.endswith("/") else base + "/"


class BootstrapCache:
    """The bootstrap file on disk (``path``), with its age read from the file's mtime."""

    def __init__(self, path: Path, max_age: float) -> None:
        self.path = path
        self.max_age = max_age

    def fresh(self, now: float | None = None) -> bool:
        """Whether the cached copy is younger than the max age."""
        try:
            age = (now or time.time()) - self.path.stat().st_mtime
        except OSError:
            return False
        return 0 <= age < self.max_age

    def load(self) -> Bootstrap | None:
        """The cached copy, or None if there is none or it no longer parses."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        try:
            return Bootstrap.parse(raw[:MAX_BOOTSTRAP_BYTES])
        except BootstrapError:
            return None

    def store(self, raw: bytes) -> None:
        """Replace the cached copy atomically (a concurrent reader sees old or new)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(raw)
        partial.replace(self.path)
