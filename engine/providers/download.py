"""Fetches provider output, which is untrusted: size-capped, type-checked, time-bounded."""

from __future__ import annotations

import enum
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from engine.errors import MediaError, TransientError


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
    max_bytes: int,
    timeout_s: float = 120.0,
) -> Path:
    """Stream ``url`` to ``target`` (suffix from content), refusing oversize and wrong kinds."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise MediaError("the provider returned a URL that is not http(s)")
    partial = target.with_suffix(".part")
    try:
        async with client.stream("GET", url, timeout=timeout_s) as response:
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
