"""The OpenAI providers through the real openai client against a fake server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from engine import Engine, Providers
from engine.errors import (
    ContentRejectedError,
    MediaError,
    ProviderError,
    ReplyTooLargeError,
    StoryRejectedError,
    TransientError,
)
from engine.media.probe import probe
from engine.models import ENGLISH, Language
from engine.notice import CHECK_UNAVAILABLE
from engine.providers.openai import (
    OpenAIModerator,
    OpenAIScriptWriter,
    OpenAIVoice,
    openai_client,
)
from tests.fakes.openai_server import OpenAIFake
from tests.fakes.providers import FakeProviders

STORY = " ".join(["The keeper climbed the tower and lit the lamp for the storm."] * 8)


def script_reply(scenes: int) -> dict[str, Any]:
    return {
        "title": "The Keeper and the Storm",
        "style": "storybook watercolour; the keeper: old man, red scarf",
        "scenes": [
            {"narration": f"Part {n} of the tale.", "visual_prompt": f"a lighthouse, view {n}"}
            for n in range(scenes)
        ],
    }


def writer(client: openai.AsyncOpenAI) -> OpenAIScriptWriter:
    return OpenAIScriptWriter(client, "gpt-5.4-mini")


@pytest.fixture
async def fake(media) -> AsyncIterator[OpenAIFake]:
    async with OpenAIFake(slow_seconds=2.0) as server:
        server.speech_file = media.narration
        yield server


@pytest.fixture
async def client(fake: OpenAIFake) -> AsyncIterator[openai.AsyncOpenAI]:
    api = openai_client("sk-test-0123456789abcdef", fake.base_url, timeout_s=1.0)
    yield api
    await api.close()


async def test_the_script_is_structured_output_scaled_to_the_story(fake, client) -> None:
    fake.reply_chat(script_reply(4))
    script = await writer(client).write_script(STORY, seed=7, language=ENGLISH)

    assert [s.narration for s in script.scenes] == [f"Part {n} of the tale." for n in range(4)]
    assert script.style.startswith("storybook") and script.seed == 7
    assert "red scarf" in script.prompt_for(script.scenes[2])
    request = fake.calls("chat")[0].json
    assert request is not None
    assert request["response_format"]["type"] == "json_schema"
    # Eight sentences of four seconds each: a scene each, as the offline writer cuts it.
    assert "exactly 8 scenes" in request["messages"][0]["content"]
    assert "setting: " in request["messages"][0]["content"]
    assert fake.calls("chat")[0].authorization == "Bearer sk-test-0123456789abcdef"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("refusal", ContentRejectedError),
        ("bad_json", ProviderError),
        ("length", ProviderError),
        ("500", TransientError),
        ("429", TransientError),
    ],
)
async def test_script_faults_become_engine_errors(fake, client, fault, error) -> None:
    fake.reply_chat(script_reply(3))
    fake.fail("chat", fault)
    with pytest.raises(error):
        await writer(client).write_script(STORY, seed=1, language=ENGLISH)
    assert len(fake.calls("chat")) == 1  # the SDK's own retries are off: the engine retries


async def test_a_rate_limit_carries_its_retry_after(fake, client) -> None:
    fake.fail("chat", "429")
    with pytest.raises(TransientError) as limited:
        await writer(client).write_script(STORY, seed=1, language=ENGLISH)
    assert limited.value.retry_after == pytest.approx(0.01)


async def test_an_empty_script_is_refused(fake, client) -> None:
    fake.reply_chat({"title": "x", "style": "y", "scenes": []})
    with pytest.raises(ProviderError):
        await writer(client).write_script(STORY, seed=1, language=ENGLISH)


@pytest.mark.parametrize("fault", ["oversized", "oversized_stated"])
async def test_an_oversized_script_reply_is_refused_unread_and_not_retried(
    fake, client, fault
) -> None:
    fake.reply_chat(script_reply(4))  # valid, but padded with 16 MiB
    fake.fail("chat", fault)
    with pytest.raises(ReplyTooLargeError, match="over 4 MiB"):
        await writer(client).write_script(STORY, seed=1, language=ENGLISH)
    assert len(fake.calls("chat")) == 1


@pytest.mark.parametrize("fault", ["oversized", "oversized_stated"])
async def test_oversized_narration_is_refused_as_it_streams(fake, client, tmp_path, fault) -> None:
    fake.oversized_bytes = 30 * 2**20  # speech may be larger than JSON, up to 25 MiB
    fake.fail("speech", fault)
    voice = OpenAIVoice(client, "gpt-4o-mini-tts", "alloy")
    with pytest.raises(ReplyTooLargeError, match="over 25 MiB"):
        await voice.narrate("Hi.", language=ENGLISH, out_dir=tmp_path)


async def test_narration_is_streamed_to_an_audio_file(fake, client, ffmpeg, tmp_path) -> None:
    voice = OpenAIVoice(client, "gpt-4o-mini-tts", "alloy")
    path = await voice.narrate("Hello.", language=ENGLISH, out_dir=tmp_path)

    info = await probe(ffmpeg, path)
    assert info.audio is not None and info.duration_s is not None and info.duration_s > 1
    assert fake.calls("speech")[0].json["voice"] == "alloy"  # type: ignore[index]


async def test_narration_that_is_not_audio_is_refused(fake, client, tmp_path: Path) -> None:
    fake.fail("speech", "corrupt")
    with pytest.raises(MediaError):
        voice = OpenAIVoice(client, "gpt-4o-mini-tts", "alloy")
        await voice.narrate("Hi.", language=ENGLISH, out_dir=tmp_path)


async def test_the_script_stays_in_the_storys_language(fake, client) -> None:
    fake.reply_chat(script_reply(3))
    russian = Language("ru")
    script = await writer(client).write_script(
        "Жил-был старик у самого синего моря.", seed=1, language=russian
    )

    assert script.language == russian
    request = fake.calls("chat")[0].json
    assert request is not None
    system = request["messages"][0]["content"]
    assert "written in Russian (BCP 47 tag ru)" in system
    assert "in Russian and in the story's own script" in system


@pytest.mark.parametrize(("model", "told"), [("gpt-4o-mini-tts", True), ("tts-1", False)])
async def test_the_voice_is_told_the_language(fake, client, tmp_path, model, told) -> None:
    voice = OpenAIVoice(client, model, "alloy")
    await voice.narrate("Жил-был старик.", language=Language("ru"), out_dir=tmp_path)

    sent = fake.calls("speech")[0].json
    assert sent is not None
    # The tts-1 models take no instructions (API reference, audio/createSpeech).
    assert ("in Russian (ru)" in sent.get("instructions", "")) is told


async def test_moderation_refuses_flagged_stories_with_the_reason(fake, client) -> None:
    fake.flag_words = {"kill": "violence"}
    moderator = OpenAIModerator(client, "omni-moderation-latest")
    await moderator.check("A keeper befriends a storm.")
    with pytest.raises(StoryRejectedError) as refused:
        await moderator.check("The storm wants to kill the keeper.")
    assert "violence" in refused.value.reason


@pytest.mark.parametrize("status", ["400", "401", "403", "500"])
async def test_moderation_that_cannot_answer_refuses_without_blaming_the_story(
    fake, client, books, config, ffmpeg, media, status
) -> None:
    fake.fail("moderation", status, times=4)  # every retry of a 500 too
    fakes = FakeProviders(media)
    moderator = OpenAIModerator(client, "omni-moderation-latest")
    providers = Providers(fakes, fakes, fakes, fakes, fakes, moderation=moderator)
    engine = Engine(config, providers, ffmpeg, books=books)

    with pytest.raises(StoryRejectedError) as refused:
        await engine.admit("A calm sea rolls under the moon.", requester="telegram:1")

    assert refused.value.notice == CHECK_UNAVAILABLE  # says nothing was charged
    assert "flagged" not in refused.value.reason
    assert await books.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]
