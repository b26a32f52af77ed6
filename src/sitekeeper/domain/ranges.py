"""Affected version ranges, per release branch, and Composer constraints.

Advisories speak in ranges ("introduced 8.0.0, fixed 8.8.11") or Composer
constraints ("^1.2 || >=2.0 <2.5"). Vendors back-port fixes, so a range is
tagged with the branch it applies to; a version is judged by its own branch's
ranges when there are any, and by the branch-less ranges otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from sitekeeper.domain.versions import Ecosystem, composer_normalize, php_version_compare

Operator = Literal["<", "<=", ">", ">=", "==", "!="]


@dataclass(frozen=True)
class VersionRange:
    """introduced <= v < fixed, or introduced <= v <= last_affected; bounds may be open.

    ``introduced`` None (or "0", OSV's "since the beginning") has no lower bound;
    neither ``fixed`` nor ``last_affected`` means every later version is affected.
    """

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    introduced_exclusive: bool = False  # Wordfence's from_inclusive=false
    branch: str | None = None  # "5.7", "8.x-1.x": the branch this range describes

    def __post_init__(self) -> None:
        if self.fixed is not None and self.last_affected is not None:
            raise ValueError("a range has either a fixed or a last_affected version, not both")

    def contains(self, version: str, ecosystem: Ecosystem) -> bool:
        """Whether ``version`` falls in the range (branch is the caller's business)."""
        cmp = ecosystem.bound_compare
        if self.introduced not in (None, "0", "*"):
            low = cmp(version, self.introduced)
            if low < 0 or (low == 0 and self.introduced_exclusive):
                return False
        if self.fixed is not None:
            return cmp(version, self.fixed) < 0
        if self.last_affected is not None:
            return cmp(version, self.last_affected) <= 0
        return True


@dataclass(frozen=True)
class AffectedRanges:
    """Every affected version of one package: ranges (maybe per branch) and listed versions."""

    ecosystem: Ecosystem
    ranges: tuple[VersionRange, ...] = ()
    versions: tuple[str, ...] = ()  # explicitly listed affected versions (OSV ``versions``)

    def contains(self, version: str) -> bool:
        """Affected? A branch's own ranges, when it has any, are the whole truth for it
        (back-ported fixes); other branches use the branch-less ranges.

        ValueError if ``version`` cannot be read in this ecosystem.
        """
        eco = self.ecosystem
        if any(eco.bound_compare(version, listed) == 0 for listed in self.versions):
            return True
        try:
            branch: str | None = eco.branch(version)
        except ValueError:
            branch = None
        own = [r for r in self.ranges if r.branch is not None and r.branch == branch]
        candidates = own or [r for r in self.ranges if r.branch is None]
        return any(r.contains(version, eco) for r in candidates)

    def branches(self) -> dict[str | None, tuple[VersionRange, ...]]:
        """Ranges grouped by branch (None = applies to any branch without its own)."""
        grouped: dict[str | None, list[VersionRange]] = {}
        for item in self.ranges:
            grouped.setdefault(item.branch, []).append(item)
        return {key: tuple(value) for key, value in grouped.items()}


# --- Composer constraints ---------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One bound, e.g. ``>= 1.2.0.0-dev``; versions are kept in Composer's normal form."""

    op: Operator
    version: str
    raw: str = field(default="", compare=False)  # as written ("7.74"), when written


@dataclass(frozen=True)
class Constraint:
    """A Composer constraint: any of ``alternatives``, each all of its comparisons.

    An empty conjunction matches everything (``*``).
    """

    alternatives: tuple[tuple[Comparison, ...], ...]
    text: str = field(default="", compare=False)

    def satisfied_by(self, version: str, ecosystem: Ecosystem = Ecosystem.PACKAGIST) -> bool:
        """Whether ``version`` (in the ecosystem's own spelling) meets the constraint."""
        normal = _to_composer(version, ecosystem)
        return any(all(_check(normal, c) for c in conj) for conj in self.alternatives)


def constraint_to_ranges(constraint: Constraint) -> tuple[VersionRange, ...]:
    """One range per alternative, bounds as written; ValueError if one cannot be a range.

    Drupal's OSV records keep Drupal 7's ranges only in such a constraint.
    """
    result = []
    for conjunction in constraint.alternatives:
        low: Comparison | None = None
        high: Comparison | None = None
        for comparison in conjunction:
            if comparison.op == "==":
                low = high = Comparison("<=", comparison.version, comparison.raw)
            elif comparison.op in (">", ">=") and low is None:
                low = comparison
            elif comparison.op in ("<", "<=") and high is None:
                high = comparison
            else:
                raise ValueError(f"{constraint.text!r} is not a set of ranges")
        inclusive_high = high is not None and high.op == "<="
        result.append(
            VersionRange(
                introduced=(low.raw or low.version) if low else None,
                introduced_exclusive=low is not None and low.op == ">",
                fixed=(high.raw or high.version) if high and not inclusive_high else None,
                last_affected=(high.raw or high.version) if high and inclusive_high else None,
            )
        )
    return tuple(result)


def satisfies(
    version: str, constraint: str | Constraint, ecosystem: Ecosystem = Ecosystem.PACKAGIST
) -> bool:
    """``version`` meets ``constraint`` (text or parsed), by Composer's rules."""
    parsed = parse_constraint(constraint) if isinstance(constraint, str) else constraint
    return parsed.satisfied_by(version, ecosystem)


def _to_composer(version: str, ecosystem: Ecosystem) -> str:
    """``version`` in Composer's spelling (its ecosystem may spell it otherwise)."""
    convert = ecosystem.scheme.composer_form
    return composer_normalize(convert(version) if convert is not None else version)


def _check(version: str, comparison: Comparison) -> bool:
    result = php_version_compare(version, comparison.version)
    return {
        "<": result < 0,
        "<=": result <= 0,
        ">": result > 0,
        ">=": result >= 0,
        "==": result == 0,
        "!=": result != 0,
    }[comparison.op]


_OPERATORS: dict[str, Operator] = {
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "!=": "!=",
    "<>": "!=",
}
_OR = re.compile(r"\s*\|\|?\s*")
_HYPHEN = re.compile(r"^(?P<low>\S+)\s+-\s+(?P<high>\S+)$")
_OPERATOR_SPACE = re.compile(r"(<>|!=|>=|<=|==|=|<|>|\^|~)\s+")
_ATOM = re.compile(r"^(?P<op><>|!=|>=|<=|==|=|<|>|\^|~)?(?P<version>[^\s,]+)$")
_PARTIAL = re.compile(r"^v?(\d+)(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?$", re.I)
_STABILITY_FLAG = re.compile(r"@(?:dev|alpha|beta|rc|stable)$", re.IGNORECASE)


def parse_constraint(text: str) -> Constraint:
    """Parse ``^1.2``, ``~1.2.3``, ``>=1.0 <2.0``, ``a || b``, ``*``, ``1.2.*``, ``1.0 - 2.0``.

    ValueError if the text is not a Composer constraint.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty version constraint")
    alternatives = []
    for alternative in _OR.split(stripped):
        if not alternative:
            raise ValueError(f"empty alternative in constraint {text!r}")
        alternatives.append(_parse_conjunction(alternative))
    return Constraint(tuple(alternatives), text=stripped)


def _parse_conjunction(text: str) -> tuple[Comparison, ...]:
    if hyphen := _HYPHEN.match(text):
        return _hyphen_range(hyphen.group("low"), hyphen.group("high"))
    joined = _OPERATOR_SPACE.sub(r"\1", text)
    atoms = [a for a in re.split(r"\s*,\s*|\s+", joined) if a]
    result: list[Comparison] = []
    for atom in atoms:
        result.extend(_parse_atom(atom))
    return tuple(result)


def _parse_atom(atom: str) -> list[Comparison]:
    atom = _STABILITY_FLAG.sub("", atom)
    match = _ATOM.match(atom)
    if not match:
        raise ValueError(f"not a version constraint: {atom!r}")
    op, version = match.group("op") or "", match.group("version")
    if version in ("*", "x", "X") and op in ("", "=", "=="):
        return []
    if op == "^":
        return _caret(version)
    if op == "~":
        return _tilde(version)
    partial = _PARTIAL.match(version)
    if op in ("", "=", "==") and partial and any(p in ("x", "X", "*") for p in partial.groups()):
        return _wildcard(partial)
    normal = composer_normalize(version)
    if op in ("", "=", "=="):
        return [Comparison("==", normal, version)]
    if op in ("<", ">=") and "-" not in normal:
        normal += "-dev"  # Composer: "<2.0" excludes 2.0's pre-releases, ">=1.0" includes 1.0's
    return [Comparison(_OPERATORS[op], normal, version)]


def _numbers(version: str) -> list[int]:
    match = _PARTIAL.match(version)
    if not match:
        raise ValueError(f"not a version: {version!r}")
    parts = [p for p in match.groups() if p is not None]
    return [int(p) for p in parts if p.isdigit()]


def _bound(parts: list[int]) -> str:
    return ".".join(str(p) for p in [*parts, 0, 0, 0, 0][:4]) + "-dev"


def _caret(version: str) -> list[Comparison]:
    nums = _numbers(version.split("-", 1)[0])
    low = _lower(version)
    # ^ allows changes that do not modify the left-most non-zero part
    index = next((i for i, value in enumerate(nums) if value != 0), len(nums) - 1)
    upper = [*nums[:index], nums[index] + 1]
    return [Comparison(">=", low), Comparison("<", _bound(upper))]


def _tilde(version: str) -> list[Comparison]:
    nums = _numbers(version.split("-", 1)[0])
    low = _lower(version)
    # ~ fixes every part but the last one given, so ~1.2.3 < 1.3 and ~1.2 < 2.0
    upper = [nums[0] + 1] if len(nums) == 1 else [*nums[:-2], nums[-2] + 1]
    return [Comparison(">=", low), Comparison("<", _bound(upper))]


def _lower(version: str) -> str:
    normal = composer_normalize(version)
    return normal if "-" in normal else normal + "-dev"


def _wildcard(partial: re.Match[str]) -> list[Comparison]:
    nums: list[int] = []
    for part in partial.groups():
        if part is None or not part.isdigit():
            break
        nums.append(int(part))
    if not nums:
        return []
    upper = [*nums[:-1], nums[-1] + 1]
    return [Comparison(">=", _bound(nums)), Comparison("<", _bound(upper))]


def _hyphen_range(low: str, high: str) -> tuple[Comparison, ...]:
    lower = Comparison(">=", _lower(low))
    high_nums = _numbers(high.split("-", 1)[0])
    if len(high_nums) >= 3 or "-" in high:
        return (lower, Comparison("<=", composer_normalize(high)))
    upper = [*high_nums[:-1], high_nums[-1] + 1]  # a partial upper bound includes the whole series
    return (lower, Comparison("<", _bound(upper)))
