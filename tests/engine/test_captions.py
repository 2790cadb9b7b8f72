"""Captions a reader of any script can read: real Noto fonts, real Pillow with raqm.

Every check reads the layout the renderer itself draws (``layout_cue``), so a font that
lacks a character, a line that leaves the frame or a right-to-left run in the wrong place
shows up as it would on screen.
"""

from __future__ import annotations

import itertools

import pytest
from PIL import Image, ImageChops, ImageFont

from engine.config import RenderConfig
from engine.media.captions import CaptionStyle, Cue, layout_cue, plan_cues, render_cue
from engine.media.fonts import Face, character_map, font_files, pillow_font
from engine.media.typeset import TypeStyle, layout_line
from engine.models import Language
from engine.segment import Script, graphemes, is_emoji, script_of, words
from engine.speech import letter_weight

FRAME = RenderConfig()
NEEDED = ("NotoSans-Bold", "NotoNaskhArabic-Bold", "NotoSansThai-Bold", "NotoSansCJK-Bold")

SENTENCES = {
    "en": "The lighthouse keeper climbed the stairs once more, listening to the storm.",
    "vi": "Người giữ hải đăng leo lên cầu thang thêm một lần nữa, lắng nghe cơn bão.",
    "tr": "Deniz feneri bekçisi, fırtınayı dinleyerek merdivenleri bir kez daha çıktı.",
    "ru": "Смотритель маяка ещё раз поднялся по лестнице, прислушиваясь к буре.",
    "el": "Ο φαροφύλακας ανέβηκε τις σκάλες άλλη μια φορά, ακούγοντας την καταιγίδα.",
    "ar": "صعد حارس المنارة الدرج مرة أخرى، مستمعًا إلى العاصفة القادمة من البحر.",
    "fa": "نگهبان فانوس دریایی یک بار دیگر از پله‌ها بالا رفت و به طوفان گوش داد.",
    "he": "שומר המגדלור עלה במדרגות פעם נוספת, והקשיב לסערה שהגיעה מן הים.",
    "hi": "प्रकाशस्तंभ का रखवाला एक बार फिर सीढ़ियाँ चढ़ा और तूफ़ान को सुनता रहा।",
    "bn": "বাতিঘরের রক্ষক আরও একবার সিঁড়ি বেয়ে উঠলেন, ঝড়ের শব্দ শুনতে শুনতে।",
    "ta": "கலங்கரை விளக்கக் காவலர் மீண்டும் படிக்கட்டுகளில் ஏறி புயலைக் கேட்டார்.",
    "th": "ผู้ดูแลประภาคารเดินขึ้นบันไดอีกครั้งพร้อมกับฟังเสียงพายุที่กำลังมาจากทะเล",
    "zh": "灯塔看守人又一次爬上楼梯，倾听着从海上袭来的暴风雨。",
    "ja": "灯台守はもう一度階段を上り、海からやって来る嵐に耳を傾けた。",
    "ko": "등대지기는 바다에서 다가오는 폭풍 소리를 들으며 다시 한 번 계단을 올랐다.",
}
# The family each script must be drawn in, by file name: proof the script's own face was
# chosen, not a fallback that happens to have a few of its letters.
FAMILY = {
    "ar": "NotoNaskhArabic",
    "fa": "NotoNaskhArabic",
    "he": "NotoSansHebrew",
    "hi": "NotoSansDevanagari",
    "bn": "NotoSansBengali",
    "ta": "NotoSansTamil",
    "th": "NotoSansThai",
    "zh": "NotoSansCJK",
    "ja": "NotoSansCJK",
    "ko": "NotoSansCJK",
}


@pytest.fixture(autouse=True)
def noto() -> None:
    missing = [name for name in NEEDED if name not in font_files()]
    if missing:
        pytest.skip(f"Noto fonts not installed (fonts-noto-core, fonts-noto-cjk): {missing}")


def style(tag: str, frame: RenderConfig = FRAME) -> CaptionStyle:
    return CaptionStyle(frame.width, frame.height, Language(tag))


def drawn_runs(cues: list[Cue], caption: CaptionStyle) -> list[tuple[str, Face]]:
    return [(run.text, run.face) for cue in cues for run, _, _ in layout_cue(cue, caption).placed()]


