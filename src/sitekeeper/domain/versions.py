"""Version comparison with each ecosystem's own rules.

PHP's ``version_compare`` (so "6.4" < "6.4.0") and Composer/Packagist (normalised
to four numeric parts plus a stability suffix, then compared like PHP) are the
schemes the CMSs build on; a CMS package declares its ecosystem with one of them,
or with its own (``cms.drupal.versions``). Getting any of these wrong means a missed
or a false vulnerability, so each rule is written from the vendor's documentation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

# PHP's documented order: any other string < dev < alpha = a < beta = b < RC = rc < # < pl = p.
# PHP matches a part by prefix, in this order ("abc" counts as "a", "patch" as "p").
_SPECIAL_FORMS: tuple[tuple[str, int], ...] = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_UNKNOWN_FORM = -6
_NUMBER = "#N#"  # what PHP compares a number against when the other part is a word
_LONG_MAX = 2**63 - 1  # PHP reads numbers with strtol, which saturates


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _is_non_digit(ch: str) -> bool:
    return not _is_digit(ch) and ch != "."


def _is_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def php_canonicalize(version: str) -> str:
    """PHP's canonical form: '-', '_', '+' become '.', and '.' separates digits from letters.

    PHP works on bytes and stops at NUL, so we do too; "4.3.2RC1" -> "4.3.2.RC.1".
    """
    raw = version.encode("utf-8", "surrogatepass").split(b"\0", 1)[0].decode("latin-1")
    if not raw:
        return ""
    out = [raw[0]]  # PHP copies the first byte as is
    prev = raw[0]
    for ch in raw[1:]:
        last = out[-1]
        if ch in "-_+":
            if last != ".":
                out.append(".")
        elif (_is_non_digit(prev) and _is_digit(ch)) or (_is_digit(prev) and _is_non_digit(ch)):
            if last != ".":
                out.append(".")
            out.append(ch)
        elif not _is_alnum(ch):
            if last != ".":
                out.append(".")
        else:
            out.append(ch)
        prev = ch
    return "".join(out)


def _form_order(part: str) -> int:
    for name, order in _SPECIAL_FORMS:
        if part.startswith(name):
            return order
    return _UNKNOWN_FORM


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _compare_parts(left: str, right: str) -> int:
    left_num = bool(left) and _is_digit(left[0])
    right_num = bool(right) and _is_digit(right[0])
    if left_num and right_num:
        return _sign(min(int(left), _LONG_MAX) - min(int(right), _LONG_MAX))
    if not left_num and not right_num:
        return _sign(_form_order(left) - _form_order(right))
    if left_num:
        return _sign(_form_order(_NUMBER) - _form_order(right))
    return _sign(_form_order(left) - _form_order(_NUMBER))


def _leading_digits(part: str) -> str:
    match = re.match(r"[0-9]+", part)
    return match.group(0) if match else part


def php_version_compare(left: str, right: str) -> int:
    """-1, 0 or 1 exactly as PHP 8's ``version_compare($left, $right)``.

    Faithful to PHP's quirks too: a trailing separator ("1.0-") compares lower
    than anything, even itself, so callers should strip input first. PHP's
    tail recursion is a loop here, so no input can exhaust the stack.
    """
    left = left.split("\0", 1)[0]
    right = right.split("\0", 1)[0]
    while True:
        if not left or not right:
            return 0 if not left and not right else (1 if left else -1)
        # PHP leaves a string that starts with "#" as is: that is how "#N#" stands for a number
        a = left if left.startswith("#") else php_canonicalize(left)
        b = right if right.startswith("#") else php_canonicalize(right)
        pa = pb = 0
        more_a = more_b = True
        while pa < len(a) and pb < len(b) and more_a and more_b:
            end_a, end_b = a.find(".", pa), b.find(".", pb)
            more_a, more_b = end_a != -1, end_b != -1
            part_a = a[pa:end_a] if more_a else a[pa:]
            part_b = b[pb:end_b] if more_b else b[pb:]
            compare = _compare_parts(_leading_digits(part_a), _leading_digits(part_b))
            if compare:
                return compare
            if more_a:
                pa = end_a + 1
            if more_b:
                pb = end_b + 1
        if more_a:  # left has more parts: a number wins, a word is weighed against a number
            rest = a[pa:]
            if rest[:1] and _is_digit(rest[0]):
                return 1
            left, right = rest, _NUMBER
        elif more_b:
            rest = b[pb:]
            if rest[:1] and _is_digit(rest[0]):
                return -1
            left, right = _NUMBER, rest
        else:
            return 0


# --- Composer ---------------------------------------------------------------------------------

_COMPOSER_STABILITY = {
    "stable": "",
    "alpha": "alpha",
    "a": "alpha",
    "beta": "beta",
    "b": "beta",
    "rc": "RC",
    "patch": "patch",
    "pl": "patch",
    "p": "patch",
}
_COMPOSER_VERSION = re.compile(
    r"""^v?(?P<nums>\d+(?:\.\d+){0,3})
        (?:[._-]?(?P<stab>stable|beta|b|rc|alpha|a|patch|pl|p)(?P<stabnum>(?:[.-]?\d+)*))?
        (?P<dev>[.-]?dev)?$""",
    re.IGNORECASE | re.VERBOSE,
)
_COMPOSER_BRANCH = re.compile(r"^v?(?P<nums>\d+(?:\.\d+){0,2})\.[x*]-?dev$", re.IGNORECASE)
_DEV_BRANCH_FILL = "9999999"


def composer_normalize(version: str) -> str:
    """Composer's normal form, "1.2" -> "1.2.0.0", "2.0.0-rc1" -> "2.0.0.0-RC1".

    ValueError for anything Composer would not accept as a version.
    """
    text = version.strip()
    if match := _COMPOSER_BRANCH.match(text):
        nums = match.group("nums").split(".")
        nums += [_DEV_BRANCH_FILL] * (4 - len(nums))
        return ".".join(str(int(n)) for n in nums) + "-dev"
    match = _COMPOSER_VERSION.match(text)
    if not match:
        raise ValueError(f"not a Composer version: {version!r}")
    nums = [str(int(n)) for n in match.group("nums").split(".")]
    nums += ["0"] * (4 - len(nums))
    result = ".".join(nums)
    if stab := match.group("stab"):
        label = _COMPOSER_STABILITY[stab.lower()]
        if label:
            result += "-" + label + re.sub(r"^[.-]", "", match.group("stabnum") or "")
    if match.group("dev"):
        result += "-dev"
    return result


def composer_compare(left: str, right: str) -> int:
    """Composer's ordering: normalise both, then PHP's version_compare."""
    return php_version_compare(composer_normalize(left), composer_normalize(right))


# --- ecosystems -------------------------------------------------------------------------------


def php_branch(version: str) -> str:
    """First two numeric parts: "6.4.3" -> "6.4", "6.8-alpha-59551" -> "6.8", "6" -> "6.0"."""
    numbers: list[str] = []
    for part in php_canonicalize(version.strip()).split("."):
        if not part.isdigit():
            break
        numbers.append(str(int(part)))
        if len(numbers) == 2:
            break
    if not numbers:
        raise ValueError(f"no numeric version in {version!r}")
    return ".".join([*numbers, "0"][:2])


def composer_branch(version: str) -> str:
    """major.minor of a Composer version: "2.5.0" -> "2.5"."""
    return ".".join(composer_normalize(version).split(".")[:2])


@dataclass(frozen=True)
class VersionScheme:
    """How an ecosystem's versions compare and group into branches."""

    compare: Callable[[str, str], int]
    branch: Callable[[str], str]
    # "x.y" names the x.y.0 release (PHP's version_compare ranks "6.4" below "6.4.0")
    pads_release: bool = False
    # the release line across branches (see Ecosystem.line); None: the major version
    line: Callable[[str], tuple[str | int | None, ...]] | None = None
    # how a version reads in Composer's spelling, for Composer constraints; None: as is
    composer_form: Callable[[str], str] | None = None


