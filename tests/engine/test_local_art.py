"""The offline illustrator: motif words, determinism, palettes, sizes and title cards."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageStat

from engine.media.art import detect_motifs, render_scene, render_title_card
from engine.models import Language

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
