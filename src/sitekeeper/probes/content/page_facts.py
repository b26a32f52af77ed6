"""What a page shows and names, read from hostile HTML within fixed bounds: its text, its
links (and which are hidden), its scripts and its frames.

Parsed with lxml (libxml2's HTML parser, in C). Measured on 1 MB crafted pages (see
docs/benchmarks.md §14): html.parser is super-linear on open tags, and selectolax's Lexbor
took two minutes on 200,000 unclosed ``<div>``; libxml2 stays in milliseconds because it
stops at a nesting depth of 256. What lies deeper is not read, so such a page is reported
``unreadable`` (no browser-made page nests that deep) instead of passing as clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lxml.etree
import lxml.html
from yarl import URL

from sitekeeper.probes.content.hidden_css import HiddenSelectors, hidden_selectors, hides

MAX_HTML = 1_000_000  # bytes of a page read
MAX_TEXT = 300_000  # characters of text kept
MAX_LINKS = 3000
MAX_RESOURCES = 300  # scripts, frames
MAX_ELEMENTS = 100_000
_SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "title"})
_FRAMES = {"iframe": "src", "frame": "src", "embed": "src", "object": "data"}


@dataclass(frozen=True, slots=True)
class Link:
    """One ``<a href>``: where it goes (absolute), its host, whether it is hidden, its text."""

    url: str
    host: str
    hidden: bool
    text: str


@dataclass(slots=True)
class PageFacts:
    """A page as the content checks see it. ``unreadable``: the markup was cut short (too
    deep, too many elements), so what it hides further down is unknown."""

    text: str = ""
    links: list[Link] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    unreadable: str | None = None


def host_of(url: str) -> str:
    """The lower-case host of an absolute http(s) URL without ``www.`` ("" if none)."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return ""
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        return ""
    return parsed.raw_host.lower().rstrip(".").removeprefix("www.")


def _absolute(base: URL, ref: str) -> str | None:
    """``ref`` resolved against the page (None: not an http(s) address)."""
    ref = ref.strip()[:2000]
    if not ref:
        return None
    try:
        target = base.join(URL(ref))
    except (ValueError, TypeError):
        return None
    if target.scheme not in ("http", "https") or not target.raw_host:
        return None
    return str(target)


def _parser() -> lxml.html.HTMLParser:
    # A fresh parser per page: its error log tells whether this page hit the depth limit.
    return lxml.html.HTMLParser(
        recover=True, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )


def read_page(body: bytes, url: str) -> PageFacts:
    """The facts of the HTML ``body`` served at ``url`` (CPU-bound: callers off the loop)."""
    facts = PageFacts()
    parser = _parser()
    try:
        root = lxml.html.document_fromstring(body[:MAX_HTML], parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return facts  # nothing parseable: an empty page
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        facts.unreadable = "markup nested deeper than 256 elements"
    try:
        base = URL(url)
    except ValueError:
        base = URL("http://invalid/")
    css = "\n".join((s.text or "")[:MAX_HTML] for s in root.iter("style"))
    _walk(root, base, hidden_selectors(css), facts)
    return facts


def _walk(
    root: lxml.html.HtmlElement, base: URL, hidden: HiddenSelectors, facts: PageFacts
) -> None:
    """One pass over the elements, knowing for each whether it or an ancestor is hidden."""
    text: list[str] = []
    size = 0
    stack: list[tuple[bool, bool]] = []  # (hidden, skipped) of each open element
    seen = 0
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            stack.pop()
            tail = element.tail
            if tail and size < MAX_TEXT and not (stack and stack[-1][1]):
                text.append(tail)
                size += len(tail)
            continue
        seen += 1
        if seen > MAX_ELEMENTS:
            facts.unreadable = f"more than {MAX_ELEMENTS} elements"
            break
        tag = element.tag if isinstance(element.tag, str) else ""
        parent_hidden, parent_skipped = stack[-1] if stack else (False, False)
        is_hidden = parent_hidden or _hidden(element, hidden)
        skipped = parent_skipped or tag in _SKIPPED
        stack.append((is_hidden, skipped))
        if not skipped and element.text and size < MAX_TEXT:
            text.append(element.text)
            size += len(element.text)
        _collect(element, tag, base, is_hidden, facts)
    facts.text = " ".join(text)[:MAX_TEXT]


def _hidden(element: lxml.html.HtmlElement, hidden: HiddenSelectors) -> bool:
    attrs = element.attrib
    if "hidden" in attrs:
        return True
    style = attrs.get("style")
    if style and hides(style):
        return True
    return hidden.matches(attrs.get("class", ""), attrs.get("id", ""))


def _collect(
    element: lxml.html.HtmlElement, tag: str, base: URL, is_hidden: bool, facts: PageFacts
) -> None:
    """The element's link, script or frame, if it is one."""
    attrs = element.attrib
    if tag in ("a", "area") and "href" in attrs and len(facts.links) < MAX_LINKS:
        target = _absolute(base, attrs["href"])
        if target is not None:
            words = " ".join(element.itertext())[:200] if tag == "a" else ""
            facts.links.append(Link(target, host_of(target), is_hidden, " ".join(words.split())))
    elif tag == "script" and "src" in attrs and len(facts.scripts) < MAX_RESOURCES:
        target = _absolute(base, attrs["src"])
        if target is not None:
            facts.scripts.append(target)
    elif tag in _FRAMES and len(facts.frames) < MAX_RESOURCES:
        target = _absolute(base, attrs.get(_FRAMES[tag], ""))
        if target is not None:
            facts.frames.append(target)
