"""The ffmpeg runner, probing, fitting and captions, against the real binary."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from engine.config import RenderConfig
from engine.errors import FFmpegError, MediaError
from engine.media.compose import ClipFit, clip_fit, frame_count, scene_fps
from engine.media.ffmpeg import PROBES, FFmpeg
from engine.media.probe import parse_description, probe
from tests.processes import ffmpeg_children, first_ffmpeg_children, is_gone

DESCRIPTION = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 531 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, progressive), \
1280x720 [SAR 1:1 DAR 16:9], 400 kb/s, 24 fps, 24 tbr, 12288 tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 128 kb/s
"""


def test_description_is_parsed() -> None:
    info = parse_description(DESCRIPTION)
    assert info.duration_s == pytest.approx(62.5)
    assert info.video is not None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 1280, 720)
    assert info.video.fps == 24
    assert info.audio is not None
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == (
        "aac",
        48000,
        "stereo",
    )


async def test_probe_reads_real_files_and_refuses_garbage(ffmpeg, media, tmp_path) -> None:
    clip = await probe(ffmpeg, media.clip)
    assert clip.video is not None and clip.audio is None
    assert clip.duration_s == pytest.approx(2.0, abs=0.05)
    wav = await probe(ffmpeg, media.narration)
    assert wav.audio is not None and wav.video is None
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"<html>not a video</html>" * 10)
    with pytest.raises(MediaError):
        await probe(ffmpeg, junk)
    with pytest.raises(MediaError):
        await probe(ffmpeg, tmp_path / "missing.mp4")


async def test_a_failing_command_raises_with_the_tail_of_stderr(ffmpeg, tmp_path) -> None:
    with pytest.raises(FFmpegError) as failed:
        await ffmpeg.run(["-i", str(tmp_path / "nope.mp4"), str(tmp_path / "out.mp4")])
    assert failed.value.returncode not in (0, None)
    assert "nope.mp4" in failed.value.stderr_tail


async def test_a_command_over_its_deadline_is_killed(ffmpeg_exe, tmp_path) -> None:
    runner = FFmpeg(ffmpeg_exe, max_procs=1, timeout_s=0.5)
    endless = ["-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5", "-f", "null", "-"]
    with pytest.raises(FFmpegError, match="longer than"):
        await runner.run(endless)
    assert ffmpeg_children() == []


async def test_cancelling_a_run_kills_the_process(ffmpeg) -> None:
    endless = ["-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5", "-f", "null", "-"]
    task = asyncio.create_task(ffmpeg.run(endless))

    pids = await first_ffmpeg_children()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ffmpeg_children() == []
    assert all(is_gone(pid) for pid in pids)


async def test_encodes_never_exceed_the_process_bound(ffmpeg_exe) -> None:
    runner = FFmpeg(ffmpeg_exe, max_procs=1, timeout_s=30)
    earlier = set(ffmpeg_children())  # anything still exiting from an earlier test
    seen: list[int] = []
    pids: set[int] = set()
    busy = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3", "-f", "null", "-"]

    async def sample() -> None:
        while len(seen) < 2000 and not all(t.done() for t in tasks):
            mine = set(ffmpeg_children()) - earlier
            pids.update(mine)
            seen.append(len(mine))
            await asyncio.sleep(0.005)

    tasks = [asyncio.create_task(runner.run(busy)) for _ in range(3)]
    await asyncio.gather(sample(), *tasks)
    assert max(seen) == 1
    assert len(pids) == 3  # each run was seen, one at a time


async def test_header_reads_are_bounded_and_served_in_arrival_order(ffmpeg, tmp_path) -> None:
    # Each probe reads a FIFO, so it stays running until the test writes to it; a FIFO
    # can be opened for writing without blocking only once its reader, ffmpeg, has it.
    fifos = [tmp_path / f"in_{n}" for n in range(PROBES + 6)]
    for fifo in fifos:
        os.mkfifo(fifo)
    probes = [asyncio.create_task(ffmpeg.describe(fifo)) for fifo in fifos]
    reached: list[int] = []  # the FIFOs in the order their probes opened them
    held: dict[int, int] = {}
    while len(reached) < len(fifos):
        for n in set(range(len(fifos))) - set(reached):
            if (fd := _writer(fifos[n])) is not None:
                reached.append(n)
                held[n] = fd
        assert len(held) <= PROBES
        if len(held) == min(PROBES, len(fifos) - len(reached) + len(held)):
            oldest = min(held)
            os.write(held[oldest], b"not media")
            os.close(held.pop(oldest))
        else:
            await asyncio.sleep(0.005)  # polling ffmpeg's progress, as first_ffmpeg_children
    for fd in held.values():
        os.close(fd)
    await asyncio.gather(*probes)
    # The first few start together, in any order; every later one in the order it came.
    assert sorted(reached[:PROBES]) == list(range(PROBES))
    assert reached[PROBES:] == list(range(PROBES, len(fifos)))


def _writer(fifo: Path) -> int | None:
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: no probe has it open yet
        return None


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (16.0, 16),  # Wan 2.2's clips keep their rate
        (12.0, 12),
        (23.976, 24),  # not a whole rate: the render's
        (24.0, 24),
        (30.0, 24),  # higher: brought down to the render's
        (15.0, 24),  # 24 * 512 ticks do not divide into 15 whole frames
        (8.0, 24),  # too slow to keep
        (None, 24),
    ],
)
def test_a_scene_keeps_a_clips_lower_whole_frame_rate(fps: float | None, expected: int) -> None:
    description = DESCRIPTION.replace("24 fps, 24 tbr", f"{fps} fps, {fps} tbr")
    if fps is None:
        description = DESCRIPTION.replace("24 fps, ", "")
    info = parse_description(description)
    assert info.video is not None and info.video.fps == fps
    assert scene_fps(info, RenderConfig(fps=24)) == expected


@pytest.mark.parametrize(
    ("clip_s", "target_s", "expected"),
    [
        (5.0, 4.0, ClipFit()),
        (4.0, 5.0, ClipFit(1.25, 0.0)),
        (2.0, 7.0, ClipFit(1.5, 4.0)),  # slowed as far as looks natural, then held
        (0.0, 3.0, ClipFit()),
    ],
)
def test_clip_fit(clip_s: float, target_s: float, expected: ClipFit) -> None:
    assert clip_fit(clip_s, target_s) == expected


def test_frame_count_covers_the_duration() -> None:
    assert frame_count(1.0, 24) == 24
    assert frame_count(1.01, 24) == 25
    assert frame_count(0.0, 24) == 1


async def test_a_video_over_the_limit_is_shrunk_to_fit(ffmpeg, tmp_path) -> None:
    from engine.media.fit import fit_to_size

    big = tmp_path / "big.mp4"
    await ffmpeg.run(
        ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:duration=4"]
        + ["-f", "lavfi", "-i", "sine=frequency=440:duration=4"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "aac", str(big)]
    )
    limit = big.stat().st_size // 4
    fitted, shrunk = await fit_to_size(ffmpeg, big, limit)

    assert shrunk and fitted != big
    assert fitted.stat().st_size <= limit
    info = await probe(ffmpeg, fitted)
    assert info.video is not None and info.audio is not None
    assert info.duration_s == pytest.approx(4.0, abs=0.1)
    assert await fit_to_size(ffmpeg, fitted, limit) == (fitted, False)
