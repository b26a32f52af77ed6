"""Whether markup hides an element: an inline style, the ``hidden`` attribute, or a class or
id a ``<style>`` block of the page hides (display:none, visibility:hidden, zero size,
off-screen positioning) — how injected spam links stay out of a visitor's sight.

Linear in the size of the styles: CSS is split on braces with ``str`` operations, and each
declaration block is read by regexes that cannot backtrack over more than it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_STYLE = 4000  # characters of one inline style or declaration block read
MAX_CSS = 300_000  # characters of a page's <style> blocks read
MAX_SELECTORS = 2000  # hidden classes and ids kept per page

_SPACE = re.compile(r"\s+")
_HIDING = re.compile(
    r"(?:^|;)(?:"
    r"display:none"
    r"|visibility:hidden"
    r"|opacity:0(?:\.0+)?(?=;|!|$)"
    r"|(?:height|width|max-height|max-width|font-size):0(?:px|em|rem|%|pt)?(?=;|!|$)"
    r"|(?:left|top|right|text-indent|margin-left|margin-top):-\d{3,}(?:\.\d+)?(?:px|em|rem|pt)"
    r")"
)
_SIMPLE = re.compile(r"[.#][A-Za-z_][\w-]{0,100}")


def hides(style: str) -> bool:
    """Whether an inline style (or a rule's declarations) hides what it applies to."""
    compact = _SPACE.sub("", style[:MAX_STYLE]).lower()
    return _HIDING.search(compact) is not None


@dataclass
class HiddenSelectors:
    """The classes and ids the page's ``<style>`` blocks hide."""

    classes: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)

    def matches(self, classes: str, element_id: str) -> bool:
        """Whether an element with these ``class`` and ``id`` attributes is hidden by them."""
        if element_id and element_id in self.ids:
            return True
        return bool(self.classes) and any(c in self.classes for c in classes.split()[:50])

    def add(self, selector: str) -> None:
        """Each comma-separated part's last simple selector (``.a .b`` -> ``.b``); a part
        with a pseudo-class or attribute test (``:not(:focus)``, ``[x]``) is conditional:
        left out, as a screen reader's focusable skip link is not spam."""
        for part in selector[:1000].split(","):
            if ":" in part or "[" in part:
                continue
            words = part.replace(">", " ").replace("+", " ").replace("~", " ").split()
            if not words:
                continue
            for token in _SIMPLE.findall(words[-1]):
                if len(self.classes) + len(self.ids) >= MAX_SELECTORS:
                    return
                (self.classes if token[0] == "." else self.ids).add(token[1:])


def _uncommented(css: str) -> str:
    """``css`` without its comments (an unclosed one runs to the end), in one pass."""
    kept: list[str] = []
    at = 0
    while (start := css.find("/*", at)) >= 0:
        kept.append(css[at:start])
        end = css.find("*/", start + 2)
        if end < 0:
            return " ".join(kept)
        at = end + 2
    kept.append(css[at:])
    return " ".join(kept)


def hidden_selectors(css: str) -> HiddenSelectors:
    """The selectors of ``css`` whose rules hide (``@media`` blocks read like the rest)."""
    found = HiddenSelectors()
    text = _uncommented(css[:MAX_CSS])
    pending = ""  # the text before the last '{': the selector of the block it opens
    previous = ""
    for token in re.split(r"([{}])", text):
        if token == "{":  # noqa: S105 - a brace, not a password
            pending = previous
        elif token == "}":  # noqa: S105
            if pending and hides(previous):
                found.add(pending)
            pending = ""
        previous = token if token not in ("{", "}") else ""
    return found
