"""Stories in every script: detected, measured, accepted and cut where their writers cut."""

from __future__ import annotations

import pytest

from engine import StoryLimits, StoryRejectedError
from engine.job import headline
from engine.language import detect_language
from engine.models import Language
from engine.providers.local.splitter import split_sentences, split_story
from engine.segment import graphemes, tokens, words
from engine.story import validate_story

SAMPLES = {
    "en": "A lighthouse keeper lived alone on a rocky island far out at sea.",
    "es": "Un viejo pescador vivía solo junto al mar con su perro.",
    "pt": "Um velho pescador vivia sozinho perto do mar com o seu cão.",
    "fr": "Un vieux pêcheur vivait seul au bord de la mer avec son chien.",
    "de": "Ein alter Fischer lebte allein am Meer mit seinem Hund.",
    "ru": "Жил-был старик со своею старухой у самого синего моря.",
    "ar": "كان يا ما كان صياد عجوز يعيش وحده قرب البحر مع كلبه.",
    "fa": "روزی روزگاری ماهیگیر پیری تنها در کنار دریا زندگی می‌کرد.",
    "hi": "एक गाँव में एक बूढ़ा मछुआरा अपने कुत्ते के साथ रहता था।",
    "id": "Seorang nelayan tua tinggal sendirian di tepi laut bersama anjingnya.",
    "tr": "Yaşlı bir balıkçı köpeğiyle birlikte deniz kenarında tek başına yaşarmış.",
    "vi": "Ngày xửa ngày xưa có một ông lão đánh cá sống một mình bên bờ biển.",
    "ja": "昔々、ある村に年老いた漁師が犬と一緒に住んでいました。",
    "zh": "从前有一个老渔夫和他的狗住在海边。",
    "ko": "옛날 옛적에 늙은 어부가 개와 함께 바닷가에 살았습니다.",
    "th": "กาลครั้งหนึ่งมีชาวประมงชราคนหนึ่งอาศัยอยู่ริมทะเลกับสุนัขของเขา",
    "he": "פעם חי דייג זקן לבדו על שפת הים עם הכלב שלו.",
    "el": "Μια φορά κι έναν καιρό ζούσε ένας γέρος ψαράς μόνος δίπλα στη θάλασσα.",
    "bn": "একদা এক বৃদ্ধ জেলে তার কুকুরের সাথে সমুদ্রের ধারে বাস করত।",
    "ta": "ஒரு காலத்தில் ஒரு வயதான மீனவர் தனது நாயுடன் கடற்கரையில் வாழ்ந்தார்.",
}
LIMITS = StoryLimits()


@pytest.mark.parametrize(("tag", "text"), SAMPLES.items())
def test_the_language_of_a_story_is_detected(tag: str, text: str) -> None:
    assert detect_language(text).base == tag


def test_text_without_letters_is_english() -> None:
    assert detect_language("12345 !!! 🙂") == Language("en")


@pytest.mark.parametrize(
    ("given", "tag"),
    [("pt_br", "pt-BR"), ("ZH-hant", "zh-Hant"), ("es-419", "es-419"), ("RU", "ru")],
)
def test_language_tags_are_read_in_any_case(given: str, tag: str) -> None:
    assert Language.parse(given).tag == tag


@pytest.mark.parametrize("bad", ["", "english please", "e", "ru-", "1234"])
def test_a_malformed_language_tag_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="language tag"):
        Language.parse(bad)


@pytest.mark.parametrize(("tag", "text"), SAMPLES.items())
def test_a_story_in_any_script_is_accepted_whole(tag: str, text: str) -> None:
    assert validate_story(text, LIMITS) == text


@pytest.mark.parametrize("short", ["桃です", "ありがとう", "สวัสดี", "Привет мир"])
def test_too_short_is_counted_in_words_of_the_script(short: str) -> None:
    with pytest.raises(StoryRejectedError, match="at least 3 words"):
        validate_story(short, LIMITS)


