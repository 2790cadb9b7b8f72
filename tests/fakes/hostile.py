"""Media files that lie about themselves, as a broken or hostile provider may send them."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path


def truncated_clip(ffmpeg_exe: str, out: Path, *, seconds: float = 2.0, frames: int = 8) -> Path:
    """An MP4 whose header states ``seconds`` but whose data holds only ``frames`` frames.

    The clip is written with its index first (+faststart), then cut right after the
    ``frames``-th frame's bytes, as a download cut short or a crafted file would be.
    """
    whole = out.with_name("whole_" + out.name)
    subprocess.run(
        [ffmpeg_exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", f"testsrc2=size=160x90:rate=24:duration={seconds}", "-pix_fmt", "yuv420p"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(whole)],
        check=True,
    )
    listing = subprocess.run(
        [ffmpeg_exe, "-hide_banner", "-loglevel", "error", "-i", str(whole)]
        + ["-c", "copy", "-f", "framecrc", "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sizes = [int(line.split(",")[4]) for line in listing.splitlines() if line[:1] != "#"]
    data = whole.read_bytes()
    first_frame = data.index(b"mdat") + 4  # one video stream: its frames lie in order
    out.write_bytes(data[: first_frame + sum(sizes[:frames])])
    return out


def png_claiming(width: int, height: int, out: Path) -> Path:
    """A tiny PNG whose header says ``width`` x ``height`` (its pixel data is one row)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = zlib.compress(b"\x00" + b"\x80" * 3 * min(width, 64))
    out.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")
    )
    return out
