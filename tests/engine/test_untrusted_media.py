"""Provider media that lies about itself is measured, not believed: real ffmpeg, tiny files."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from engine.config import MAX_IMAGE_PIXELS
from engine.errors import MediaError
from engine.media.compose import prepare_soundtrack, render_scene
from engine.media.dimensions import check_pixels, image_size
from engine.media.measure import count_video
from engine.media.probe import probe
from engine.models import ENGLISH, Narration, Visual, VisualKind
from tests.conftest import TINY
from tests.fakes.hostile import png_claiming, truncated_clip


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True, "exif": b"Exif\x00\x00" + b"\x00" * 4000}),
        ("WEBP", {}),  # VP8
        ("WEBP", {"lossless": True}),  # VP8L
        ("WEBP", {"exif": b"Exif\x00\x00MM"}),  # VP8X
    ],
)
@pytest.mark.parametrize("size", [(160, 90), (1280, 720), (3001, 17)])
def test_the_header_states_the_size_pillow_reads(fmt, options, size) -> None:
    data = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(data, fmt, **options)
    assert image_size(data.getvalue()) == size


@pytest.mark.parametrize("claimed", [(20_000, 20_000), (10_000, 10_000), (7_000, 6_000)])
def test_a_picture_claiming_too_many_pixels_is_refused_before_decoding(
    tmp_path: Path, claimed: tuple[int, int]
) -> None:
    # Tiny files with one row of pixels: any decode would fail on them, or warn (100 Mpx),
    # and pytest turns Pillow's warning into an error; the refusal comes first.
    huge = png_claiming(*claimed, tmp_path / "huge.png")
    assert huge.stat().st_size < 200
    with pytest.raises(MediaError, match="over 40 million pixels"):
        check_pixels(huge, MAX_IMAGE_PIXELS)


def test_a_picture_without_a_readable_header_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "odd.png"
    odd.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(MediaError, match="no readable picture header"):
        check_pixels(odd, MAX_IMAGE_PIXELS)


async def test_a_truncated_clip_decodes_to_its_frames_not_its_header(
    ffmpeg, ffmpeg_exe, tmp_path
) -> None:
    clip = truncated_clip(ffmpeg_exe, tmp_path / "clip.mp4", seconds=2.0, frames=8)
    assert (await probe(ffmpeg, clip)).duration_s == pytest.approx(2.0)
    decoded = await count_video(ffmpeg, clip, decode=True)
    assert decoded.frames == 8
    assert decoded.seconds == pytest.approx(8 / 24, abs=0.01)


async def test_a_scene_whose_picture_ends_before_its_narration_is_refused(
    ffmpeg, ffmpeg_exe, media, tmp_path
) -> None:
    # The clip's header is believed (as a check that reads headers only would): 2 s, so no
    # loop and no padding for a 1.5 s narration, but its 8 frames end at a third of a second.
    clip = truncated_clip(ffmpeg_exe, tmp_path / "clip.mp4", seconds=2.0, frames=8)
    narration = Narration(media.narration, (await probe(ffmpeg, media.narration)).duration_s or 0)
    sound = await prepare_soundtrack(
        ffmpeg, narration=narration, text="The keeper.", language=ENGLISH, render=TINY,
        folder=tmp_path,
    )  # fmt: skip
    with pytest.raises(MediaError, match=r"lasts 0\.\d+ s of its narration's 1\.50 s"):
        await render_scene(
            ffmpeg,
            visual=Visual(VisualKind.CLIP, clip),
            visual_info=await probe(ffmpeg, clip),
            soundtrack=sound,
            render=TINY,
            seed=1,
            out=tmp_path / "scene.mp4",
        )


async def test_a_whole_clip_is_decoded_to_its_last_frame(ffmpeg, tmp_path) -> None:
    clip = tmp_path / "five.mp4"
    await ffmpeg.run(
        ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24:duration=5"]
        + ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", str(clip)]
    )
    started = time.monotonic()
    decoded = await count_video(ffmpeg, clip, decode=True)
    took = time.monotonic() - started
    print(f"decoding a 5 s 720p clip took {took:.2f} s")
    assert (decoded.frames, decoded.seconds) == (120, pytest.approx(5.0))
