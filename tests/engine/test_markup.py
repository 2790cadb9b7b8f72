"""What is spoken and shown is the story: markup, URLs and raw ids go, every script stays."""

from __future__ import annotations

import re

import pytest

from engine.markup import plain_text, spoken_text

MARKDOWN_TOKENS = re.compile(r"\*\*|__|~~|\|\||`|<[^>]*>")


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("**bold** and *italic* and _it_", "bold and italic and it"),
        ("__underline__ ~~strike~~ ||spoiler||", "underline strike spoiler"),
        ("`code` and ``more code``", "code and more code"),
        ("```py\nprint('a cat')\n```", "print('a cat')"),
        ("> a quoted line", "a quoted line"),
        ("# A heading\nThen text.", "A heading\n\nThen text."),
        ("-# small print", "small print"),
        ("- one\n- two\n* three", "one\ntwo\n\nthree"),
        ("1. first\n2. second", "1. first\n2. second"),  # numbers may be years: kept
        ("see [the lighthouse](https://x.org/a) tonight", "see the lighthouse tonight"),
        ("see [the lighthouse](<https://x.org/a>)", "see the lighthouse"),
        ("escaped \\*stars\\* stay", "escaped *stars* stay"),
        ("5 * 3 = 15, snake_case_word", "5 * 3 = 15, snake_case_word"),
    ],
)
def test_markdown_is_reduced_to_its_text(markup: str, text: str) -> None:
    assert plain_text(markup) == text


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<b>Tom</b> &amp; <i>Jerry</i>", "Tom & Jerry"),
        ("a<script>alert('x')</script>b<style>p {}</style>c", "abc"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("line<br>next", "line\nnext"),
        ("&lt;3 &quot;quoted&quot; &#233;t&eacute;", '<3 "quoted" été'),
        ("<!-- a comment -->kept", "kept"),
        ("I <3 you, and a < b > c", "I <3 you, and a < b > c"),
    ],
)
def test_html_is_reduced_to_its_text(markup: str, text: str) -> None:
    assert plain_text(markup) == text


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("read https://example.com/a?b=1. Then sleep", "read. Then sleep"),
        ("at www.example.org, at night", "at, at night"),
        ("a link <https://auto.example> here", "a link here"),
        ("(http://x.org/path) and ftp://files.example/x", "() and"),
    ],
)
def test_bare_urls_are_removed_not_spelled_out(markup: str, text: str) -> None:
    assert plain_text(markup) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Hi <@123456789012345678>, and <@!123456789012345678>!", "Hi, and!"),
        ("<@&223456789012345678> meet in <#323456789012345678>.", "meet in."),
        ("a <:pepe:423456789012345678> and <a:dance:523456789012345678> cat", "a and cat"),
        ("at <t:1700000000:R> and <t:1700000000>, see <id:customize>", "at and, see"),
        ("run </dream:623456789012345678> or </dream story:623456789012345678> now", "run or now"),
        ("@everyone and @here, mail me@everyone.org", "everyone and here, mail me@everyone.org"),
    ],
)
def test_discord_raw_tokens_are_removed_cleanly(raw: str, text: str) -> None:
    assert plain_text(raw) == text


@pytest.mark.parametrize(
    "story",
    [
        "قالت الريح للبحر: سأعود غداً.",
        "سلام دنیا، این یک داستان است.",
        "東京の夜、猫は静かに眠った。",
        "小猫在月光下睡着了。",
        "고양이가 달빛 아래에서 잠들었다.",
        "बिल्ली चाँदनी में सो गई। फिर सुबह हुई।",
        "แมวนอนหลับใต้แสงจันทร์",
        "Кошка уснула при луне.",
        "Ο γάτος κοιμήθηκε.",
        "Con mèo ngủ dưới ánh trăng. Kedi ay ışığında uyudu.",
        "👨‍👩‍👧 a family, 🇯🇵 a flag, 1️⃣ a keycap, 👍🏽 a thumb, 🏴󠁧󠁢󠁳󠁣󠁴󠁿 a nation",
    ],
)
def test_every_script_and_emoji_pass_through_untouched(story: str) -> None:
    assert plain_text(story) == story
    assert plain_text(f"**{story}**") == story


def test_paragraphs_and_lines_stay_other_spaces_collapse() -> None:
    story = "A cat\t sat.\r\nIt purred.\n\n\n\nIt   slept.  "
    assert plain_text(story) == "A cat sat.\nIt purred.\n\nIt slept."


def test_control_characters_are_left_for_the_story_check_to_refuse() -> None:
    assert plain_text("nul \x00 and \x1b[31m red") == "nul \x00 and \x1b[31m red"


def test_a_mixed_story_keeps_only_its_words() -> None:
    story = (
        "**<@123456789012345678>** met ~~a ghost~~ __someone__ in <#223456789012345678> "
        "<b>at</b> ||midnight|| <:owl:323456789012345678>: `hush` https://x.org 👨‍👩‍👧."
    )
    text = plain_text(story)
    assert text == "met a ghost someone in at midnight: hush 👨‍👩‍👧."
    assert not MARKDOWN_TOKENS.search(text) and not re.search(r"\d{6,}", text)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("A family 👨‍👩‍👧 came home 🏠.", "A family came home ."),
        ("🇯🇵 Tokyo, 1️⃣ one, #️⃣ hash, 👍🏽 yes", "Tokyo, one, hash, yes"),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland ❤️ love", "Scotland love"),
        ("東京🗼の夜。", "東京の夜。"),
        ("قطة 🐱 نائمة", "قطة نائمة"),
        ("बिल्ली 🐈 सो गई।", "बिल्ली सो गई।"),
        ("Line one 🌙\nLine two", "Line one\nLine two"),
        ("#1 and 3 * 4, © 2024", "#1 and 3 * 4, © 2024"),
    ],
)
def test_spoken_text_leaves_out_whole_emoji_and_nothing_else(text: str, spoken: str) -> None:
    assert spoken_text(text) == spoken


@pytest.mark.parametrize(
    ("story", "text"),
    [
        ("He found <the key> under <a stone>.", "He found the key under a stone."),
        ("1984. It was a cold April day.", "1984. It was a cold April day."),
        ("<p>unclosed <script>never closed and all story", "unclosed never closed and all story"),
        ('<a href="https://x.example">the map</a> was <b>old</b>.', "the map was old."),
    ],
)
def test_words_that_only_look_like_markup_stay_in_the_story(story: str, text: str) -> None:
    assert plain_text(story) == text
