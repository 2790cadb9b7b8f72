"""The offline illustrator: motif words, determinism, palettes, sizes and title cards."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageStat

from engine.media.art import detect_motifs, render_scene, render_title_card
from engine.media.art.canvas import start_scene
from engine.media.art.setting import Setting, find_setting
from engine.media.art.structures import Kind, structure_kind
from engine.models import Language
from engine.providers.local.splitter import split_story

TEXT_INK = (255, 250, 238)


def _warmth(img: Image.Image) -> float:
    red, _green, blue = ImageStat.Stat(img).mean
    return red - blue


def _brightness(img: Image.Image) -> float:
    return float(ImageStat.Stat(img.convert("L")).mean[0])


def _ink_mask(img: Image.Image) -> Image.Image:
    """White where a pixel is (nearly) the title text's colour."""
    near = [
        band.point([255 if abs(v - want) <= 12 else 0 for v in range(256)])
        for band, want in zip(img.split(), TEXT_INK, strict=True)
    ]
    return ImageChops.darker(ImageChops.darker(near[0], near[1]), near[2])


def test_motifs_come_in_order_of_first_mention() -> None:
    prompt = "A lighthouse keeper on a stormy night by the sea"
    assert detect_motifs(prompt) == ("city", "storm", "night", "sea")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Waves crash on the beaches", ("sea",)),
        ("Burning candles and two dragons", ("fire",)),
        ("It is snowing on the TREES", ("snow", "forest")),
        ("Starry skies over the dunes", ("night", "desert")),
        ("Planets and galaxies", ("space",)),
        ("Flowers blooming in a sunny meadow", ("garden", "sun")),
        ("cliffs, towers and icy peaks", ("mountain", "city", "snow")),
    ],
)
def test_motifs_match_plurals_and_word_endings(prompt: str, expected: tuple[str, ...]) -> None:
    assert detect_motifs(prompt) == expected


@pytest.mark.parametrize("prompt", ["", "a cat sat on the mat", "a sandwich at the startup"])
def test_no_motif_when_no_whole_word_matches(prompt: str) -> None:
    assert detect_motifs(prompt) == ()


def test_same_arguments_give_identical_pixels() -> None:
    prompt = "a dragon breathes fire over the desert at dawn"
    first = render_scene(prompt, seed=11, width=192, height=108)
    second = render_scene(prompt, seed=11, width=192, height=108)
    assert first.tobytes() == second.tobytes()


def test_different_seeds_give_different_pictures() -> None:
    prompt = "a quiet pine forest in the mountains"
    first = render_scene(prompt, seed=1, width=192, height=108)
    second = render_scene(prompt, seed=2, width=192, height=108)
    assert first.tobytes() != second.tobytes()


def test_unmatched_prompts_still_vary_with_the_seed() -> None:
    pictures = {
        render_scene("a cat", seed=seed, width=96, height=54).tobytes() for seed in range(3)
    }
    assert len(pictures) == 3


def test_palette_follows_the_words() -> None:
    fire = render_scene("a roaring fire and flames", seed=5, width=160, height=90)
    winter = render_scene("a snowy winter night", seed=5, width=160, height=90)
    assert _warmth(fire) > _warmth(winter) + 40


def test_night_is_darker_than_a_summer_day() -> None:
    night = render_scene("the dark night", seed=8, width=160, height=90)
    day = render_scene("a bright summer day", seed=8, width=160, height=90)
    assert _brightness(night) + 60 < _brightness(day)


def test_forest_is_greener_than_desert() -> None:
    forest = ImageStat.Stat(render_scene("a forest", seed=4, width=160, height=90)).mean
    desert = ImageStat.Stat(render_scene("a desert", seed=4, width=160, height=90)).mean
    assert forest[1] - forest[0] > desert[1] - desert[0] + 30


@pytest.mark.parametrize(("width", "height"), [(64, 36), (2560, 1440), (50, 120)])
def test_scene_has_the_requested_size(width: int, height: int) -> None:
    img = render_scene(
        "a lighthouse on a stormy night by the sea", seed=3, width=width, height=height
    )
    assert img.mode == "RGB"
    assert img.size == (width, height)
    assert ImageStat.Stat(img).stddev[0] > 5  # a picture, not a flat fill


