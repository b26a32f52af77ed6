"""Narrow a hardened site's release by the public files that differ between the candidates.

A fixed list of files is not enough: three JavaScript files left a Drupal 9.5.x site
at 9.5.6-9.5.11 although other public files tell those releases apart. So each round
picks, from what the candidate releases shipped, the file whose hashes split the
candidates into the smallest expected remainder, fetches it from the site, keeps the
releases that shipped exactly those bytes, and repeats until one release is left, no
public file differs any more, or the request budget is spent. A file the site does
not serve, or serves edited (its hash matches no candidate), rules nothing out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sitekeeper.intel.hash_store import HashKnowledge, md5_hex

Fetch = Callable[[str], Awaitable[bytes | None]]  # a site path -> its body if served (200)
_PREFERRED = (".js", ".css")  # what a hardened site must still serve for its pages to work


@dataclass
class Narrowed:
    """The releases still possible, and what was seen on the way (evidence lines)."""

    versions: list[str]
    notes: list[str] = field(default_factory=list)
    fetched: int = 0


def best_split(files: dict[str, dict[str, str]], unlearned: int, skip: set[str]) -> str | None:
    """The path whose digests split the learned candidates into the smallest expected
    remainder, JavaScript and CSS first among equals; None when no file tells any two
    learned candidates apart.

    Each digest group is weighed by its size (as likely as the site running one of
    its releases); ``unlearned`` candidates stay whatever is seen, and a release that
    lacks the file answers 404 there, which rules nothing out.
    """
    paths: set[str] = set()
    for shipped in files.values():
        paths.update(shipped)
    total = len(files) + unlearned
    best: tuple[int, int, int, str] | None = None
    for path in paths - skip:
        groups: dict[str | None, int] = {}
        for shipped in files.values():
            digest = shipped.get(path)
            groups[digest] = groups.get(digest, 0) + 1
        if len(groups) < 2:
            continue  # the same everywhere: tells nothing apart
        missing = groups.pop(None, 0)
        score = sum(size * (size + unlearned) for size in groups.values()) + missing * total
        rank = (score, 0 if path.endswith(_PREFERRED) else 1, len(path), path)
        if best is None or rank < best:
            best = rank
    return best[3] if best else None


async def narrow(
    knowledge: HashKnowledge,
    cms: str,
    candidates: Sequence[str],
    fetch: Fetch,
    *,
    budget: int,
    on_progress: Callable[[list[str]], None] | None = None,
) -> Narrowed:
    """Fetch up to ``budget`` public files from the site, chosen to split ``candidates``
    (releases in the site's range, oldest first), and keep those that fit every file."""
    learned = {v: f for v in candidates if (f := knowledge.files(cms, v)) is not None}
    unlearned = [v for v in candidates if v not in learned]
    result = Narrowed(versions=list(candidates))
    if unlearned and learned:
        result.notes.append(f"{len(unlearned)} release(s) in range not learned: kept as possible")
    tried: set[str] = set()
    while len(learned) + len(unlearned) > 1 and result.fetched < budget:
        path = best_split(learned, len(unlearned), tried)
        if path is None:
            if len(learned) > 1:
                other = "other " if tried else ""
                left = _span(sorted(learned, key=candidates.index))
                result.notes.append(f"no {other}public file differs between {left}")
            break
        tried.add(path)
        result.fetched += 1
        body = await fetch(path)
        if body is None:
            result.notes.append(f"{path}: not served")
            continue
        digest = md5_hex(body)
        fitting = {v: f for v, f in learned.items() if f.get(path) == digest}
        if not fitting:
            # A soft 404 page, a minified or edited copy: evidence of nothing.
            result.notes.append(f"{path}: md5 {digest[:12]} matches no candidate release")
            continue
        result.notes.append(f"{path}: md5 {digest[:12]} shipped in {_span(list(fitting))}")
        learned = fitting
        result.versions = [v for v in candidates if v in learned or v in unlearned]
        if on_progress is not None:
            on_progress(result.versions)
    if len(learned) == 1 and not unlearned and result.versions == list(candidates):
        await _confirm(
            result,
            learned=learned,
            fetch=fetch,
            budget=budget,
            tried=tried,
            on_progress=on_progress,
        )
    return result


async def _confirm(
    result: Narrowed,
    *,
    learned: dict[str, dict[str, str]],
    fetch: Fetch,
    budget: int,
    tried: set[str],
    on_progress: Callable[[list[str]], None] | None,
) -> None:
    """One release in range and nothing seen yet: a file of it must match before the site
    is said to run it (a release the vendor no longer lists would not)."""
    [(version, shipped)] = learned.items()
    paths = sorted(
        (p for p in shipped if p not in tried),
        key=lambda p: (0 if p.endswith(_PREFERRED) else 1, len(p), p),
    )
    for path in paths[: max(0, budget - result.fetched)][:2]:
        result.fetched += 1
        body = await fetch(path)
        if body is None:
            result.notes.append(f"{path}: not served")
            continue
        digest = md5_hex(body)
        if shipped[path] != digest:
            result.notes.append(f"{path}: md5 {digest[:12]} matches no candidate release")
            continue
        result.notes.append(f"{path}: md5 {digest[:12]} shipped in {version}")
        result.versions = [version]
        if on_progress is not None:
            on_progress(result.versions)
        return


def _span(versions: Sequence[str]) -> str:
    if len(versions) <= 3:
        return ", ".join(versions)
    return f"{versions[0]} .. {versions[-1]} ({len(versions)} releases)"
