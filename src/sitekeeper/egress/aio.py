"""The egress policy for aiohttp: a resolver that drops refused answers, and a socket
factory that checks the address each socket actually connects to.

The resolver gives a clear error for names ("refused by the egress policy: 10.0.0.5
is private") and keeps a name with one public and one private address working on the
public one. The socket factory is the guarantee: IP literals skip the resolver, every
redirect connects anew, and DNS rebinding cannot slip a second answer in, because the
address checked is the one ``connect`` receives.
"""

from __future__ import annotations

import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from sitekeeper.egress.policy import EgressPolicy, EgressRefused


class GuardedResolver(AbstractResolver):
    """Answers of ``inner`` the policy allows; EgressRefused when it allows none."""

    def __init__(self, inner: AbstractResolver, policy: EgressPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The allowed addresses of ``host``."""
        answers = await self._inner.resolve(host, port, family)
        allowed = [a for a in answers if self._policy.refusal(a["host"]) is None]
        if answers and not allowed:
            reason = self._policy.refusal(answers[0]["host"])
            raise EgressRefused(reason or "refused by the egress policy")
        return allowed

    async def close(self) -> None:
        """Nothing of ours to release: the inner resolver belongs to whoever made it."""


def connector_options(
    policy: EgressPolicy, resolver: AbstractResolver | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``aiohttp.TCPConnector`` that enforce ``policy``.

    ``resolver`` is the caller's (closed by the caller); without one, aiohttp's default
    when nothing is restricted, else its threaded resolver (nothing to close).
    """
    if policy.unrestricted:
        return {} if resolver is None else {"resolver": resolver}
    inner = resolver if resolver is not None else ThreadedResolver()
    return {"resolver": GuardedResolver(inner, policy), "socket_factory": policy.open_socket}


def refusal_in(exc: BaseException) -> EgressRefused | None:
    """The policy's refusal behind an aiohttp or OS error, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, EgressRefused):
            return current
        seen.add(id(current))
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, EgressRefused):
            return os_error
        current = current.__cause__ or current.__context__
    return None
