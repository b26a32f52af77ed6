"""The egress policy for libraries that open their own sockets in a worker thread.

Apprise's plugins connect through requests, smtplib and others; none takes a socket
factory, but all of them ask ``socket.getaddrinfo`` for the addresses they then
connect to. So while a thread is ``confined``, its look-ups return only allowed
addresses (an IP literal goes through getaddrinfo too), and the first refusal is kept
for the caller's error message. Other threads see the plain function: the wrapper
reads a thread-local policy and is otherwise a pass-through.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sitekeeper.egress.policy import EgressPolicy, EgressRefused

_local = threading.local()
_install_lock = threading.Lock()
_original = socket.getaddrinfo


@dataclass
class Confinement:
    """What the policy refused while a thread was confined (the first reason is enough)."""

    policy: EgressPolicy
    refused: list[str] = field(default_factory=list)


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    answers = _original(host, port, *args, **kwargs)
    confinement: Confinement | None = getattr(_local, "confinement", None)
    if confinement is None:
        return answers
    allowed = []
    for answer in answers:
        reason = confinement.policy.refusal(str(answer[4][0]))
        if reason is None:
            allowed.append(answer)
        else:
            confinement.refused.append(reason)
    if not allowed and answers:
        raise EgressRefused(confinement.refused[-1])
    return allowed


def _install() -> None:
    """Put the wrapper in place once per process (idempotent)."""
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo


@contextmanager
def confined(policy: EgressPolicy) -> Iterator[Confinement]:
    """Apply ``policy`` to every connection this thread opens inside the block."""
    confinement = Confinement(policy)
    if policy.unrestricted:
        yield confinement
        return
    _install()
    previous = getattr(_local, "confinement", None)
    _local.confinement = confinement
    try:
        yield confinement
    finally:
        _local.confinement = previous