def test_the_length_limit_means_the_same_video_length_in_every_script() -> None:
    # 600 Chinese characters take about as long to say as 1670 Latin letters.
    chinese = "从前有一个老渔夫住在海边。" * 50
    english = "An old fisher lived by the sea. " * 45
    assert len(chinese) < len(english)
    validate_story(english, LIMITS)
    with pytest.raises(StoryRejectedError, match="of the longest"):
        validate_story(chinese, LIMITS)


def test_joiners_that_spell_words_and_emoji_are_kept() -> None:
    persian = "او به خانه می‌رفت و ماهی می‌گرفت هر روز."
    family = "The family 👨\u200d👩\u200d👧 went to the sea together."
    assert "\u200c" in validate_story(persian, LIMITS)
    assert validate_story(family, LIMITS) == family
    assert validate_story("A\u200b cat sat on\u200e the mat.", LIMITS) == "A cat sat on the mat."


@pytest.mark.parametrize(
    ("tag", "mark"),
    [
        ("en", "."),
        ("en", "!"),
        ("en", "?"),
        ("en", "\u2026"),
        ("hi", "\u0964"),  # danda
        ("hi", "\u0965"),  # double danda
        ("ja", "\u3002"),  # ideographic full stop
        ("ja", "\uff01"),  # fullwidth exclamation mark
        ("zh", "\uff1f"),  # fullwidth question mark
        ("ar", "\u061f"),  # Arabic question mark
        ("ur", "\u06d4"),  # Arabic full stop, as Urdu writes it
        ("am", "\u1362"),  # Ethiopic full stop
        ("el", ";"),  # the Greek question mark, as Greek keyboards type it
        ("el", "\u037e"),  # the Greek question mark itself
    ],
)
def test_every_scripts_sentence_mark_ends_a_sentence(tag: str, mark: str) -> None:
    spaced = tag not in {"ja", "zh"}
    first, second = {
        "hi": ("वह घर गया", "फिर सो गया"),
        "ja": ("彼は家に帰った", "そして寝た"),
        "zh": ("他回家了", "然后睡觉了"),
        "ar": ("هل ذهب إلى البيت", "ثم نام"),
        "ur": ("وہ گھر گیا", "پھر سو گیا"),
        "am": ("ወደ ቤት ሄደ", "ከዚያም ተኛ"),
        "el": ("Πού πήγε", "Πήγε σπίτι"),
    }.get(tag, ("He went home", "Then he slept"))
    text = f"{first}{mark}{' ' if spaced else ''}{second}{mark}"
    assert split_sentences(text, Language(tag)) == [f"{first}{mark}", f"{second}{mark}"]


JAPANESE = (
    "昔々、ある村に老人が住んでいました。ある日、川で大きな桃を見つけました！"
    "桃から男の子が生まれました。男の子は桃太郎と名付けられました。"
    "桃太郎は鬼を退治しに行きました。"
)
CHINESE = (
    "从前有一个老人住在村子里。有一天他在河边看见一个大桃子。"
    "他把桃子带回家。桃子里有一个男孩。男孩长大后去打败了妖怪。"
)
THAI = (
    "กาลครั้งหนึ่งนานมาแล้ว มีชายชราคนหนึ่งอาศัยอยู่ในหมู่บ้าน "
    "วันหนึ่งเขาไปที่แม่น้ำ และพบลูกพีชขนาดใหญ่ "
    "เขานำลูกพีชกลับบ้าน ภายในมีเด็กผู้ชายคนหนึ่ง"
)


@pytest.mark.parametrize(("tag", "story"), [("ja", JAPANESE), ("zh", CHINESE)])
def test_a_cjk_story_is_accepted_and_cut_between_sentences(tag: str, story: str) -> None:
    language = Language(tag)
    story = validate_story(story, LIMITS)
    draft = split_story(story, language=language)

    assert 3 <= len(draft.scenes) <= 8
    assert "".join(scene.narration for scene in draft.scenes) == story  # nothing lost or added
    assert all(scene.narration.endswith(("。", "！", "？")) for scene in draft.scenes)
    assert " " not in "".join(scene.narration for scene in draft.scenes)


