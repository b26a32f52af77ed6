"""Nothing outside ``cms/`` names a CMS: the core reaches CMSes through ``cms.registry``.

A CMS is one package under ``src/sitekeeper/cms/``; adding one must not mean editing
the core. So every module outside ``cms/`` is read (as tokens, never imported) for
the names of the CMSes we ship, case-insensitively, and a hit fails unless it is:

- documentation: a comment, or a docstring (the string that opens a module, class
  or function), which may name CMSes as examples;
- a registry look-up: a string literal passed as the first argument of
  ``CMSES.get(...)`` or ``CMSES.find(...)``.

Nothing else is allowed: no identifier (``Ecosystem.DRUPAL``, ``wordpress_api_url``),
no other literal (``"wordpress.org"``, an error message).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sitekeeper"
NAMES = re.compile(r"wordpress|joomla|drupal", re.IGNORECASE)
LOOKUPS = frozenset({"get", "find"})  # CMSES.<these>("name")


def _docstrings(tree: ast.Module) -> set[int]:
    """Line numbers covered by docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def _lookups(tree: ast.Module) -> set[tuple[int, int]]:
    """(line, column) of string literals passed first to ``CMSES.get``/``CMSES.find``."""
    found: set[tuple[int, int]] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOOKUPS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "CMSES"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add((node.args[0].lineno, node.args[0].col_offset))
    return found


def cms_names(source: str) -> list[str]:
    """``line: token`` of every CMS name in ``source`` that is neither documentation nor
    a registry look-up."""
    tree = ast.parse(source)
    docs, lookups = _docstrings(tree), _lookups(tree)
    hits = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT or not NAMES.search(tok.string):
            continue
        if tok.type == tokenize.STRING and (tok.start[0] in docs or tok.start in lookups):
            continue
        hits.append(f"{tok.start[0]}: {tok.string[:80]}")
    return hits


def _modules() -> list[str]:
    return sorted(
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if p.relative_to(SRC).parts[0] != "cms"
    )


@pytest.mark.parametrize("module", _modules())
def test_the_core_names_no_cms(module: str) -> None:
    hits = cms_names((SRC / module).read_text(encoding="utf-8"))
    assert not hits, f"{module} names a CMS outside cms/ (use cms.registry.CMSES): {hits}"


def test_the_rule_tells_documentation_and_look_ups_from_code() -> None:
    source = '''"""Handles WordPress and Joomla."""
from sitekeeper.cms.registry import CMSES

# Drupal too
def f(kind):
    """The drupal one."""
    wp = CMSES.get("wordpress")
    return CMSES.get(kind), "joomla.org", Ecosystem.DRUPAL, CMSES.kinds("drupal")
'''
    assert cms_names(source) == [
        '8: "joomla.org"',
        "8: DRUPAL",
        '8: "drupal"',
    ]