def width(line: str, caption: CaptionStyle) -> float:
    return layout_line(line, caption.type_style(rtl=False)).width


def visible(text: str) -> str:
    return "".join(g for g in graphemes(text) if not g.isspace() and not is_emoji(g))


@pytest.mark.parametrize("tag", list(SENTENCES))
def test_every_script_is_drawn_by_a_font_that_has_its_characters(tag: str) -> None:
    caption = style(tag)
    text = SENTENCES[tag] + " " + SENTENCES[tag]  # long enough to wrap
    cues = plan_cues(text, 6.0, caption)
    runs = drawn_runs(cues, caption)

    for run_text, face in runs:
        missing = [ch for ch in run_text if not ch.isspace() and ord(ch) not in character_map(face)]
        assert not missing, f"{face.path.name} lacks {missing} of {run_text!r}"
    # Nothing of the sentence was left out for want of a font.
    assert sorted(visible("".join(t for t, _ in runs))) == sorted(visible(text))
    if tag in FAMILY:
        letters = [face for t, face in runs if any(script_of(ch) != Script.OTHER for ch in t)]
        assert {face.path.name.split("-")[0] for face in letters} == {FAMILY[tag]}
    for cue in cues:
        assert render_cue(cue, caption).width <= FRAME.width - 2 * caption.margin
        assert_ink_inside(cue, caption)


def assert_ink_inside(cue: Cue, caption: CaptionStyle) -> None:
    """Every run's ink, where the renderer puts it, lies inside the cue's box."""
    layout = layout_cue(cue, caption)
    for run, x, baseline in layout.placed():
        font = pillow_font(run.face, caption.size)
        direction = "rtl" if run.rtl else "ltr"
        left, top, right, bottom = font.getbbox(
            run.text,
            anchor="ls",
            stroke_width=2,
            direction=direction,
            language=caption.language.tag,
        )
        assert x + left >= 0 and x + right <= layout.width, run.text
        assert baseline + top >= 0 and baseline + bottom <= layout.height, run.text


@pytest.mark.parametrize(
    ("tag", "region"), [("ja", "JP"), ("zh", "SC"), ("ko", "KR"), ("zh-Hant", "TC")]
)
def test_han_is_drawn_in_the_languages_own_regional_face(tag: str, region: str) -> None:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    line = layout_line("直骨", TypeStyle(40, Language(tag)))
    (run,) = line.runs
    with TTFont(run.face.path, fontNumber=run.face.index, lazy=True) as font:
        assert font["name"].getDebugName(1) == f"Noto Sans CJK {region}"


ARABIC = "بيت"  # "house": three joining letters, so shaping changes every one of them


def test_arabic_is_shaped() -> None:
    type_ = TypeStyle(40, Language("ar"), rtl=True)
    (run,) = layout_line(ARABIC, type_).runs
    unshaped = ImageFont.truetype(
        str(run.face.path), 40, index=run.face.index, layout_engine=ImageFont.Layout.BASIC
    )
    # Joined letters overlap where they connect; isolated forms stand apart, wider.
    assert run.width < unshaped.getlength(ARABIC) - 5


def test_arabic_reads_from_the_right() -> None:
    """Change only the first letter (ب, dot below, for ن, dot above): the pixels that
    change must be at the right end of the word, where a reader starts."""
    caption = style("ar")
    first = render_cue(Cue((ARABIC,), 0, 1, rtl=True), caption)
    other = render_cue(Cue(("ن" + ARABIC[1:],), 0, 1, rtl=True), caption)
    assert first.size == other.size
    changed = ImageChops.difference(first, other).getbbox()
    ink = first.getchannel("R").point(lambda v: 255 if v > 200 else 0).getbbox()
    assert changed is not None and ink is not None
    middle = (ink[0] + ink[2]) / 2
    assert changed[0] > middle, (changed, ink)


def test_a_mixed_line_puts_its_runs_in_reading_order() -> None:
    line = layout_line("قال John ثم ذهب", TypeStyle(40, Language("ar"), rtl=True))
    order = [run.text.strip() for run in line.runs if run.text.strip()]
    # Right to left: قال, then the English name, then ثم ذهب; drawn left to right.
    assert order == ["ثم ذهب", "John", "قال"]
    assert [run.rtl for run in line.runs if run.text.strip()] == [True, False, True]
    assert all(a.x + a.width == pytest.approx(b.x) for a, b in itertools.pairwise(line.runs))


