"""The JSON shapes of job results, shared by ``--json`` output and task results.

One function per result type, so ``sitekeeper backup --json`` and the
result of a backup task queued from the API are the same document (the
stable contract in docs/cli-json.md). Everything returned is plain JSON:
datetimes are ISO strings, so the shapes can be stored as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Types only: `sitekeeper updates` must not pay for the backup modules' imports.
if TYPE_CHECKING:
    from sitekeeper.backup.drill import DrillResult
    from sitekeeper.backup.restore import RestoreResult
    from sitekeeper.backup.runner import BackupOutcome
    from sitekeeper.domain.inventory import Inventory, InventoryDiff
    from sitekeeper.engine.intel_ingest import IngestReport
    from sitekeeper.updates.run import RunOutcome


def backup_outcome_json(outcome: BackupOutcome) -> dict[str, Any]:
    """One site's backup result (``backup --json``, one item)."""
    f = outcome.figures
    return {
        "site_id": outcome.site_id,
        "site": outcome.site,
        "ok": outcome.ok,
        "run_id": outcome.run_id,
        "snapshot": f.snapshot_id if f else None,
        "files": f.files if f else None,
        "bytes_added": f.bytes_added if f else None,
        "bytes_transferred": f.bytes_transferred if f else None,
        "database_bytes": f.database_bytes if f else None,
        "duration_s": round(f.duration, 3) if f else None,
        "error": outcome.error,
    }


def restore_json(result: RestoreResult) -> dict[str, Any]:
    """What a restore did (``restore --json``)."""
    return {
        "site": result.site,
        "snapshot": result.snapshot,
        "target": result.target,
        "duration_s": round(result.duration, 3),
        "safety_snapshot": result.safety_snapshot,
    }


def drill_json(result: DrillResult) -> dict[str, Any]:
    """A restore drill's verdict and figures (``drill --json``)."""
    return {
        "site": result.site,
        "snapshot": result.snapshot,
        "ok": result.ok,
        "detail": result.detail,
        **result.figures,
    }


def inventory_json(result: Inventory, changes: InventoryDiff) -> dict[str, Any]:
    """A site's inventory and what changed since the last one (``inventory --json``)."""
    return {
        "cms": result.cms,
        "version": result.version,
        "php": result.php,
        "database": result.database,
        "extensions": [
            {
                "type": e.type,
                "slug": e.slug,
                "name": e.name,
                "version": e.version,
                "active": e.active,
                "update_source": e.update_source,
            }
            for e in result.extensions
        ],
        "collected_at": result.collected_at.isoformat(),
        "warnings": list(result.warnings),
        "changes": changes.model_dump(mode="json"),
    }


def ingest_report_json(report: IngestReport) -> dict[str, Any]:
    """What an advisory import or a feed poll changed (``advisories import``/``feeds poll``)."""
    return {
        "advisories": report.advisories,
        "changed": report.changed,
        "packages": report.packages,
        "findings_opened": report.opened,
        "findings_resolved": report.resolved,
        "alerts_queued": report.alerts,
        "errors": report.errors,
    }


def update_outcome_json(outcome: RunOutcome) -> dict[str, Any]:
    """One site's update (``update --json``, one item; the ``update`` task's result)."""
    return {
        "site": outcome.site,
        "site_id": outcome.site_id,
        "run_id": outcome.run_id,
        "status": outcome.status,
        "items": [
            {"type": i.type, "package": i.package, "from": i.installed, "to": i.target}
            for i in outcome.items
        ],
        "refused": [
            {"type": r.type, "package": r.package, "reason": r.reason} for r in outcome.refused
        ],
        "reason": outcome.reason,
        "state": outcome.state,
        "snapshot": outcome.snapshot_id,
        "seconds": round(outcome.seconds, 1),
        "steps": [
            {"name": s.name, "ok": s.ok, "detail": s.detail, "seconds": round(s.seconds, 2)}
            for s in outcome.steps
        ],
    }
