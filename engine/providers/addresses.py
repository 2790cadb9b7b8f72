"""Which addresses a provider's URL may lead to: public ones, or hosts the operator named.

Provider output is untrusted, and a URL in it that points at loopback, the private
network or a cloud metadata address would make the bot fetch (and show, and pass on)
what only the bot's own machine can reach.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.errors import MediaError, TransientError

SCHEMES = frozenset({"http", "https"})


_OLD_6TO4_RELAYS = ipaddress.ip_network("192.88.99.0/24")


def is_public(address: str) -> bool:
    """Whether an IP address is globally reachable (not loopback, private, reserved…)."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # drop an IPv6 scope id
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 address.
        teredo = ip.teredo[1] if ip.teredo else None
        for inner in (ip.ipv4_mapped, ip.sixtofour, teredo):
            if inner is not None and not is_public(str(inner)):
                return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False  # fec0::/10: deprecated, yet still routed inside some networks
    if ip in _OLD_6TO4_RELAYS:
        return False  # 192.88.99.0/24: deprecated (RFC 7526), yet is_global says True
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


@dataclass(frozen=True)
class HostPolicy:
    """Refuses non-public addresses, except on hosts named in ``allow`` (self-hosted ones)."""

    allow: frozenset[str] = frozenset()

    @classmethod
    def of(cls, hosts: Iterable[str]) -> HostPolicy:
        """A policy allowing these host names (case and a trailing dot do not matter)."""
        return cls(frozenset(_normal(host) for host in hosts if host.strip()))

    def allows(self, host: str) -> bool:
        """Whether the host is named by the operator, so its addresses are not checked."""
        return _normal(host) in self.allow

    async def check_url(self, url: str) -> None:
        """Raise MediaError unless ``url`` is http(s) and its host resolves to allowed places."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise MediaError("the provider returned a URL that is not http(s)")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise MediaError("the provider returned a URL with a malformed port") from exc
        await self.addresses(parts.hostname, port)

    async def addresses(self, host: str, port: int, timeout_s: float | None = None) -> list[str]:
        """The addresses to connect to for ``host``, every one of them checked.

        An allowed host is returned as it is, for the system to resolve. Otherwise the name
        is resolved here and refused if *any* address is not public: a name with one
        public and one private address could be made to connect to either.
        """
        if self.allows(host):
            return [host]
        try:
            async with asyncio.timeout(timeout_s):
                found = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, TimeoutError) as exc:
            raise TransientError(f"the provider's host {host} could not be resolved") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses or not all(is_public(address) for address in addresses):
            raise MediaError(f"the provider's URL points at a non-public address ({host})")
        return addresses


def _normal(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
