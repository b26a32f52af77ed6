"""Imports point downwards: the layering in design.md, enforced.

- ``domain`` is pure: it imports no sitekeeper module outside ``domain`` (and ``errors``).
- ``store`` never imports the layers above it (engine, web, cli, notify, probes, intel,
  cms, remote, backup): the types they share with it are pure, in ``domain``.
- Nothing below the surface imports ``web`` or ``cli``.
- A plugin module (one that registers itself) never opens database sessions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sitekeeper"


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, prefix: str = "sitekeeper") -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.startswith(prefix)}


MODULES = _modules()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _violations(rule: str) -> list[str]:
    bad = []
    for module, path in MODULES.items():
        layer = _layer(module)
        for imported in _imports(path):
            target = _layer(imported)
            if rule == "domain" and layer == "domain" and target not in ("domain", "errors"):
                bad.append(f"{module} imports {imported}")
            if (
                rule == "store"
                and layer == "store"
                and target
                in (
                    "engine",
                    "web",
                    "cli",
                    "notify",
                    "probes",
                    "backup",
                    "updates",
                    "reports",
                    "intel",
                    "cms",
                    "remote",
                )
            ):
                bad.append(f"{module} imports {imported}")
            if (
                rule == "surface"
                and layer not in ("web", "cli", "__main__")
                and target in ("web", "cli")
            ):
                bad.append(f"{module} imports {imported}")
    return bad


@pytest.mark.parametrize("rule", ["domain", "store", "surface"])
def test_imports_point_downwards(rule: str) -> None:
    assert _violations(rule) == []


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
