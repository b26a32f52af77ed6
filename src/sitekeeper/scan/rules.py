"""The rule set: the project's own YARA rules plus the agency's, compiled once per process.

The built-in rules are data files of this package (``rules/*.yar``); an agency adds
directories of its own with ``SITEKEEPER_SCAN_RULE_DIRS``. Each file is compiled on
its own first, so a broken one is named in a :class:`RuleProblem` and left out while
the others still scan: one bad download from a public rule feed must not blind the
scanner. A rule without ``severity``/``description`` metadata gets ``medium`` and its
name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yara

from sitekeeper.domain.severity import Severity

BUILTIN_DIR = Path(__file__).parent / "rules"
RULE_SUFFIXES = (".yar", ".yara")
BUILTIN_NAMESPACE = "sitekeeper"  # ours are sitekeeper.<file>, an agency's agencyN.<file>
# What a rule may test besides the content (declared at compile time, set per scan).
EXTERNALS: dict[str, Any] = {"filename": "", "filepath": "", "extension": ""}


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule file or directory that could not be used, and why (YARA's message)."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a technician is told about a rule that matched, from its metadata."""

    severity: Severity
    description: str

    @classmethod
    def of(cls, name: str, meta: dict[str, Any]) -> RuleInfo:
        return cls(
            Severity.parse(meta.get("severity"), Severity.MEDIUM),
            str(meta.get("description") or name),
        )


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Compiled rules; ``problems`` lists the files left out."""

    compiled: Any  # yara.Rules (yara-python ships no type hints)
    files: tuple[Path, ...]
    problems: tuple[RuleProblem, ...]

    def rules(self) -> dict[str, RuleInfo]:
        """Every rule's name and what it says (a name two files share is listed once)."""
        return {rule.identifier: RuleInfo.of(rule.identifier, rule.meta) for rule in self.compiled}


def _rule_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.iterdir() if p.suffix.lower() in RULE_SUFFIXES and p.is_file()
    )


def _sources(extra_dirs: Sequence[Path]) -> tuple[list[tuple[str, Path]], list[RuleProblem]]:
    """(namespace, file) of every rule file, built-in first; unreadable directories as
    problems. Each agency directory has its own namespace, so its rule names never
    clash with ours or with another directory's."""
    files = [(f"{BUILTIN_NAMESPACE}.{p.stem}", p) for p in _rule_files(BUILTIN_DIR)]
    problems: list[RuleProblem] = []
    for index, directory in enumerate(extra_dirs, start=1):
        try:
            found = _rule_files(directory)
        except OSError as exc:
            problems.append(RuleProblem(directory, f"cannot read the rule directory: {exc}"))
            continue
        if not found:
            problems.append(RuleProblem(directory, "no *.yar or *.yara files"))
        files.extend((f"agency{index}.{p.stem}", p) for p in found)
    return files, problems


def _checked(files: Iterable[tuple[str, Path]]) -> tuple[dict[str, str], list[RuleProblem]]:
    """The files that compile on their own (namespace -> path) and the ones that do not."""
    good: dict[str, str] = {}
    problems: list[RuleProblem] = []
    for namespace, path in files:
        try:
            yara.compile(filepath=str(path), externals=EXTERNALS)
        except yara.SyntaxError as exc:
            problems.append(RuleProblem(path, f"does not compile: {exc}"))
            continue
        except yara.Error as exc:
            problems.append(RuleProblem(path, f"cannot be read: {exc}"))
            continue
        # rules.yar beside rules.yara: two files, two namespaces
        good[namespace if namespace not in good else f"{namespace}.{len(good)}"] = str(path)
    return good, problems


def compile_rules(extra_dirs: Sequence[Path] = ()) -> RuleSet:
    """Compile the built-in rules and those of ``extra_dirs`` (no cache: see load_rules)."""
    files, problems = _sources(extra_dirs)
    good, broken = _checked(files)
    compiled = yara.compile(filepaths=good, externals=EXTERNALS)
    return RuleSet(
        compiled=compiled,
        files=tuple(Path(p) for p in good.values()),
        problems=(*problems, *broken),
    )


_cache: dict[tuple[Any, ...], RuleSet] = {}
_lock = threading.Lock()


def _stamp(extra_dirs: Sequence[Path]) -> tuple[Any, ...]:
    """What the compiled set depends on: every rule file's path, size and mtime, so an
    agency that edits a rule gets it compiled on the next scan, without a restart."""
    stamp: list[Any] = []
    for directory in (BUILTIN_DIR, *extra_dirs):
        try:
            stamp.extend(
                (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in _rule_files(directory)
            )
        except OSError:
            stamp.append((str(directory), None))
    return tuple(stamp)


def load_rules(extra_dirs: Sequence[Path] = ()) -> RuleSet:
    """The rule set for ``extra_dirs``, compiled once per process while its files stay
    unchanged (a few stat calls per call; compiling is what takes time)."""
    key = (tuple(str(d) for d in extra_dirs), _stamp(extra_dirs))
    with _lock:
        rules = _cache.get(key)
        if rules is None:
            _cache.clear()  # one rule set per process is the norm: keep only the newest
            rules = _cache[key] = compile_rules(extra_dirs)
        return rules