def test_a_long_url_and_a_long_word_are_cut_to_fit() -> None:
    caption = style("en")
    url = "https://example.com/" + "storm-" * 60 + "end"
    text = f"Read {url} and Donaudampfschifffahrtsgesellschaftskapitän{'s' * 80} too."
    cues = plan_cues(text, 10.0, caption)
    lines = [line for cue in cues for line in cue.lines]
    assert all(
        layout_line(line, caption.type_style(False)).width <= caption.line_width for line in lines
    )
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert len(lines) > 4


def test_a_line_of_cjk_without_spaces_wraps_between_characters() -> None:
    caption = style("zh")
    text = SENTENCES["zh"] * 6
    cues = plan_cues(text, 12.0, caption)
    lines = [line for cue in cues for line in cue.lines]
    assert "".join(lines) == text
    assert len(lines) >= 4
    assert all(
        layout_line(line, caption.type_style(False)).width <= caption.line_width for line in lines
    )


def test_thai_wraps_between_words() -> None:
    caption = style("th")
    text = SENTENCES["th"] * 3
    lines = [line for cue in plan_cues(text, 12.0, caption) for line in cue.lines]
    assert "".join(lines) == text and len(lines) >= 3
    spans, at = [], 0
    for word in words(text, "th"):
        start = text.index(word, at)
        spans.append((start, start + len(word)))
        at = start + len(word)
    breaks = list(itertools.accumulate(len(line) for line in lines))[:-1]
    inside = [b for b in breaks for start, end in spans if start < b < end]
    assert not inside, [text[b - 5 : b + 5] for b in inside]


def test_lines_wrap_by_their_rendered_width() -> None:
    caption = style("en")
    narrow = plan_cues(" ".join(["ill"] * 60), 10.0, caption)
    wide = plan_cues(" ".join(["WWW"] * 60), 10.0, caption)
    # Same character count, but narrow letters fit far more to a line.
    assert len(narrow) < len(wide)


def test_emoji_and_uncovered_characters_draw_nothing() -> None:
    caption = style("en")
    plain = "The storm came at night"
    decorated = "The 👨‍👩‍👧 storm 🇯🇵 came \ue000at 1️⃣ night\U0010fffd 🌩️"
    cue_plain = plan_cues(plain, 2.0, caption)
    cue_decorated = plan_cues(decorated, 2.0, caption)
    assert [c.lines for c in cue_decorated] == [("The storm came \ue000at night\U0010fffd",)]
    image = render_cue(cue_decorated[0], caption)
    reference = render_cue(cue_plain[0], caption)
    assert image.size == reference.size
    assert ImageChops.difference(image, reference).getbbox() is None
    for run_text, face in drawn_runs(cue_decorated, caption):
        assert all(ord(ch) in character_map(face) for ch in run_text if not ch.isspace())


def test_a_last_word_never_flashes_alone() -> None:
    caption = style("en")
    for count in range(4, 50):
        text = " ".join(["thunder"] * count) + " storm"
        duration = sum(letter_weight(g) for g in graphemes(text))
        cues = plan_cues(text, duration, caption)
        if len(cues) > 1:
            shortest = min(c.end_s - c.start_s for c in cues)
            assert shortest >= 1.0, (count, [(c.lines, c.end_s - c.start_s) for c in cues])
        for cue in cues:
            if len(cue.lines) == 2:  # two lines share the cue evenly, no lone word below
                top, bottom = (
                    layout_line(line, caption.type_style(False)).width for line in cue.lines
                )
                assert bottom >= top / 3, cue.lines