class Ecosystem(str):
    """Where a package lives; picks the comparison and branch rules (its ``scheme``).

    Open: a CMS package may declare its own with :meth:`declare`. Instances are
    interned, so ``Ecosystem("packagist") is Ecosystem.PACKAGIST``; an undeclared name is a
    ValueError, as an unknown enum value was.
    """

    scheme: VersionScheme
    _known: ClassVar[dict[str, Ecosystem]] = {}
    PACKAGIST: ClassVar[Ecosystem]

    def __new__(cls, name: str) -> Ecosystem:
        """The declared ecosystem ``name``; ValueError if none is."""
        try:
            return cls._known[name]
        except (KeyError, TypeError):
            raise ValueError(f"{name!r} is not a known Ecosystem") from None

    @classmethod
    def declare(cls, name: str, scheme: VersionScheme) -> Ecosystem:
        """Declare ``name`` with its version rules (again with the same rules: a no-op)."""
        existing = cls._known.get(name)
        if existing is not None:
            if existing.scheme != scheme:
                raise ValueError(f"ecosystem {name!r} declared twice with other rules")
            return existing
        made = str.__new__(cls, name)
        made.scheme = scheme
        cls._known[name] = made
        return made

    @classmethod
    def forget(cls, name: str) -> None:
        """Undeclare ``name`` (tests that declare a throwaway ecosystem clean up with this)."""
        cls._known.pop(name, None)

    @classmethod
    def known(cls) -> list[Ecosystem]:
        """Every declared ecosystem, by name."""
        return [cls._known[name] for name in sorted(cls._known)]

    def __repr__(self) -> str:
        return f"Ecosystem({str.__repr__(self)})"

    def __reduce__(self) -> tuple[type[Ecosystem], tuple[str]]:
        return (Ecosystem, (str(self),))

    def compare(self, left: str, right: str) -> int:
        """-1, 0 or 1 under this ecosystem's rules; ValueError if unparsable here."""
        return self.scheme.compare(_checked(left), _checked(right))

    def bound_compare(self, version: str, bound: str) -> int:
        """Compare a version with an advisory's bound, where "6.4.0" names the 6.4 release.

        WordPress calls its x.y.0 release "x.y", and PHP ranks "6.4" below "6.4.0";
        an advisory "introduced in 6.4.0" must still cover a site on 6.4, so for the
        PHP ecosystems both sides are padded to three numeric parts first.
        """
        if self.scheme.pads_release:
            return self.compare(_pad_release(version), _pad_release(bound))
        return self.compare(version, bound)

    def within(self, version: str, bounds: str) -> bool:
        """Whether ``version`` satisfies every bound of a fingerprint's range such as
        ``">=10.0 <11.0"`` (operators ``>= > <= <``); an unreadable version or bound: no."""
        for bound in bounds.split():
            op = bound[: len(bound) - len(bound.lstrip("<>="))]
            try:
                cmp = self.bound_compare(version, bound[len(op) :])
            except ValueError:
                return False
            if not {">=": cmp >= 0, ">": cmp > 0, "<=": cmp <= 0, "<": cmp < 0}.get(op, True):
                return False
        return True

    def branch(self, version: str) -> str:
        """The release branch a version belongs to (security fixes are per branch)."""
        return self.scheme.branch(_checked(version))

    def line(self, version: str) -> tuple[str | int | None, ...]:
        """The release line ``version`` belongs to across branches: a vendor's branch that
        is no longer supported is replaced by a supported one of the same line (where
        minor releases keep compatibility). Drupal contrib: core and major version;
        elsewhere the major version. ValueError if unreadable."""
        if self.scheme.line is not None:
            return self.scheme.line(version)
        return (self.branch(version).split(".", 1)[0],)

    def sort_key(self) -> Callable[[str], Any]:
        """A key for ``sorted`` that orders versions by this ecosystem's rules."""
        return functools.cmp_to_key(self.compare)

    @classmethod
    def from_osv(cls, ecosystem: str, package: str) -> Ecosystem:
        """The ecosystem OSV names (its base before any ``:``); ValueError if it is none of
        ours. A CMS whose packages OSV files elsewhere maps them itself (``intel.osv``)."""
        base = ecosystem.split(":", 1)[0].strip().lower()
        try:
            return cls(base)
        except ValueError:
            raise ValueError(f"unsupported OSV ecosystem {ecosystem!r}") from None


MAX_VERSION_LENGTH = 100  # real versions are short; longer ones come from broken or hostile data


def _checked(version: str) -> str:
    text = version.strip()
    if len(text) > MAX_VERSION_LENGTH:
        raise ValueError(f"not a version: {len(text)} characters long")
    return text


def _pad_release(version: str) -> str:
    """ "6.4" -> "6.4.0", "6.8-alpha" -> "6.8.0-alpha": pre-releases keep their order."""
    match = re.match(r"^(\d+(?:\.\d+)*)(.*)$", version.strip(), re.DOTALL)
    if not match:
        return version
    parts = match.group(1).split(".")
    return ".".join(parts + ["0"] * (3 - len(parts))) + match.group(2)


PHP_SCHEME = VersionScheme(php_version_compare, php_branch, pads_release=True)
COMPOSER_SCHEME = VersionScheme(composer_compare, composer_branch)
Ecosystem.PACKAGIST = Ecosystem.declare("packagist", COMPOSER_SCHEME)
