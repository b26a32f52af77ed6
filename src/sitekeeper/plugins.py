"""Typed plugin registries: one per extension point, filled by discovery.

Each extension point (probes, CMSes, notifiers, dump engines, backup targets,
task kinds) declares one :class:`Registry` typed with its Protocol, in the
package that consumes it; a plugin adds itself where it is defined
(``@PROBES.register("http")``) and the core looks plugins up by kind, never by
import. Discovery is one mechanism for all of them: our built-in packages are
imported once, then every module of the ``sitekeeper.plugins`` entry-point
group, so a third-party distribution plugs in by installing it.

A registry that names its built-in modules (``builtins=``) imports only those
on its first look-up (plus the entry points): ``sitekeeper check`` of one URL
must not pay for importing the CMS, backup and notification code.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Generic, Protocol, TypeVar

from sitekeeper.errors import ConfigError

T = TypeVar("T")

ENTRY_POINT_GROUP = "sitekeeper.plugins"
# Packages whose modules (recursively) are imported so their plugins register.
_BUILTIN_PACKAGES = ("probes", "notify", "cms", "backup", "engine.actions")


class Listing(Protocol):
    """What every registry shows whatever its plugins' type (for listings and docs)."""

    group: str

    def kinds(self) -> list[str]:
        """Registered kinds, sorted."""
        ...


_REGISTRIES: dict[str, Listing] = {}
_loaded = False


class Registry(Generic[T]):
    """Kind -> plugin for one extension point; ``T`` is what the core may call."""

    def __init__(self, group: str, *, builtins: Sequence[str] = ()) -> None:
        """``builtins``: modules or packages (walked) holding our own plugins of this group;
        without them the first look-up imports every built-in plugin package."""
        if group in _REGISTRIES:
            raise ConfigError(f"plugin registry {group!r} declared twice")
        self.group = group
        self._builtins = tuple(builtins)
        self._discovered = False
        self._items: dict[str, T] = {}
        _REGISTRIES[group] = self

    def add(self, kind: str, plugin: T) -> T:
        """File ``plugin`` under ``kind``; a second, different plugin for it is an error."""
        existing = self._items.get(kind)
        if existing is not None and existing is not plugin:
            raise ConfigError(
                f"plugin {self.group}/{kind} registered twice: {existing!r} and {plugin!r}"
            )
        self._items[kind] = plugin
        return plugin

    def register(self, kind: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add` (for registries whose plugins are classes)."""

        def decorate(plugin: T) -> T:
            return self.add(kind, plugin)

        return decorate

    def discover(self) -> None:
        """Import this group's built-in plugins and the entry points, once."""
        if self._discovered:
            return
        self._discovered = True
        if not self._builtins:
            load_all()
            return
        for name in self._builtins:
            _import_tree(name)
        _load_entry_points()

    def get(self, kind: str) -> T:
        """The plugin registered as ``kind``; ConfigError naming the known kinds if none."""
        self.discover()
        try:
            return self._items[kind]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.group} kind {kind!r} (known: {known})") from None

    def find(self, kind: str) -> T | None:
        """The plugin registered as ``kind``, or None."""
        self.discover()
        return self._items.get(kind)

    def kinds(self) -> list[str]:
        """Registered kinds, sorted."""
        self.discover()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        """(kind, plugin) pairs, sorted by kind."""
        self.discover()
        return iter(sorted(self._items.items()))

    def remove(self, kind: str) -> None:
        """Forget ``kind`` (tests that register a throwaway plugin clean up with this)."""
        self._items.pop(kind, None)


def registries() -> dict[str, Listing]:
    """Every declared registry by group (after discovery), for listings and docs."""
    load_all()
    return dict(_REGISTRIES)


def load_all() -> None:
    """Import built-in plugin packages and entry points once, so they register."""
    global _loaded  # noqa: PLW0603 - one-time import side effect is the point
    if _loaded:
        return
    _loaded = True
    for package in _BUILTIN_PACKAGES:
        _import_tree(f"sitekeeper.{package}")
    _load_entry_points()


def _import_tree(name: str) -> None:
    """Import a module, or a package and every module under it."""
    spec = importlib.import_module(name).__spec__
    locations = spec.submodule_search_locations if spec is not None else None
    for info in pkgutil.walk_packages(locations or [], prefix=f"{name}."):
        importlib.import_module(info.name)


_entry_points_loaded = False


def _load_entry_points() -> None:
    """Import every module of the ``sitekeeper.plugins`` entry-point group, once."""
    global _entry_points_loaded  # noqa: PLW0603 - one-time import side effect is the point
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        ep.load()