def test_a_thai_story_is_accepted_and_cut_between_phrases() -> None:
    language = Language("th")
    story = validate_story(THAI, LIMITS)
    draft = split_story(story, language=language)
    phrases = story.split(" ")

    # One sentence (Thai marks none) of fifteen seconds: cut once, at a phrase space.
    assert len(draft.scenes) == 2
    assert " ".join(scene.narration for scene in draft.scenes) == story
    # Every scene is whole phrases: Thai writes no spaces between words, only phrases.
    assert all(set(scene.narration.split(" ")) <= set(phrases) for scene in draft.scenes)


def test_tokens_keep_words_whole_and_lose_nothing() -> None:
    text = "«Беги!» — крикнул он. 👨\u200d👩\u200d👧 昔々、ある村に"
    pieces = tokens(text, "ru")
    assert "".join(pieces) == text
    assert all(len([w for w in words(piece)]) <= 2 for piece in pieces)
    assert any("👨\u200d👩\u200d👧" in piece for piece in pieces)  # the family stays one


def test_graphemes_keep_syllables_and_emoji_sequences_whole() -> None:
    assert graphemes("क्षि") == ["क्षि"]
    assert graphemes("🇯🇵👍🏽") == ["🇯🇵", "👍🏽"]


@pytest.mark.parametrize("story", [THAI, CHINESE * 2, "👨\u200d👩\u200d👧 " * 30, "word " * 40])
def test_a_long_first_line_is_titled_by_whole_words(story: str) -> None:
    title = headline(story)
    head = title.removesuffix("…")

    assert title.endswith("…") and len(head) <= 60
    assert story.startswith(head)
    by_words, by_graphemes = tokens(story), graphemes(story)
    assert any("".join(by_words[:n]).rstrip() == head for n in range(1, len(by_words))) or any(
        "".join(by_graphemes[:n]).rstrip() == head for n in range(1, len(by_graphemes))
    )


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        # py3langid scores this Indonesian story 0.56 Malay to 0.44 Indonesian.
        (
            "Seorang penjaga mercusuar tinggal sendirian di sebuah pulau berbatu. Suatu malam "
            "badai besar datang dari laut. Penjaga itu naik ke menara dan menyalakan lampu.",
            "id",
        ),
        ("Saya hendak makan nasi lemak di rumah kawan saya esok pagi.", "ms"),
    ],
)
def test_a_near_tie_between_malay_and_indonesian_goes_to_indonesian(text: str, tag: str) -> None:
    assert detect_language(text).tag == tag


@pytest.mark.parametrize(
    ("tag", "text", "expected"),
    [
        (
            "ja",
            "「走れ！」と彼は言った。「止まれ！」「いやだ！」",
            ["「走れ！」と彼は言った。", "「止まれ！」", "「いやだ！」"],
        ),
        ("zh", "“跑！”他说。我们走吧。", ["“跑！”他说。", "我们走吧。"]),
        ("ru", "«Беги!» — сказал он. Он побежал.", ["«Беги!» — сказал он.", "Он побежал."]),
        (
            "en",
            '"Run!" she said. "Stop!" He stopped.',
            ['"Run!" she said.', '"Stop!"', "He stopped."],
        ),
    ],
)
def test_a_quotation_stays_with_who_said_it(tag: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, Language(tag)) == expected


@pytest.mark.parametrize(
    ("text", "words_in_prompt"),
    [
        ("बूढ़ा आदमी समुद्र के पास रहता था।", ["बूढ़ा", "आदमी", "समुद्र"]),
        ("كَانَ هُنَاكَ صَيَّادٌ عَجُوزٌ.", ["كَانَ", "هُنَاكَ", "صَيَّادٌ"]),
    ],
)
def test_prompt_words_keep_their_vowel_marks(text: str, words_in_prompt: list[str]) -> None:
    draft = split_story(f"{text} {text} {text}", language=detect_language(text))
    assert all(word in draft.scenes[0].visual_prompt for word in words_in_prompt)
