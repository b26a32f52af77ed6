"""The egress policy: which addresses a feature may connect to, and why not.

A technician can make the server connect to a URL of their choosing (a site, an
advisory source, an alert channel). Pointed at loopback, the LAN or a cloud metadata
service, that turns sitekeeper into a door into its own network. So each feature has
a policy over *addresses* (what a name resolves to, checked again for the address a
socket actually connects to), not over URLs, which DNS can point anywhere.

Rules are address kinds (``loopback``, ``private``, ``metadata``, ...; ``non-public``
for all of them) or networks in CIDR notation. An address is refused when a deny rule
matches it and no allow rule does: allow rules are the admin's exceptions.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sitekeeper.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _nets(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Most specific first: an address is reported as the first kind that contains it.
KINDS: dict[str, tuple[Network, ...]] = {
    "metadata": _nets("169.254.169.254/32", "fd00:ec2::254/128"),
    "loopback": _nets("127.0.0.0/8", "::1/128"),
    # 0.0.0.0 reaches the host itself on Linux; :: likewise.
    "unspecified": _nets("0.0.0.0/8", "::/128"),
    "private": _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
    "link-local": _nets("169.254.0.0/16", "fe80::/10"),
    "cgnat": _nets("100.64.0.0/10"),
    "multicast": _nets("224.0.0.0/4", "ff00::/8"),
}
# Everything else the IANA registries call non-global (documentation, benchmarking,
# reserved, broadcast...) is "reserved": no legitimate site, feed or channel lives there.
RESERVED = "reserved"
NON_PUBLIC = "non-public"  # every kind above, and reserved
KIND_NAMES = (*KINDS, RESERVED, NON_PUBLIC)


_WORDS = {
    "metadata": "a cloud metadata address",
    "cgnat": "carrier-grade NAT",
    "reserved": "reserved (not publicly routable)",
}


class EgressRefused(OSError):
    """A connection the egress policy refused; an OSError so HTTP and mail clients treat it
    as a failed connect. Its text names the address and the rule, never the peer's bytes."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EACCES, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def parse_address(text: str) -> Address | None:
    """The address in ``text`` (IPv4-mapped IPv6 unwrapped, scope dropped), or None."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 connects to 127.0.0.1
    return address


def kinds_of(address: Address) -> list[str]:
    """Every non-public kind containing ``address``, most specific first ([] when public)."""
    found = [
        kind
        for kind, networks in KINDS.items()
        if any(address in net for net in networks if net.version == address.version)
    ]
    if not found and not address.is_global:
        found.append(RESERVED)
    return found


def kind_of(address: Address) -> str | None:
    """The most specific non-public kind of an address, or None when it is public."""
    found = kinds_of(address)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Rules:
    """A parsed list of rules: address kinds and networks."""

    kinds: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    def match(self, address: Address, *, broad: bool) -> str | None:
        """How this list matches ``address`` (a kind, or ``in NETWORK``), or None.

        ``broad`` (deny lists) matches any kind containing the address, so denying
        link-local denies the metadata address inside it; allow lists match only the
        most specific kind, so allowing ``private`` never opens ``fd00:ec2::254``.
        """
        kinds = kinds_of(address) if broad else kinds_of(address)[:1]
        for kind in kinds:
            if kind in self.kinds:
                return kind
        for net in self.networks:
            if net.version == address.version and address in net:
                return f"in {net}"
        return None

    @property
    def empty(self) -> bool:
        """True when the list matches nothing."""
        return not self.kinds and not self.networks


def split_rules(value: Any) -> Any:
    """A comma- or newline-separated setting as a list (other values as they are)."""
    if isinstance(value, str):
        return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    return value


def parse_rules(values: Iterable[str]) -> Rules:
    """Rules from setting values; ValueError naming the entry that is neither kind nor CIDR."""
    kinds: set[str] = set()
    networks: list[Network] = []
    for raw in values:
        value = raw.strip().lower()
        if value == NON_PUBLIC:
            kinds.update((*KINDS, RESERVED))
        elif value in KIND_NAMES:
            kinds.add(value)
        else:
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                raise ValueError(
                    f"{raw!r} is neither a network (CIDR) nor one of {', '.join(KIND_NAMES)}"
                ) from None
    return Rules(frozenset(kinds), tuple(networks))


def checked_rules(values: list[str]) -> list[str]:
    """Pydantic validator for the egress settings: valid entries, stripped."""
    parse_rules(values)
    return [v.strip() for v in values]


def checked_networks(values: list[str]) -> list[str]:
    """Pydantic validator for lists of networks (CIDR) or addresses, stripped."""
    for value in values:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network (CIDR)") from None
    return [v.strip() for v in values]


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Refuse addresses ``deny`` matches unless ``allow`` does; ``hint`` says how to allow."""

    deny: Rules
    allow: Rules = Rules()
    hint: str = ""

    @classmethod
    def anywhere(cls) -> EgressPolicy:
        """No restriction (library use; the site default without deny rules)."""
        return cls(Rules())

    @classmethod
    def public_only(cls, allow: Iterable[str] = (), hint: str = "") -> EgressPolicy:
        """Public addresses only, plus the networks or kinds in ``allow``."""
        return cls(parse_rules([NON_PUBLIC]), parse_rules(allow), hint)

    @property
    def unrestricted(self) -> bool:
        """True when nothing is ever refused (the guards can stay out of the way)."""
        return self.deny.empty

    def refusal(self, host: str) -> str | None:
        """Why a connection to the IP ``host`` is refused, or None if it may go ahead.

        A name that is not an IP is refused: callers check resolved addresses.
        """
        if self.unrestricted:
            return None
        address = parse_address(host)
        if address is None:
            return f"refused by the egress policy: {host[:100]!r} is not an IP address"
        why = self.deny.match(address, broad=True)
        if why is None or self.allow.match(address, broad=False) is not None:
            return None
        what = f"is {_WORDS.get(why, why)}" if not why.startswith("in ") else f"is {why}"
        hint = f" ({self.hint})" if self.hint else ""
        return f"refused by the egress policy: {address} {what}{hint}"

    def check(self, host: str) -> None:
        """EgressRefused unless a connection to the IP ``host`` is allowed."""
        reason = self.refusal(host)
        if reason is not None:
            raise EgressRefused(reason)

    def open_socket(self, addr_info: tuple[Any, ...]) -> socket.socket:
        """A socket for one ``getaddrinfo`` answer, after checking its address: the last
        word, as it sees the very address connected to (IP literals, every redirect)."""
        family, type_, proto, _, sockaddr = addr_info
        self.check(str(sockaddr[0]))
        return socket.socket(family, type_, proto)


ALLOW_HINT = "an admin can allow it with SITEKEEPER_EGRESS_ALLOW"
SITE_HINT = "see SITEKEEPER_SITE_EGRESS_DENY and SITEKEEPER_SITE_EGRESS_ALLOW"


def outbound_policy(settings: Settings) -> EgressPolicy:
    """Advisory sources, vendor feeds and alert channels: public addresses, plus what the
    admin allowed (``SITEKEEPER_EGRESS_ALLOW``)."""
    return EgressPolicy.public_only(settings.egress_allow, ALLOW_HINT)


def site_policy(settings: Settings) -> EgressPolicy:
    """Checks and fingerprints of sites: agencies monitor intranet sites, so only what the
    admin denies (``SITEKEEPER_SITE_EGRESS_DENY``, cloud metadata by default) is refused,
    minus the exceptions in ``SITEKEEPER_SITE_EGRESS_ALLOW``."""
    return EgressPolicy(
        parse_rules(settings.site_egress_deny), parse_rules(settings.site_egress_allow), SITE_HINT
    )
