"""A picture's width and height read from its header, without decoding a pixel.

Pillow refuses a picture only above twice its MAX_IMAGE_PIXELS (179 Mpx) and merely warns
above 89 Mpx, and ffmpeg then holds the whole decoded picture for every encode; so a
provider's picture is measured first, from the few bytes that say how large it is.
"""

from __future__ import annotations

import struct
from pathlib import Path

from engine.errors import MediaError

_HEAD = 64 * 1024  # JPEG may put its frame header after EXIF and ICC segments
_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers: baseline, progressive, lossless… (not DHT, JPG or DAC)
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the start of a PNG, JPEG or WebP file, or None if unreadable."""
    if head.startswith(_PNG) and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_size(head[12:])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in {0x01, *range(0xD0, 0xD8)}:  # markers without a length
            at += 2
            continue
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    return None


def _webp_size(chunk: bytes) -> tuple[int, int] | None:
    kind, body = chunk[:4], chunk[8:]
    if kind == b"VP8X" and len(body) >= 10:  # 24-bit width-1 and height-1
        return 1 + int.from_bytes(body[4:7], "little"), 1 + int.from_bytes(body[7:10], "little")
    if kind == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:  # 14 bits each, minus one
        bits = int.from_bytes(body[1:5], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    return None


def check_pixels(path: Path, max_pixels: int) -> tuple[int, int]:
    """The picture's size, or MediaError if its header is unreadable or it is too large."""
    with path.open("rb") as handle:
        size = image_size(handle.read(_HEAD))
    if size is None or 0 in size:
        raise MediaError(f"{path.name} has no readable picture header")
    if size[0] * size[1] > max_pixels:
        raise MediaError(
            f"{path.name} is {size[0]}x{size[1]}, over {max_pixels / 1e6:g} million pixels"
        )
    return size