@pytest.mark.parametrize(
    "prompt",
    [
        "moon and stars",
        "ships on the ocean",
        "a thunderstorm with lightning",
        "a campfire",
        "a dragon",
        "a volcano",
        "a pine forest",
        "mountains in winter",
        "dunes and a cactus",
        "a castle",
        "a village of cottages",
        "a lighthouse at dusk",
        "a city at noon",
        "a flower garden",
        "a rocket among planets",
        "a comet in space",
    ],
)
def test_every_motif_paints(prompt: str) -> None:
    img = render_scene(prompt, seed=9, width=128, height=72)
    assert img.size == (128, 72)
    assert ImageStat.Stat(img).stddev[0] > 5


def test_non_positive_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        render_scene("a forest", seed=1, width=0, height=10)


def test_title_card_has_the_requested_size_and_legible_text() -> None:
    card = render_title_card("The Lighthouse Keeper", seed=2, width=640, height=360)
    assert card.mode == "RGB"
    assert card.size == (640, 360)
    box = _ink_mask(card).getbbox()
    assert box is not None
    ink_pixels = ImageStat.Stat(_ink_mask(card)).sum[0] / 255
    assert ink_pixels > 2_000


@pytest.mark.parametrize(
    ("tag", "text"),
    [
        ("en", "Once upon a time, far away, there lived a small fox who loved the quiet night"),
        ("ja", "昔々、ある村に老人が住んでいました。ある日、川で大きな桃を見つけました！"),
        ("ar", "كان يا ما كان صياد عجوز يعيش وحده قرب البحر مع كلبه."),
        ("th", "กาลครั้งหนึ่งมีชาวประมงชราคนหนึ่งอาศัยอยู่ริมทะเลกับสุนัขของเขา"),
    ],
)
def test_title_card_wraps_long_text_inside_the_card(tag: str, text: str) -> None:
    card = render_title_card(text, seed=4, width=480, height=270, language=Language(tag))
    box = _ink_mask(card).getbbox()
    assert box is not None
    left, top, right, bottom = box
    assert right - left <= 480 * 0.82
    assert bottom - top <= 270 * 0.72
    assert abs((left + right) / 2 - 240) < 24  # centred
    assert abs((top + bottom) / 2 - 135) < 24


def test_title_card_is_deterministic_and_fits_tiny_sizes() -> None:
    first = render_title_card("Night falls", seed=6, width=64, height=36)
    second = render_title_card("Night falls", seed=6, width=64, height=36)
    assert first.size == (64, 36)
    assert first.tobytes() == second.tobytes()
    assert ImageStat.Stat(first).stddev[0] > 5


README_STORY = (
    "A lighthouse keeper lived alone on a rocky island. One night a great storm rolled in "
    "from the sea. The keeper climbed the tower and lit the lamp. By morning the storm had "
    "become his friend."
)


