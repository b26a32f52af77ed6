"""Incident rules: from the open incidents and a new check result, what opens and closes.

Pure functions so the same rules serve the in-process engine, distributed
workers and tests; the store applies the transitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from sitekeeper.domain.checks import CheckResult, ErrorCategory


class IncidentKind(StrEnum):
    """What an incident is about; the stored vocabulary."""

    DOWN = "down"
    TLS_EXPIRING = "tls_expiring"
    UNREACHABLE = "unreachable"  # failing from one check location only (domain.quorum)


@dataclass(frozen=True, slots=True)
class Transition:
    """One incident to open or close."""

    action: Literal["open", "close"]
    kind: IncidentKind
    cause: str | None = None


def describe_failure(result: CheckResult) -> str:
    """Short cause text for a failed check: category, then detail."""
    if result.error is None:
        return "unknown"
    return f"{result.error}: {result.detail}" if result.detail else str(result.error)


def needs_confirmation(previously_up: bool | None, result: CheckResult) -> bool:
    """A failure on a site not already known down is re-checked before it counts."""
    return not result.up and previously_up is not False


def evaluate(
    open_kinds: frozenset[IncidentKind], result: CheckResult, tls_warn_days: int
) -> list[Transition]:
    """Transitions implied by a (confirmed) result, given which incidents are open."""
    transitions: list[Transition] = []
    if not result.up and IncidentKind.DOWN not in open_kinds:
        transitions.append(Transition("open", IncidentKind.DOWN, describe_failure(result)))
    elif result.up and IncidentKind.DOWN in open_kinds:
        transitions.append(Transition("close", IncidentKind.DOWN))
    return transitions + evaluate_tls(open_kinds, result, tls_warn_days)


def evaluate_tls(
    open_kinds: frozenset[IncidentKind], result: CheckResult, tls_warn_days: int
) -> list[Transition]:
    """The certificate's transitions alone: any one location's view of it is enough."""
    transitions: list[Transition] = []
    tls = result.tls
    if tls is not None and tls.valid and tls.days_left is not None:
        expiring = tls.days_left <= tls_warn_days
        if expiring and IncidentKind.TLS_EXPIRING not in open_kinds:
            cause = f"certificate expires in {tls.days_left} days"
            transitions.append(Transition("open", IncidentKind.TLS_EXPIRING, cause))
        elif not expiring and IncidentKind.TLS_EXPIRING in open_kinds:
            transitions.append(Transition("close", IncidentKind.TLS_EXPIRING))
    return transitions


def is_tls_failure(result: CheckResult) -> bool:
    """Whether a failure is the certificate's (alerts word it as 'certificate invalid')."""
    return result.error is ErrorCategory.TLS
