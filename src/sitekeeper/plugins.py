"""Plugin registry: kind -> class, per group, from our modules and entry points.

A probe, CMS, notification channel or backup target registers itself where it
is defined (``@register("probe", "http")``); third-party packages add theirs
through the ``sitekeeper.plugins`` entry-point group. Nothing central lists them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TypeVar

from sitekeeper.errors import ConfigError

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, type]] = {}
_BUILTIN_PACKAGES = ("probes", "notify", "cms", "backup")
_loaded = False


def register(group: str, kind: str) -> Callable[[type[T]], type[T]]:
    """Class decorator that files the class under ``group``/``kind``."""

    def decorate(cls: type[T]) -> type[T]:
        existing = _REGISTRY.setdefault(group, {}).get(kind)
        if existing is not None and existing is not cls:
            raise ConfigError(f"plugin {group}/{kind} registered twice: {existing} and {cls}")
        _REGISTRY[group][kind] = cls
        return cls

    return decorate


def load_all() -> None:
    """Import built-in plugin packages and entry points once, so they register."""
    global _loaded  # noqa: PLW0603 - one-time import side effect is the point
    if _loaded:
        return
    _loaded = True
    for package in _BUILTIN_PACKAGES:
        module = importlib.import_module(f"sitekeeper.{package}")
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"sitekeeper.{package}.{info.name}")
    for ep in entry_points(group="sitekeeper.plugins"):
        ep.load()


def get(group: str, kind: str) -> type:
    """The class registered as ``group``/``kind``."""
    load_all()
    try:
        return _REGISTRY[group][kind]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY.get(group, {}))) or "none"
        raise ConfigError(f"unknown {group} kind {kind!r} (known: {known})") from None


def kinds(group: str) -> list[str]:
    """Registered kinds of one group, sorted."""
    load_all()
    return sorted(_REGISTRY.get(group, {}))
