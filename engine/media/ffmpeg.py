"""Runs ffmpeg asynchronously: bounded concurrency, timeouts, and killing on cancel."""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg

from engine.errors import FFmpegError, ProcessTimeoutError
from engine.models import Wait, WaitReason
from engine.process import read_process, run_process
from engine.waiting import ENCODER_WAIT, Line, Told

log = logging.getLogger(__name__)

_TAIL_LINES = 12
RECENT_ENCODES = 20  # encodes whose times say how long a wait for a slot may be
# Header reads at once. Each is a process start and a few milliseconds of parsing, but a
# burst of them (every scene of every running job validating its inputs together) spawned
# unbounded stalled the event loop for most of a second (issue 16).
PROBES = 4


def locate_ffmpeg() -> str:
    """The ffmpeg binary shipped by imageio-ffmpeg (or the one IMAGEIO_FFMPEG_EXE names)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def tail(text: str, lines: int = _TAIL_LINES) -> str:
    """The last lines of ffmpeg's stderr, which is where it says what went wrong."""
    return "\n".join(text.strip().splitlines()[-lines:])


class FFmpeg:
    """One ffmpeg binary shared by a process, with at most ``max_procs`` encodes at once.

    Encodes are CPU-bound; bounding them to the core count keeps the event loop (and the
    chat adapters on it) responsive while scenes render.
    """

    def __init__(self, exe: str, *, max_procs: int, timeout_s: float) -> None:
        self.exe = exe
        self.timeout_s = timeout_s
        self._slots = Line(max_procs)
        self._probes = Line(PROBES)
        self._recent: deque[float] = deque(maxlen=RECENT_ENCODES)

    async def run(self, args: Sequence[str], *, timeout_s: float | None = None) -> None:
        """Run one ffmpeg command to completion, raising FFmpegError when it fails."""
        async with self._slots.place(self._told()):
            argv = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", *args]
            started = time.monotonic()
            returncode, stderr = await self._execute(argv, timeout_s or self.timeout_s)
            took = time.monotonic() - started
            self._recent.append(took)
            log.debug("ffmpeg %.2f s → %s", took, args[-1])
        if returncode != 0:
            raise FFmpegError("ffmpeg failed", returncode=returncode, stderr_tail=tail(stderr))

    async def report(
        self, args: Sequence[str], *, timeout_s: float | None = None, decodes: bool = True
    ) -> str:
        """Run one ffmpeg command that ends in ``-progress pipe:1 OUT``; return that report.

        Bounded by the encode slots when it ``decodes``: decoding a whole clip costs as
        much CPU as encoding. A stream copy only reads packets, so it takes a probe's place.
        """
        line = self._slots if decodes else self._probes
        async with line.place(self._told() if decodes else None):
            argv = [self.exe, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
            try:
                returncode, report = await read_process(
                    [*argv, *args], timeout_s=timeout_s or self.timeout_s
                )
            except ProcessTimeoutError as exc:
                raise FFmpegError(str(exc), returncode=None, stderr_tail="") from None
        if returncode != 0:
            raise FFmpegError("ffmpeg failed", returncode=returncode, stderr_tail="")
        return report

    def _told(self) -> Told | None:
        """Where this task's waits for a slot are reported (``ENCODER_WAIT``), with a
        likely length from the recent encodes' times."""
        report = ENCODER_WAIT.get()
        if report is None:
            return None

        def told(place: int | None) -> None:
            if place is None:
                report(None)
                return
            typical = statistics.median(self._recent) if self._recent else None
            rounds = math.ceil(place / self._slots.slots)
            report(Wait(WaitReason.ENCODER, place, None if typical is None else rounds * typical))

        return told

    async def describe(self, path: Path, *, timeout_s: float = 30.0) -> str:
        """ffmpeg's own description of a file's streams (what ffprobe would print).

        Not bounded by the encode slots: it reads headers only, and making it queue behind
        long encodes would stall every scene waiting to validate its inputs. It has its own
        few places instead (``PROBES``), served oldest job first like the encodes.
        """
        async with self._probes.place():
            argv = ["-hide_banner", "-nostdin", "-i", str(path)]
            _, stderr = await self._execute(argv, timeout_s)
        return stderr

    async def _execute(self, argv: Sequence[str], timeout_s: float) -> tuple[int, str]:
        try:
            return await run_process([self.exe, *argv], timeout_s=timeout_s)
        except ProcessTimeoutError as exc:
            raise FFmpegError(str(exc), returncode=None, stderr_tail="") from None
