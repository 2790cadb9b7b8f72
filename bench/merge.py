"""Benchmark the merge: a job's finished scenes joined into its final, against moviepy.

    python bench/merge.py [--repeats 5] [--moviepy-python .bench-moviepy/bin/python]

Six 4 s 512x512 scenes are made the engine's way (``render_scene``: a clip fitted to its
narration, with captions, fades and AAC audio), then timed:
- tail_s: from the last scene ready to the final on disk, as a job does it (the engine's
  ``concat``, a stream copy, then the final's probe); the fastest of ``--repeats`` runs,
  and tail_median_s;
- moviepy_s: the same six scene files opened, joined and written with moviepy 2.2.1
  (``concatenate_videoclips``, ``write_videofile`` with libx264 and AAC), in its own
  environment: moviepy needs Pillow < 12 and cannot share dreambot's. Made once with
    python -m venv .bench-moviepy && .bench-moviepy/bin/pip install -r bench/moviepy.txt
  Without it, moviepy_s is null and the reason is printed;
- moviepy_ratio: moviepy_s / tail_s.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.figures and tests.fakes, whatever the working directory

from bench.figures import machine, report
from engine.config import RenderConfig
from engine.media.compose import concat, prepare_soundtrack, render_scene
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.media.probe import probe
from engine.models import ENGLISH, Narration, Visual, VisualKind
from tests.fakes.providers import FakeMedia

SCENES = 6
SCENE_S = 4.0
SIDE = 512
MOVIEPY_PYTHON = ROOT / ".bench-moviepy" / "bin" / "python"


async def make_scenes(ffmpeg: FFmpeg, folder: Path) -> list[Path]:
    """Six finished scenes of one job, encoded as the engine encodes them."""
    render = RenderConfig(width=SIDE, height=SIDE)
    media = await FakeMedia.make(
        ffmpeg, folder / "media", width=SIDE, height=SIDE, clip_s=SCENE_S + 0.1,
        narration_s=SCENE_S,
    )  # fmt: skip
    info = await probe(ffmpeg, media.clip)
    scenes = []
    for n in range(SCENES):
        part = folder / f"scene_{n:02d}"
        part.mkdir()
        sound = await prepare_soundtrack(
            ffmpeg, narration=Narration(media.narration, SCENE_S), text=f"Scene {n} of the keeper.",
            language=ENGLISH, render=render, folder=part,
        )  # fmt: skip
        out = part / "scene.mp4"
        await render_scene(
            ffmpeg, visual=Visual(VisualKind.CLIP, media.clip), visual_info=info,
            soundtrack=sound, render=render, seed=n, out=out, fade_in=n > 0,
        )  # fmt: skip
        scenes.append(out)
    return scenes


async def time_merge(ffmpeg: FFmpeg, scenes: Sequence[Path], out: Path) -> float:
    """From the last scene ready to the final on disk and read back, as a job merges."""
    started = time.perf_counter()
    await concat(ffmpeg, scenes, out)
    await probe(ffmpeg, out)
    return time.perf_counter() - started


async def time_moviepy(python: Path, scenes: Sequence[Path], out: Path) -> float:
    process = await asyncio.create_subprocess_exec(
        str(python), str(ROOT / "bench" / "moviepy_join.py"), str(out), *map(str, scenes),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"moviepy failed: {stderr.decode()[-500:]}")
    return float(stdout.decode().split()[-1])


async def main(args: argparse.Namespace) -> dict[str, object]:
    ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=2, timeout_s=300)
    with tempfile.TemporaryDirectory(prefix="dreambot-merge-") as scratch:
        folder = Path(scratch)
        scenes = await make_scenes(ffmpeg, folder)
        tails = [
            await time_merge(ffmpeg, scenes, folder / f"final_{n}.mp4") for n in range(args.repeats)
        ]
        final = await probe(ffmpeg, folder / "final_0.mp4")
        moviepy_s: float | None = None
        why = None
        if args.moviepy_python.exists():
            moviepy_s = await time_moviepy(args.moviepy_python, scenes, folder / "moviepy.mp4")
        else:
            why = (
                f"{args.moviepy_python} not found: python -m venv .bench-moviepy && "
                ".bench-moviepy/bin/pip install -r bench/moviepy.txt"
            )
    tail = min(tails)
    return {
        "tail_s": round(tail, 3),
        "tail_median_s": round(statistics.median(tails), 3),
        "moviepy_s": round(moviepy_s, 2) if moviepy_s is not None else None,
        "moviepy_ratio": round(moviepy_s / tail, 1) if moviepy_s is not None else None,
        "moviepy_missing": why,
        "final_s": final.duration_s,
        "scenes": f"{SCENES} x {SCENE_S:g} s {SIDE}x{SIDE}",
        "repeats": args.repeats,
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--moviepy-python", type=Path, default=MOVIEPY_PYTHON)
    return parser.parse_args(argv)


if __name__ == "__main__":
    report("merge.py", asyncio.run(main(parse_args(sys.argv[1:]))))
