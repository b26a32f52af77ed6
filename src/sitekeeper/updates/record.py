"""What an update run writes to the store, in one transaction each: the run's start, its
steps as they finish, its end with the journal event and (for anything but success) the
one alert to the client's channels, in the client's language.

Called off the event loop (``DbThread.session_aside``) by ``updates.run`` and
``updates.recover``; the store functions know nothing of alerts, this module does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.domain.updates import Check, UpdateItem, VerifiedPackage
from sitekeeper.notify import messages, outbox
from sitekeeper.store import updates as runs
from sitekeeper.store.tables import Site
from sitekeeper.store.update_tables import APPLIED
from sitekeeper.vault import Vault


def item_fact(item: UpdateItem, package: VerifiedPackage | None = None) -> dict[str, Any]:
    """An item as the run stores it (with its package once verified)."""
    fact: dict[str, Any] = asdict(item)
    if package is not None:
        fact |= {
            "sha256": package.sha256,
            "url": package.url,
            "checksum_source": package.checksum_source,
        }
    return fact


def items_label(items: Sequence[dict[str, Any]]) -> str:
    """ "plugin akismet 5.0.2 → 5.5, core wordpress 6.1.9 → 6.8.3" for alerts and tables."""
    return ", ".join(
        f"{i.get('type')} {i.get('package')} {i.get('installed')} → {i.get('target')}"
        for i in items
    )


def start(
    session: Session,
    site_id: int,
    items: Sequence[UpdateItem],
    *,
    trigger: str,
    requested_by: str | None,
    now: datetime,
) -> int:
    """A new running run; its id."""
    facts = [item_fact(i) for i in items]
    return runs.start_run(
        session, site_id, facts, trigger=trigger, requested_by=requested_by, now=now
    ).id


def step(session: Session, run_id: int, check: Check) -> None:
    """One finished step."""
    runs.add_step(session, run_id, check)


def packages(session: Session, run_id: int, verified: Sequence[VerifiedPackage]) -> None:
    """The items with their verified packages (checksum, URL, what they were checked with)."""
    runs.set_items(session, run_id, [item_fact(p.item, p) for p in verified])


def finish(
    session: Session,
    run_id: int,
    status: str,
    *,
    vault: Vault,
    global_urls: Sequence[str],
    now: datetime,
    reason: str | None = None,
    state: str | None = None,
) -> None:
    """End the run (journal ``update.<status>``); for anything but ``applied``, queue one
    alert for the site's client saying what happened and the state the site is in."""
    event = runs.finish_run(session, run_id, status, now, error=reason)
    if status == APPLIED:
        return
    run = runs.get_run(session, run_id)
    site = session.get(Site, run.site_id)
    if site is None:  # pragma: no cover - the run's row cascades with its site
        return
    outbox.enqueue_for_client(
        session,
        outbox.client_of(site),
        lambda client, language: messages.update_problem(
            outcome=status,
            site=site.name,
            url=site.url,
            items=items_label(run.items),
            reason=reason or "-",
            state=state or "-",
            snapshot=run.snapshot_id[:8] if run.snapshot_id else None,
            client=client,
            language=language,
        ),
        vault=vault,
        global_urls=global_urls,
        event_id=event.id,
        now=now,
    )
