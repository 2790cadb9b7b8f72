"""Fetches provider output, which is untrusted: size-capped, type-checked, time-bounded."""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path

import httpx

from engine.config import DownloadPolicy
from engine.errors import MediaError, TransientError
from engine.providers.addresses import HostPolicy


class MediaKind(enum.StrEnum):
    """What a download must turn out to be."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


_SUFFIX = {MediaKind.IMAGE: ".png", MediaKind.VIDEO: ".mp4", MediaKind.AUDIO: ".mp3"}


def sniff(head: bytes) -> tuple[MediaKind, str] | None:
    """The media kind and file suffix that a file's first bytes say it is, if any."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.IMAGE, ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.IMAGE, ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.IMAGE, ".webp"
    if head[4:8] == b"ftyp":
        return MediaKind.VIDEO, ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MediaKind.VIDEO, ".webm"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaKind.AUDIO, ".wav"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return MediaKind.AUDIO, ".mp3"
    if head.startswith(b"OggS"):
        return MediaKind.AUDIO, ".ogg"
    if head.startswith(b"fLaC"):
        return MediaKind.AUDIO, ".flac"
    return None


def check_kind(path: Path, expected: MediaKind) -> Path:
    """Raise MediaError unless the file's bytes are the expected kind; fix its suffix."""
    with path.open("rb") as handle:
        head = handle.read(16)
    found = sniff(head)
    if found is None or found[0] is not expected:
        raise MediaError(f"the provider's file is not {expected.value} data")
    if path.suffix != found[1]:
        path = path.rename(path.with_suffix(found[1]))
    return path


async def download(
    client: httpx.AsyncClient,
    url: str,
    target: Path,
    *,
    kind: MediaKind,
    policy: DownloadPolicy,
    hosts: HostPolicy,
) -> Path:
    """Stream ``url`` to ``target`` (suffix from content), refusing oversize and wrong kinds.

    ``client`` must follow no redirects (untrusted_client): each hop is checked here first.
    The whole download, every hop included, ends by ``policy.timeout_s``: a per-read
    timeout alone lets a body that trickles a byte at a time run for ever.
    """
    partial = target.with_suffix(".part")
    try:
        async with asyncio.timeout(policy.timeout_s):
            received = await _follow(client, url, partial, policy, hosts)
    except TimeoutError as exc:
        partial.unlink(missing_ok=True)
        raise TransientError(f"the download took longer than {policy.timeout_s:g} s") from exc
    except httpx.TimeoutException as exc:
        partial.unlink(missing_ok=True)
        raise TransientError("the download timed out") from exc
    except httpx.TransportError as exc:
        partial.unlink(missing_ok=True)
        raise TransientError(f"the download failed: {type(exc).__name__}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if received == 0:
        partial.unlink(missing_ok=True)
        raise MediaError("the provider's file is empty")
    return check_kind(partial.rename(target.with_suffix(_SUFFIX[kind])), kind)


async def _follow(
    client: httpx.AsyncClient, url: str, partial: Path, policy: DownloadPolicy, hosts: HostPolicy
) -> int:
    """Fetch ``url`` into ``partial``, following redirects one checked hop at a time."""
    for _ in range(policy.max_redirects + 1):
        await hosts.check_url(url)  # before any request is made to it
        request = client.build_request("GET", url, timeout=policy.read_timeout_s)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.has_redirect_location:
                url = str(response.url.join(response.headers["location"]))
                continue
            return await _save(response, partial, policy.max_bytes)
        finally:
            await response.aclose()
    raise MediaError(f"the provider's URL redirects more than {policy.max_redirects} times")


async def _save(response: httpx.Response, partial: Path, max_bytes: int) -> int:
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(f"download answered {response.status_code}")
    if response.status_code != 200:
        raise MediaError(f"download answered {response.status_code}")
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise MediaError(f"the provider's file is over {max_bytes // 2**20} MiB")
    received = 0
    with partial.open("wb") as out:
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise MediaError(f"the provider's file is over {max_bytes // 2**20} MiB")
            out.write(chunk)
    return received
