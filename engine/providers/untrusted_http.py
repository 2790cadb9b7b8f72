"""An httpx client for URLs that came from a provider: it connects to checked addresses only.

The address check runs where the connection is made, on the very addresses connected to,
so a name that resolves to a public address when checked and to a private one a moment
later (DNS rebinding) still cannot reach the private one.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from engine.errors import MediaError
from engine.providers.addresses import HostPolicy


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves a host itself, refuses it by its addresses, connects to what it checked."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, policy: HostPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in await self._policy.addresses(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc  # the next address may answer, as a resolver's caller expects
        raise failure or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise MediaError("a provider's URL may not lead to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def untrusted_client(policy: HostPolicy, *, timeout_s: float = 30.0) -> httpx.AsyncClient:
    """A client that only connects to addresses ``policy`` allows, and follows no redirect.

    Proxies from the environment are not used: through a proxy the address connected to
    would be the proxy's, and the check would mean nothing. TLS still verifies the URL's
    own host name (httpcore sends it as SNI whatever address the socket went to).
    """
    transport = httpx.AsyncHTTPTransport()
    # httpx offers no public way to choose how connections are made; its pool does.
    pool = transport._pool
    pool._network_backend = _CheckedBackend(pool._network_backend, policy)
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, timeout=timeout_s
    )
