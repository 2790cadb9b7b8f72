"""The OpenAI fake, driven by the real openai.AsyncOpenAI client over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pydantic
import pytest
from openai import AsyncOpenAI
from openai.types import ModerationCreateResponse
from openai.types.chat import ChatCompletion

from tests.fakes.openai_server import REFUSAL, OpenAIFake

KEY = "sk-test-fake-key"
MESSAGES: list[Any] = [{"role": "user", "content": "A fox finds a lantern."}]


class Scene(pydantic.BaseModel):
    title: str
    beats: list[str]


SCENE: dict[str, Any] = {"title": "The Lantern", "beats": ["fox wakes", "lantern glows"]}


@pytest.fixture
async def fake() -> AsyncIterator[OpenAIFake]:
    async with OpenAIFake() as server:
        yield server


def client(fake: OpenAIFake, *, max_retries: int = 0, timeout: float = 10.0) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key=KEY, base_url=fake.base_url, max_retries=max_retries, timeout=timeout
    )


async def parse_scene(fake: OpenAIFake, *, max_retries: int = 0) -> Scene | None:
    async with client(fake, max_retries=max_retries) as openai_client:
        done = await openai_client.chat.completions.parse(
            model="gpt-4o-mini", messages=MESSAGES, response_format=Scene
        )
    return done.choices[0].message.parsed


async def test_parse_round_trips_a_queued_payload_and_sends_the_schema(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    assert await parse_scene(fake) == Scene.model_validate(SCENE)
    [call] = fake.calls("chat")
    assert call.path == "/v1/chat/completions"
    assert call.authorization == f"Bearer {KEY}"
    assert call.json is not None
    assert call.json["model"] == "gpt-4o-mini"
    assert call.json["messages"] == MESSAGES
    fmt = call.json["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Scene"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["title", "beats"]


async def test_chat_reply_is_a_strictly_valid_completion_with_bare_json_type(
    fake: OpenAIFake,
) -> None:
    fake.reply_chat(SCENE)
    async with client(fake) as openai_client:
        raw = await openai_client.chat.completions.with_raw_response.parse(
            model="gpt-4o-mini", messages=MESSAGES, response_format=Scene
        )
    assert raw.headers["content-type"] == "application/json"
    # The SDK builds models without validation; validating here proves every field is real.
    completion = ChatCompletion.model_validate(raw.http_response.json())
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0


async def test_replies_are_used_in_order_then_the_default_sees_the_request(
    fake: OpenAIFake,
) -> None:
    seen: list[dict[str, Any]] = []

    def default(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        return {"title": request["model"], "beats": []}

    fake.default_chat = default
    fake.reply_chat({"title": "first", "beats": ["1"]})
    fake.reply_chat(lambda request: {"title": "second", "beats": [str(len(request))]})
    titles = [(await parse_scene(fake)), (await parse_scene(fake)), (await parse_scene(fake))]
    assert [scene.title if scene else None for scene in titles] == [
        "first",
        "second",
        "gpt-4o-mini",
    ]
    assert len(seen) == 1
    assert seen[0]["messages"] == MESSAGES


async def test_nothing_scripted_is_a_loud_client_error(fake: OpenAIFake) -> None:
    with pytest.raises(openai.BadRequestError, match="no chat reply queued"):
        await parse_scene(fake, max_retries=2)
    assert len(fake.calls("chat")) == 1


async def test_refusal_leaves_parsed_empty_and_sets_refusal(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "refusal")
    async with client(fake) as openai_client:
        done = await openai_client.chat.completions.parse(
            model="gpt-4o-mini", messages=MESSAGES, response_format=Scene
        )
    message = done.choices[0].message
    assert message.parsed is None
    assert message.content is None
    assert message.refusal == REFUSAL
    # The refusal did not eat the scripted reply: the next call gets it.
    assert await parse_scene(fake) == Scene.model_validate(SCENE)


async def test_bad_json_raises_pydantic_validation_error(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "bad_json")
    with pytest.raises(pydantic.ValidationError, match="Invalid JSON"):
        await parse_scene(fake)


async def test_json_off_the_schema_raises_pydantic_validation_error(fake: OpenAIFake) -> None:
    fake.reply_chat({"title": "no beats"})
    with pytest.raises(pydantic.ValidationError, match="beats"):
        await parse_scene(fake)


async def test_length_raises_length_finish_reason_error(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "length")
    with pytest.raises(openai.LengthFinishReasonError) as caught:
        await parse_scene(fake)
    assert caught.value.completion.choices[0].finish_reason == "length"


async def test_500_without_retries_raises_internal_server_error(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "500")
    with pytest.raises(openai.InternalServerError) as caught:
        await parse_scene(fake, max_retries=0)
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert caught.value.body == {
        "message": "boom",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert len(fake.calls("chat")) == 1


async def test_429_once_is_retried_by_the_client_and_succeeds(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "429")
    assert await parse_scene(fake, max_retries=2) == Scene.model_validate(SCENE)
    assert len(fake.calls("chat")) == 2


async def test_429_beyond_the_retry_budget_raises_rate_limit_error(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "429", times=3)
    with pytest.raises(openai.RateLimitError) as caught:
        await parse_scene(fake, max_retries=2)
    assert len(fake.calls("chat")) == 3
    # The SDK prefers retry-after-ms and ignores a zero delay, so this is what keeps retries fast.
    assert caught.value.response.headers["retry-after-ms"] == "10"


async def test_slow_reply_trips_the_client_timeout(fake: OpenAIFake) -> None:
    fake.reply_chat(SCENE)
    fake.fail("chat", "slow")
    async with client(fake, timeout=0.2) as openai_client:
        with pytest.raises(openai.APITimeoutError):
            await openai_client.chat.completions.parse(
                model="gpt-4o-mini", messages=MESSAGES, response_format=Scene
            )


async def test_faults_are_checked_against_their_endpoint(fake: OpenAIFake) -> None:
    with pytest.raises(ValueError, match="chat"):
        fake.fail("speech", "refusal")
    with pytest.raises(ValueError, match="speech"):
        fake.fail("chat", "corrupt")


async def stream_speech(fake: OpenAIFake, target: Path, response_format: Any) -> str:
    openai_client = client(fake)
    speech = openai_client.audio.speech.with_streaming_response
    async with (
        openai_client,
        speech.create(
            model="gpt-4o-mini-tts",
            voice="alloy",
            input="Once upon a time.",
            response_format=response_format,
        ) as response,
    ):
        assert response.headers.get("transfer-encoding") == "chunked"
        await response.stream_to_file(target)
        return response.headers["content-type"]


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
async def test_speech_streams_the_served_file(fake: OpenAIFake, tmp_path: Path, fmt: str) -> None:
    served = tmp_path / "served.bin"
    served.write_bytes(bytes(range(256)) * 50)  # several chunks
    fake.speech_file = served
    target = tmp_path / f"out.{fmt}"
    # createSpeech's one documented response type, whatever the format.
    assert await stream_speech(fake, target, fmt) == "application/octet-stream"
    assert target.read_bytes() == served.read_bytes()
    [call] = fake.calls("speech")
    assert call.json is not None
    assert call.json["voice"] == "alloy"
    assert call.json["response_format"] == fmt


async def test_corrupt_speech_is_other_bytes_of_the_same_size(
    fake: OpenAIFake, tmp_path: Path
) -> None:
    served = tmp_path / "served.wav"
    served.write_bytes(b"RIFF" + bytes(8000))
    fake.speech_file = served
    fake.fail("speech", "corrupt")
    target = tmp_path / "out.wav"
    await stream_speech(fake, target, "wav")
    assert len(target.read_bytes()) == len(served.read_bytes())
    assert target.read_bytes() != served.read_bytes()


async def test_moderation_flags_listed_words_only(fake: OpenAIFake) -> None:
    fake.flag_words = {"kill": "violence"}
    async with client(fake) as openai_client:
        bad = await openai_client.moderations.create(
            input="Then the wolf wanted to KILL the fox.", model="omni-moderation-latest"
        )
        good = await openai_client.moderations.create(
            input="The fox skilled at lantern making.", model="omni-moderation-latest"
        )
    [flagged] = bad.results
    assert flagged.flagged is True
    assert flagged.categories.violence is True
    assert flagged.categories.hate is False
    assert flagged.category_scores.violence > 0.5
    [harmless] = good.results
    assert harmless.flagged is False
    assert not any(harmless.categories.to_dict().values())
    assert bad.model == "omni-moderation-latest"


async def test_moderation_reply_is_strictly_valid(fake: OpenAIFake) -> None:
    async with client(fake) as openai_client:
        raw = await openai_client.moderations.with_raw_response.create(input=["a", "b"])
    assert raw.headers["content-type"] == "application/json"
    parsed = ModerationCreateResponse.model_validate(raw.http_response.json())
    assert len(parsed.results) == 2
    assert fake.calls("moderation")[0].authorization == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "wrong",
    [
        {"input": "x" * 4097},  # maxLength 4096
        {"input": ""},
        {"speed": 4.5},  # 0.25 to 4.0
        {"response_format": "ogg"},  # not in the enum
        {"instructions": "y" * 4097},
    ],
)
async def test_a_speech_request_against_the_schema_is_refused(
    fake: OpenAIFake, tmp_path: Path, wrong: dict[str, object]
) -> None:
    fake.speech_file = tmp_path / "served.wav"
    fake.speech_file.write_bytes(b"RIFF" + bytes(100))
    body = {"model": "gpt-4o-mini-tts", "input": "Hello.", "voice": "alloy"} | wrong
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{fake.base_url}/audio/speech", json=body, headers={"Authorization": "Bearer sk-x"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"
