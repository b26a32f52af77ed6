"""Imports point downwards: the layers of docs/architecture.md, enforced for every package.

Each module belongs to a unit: its top-level package under ``sitekeeper`` (or the
top-level module: ``config``, ``vault``…), except that ``web`` is split into its
base (auth, gate, common, server), ``web.api``, ``web.ui`` and the app that
assembles them, and that each CMS package under ``cms/`` (``cms.drupal``…) is a
unit of its own above the generic ``cms`` modules (the Protocol, the registry,
PHP and database-credential helpers).

Units sit in ``LAYERS``, lowest first. A module may import its own unit and any
unit of a lower layer; a unit of its own layer only where ``SIDEWAYS`` allows it
with a reason; never a higher one. Every unit found under ``src/sitekeeper`` must
be in ``LAYERS``: a new package has to be placed before it can be used.

Type-only imports (under ``if TYPE_CHECKING:``) and imports inside functions
count: a type from a higher layer in a lower layer's signature ties them as much.
String-named modules (the registries' ``builtins=``, the CLI's lazy command table)
are discovery, not imports, and are not read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sitekeeper"

# Lowest first. Why this order:
# - errors, domain: the exception tree and pure types/rules every layer speaks.
# - small leaf utilities (data directory, message catalogues, the plugin Registry),
#   then the vault (keys in the data directory) and log formatting (domain's escaping).
# - config and egress: settings, and the network rules they validate (one layer, below).
# - store: named queries and DbThread; knows no feature package.
# - remote (SSH, host-key pins in the store) and notify (the outbox and notifiers).
# - intel, probes: generic feed fetching/matching and HTTP/TLS probing; they name no CMS.
# - scan: YARA over files a site's server sent (rules shipped as data); beside probes.
# - cms: the Cms Protocol and registry plus helpers every CMS shares (PHP config,
#   database credentials, the SSH inventory collector); above the generic code it uses.
# - one unit per CMS package: everything about that CMS, reached only through the registry.
# - backup: files, dumps (a site's CMS gives the credentials), restic, drills.
# - updates: packages, safety snapshots, health checks, rollback and the update run.
# - reports: figures read from the store (and what the update policy will apply next).
# - engine: the loops and jobs that drive all of the above.
# - web: its base, then the API and the pages (siblings that share only web's base),
#   then the app that mounts both; cli and the simulator on top, then ``__main__``.
LAYERS: list[set[str]] = [
    {"", "errors"},
    {"domain"},
    {"datadir", "locale", "plugins", "timezones"},
    {"vault", "logs"},
    {"config", "egress"},
    {"store"},
    {"remote", "notify"},
    {"intel"},
    {"probes", "scan"},
    {"cms"},
    {"cms.*"},
    {"backup"},
    {"updates"},
    {"reports"},
    {"engine"},
    {"web"},
    {"web.api", "web.ui"},
    {"web.app"},
    {"cli", "simulator"},
    {"__main__"},
]
SIDEWAYS = {
    # config validates SITEKEEPER_EGRESS_* with egress's own parser (lazily, in validators);
    # egress builds a site's policy from Settings (a type-only import).
    ("config", "egress"),
    ("egress", "config"),
}
# Rules that fail today because of a helper's work in progress (issue 15): flip at integration.
PENDING: dict[str, str] = {}


def _unit(module: str, packages: set[str]) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return ""
    if parts[0] == "web" and len(parts) > 1 and parts[1] in ("api", "ui", "app"):
        return f"web.{parts[1]}"
    if parts[0] == "cms" and len(parts) > 1 and f"sitekeeper.cms.{parts[1]}" in packages:
        return f"cms.{parts[1]}"
    return parts[0]


def _modules() -> tuple[dict[str, Path], set[str]]:
    found, packages = {}, set()
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
        if parts[-1] == "__init__":
            packages.add(name)
    return found, packages


MODULES, PACKAGES = _modules()


def _imports(path: Path, prefix: str = "sitekeeper") -> set[str]:
    """Modules ``path`` imports; ``from a import b`` counts as ``a.b`` when that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.add(sub if sub in MODULES else node.module)
    return {n for n in names if n == prefix or n.startswith(f"{prefix}.") or not prefix}


