"""Named personas for the business-object store tests: one agency's clients, plans, contracts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.store import clients, contracts, plans, sites
from sitekeeper.store.tables import Client, Contract, Plan, Site
from sitekeeper.vault import Vault

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VAULT = Vault(Fernet.generate_key())
DEFAULT_INTERVAL = 300


def baker(session: Session, name: str = "Bäckerei Müller") -> Client:
    """A small German client."""
    return clients.add_client(session, VAULT, name=name, language="de", now=NOW)


def basic(session: Session, interval: int = 60, name: str = "Basic") -> Plan:
    """The cheapest plan."""
    return plans.add_plan(session, name=name, check_interval=interval, price=Decimal(49), now=NOW)


def contract(
    session: Session, client: Client, plan: Plan, price: Decimal | None = None
) -> Contract:
    """A running contract (started this year)."""
    return contracts.add_contract(
        session, client_id=client.id, plan_id=plan.id, start=date(2026, 1, 1), price=price, now=NOW
    )


def site(
    session: Session,
    client: Client,
    url: str = "https://example.com",
    contract: Contract | None = None,
    name: str | None = None,
) -> Site:
    """A site added the way the CLI adds one."""
    fields = sites.SiteFields(url=url, client=client, contract=contract, name=name)
    return sites.add_site(session, fields, NOW, default_interval=DEFAULT_INTERVAL)


def write(path: Path, text: str) -> Path:
    """A file with ``text`` (UTF-8)."""
    path.write_text(text, encoding="utf-8")
    return path


def hack_spec(
    site_id: int,
    kind: str = "malware",
    item: str = "wp-content/uploads/2026/11/cache.php",
    severity: str = "high",
    digest: str = "a" * 64,
    title: str = "PHP file in uploads",
) -> FindingSpec:
    """A finding as the integrity, malware and SEO checks file it: severity, title,
    evidence, the fix (note) and the evidence's digest."""
    return FindingSpec(
        site_id=site_id,
        kind=kind,
        ecosystem="files",
        type="added",
        package=item,
        installed=None,
        basis="ssh",
        security=True,
        severity=severity,
        note="delete the file, then look for how it got there",
        extra=(("title", title), ("evidence", item), ("digest", digest)),
    )
