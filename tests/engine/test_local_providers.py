"""The offline providers: a real voice or honest silence, a quick preview, a sound script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.config import RenderConfig
from engine.media.compose import prepare_soundtrack, render_scene
from engine.media.probe import probe
from engine.models import ENGLISH, Aspect, Look, Narration, Visual, VisualKind
from engine.providers.local import LocalVoice, local_providers
from engine.speech import speaking_time

TEXT = "The keeper climbed the tower as the storm rolled in from the sea."


async def test_without_espeak_narration_is_silence_of_speaking_length(ffmpeg, tmp_path) -> None:
    path = await LocalVoice(espeak=None).narrate(TEXT, language=ENGLISH, out_dir=tmp_path)

    info = await probe(ffmpeg, path)
    assert info.audio is not None
    assert info.duration_s == pytest.approx(speaking_time(TEXT), abs=0.05)
    assert set(path.read_bytes()[44:]) == {0}


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_with_espeak_narration_is_spoken(ffmpeg, tmp_path) -> None:
    voice = LocalVoice()
    path = await voice.narrate(TEXT, language=ENGLISH, out_dir=tmp_path)

    assert voice.speaks
    info = await probe(ffmpeg, path)
    assert info.audio is not None and info.duration_s is not None and info.duration_s > 1.5
    assert len(set(path.read_bytes()[44:])) > 10


async def test_the_offline_script_has_three_to_eight_scenes_and_one_style(ffmpeg) -> None:
    providers = local_providers(ffmpeg, RenderConfig())
    story = " ".join(f"Sentence number {n} tells of the sea and the storm." for n in range(30))
    script = await providers.script.write_script(story, seed=7, language=ENGLISH)

    assert 3 <= len(script.scenes) <= 8
    assert all(script.style in script.prompt_for(scene) for scene in script.scenes)
    assert " ".join(s.narration for s in script.scenes).split() == story.split()


async def test_the_offline_preview_is_small_motion(ffmpeg, tmp_path) -> None:
    providers = local_providers(ffmpeg, RenderConfig())
    path = await providers.preview.generate_preview(TEXT, seed=1, out_dir=tmp_path)

    info = await probe(ffmpeg, path)
    assert info.video is not None and info.video.width <= 480
    assert info.duration_s is not None and info.duration_s >= 2


@pytest.mark.parametrize("aspect", list(Aspect))
async def test_offline_image_and_clip_take_the_jobs_shape(ffmpeg, tmp_path, aspect) -> None:
    render = RenderConfig(width=320, height=180, fps=12, preset="ultrafast")
    providers = local_providers(ffmpeg, render)
    shaped = render.shaped(Look(aspect=aspect))
    image = await providers.images.generate_image(
        TEXT, seed=1, width=shaped.width, height=shaped.height, out_dir=tmp_path
    )
    clip = await providers.clips.generate_clip(
        image, TEXT, seed=1, duration_s=2.0, out_dir=tmp_path
    )

    expected = {Aspect.WIDE: (320, 180), Aspect.TALL: (180, 320), Aspect.SQUARE: (180, 180)}
    info = await probe(ffmpeg, clip)
    assert info.video is not None and (info.video.width, info.video.height) == expected[aspect]
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_each_offline_voice_sounds_different_and_an_unknown_one_is_the_standard(
    tmp_path,
) -> None:
    voice = LocalVoice()
    spoken = {}
    for name in (*voice.choices, "nova"):  # "nova" is OpenAI's, not espeak-ng's
        folder = tmp_path / name
        folder.mkdir()
        path = await voice.narrate(TEXT, language=ENGLISH, voice=name, out_dir=folder)
        spoken[name] = path.read_bytes()

    assert len({spoken[name] for name in voice.choices}) == len(voice.choices)
    assert spoken["nova"] == spoken[voice.choices[0]]


def bottom_band_whiteness(ffmpeg_exe: str, video: Path, at: float, out: Path) -> int:
    """Count near-white pixels in the lower third of one frame."""
    import subprocess

    from PIL import Image

    subprocess.run(
        [ffmpeg_exe, "-loglevel", "error", "-y", "-ss", str(at), "-i", str(video)]
        + ["-frames:v", "1", str(out)],
        check=True,
    )
    with Image.open(out) as frame:
        band = frame.convert("RGB").crop((0, frame.height * 2 // 3, frame.width, frame.height))
        return sum(1 for r, g, b in band.get_flattened_data() if min(r, g, b) > 220)


async def test_captions_are_burned_into_the_picture(ffmpeg, ffmpeg_exe, media, tmp_path) -> None:
    render = RenderConfig(width=320, height=180, fps=12, preset="ultrafast")
    narration = Narration(media.narration, 1.5)
    visual = Visual(VisualKind.IMAGE, media.image)  # a plain blue picture: no white anywhere

    async def scene(text: str, folder: Path) -> Path:
        folder.mkdir()
        sound = await prepare_soundtrack(
            ffmpeg, narration=narration, text=text, language=ENGLISH, render=render, folder=folder
        )
        out = folder / "scene.mp4"
        await render_scene(
            ffmpeg, visual=visual, visual_info=None, soundtrack=sound, render=render, seed=0,
            out=out,
        )  # fmt: skip
        return out

    captioned = await scene("Hello storm", tmp_path / "a")
    blank = await scene("", tmp_path / "b")

    assert bottom_band_whiteness(ffmpeg_exe, captioned, 0.7, tmp_path / "a.png") > 50
    assert bottom_band_whiteness(ffmpeg_exe, blank, 0.7, tmp_path / "b.png") == 0
