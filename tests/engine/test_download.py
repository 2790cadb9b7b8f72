"""Provider URLs are fetched with the real httpx client only where they may lead.

Loopback web hosts count every request: a refused URL must leave the target's count at 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from engine.config import DownloadPolicy
from engine.errors import MediaError, TransientError
from engine.providers.addresses import HostPolicy, is_public
from engine.providers.download import MediaKind, download
from engine.providers.untrusted_http import untrusted_client
from tests.fakes.providers import FakeMedia
from tests.fakes.web_host import WebHost

ALLOWED = HostPolicy.of(["localhost"])  # the redirector's name; 127.0.0.1 stays refused
POLICY = DownloadPolicy(allow_hosts=ALLOWED.allow, timeout_s=10.0)


@pytest.fixture
async def internal(media: FakeMedia) -> AsyncIterator[WebHost]:
    async with WebHost(media.image) as host:
        yield host


@pytest.fixture
async def redirector(media: FakeMedia) -> AsyncIterator[WebHost]:
    async with WebHost(media.image) as host:
        yield host


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with untrusted_client(ALLOWED) as http:
        yield http


async def fetch(client: httpx.AsyncClient, url: str, tmp_path: Path, **policy: float) -> Path:
    chosen = replace(POLICY, **policy)
    return await download(
        client, url, tmp_path / "image", kind=MediaKind.IMAGE, policy=chosen, hosts=ALLOWED
    )


@pytest.mark.parametrize(
    "path", ["/picture.png", "/to?url=/picture.png"], ids=["direct", "redirected"]
)
async def test_an_allowed_host_is_fetched(client, redirector, media, tmp_path, path) -> None:
    got = await fetch(client, redirector.url(path, host="localhost"), tmp_path)
    assert got.read_bytes() == media.image.read_bytes()


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/picture.png",
        "http://[::ffff:127.0.0.1]:{port}/picture.png",  # loopback inside an IPv6 address
        "http://[::1]:{port}/picture.png",
        "http://0.0.0.0:{port}/picture.png",
    ],
)
@pytest.mark.parametrize("redirected", [False, True], ids=["direct", "through-redirect"])
async def test_a_url_leading_to_loopback_is_refused_before_any_request_reaches_it(
    client, internal, redirector, tmp_path, target, redirected
) -> None:
    url = target.format(port=internal.port)
    if redirected:
        url = redirector.url(f"/to?url={url}", host="localhost")
    with pytest.raises(MediaError, match="non-public address"):
        await fetch(client, url, tmp_path)
    assert internal.hits == []
    assert len(redirector.hits) == redirected
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/picture.png",
        "http://192.168.1.20:8080/picture.png",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://100.64.0.1/picture.png",  # shared address space (carrier NAT)
        "http://[fd00::1]/picture.png",
        "http://224.0.0.1/picture.png",
    ],
)
@pytest.mark.parametrize("redirected", [False, True], ids=["direct", "through-redirect"])
async def test_a_url_leading_to_a_private_address_is_refused(
    client, redirector, tmp_path, target, redirected
) -> None:
    url = redirector.url(f"/to?url={target}", host="localhost") if redirected else target
    with pytest.raises(MediaError, match="non-public address"):
        await fetch(client, url, tmp_path)


@pytest.mark.parametrize(
    "target", ["file:///etc/passwd", "ftp://example.com/x.png", "gopher://127.0.0.1:70/"]
)
async def test_only_http_is_followed_even_through_a_redirect(
    client, redirector, tmp_path, target
) -> None:
    with pytest.raises(MediaError, match="not http"):
        await fetch(client, target, tmp_path)
    with pytest.raises(MediaError, match="not http"):
        await fetch(client, redirector.url(f"/to?url={target}", host="localhost"), tmp_path)


async def test_the_client_itself_never_connects_to_loopback(client, internal) -> None:
    # Without download()'s checks in front: the address is checked where it is connected to.
    with pytest.raises(MediaError, match="non-public address"):
        await client.get(internal.url("/picture.png"))
    assert internal.hits == []


async def test_redirects_are_followed_a_few_hops_only(client, redirector, tmp_path) -> None:
    url = redirector.url("/picture.png", host="localhost")
    for _ in range(POLICY.max_redirects + 1):
        url = redirector.url(f"/to?url={url}", host="localhost")
    with pytest.raises(MediaError, match="redirects more than"):
        await fetch(client, url, tmp_path)
    assert len(redirector.hits) == POLICY.max_redirects + 1
    assert "/picture.png" not in redirector.hits


async def test_a_trickling_body_ends_at_the_download_deadline(client, redirector, tmp_path) -> None:
    # Each byte arrives well within the per-read timeout; only the total deadline ends it.
    url = redirector.url("/trickle", host="localhost")
    async with asyncio.timeout(20):  # a download without a deadline fails here, not hangs
        with pytest.raises(TransientError, match="took longer than 1 s"):
            await fetch(client, url, tmp_path, timeout_s=1.0, read_timeout_s=5.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("fe80::1%eth0", False),
        ("240.0.0.1", False),
        ("::", False),
        ("fec0::1", False),  # site-local: deprecated, still routed inside networks
        ("192.88.99.1", False),  # the 6to4 relays' anycast range, deprecated by RFC 7526
    ],
)
def test_public_means_globally_reachable(address: str, public: bool) -> None:
    assert is_public(address) is public
