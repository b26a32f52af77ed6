"""The built-in words and patterns of SEO-spam URLs, read from ``spam_words.txt`` (data,
not code: a new pharma brand is a line there)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from urllib.parse import unquote

MAX_URL = 500  # characters of a URL matched


@lru_cache(maxsize=1)
def _entries() -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    lines = files(__package__).joinpath("spam_words.txt").read_text(encoding="utf-8")
    words: list[str] = []
    patterns: list[re.Pattern[str]] = []
    for raw in lines.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("re:"):
            patterns.append(re.compile(line[3:]))
        else:
            words.append(line.lower())
    return tuple(words), tuple(patterns)


def spam_word(url: str) -> str | None:
    """The spam word or pattern ``url`` contains (None if it contains none)."""
    text = unquote(url[:MAX_URL]).lower()
    words, patterns = _entries()
    for word in words:
        if word in text:
            return word
    for pattern in patterns:
        if pattern.search(text):
            return pattern.pattern
    return None