def _rank(unit: str) -> int:
    key = "cms.*" if unit.startswith("cms.") else unit
    for rank, layer in enumerate(LAYERS):
        if key in layer:
            return rank
    raise KeyError(unit)


UNITS = sorted({_unit(m, PACKAGES) for m in MODULES})


def violations(unit: str) -> list[str]:
    """Imports of ``unit``'s modules that point up, or sideways without a reason."""
    bad = []
    for module, path in sorted(MODULES.items()):
        if _unit(module, PACKAGES) != unit:
            continue
        for imported in sorted(_imports(path)):
            target = _unit(imported, PACKAGES)
            if target == unit:
                continue
            if target.startswith("cms."):
                bad.append(f"{module} imports {imported} (a CMS is reached through the registry)")
            elif _rank(target) > _rank(unit) or (
                _rank(target) == _rank(unit) and (unit, target) not in SIDEWAYS
            ):
                bad.append(f"{module} imports {imported}")
    return bad


def test_every_package_has_a_layer() -> None:
    placed = set().union(*LAYERS)
    missing = [u for u in UNITS if ("cms.*" if u.startswith("cms.") else u) not in placed]
    assert missing == [], "place these in LAYERS (and in docs/architecture.md)"


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param(u, marks=pytest.mark.xfail(strict=True, reason=PENDING[u]))
        if u in PENDING
        else u
        for u in UNITS
    ],
)
def test_imports_point_downwards(unit: str) -> None:
    assert violations(unit) == []


def test_web_ui_and_api_share_only_web_base() -> None:
    # The pages and the API are siblings: what both need lives in web/common.py.
    assert _rank("web.ui") == _rank("web.api")
    assert violations("web.ui") == [] and violations("web.api") == []


def test_store_knows_no_feature_package() -> None:
    features = {"intel", "cms", "probes", "remote", "notify", "backup", "engine", "web", "cli"}
    assert all(_rank(f) > _rank("store") for f in features)
    assert violations("store") == []


# What domain may use besides itself and errors: computation only, no I/O (no files,
# sockets, processes, threads or databases). datetime is there for its types: a rule
# that needs the time is given it.
PURE = {
    "__future__", "abc", "annotated_types", "bisect", "collections", "contextlib", "dataclasses",
    "datetime", "decimal", "enum", "fractions", "functools", "ipaddress", "itertools",
    "math", "numbers", "operator", "pydantic", "re", "string", "textwrap", "typing",
    "unicodedata", "urllib.parse",
}  # fmt: skip


def test_domain_does_no_io() -> None:
    bad = [
        f"{module} imports {imported}"
        for module, path in MODULES.items()
        if _unit(module, PACKAGES) == "domain"
        for imported in _imports(path, "")
        if not imported.startswith("sitekeeper")
        and imported not in PURE
        and imported.split(".")[0] not in PURE - {"urllib"}
    ]
    assert bad == []


def test_plugins_do_not_open_sessions() -> None:
    bad = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if "@register(" in text and any(
            i in ("sitekeeper.store.database", "sqlalchemy.orm") for i in _imports(path, "")
        ):
            bad.append(module)
    assert bad == []


def test_the_rules_see_the_code() -> None:
    # Guards the test itself: if module discovery broke, every rule would pass vacuously.
    assert "sitekeeper.domain.checks" in MODULES
    assert "sitekeeper.store.monitoring" in _imports(MODULES["sitekeeper.engine.recorder"])
    assert {"domain", "store", "engine", "web.api", "web.ui", "web.app", "cli"} <= set(UNITS)
    assert "sitekeeper.web.api" in _imports(MODULES["sitekeeper.web.app"])  # from web import api
    assert _unit("sitekeeper.web.common", PACKAGES) == "web"
    assert _rank("engine") < _rank("web") < _rank("cli")