def test_cues_cover_the_narration_in_order_timed_by_speaking_time() -> None:
    caption = style("en", RenderConfig(width=320, height=180))
    text = " ".join(f"word{n}" for n in range(40)) + " 一二三四五六七八九十"
    cues = plan_cues(text, 10.0, caption)
    assert len(cues) > 1
    assert cues[0].start_s == 0 and cues[-1].end_s == pytest.approx(10.0, abs=0.01)
    assert all(a.end_s == pytest.approx(b.start_s, abs=0.01) for a, b in itertools.pairwise(cues))
    assert visible("".join("".join(c.lines) for c in cues)) == visible(text)
    total = sum(letter_weight(g) for g in graphemes(text))
    for cue in cues:
        share = sum(letter_weight(g) for g in graphemes("".join(cue.lines))) / total
        assert cue.end_s - cue.start_s == pytest.approx(10.0 * share, abs=0.01)


def test_a_cue_renders_visible_text_within_a_small_frame() -> None:
    caption = style("ru", RenderConfig(width=320, height=180))
    image = render_cue(Cue(("Hello there", "Привет, мир"), 0, 1), caption)
    assert image.mode == "RGBA" and image.width <= 320 - 2 * caption.margin
    white = sum(1 for px in image.get_flattened_data() if px[0] > 200 and px[3] == 255)
    assert white > 20


def test_the_basic_layout_is_not_what_draws_captions() -> None:
    """A guard for the two Arabic tests: Pillow here can shape, and captions use it."""
    from PIL import features

    assert features.check("raqm")
    face = layout_line(ARABIC, TypeStyle(40, Language("ar"), rtl=True)).runs[0].face
    assert pillow_font(face, 40).layout_engine == ImageFont.Layout.RAQM


def test_the_operators_font_comes_first_for_what_it_has() -> None:
    dejavu = font_files().get("DejaVuSerif-Bold")
    if dejavu is None:
        pytest.skip("DejaVu Serif Bold (fonts-dejavu) not installed")
    caption = CaptionStyle(FRAME.width, FRAME.height, Language("en"), dejavu)
    runs = drawn_runs(plan_cues("The storm ผู้ดูแล came", 2.0, caption), caption)
    faces = {text.strip(): face.path.name for text, face in runs if text.strip()}
    # DejaVu Serif has no Thai: that run keeps its own face, the rest is the operator's.
    assert set(faces.values()) == {"DejaVuSerif-Bold.ttf", "NotoSansThai-Bold.ttf"}
    assert faces["ผู้ดูแล"] == "NotoSansThai-Bold.ttf"


@pytest.mark.ffmpeg
async def test_a_soundtrack_draws_its_captions_in_the_storys_language(
    ffmpeg, media, tmp_path
) -> None:
    from engine.media.compose import prepare_soundtrack
    from engine.models import Narration

    render = RenderConfig(width=320, height=180, fps=12, preset="ultrafast")
    sound = await prepare_soundtrack(
        ffmpeg,
        narration=Narration(media.narration, 1.5),
        text="灯台守はもう一度階段を上り、海からやって来る嵐に耳を傾けた。",
        language=Language("ja"),
        render=render,
        folder=tmp_path,
    )
    assert sound.captions and all(path.is_file() for path, _, _ in sound.captions)
    with Image.open(sound.captions[0][0]) as cue:
        assert cue.width <= render.width - 2 * (render.width // 20)


def test_an_arabic_scene_opening_with_a_latin_name_reads_from_the_right() -> None:
    (cue,) = plan_cues("John قال إن العاصفة قادمة من البحر", 3.0, style("ar"))
    assert cue.rtl
    runs = [run.text.strip() for run, _, _ in layout_cue(cue, style("ar")).placed()]
    assert runs[-1] == "John"  # the first word, at the right


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (720, 1280), (720, 720), (1080, 1080)])
def test_captions_fit_every_aspect_ratio_at_a_readable_size(width: int, height: int) -> None:
    style = CaptionStyle(width, height)
    text = "A lighthouse keeper lived alone on a rocky island, far out in the grey sea."
    cues = plan_cues(text, 5.0, style)
    shorter = min(width, height)
    assert style.size == shorter // 18  # the same on a phone held either way
    for cue in cues:
        picture = render_cue(cue, style)
        assert picture.width <= width - 2 * style.margin
        # above the bottom margin, and wholly inside the frame
        assert picture.height + style.bottom < height
    if height > width:  # above the controls apps lay over a portrait video's lowest fifth
        assert style.bottom >= height // 5
    # a line still holds a few words, not one or two
    assert max(len(line.split()) for cue in cues for line in cue.lines) >= 4