def _sea_rows(img: Image.Image) -> list[bool]:
    """For each row of the picture's middle column band: is it mostly sea-coloured (the
    sea palette is blue-green, far bluer than red, and not sky-bright)?"""
    w, h = img.size
    band = img.crop((w // 2, 0, w - w // 10, h)).convert("RGB")
    rows = []
    for y in range(h):
        red, green, blue = ImageStat.Stat(band.crop((0, y, band.width, y + 1))).mean
        rows.append(blue - red > 25 and green - red > 25 and blue < 170)
    return rows


def test_the_readme_story_stays_by_the_sea_in_every_scene() -> None:
    scenes = split_story(README_STORY).scenes
    assert len(scenes) == 4
    for n, scene in enumerate(scenes):
        assert "setting: island" in scene.visual_prompt
        s = start_scene(scene.visual_prompt, n, 160, 90, 1)
        assert "sea" in s.motifs
        # The tower the keeper climbs is the lighthouse on the coast, not a city skyline.
        assert structure_kind(s) in (None, Kind.LIGHTHOUSE)
    assert structure_kind(start_scene(scenes[2].visual_prompt, 2, 160, 90, 1)) is Kind.LIGHTHOUSE
    # Night holds from the storm's scene into the tower's, and morning comes when it is said.
    assert "moonlit" in scenes[2].visual_prompt and "moonlit" not in scenes[3].visual_prompt
    assert "dawn" in scenes[3].visual_prompt


def test_a_tower_is_a_city_skyline_only_in_a_city() -> None:
    city = start_scene("tower, setting: city", 1, 160, 90, 1)
    assert structure_kind(city) is Kind.SKYLINE
    forest = start_scene("tower, setting: forest", 1, 160, 90, 1)
    assert structure_kind(forest) is Kind.TOWER


@pytest.mark.parametrize(
    ("tag", "story", "motif", "setting"),
    [
        ("ru", "Старый рыбак жил у моря. Каждую ночь волны били о берег.", "sea", Setting.SEA),
        ("ru", "Девочка ушла в лес. В лесу росли высокие деревья.", "forest", Setting.FOREST),
        ("es", "El pescador vivía junto al mar. Las olas rompían en la playa.", "sea", Setting.SEA),
        ("es", "La niña caminó por el bosque oscuro entre los árboles.", "forest", Setting.FOREST),
        ("ja", "昔、海のそばに漁師が住んでいました。毎朝、船で海に出ました。", "sea", Setting.SEA),
        ("ja", "森の奥に小さな狐がいました。森はとても静かでした。", "forest", Setting.FOREST),
        ("de", "Der Leuchtturmwärter sah jeden Abend auf das Meer.", "sea", Setting.SEA),
        ("fr", "Le pêcheur regardait la mer depuis la plage.", "sea", Setting.SEA),
        ("pt", "O pescador olhava o mar da praia.", "sea", Setting.SEA),
        ("ar", "عاش صياد عجوز قرب البحر وحده.", "sea", Setting.SEA),
        ("hi", "बूढ़ा मछुआरा समुद्र के पास रहता था।", "sea", Setting.SEA),
        ("id", "Nelayan tua itu tinggal di dekat laut.", "sea", Setting.SEA),
        ("zh", "老渔夫住在大海边。每天早上他坐船出海。", "sea", Setting.SEA),
    ],
)
def test_a_story_in_any_language_gets_its_own_motifs(
    tag: str, story: str, motif: str, setting: Setting
) -> None:
    assert motif in detect_motifs(story)
    assert find_setting(story) is setting
    scene = split_story(story, language=Language(tag)).scenes[0]
    assert f"setting: {setting.value}" in scene.visual_prompt
    assert motif in start_scene(scene.visual_prompt, 1, 64, 36, 1).motifs


def test_a_sea_story_in_russian_is_painted_as_sea_not_hills() -> None:
    scene = split_story("Старый рыбак жил у моря.", language=Language("ru")).scenes[0]
    sea = render_scene(scene.visual_prompt, seed=3, width=160, height=90)
    hills = render_scene("старый рыбак жил", seed=3, width=160, height=90)
    assert sum(_sea_rows(sea)[60:]) > 25  # the lower part is water
    assert sum(_sea_rows(hills)[60:]) == 0


@pytest.mark.parametrize(("width", "height"), [(720, 1280), (720, 720), (1280, 720)])
def test_every_aspect_keeps_the_horizon_and_sky_where_they_belong(width: int, height: int) -> None:
    small = (width // 5, height // 5)  # the same layout, five times quicker to paint
    img = render_scene("the quiet sea, setting: sea", seed=5, width=small[0], height=small[1])
    assert img.size == small
    luma = [
        ImageStat.Stat(img.convert("L").crop((0, y, small[0], y + 1))).mean[0]
        for y in range(small[1])
    ]
    # The horizon is where the bright sky meets the darker water: the sharpest drop.
    horizon = max(range(1, small[1]), key=lambda y: luma[y - 1] - luma[y])
    assert 0.5 * small[1] <= horizon <= 0.75 * small[1]
    rows = _sea_rows(img)
    assert sum(rows[horizon:]) >= 0.9 * (small[1] - horizon)  # water all the way down
    assert luma[horizon - 2] > luma[horizon + 2] + 20
    full = render_scene(
        "a lighthouse on the coast, setting: sea", seed=5, width=width, height=height
    )
    assert full.size == (width, height)
