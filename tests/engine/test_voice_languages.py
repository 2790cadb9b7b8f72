"""The offline voice speaks the story's language, or says it cannot and stays silent."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from engine import DreamResult, Engine, EngineConfig, Providers, StoredJob
from engine.books import Books
from engine.job import NO_VOICE, SOME_SILENT
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe
from engine.models import Language
from engine.outcome import OUTCOME_FILE
from engine.providers.local import local_providers
from engine.providers.local.voices import VoiceList
from engine.segment import graphemes, is_emoji
from engine.speech import speaking_time
from tests.fakes.providers import FakeMedia, FakeProviders
from tests.surfaces import RecordingSurface

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def installed() -> VoiceList:
    assert ESPEAK is not None
    listing = subprocess.run(
        [ESPEAK, "--voices"], capture_output=True, text=True, check=True
    ).stdout
    return VoiceList.parse(listing)


@needs_espeak
@pytest.mark.parametrize(
    ("tag", "text", "voice"),
    [
        ("en", "An old fisher", "en-us"),
        ("en-GB", "An old fisher", "en-gb"),
        ("es", "Un viejo pescador", "es"),
        ("es-419", "Un viejo pescador", "es-419"),
        ("pt", "Um velho pescador", "pt-br"),
        ("pt-BR", "Um velho pescador", "pt-br"),
        ("pt-PT", "Um velho pescador", "pt"),
        ("fr", "Un vieux pêcheur", "fr-fr"),
        ("de", "Ein alter Fischer", "de"),
        ("ru", "Старый рыбак", "ru"),
        ("ar", "صياد عجوز", "ar"),
        ("fa", "ماهیگیر پیر", "fa"),
        ("hi", "बूढ़ा मछुआरा", "hi"),
        ("id", "Nelayan tua", "id"),
        ("tr", "Yaşlı balıkçı", "tr"),
        ("vi", "Ông lão đánh cá", "vi"),
        ("zh", "老渔夫", "cmn"),
        ("ja", "むかしむかし", "ja"),
        ("ko", "늙은 어부", "ko"),
        ("th", "ชาวประมงชรา", "th"),
        ("he", "דייג זקן", "he"),
        ("el", "Γέρος ψαράς", "el"),
        ("bn", "বৃদ্ধ জেলে", "bn"),
        ("ta", "வயதான மீனவர்", "ta"),
    ],
)
def test_each_language_gets_its_own_espeak_voice(
    installed: VoiceList, tag: str, text: str, voice: str
) -> None:
    assert installed.voice_for(Language.parse(tag), text) == voice


@needs_espeak
@pytest.mark.parametrize(
    ("tag", "text"),
    [
        ("ja", "昔々、ある村に老人が住んでいました。"),  # kanji: espeak-ng would spell them out
        ("xh-ZZ", "Kudala kwakukho"),  # a tag no voice answers for
        ("km", "កាលពីព្រេងនាយ"),  # Khmer: espeak-ng has no voice
    ],
)
def test_a_language_the_voice_cannot_speak_has_no_voice(
    installed: VoiceList, tag: str, text: str
) -> None:
    assert installed.voice_for(Language.parse(tag), text) is None


def test_the_voice_list_is_read_from_espeaks_own_format() -> None:
    listing = (
        "Pty Language       Age/Gender VoiceName          File                 Other Languages\n"
        " 5  cmn             --/M      Chinese_(Mandarin) sit/cmn              (zh-cmn 5)(zh 5)\n"
        " 5  yue             --/M      Chinese_(Cantonese) sit/yue             (zh-yue 5)(zh 8)\n"
        " 2  en-gb           --/M      English_(GB)       gmw/en               (en 2)\n"
    )
    voices = VoiceList.parse(listing)
    assert voices.voice_for(Language("zh"), "老渔夫") == "cmn"  # the lower priority wins
    assert voices.voice_for(Language("zh-yue"), "老渔夫") == "yue"
    assert voices.voice_for(Language("en"), "fisher") == "en-gb"  # no en-us installed


RUSSIAN = (
    "Жил-был старик со своею старухой у самого синего моря. "
    "Старик ловил неводом рыбу. Однажды он закинул в море невод. "
    "Пришёл невод с одною рыбкой, не простою рыбкой, золотою."
)


def _espeak_seconds(voice: str, text: str, folder: Path) -> float:
    assert ESPEAK is not None
    out = folder / f"{voice}.wav"
    subprocess.run([ESPEAK, "-v", voice, "-s", "150", "-w", str(out), text], check=True)
    with wave.open(str(out)) as audio:
        return audio.getnframes() / audio.getframerate()


async def _offline_dream(
    story: str, config: EngineConfig, ffmpeg: FFmpeg, books: Books
) -> tuple[float, DreamResult]:
    engine = Engine(config, local_providers(ffmpeg, config.render), ffmpeg, books=books)
    request = await engine.admit(story, requester="test:1")
    result = await engine.dream(request, RecordingSurface())
    info = await probe(ffmpeg, result.final)
    assert info.duration_s is not None
    return info.duration_s, result


@needs_espeak
@pytest.mark.ffmpeg
async def test_a_russian_story_is_read_at_a_russian_pace(
    config: EngineConfig, ffmpeg: FFmpeg, books: Books, tmp_path: Path
) -> None:
    russian_voice = _espeak_seconds("ru", RUSSIAN, tmp_path)
    english_voice = _espeak_seconds("en-us", RUSSIAN, tmp_path)

    video_s, _ = await _offline_dream(RUSSIAN, config, ffmpeg, books)

    # The English voice spells Cyrillic out letter by letter: that is what this prevents.
    assert english_voice > 2 * russian_voice
    assert russian_voice / 2 <= video_s <= 2 * russian_voice


@needs_espeak
@pytest.mark.ffmpeg
async def test_a_story_the_voice_cannot_speak_is_silent_and_says_so(
    config: EngineConfig, ffmpeg: FFmpeg, books: Books
) -> None:
    story = (
        "昔々、ある村に老人が住んでいました。ある日、川で大きな桃を見つけました。"
        "桃から男の子が生まれました。"
    )
    video_s, result = await _offline_dream(story, config, ffmpeg, books)

    notices = [str(n) for n in result.notices]
    assert notices == [NO_VOICE.format(language="Japanese")]
    assert not any(scene.spoken for scene in result.scenes)
    # Silence of speaking length, not a Japanese voice spelling kanji out for a minute.
    assert video_s <= 2 * speaking_time(story)


@pytest.mark.ffmpeg
async def test_the_voice_is_given_the_storys_language_and_no_emoji(
    config: EngineConfig, ffmpeg: FFmpeg, books: Books, media: FakeMedia
) -> None:
    fake = FakeProviders(media=media)
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    engine = Engine(config, providers, ffmpeg, books=books)
    story = (
        "Старик 👨\u200d👩\u200d👧 жил у моря 🌊. Он ловил рыбу 🐟 каждый день. Рыбка была золотая."
    )
    request = await engine.admit(story, requester="test:1")
    result = await engine.dream(request, RecordingSurface())

    assert request.language == Language("ru")
    assert len(fake.narrated) == len(result.scenes) == 3
    for text, language in fake.narrated:
        assert language == Language("ru")
        assert "Старик" in text
        assert not any(is_emoji(g) for g in graphemes(text))
        assert "  " not in text


@needs_espeak
@pytest.mark.ffmpeg
async def test_a_resumed_job_the_voice_cannot_speak_is_still_delivered_and_says_so(
    config: EngineConfig, ffmpeg: FFmpeg, books: Books
) -> None:
    story = (
        "昔々、ある村に老人が住んでいました。ある日、川で桃を見つけました。桃から子が生まれました。"
    )
    engine = Engine(config, local_providers(ffmpeg, config.render), ffmpeg, books=books)
    request = await engine.admit(story, requester="test:1")
    await engine.dream(request, RecordingSurface(), surface_ref="msg:1")
    # The process died after every scene was journalled and before the job was settled
    # (before even its outcome was written in its folder).
    (config.work_dir / request.job_id / OUTCOME_FILE).unlink()
    async with books.storage.db.transaction() as tx:
        await tx.fetch(
            "UPDATE jobs SET state = 'running', charge = 'reserved', finished_at = NULL "
            "WHERE id = ?",
            (request.job_id,),
        )

    restarted = Engine(config, local_providers(ffmpeg, config.render), ffmpeg, books=books)

    async def rebuild(stored: StoredJob) -> RecordingSurface:
        return RecordingSurface()

    results = await asyncio.gather(*await restarted.resume(rebuild))

    assert [r.job_id for r in results] == [request.job_id]
    assert [str(n) for n in results[0].notices] == [NO_VOICE.format(language="Japanese")]
    assert all(scene.unreadable and not scene.spoken for scene in results[0].scenes)


@needs_espeak
@pytest.mark.ffmpeg
async def test_a_story_the_voice_reads_only_in_part_says_some_scenes_are_silent(
    config: EngineConfig, ffmpeg: FFmpeg, books: Books
) -> None:
    story = (
        "むかしむかし、あるところに、おじいさんと、おばあさんが、すんでいました。"
        "ある日、川で大きな桃を見つけました。桃から男の子が生まれました。"
    )
    _, result = await _offline_dream(story, config, ffmpeg, books)

    assert [str(n) for n in result.notices] == [SOME_SILENT.format(language="Japanese")]
    assert [scene.spoken for scene in result.scenes] == [True, False, False]
