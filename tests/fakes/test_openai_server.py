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

from engine.models import ENGLISH
from engine.providers.openai import OpenAIModerator, OpenAIScriptWriter, openai_client
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


# -- request validation against the official schemas ----------------------------------------

DROP = object()  # a field the test removes from the otherwise valid body
CHAT: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}


async def post(fake: OpenAIFake, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{fake.base_url}{path}", json=body, headers={"Authorization": f"Bearer {KEY}"}
        )


def edited(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    body = base | change
    return {key: value for key, value in body.items() if value is not DROP}


def refusal_of(answer: httpx.Response) -> dict[str, Any]:
    """The error object of a 400, which carries exactly the service's four fields."""
    assert answer.status_code == 400, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    return error


def obj(**properties: Any) -> dict[str, Any]:
    """A strict object schema: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def strict(schema: dict[str, Any], name: str = "Scene") -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def nested(levels: int) -> dict[str, Any]:
    """Objects inside objects, `levels` deep counting the outermost."""
    schema = obj(leaf={"type": "string"})
    for _ in range(levels - 1):
        schema = obj(child=schema)
    return schema


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


@pytest.fixture
def answering(fake: OpenAIFake) -> OpenAIFake:
    fake.default_chat = lambda request: SCENE
    return fake


async def test_dreambots_own_requests_pass_the_strict_checks(answering: OpenAIFake) -> None:
    answering.default_chat = lambda request: {
        "title": "Fox",
        "style": "ink",
        "scenes": [{"narration": "A fox.", "visual_prompt": "a fox"}],
    }
    api = openai_client(KEY, answering.base_url, timeout_s=5.0)
    async with api:
        script = await OpenAIScriptWriter(api, "gpt-5.4-mini").write_script(
            "A fox finds a lantern. " * 10, seed=1, language=ENGLISH
        )
        await OpenAIModerator(api, "omni-moderation-latest").check("A fox finds a lantern.")
    assert script.title == "Fox"
    [chat] = answering.calls("chat")
    assert chat.json is not None
    # What makes the request subject to every strict rule: a nested model through $defs.
    fmt = chat.json["response_format"]["json_schema"]
    assert fmt["strict"] is True
    assert "$defs" in fmt["schema"]
    assert len(answering.calls("moderation")) == 1


async def test_a_request_at_every_stated_limit_is_accepted(answering: OpenAIFake) -> None:
    body = CHAT | {
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "system", "content": "Tell stories.", "name": "narrator"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "https://x.invalid/a.png"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "mp3"}},
                    {"type": "file", "file": {"file_id": "file-1"}},
                ],
            },
            {"role": "assistant", "content": None, "refusal": None},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            {"role": "tool", "content": "42", "tool_call_id": "call_1"},
            {"role": "function", "content": None, "name": "lookup"},
        ],
        "temperature": 2,
        "top_p": 0,
        "top_logprobs": 20,
        "frequency_penalty": -2,
        "presence_penalty": 2.0,
        "n": 128,
        "max_completion_tokens": 1,
        "seed": -(2**63),
        "safety_identifier": "s" * 64,
        "service_tier": "flex",
        "reasoning_effort": "xhigh",
        "verbosity": None,
        "modalities": ["text", "audio"],
        "stop": ["a", "b", "c", "d"],
        "metadata": {"chat": "42"},
        "logit_bias": {"50256": -100},
        "stream": False,
        "response_format": strict(obj(title={"type": "string"}), name="N" * 64),
    }
    assert (await post(answering, "/chat/completions", body)).status_code == 200


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        # CreateChatCompletionRequest.required: model, messages
        ({"model": DROP}, "model", "missing_required_parameter"),
        ({"model": 4}, "model", "invalid_type"),
        ({"messages": DROP}, "messages", "missing_required_parameter"),
        ({"messages": []}, "messages", "empty_array"),  # minItems 1
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role", "invalid_value"),
        ({"messages": [{"content": "hi"}]}, "messages[0].role", "missing_required_parameter"),
        ({"messages": [{"role": "system"}]}, "messages[0].content", "missing_required_parameter"),
        ({"messages": user(42)}, "messages[0].content", "invalid_type"),
        ({"messages": user([])}, "messages[0].content", "empty_array"),
        ({"messages": user([{"type": "text"}])}, "messages[0].content[0].text", None),
        ({"messages": user([{"type": "video"}])}, "messages[0].content[0].type", None),
        (
            {"messages": [{"role": "system", "content": [{"type": "refusal", "refusal": "x"}]}]},
            "messages[0].content[0].type",
            "invalid_value",
        ),
        (
            {"messages": user([{"type": "image_url", "image_url": {"url": "u", "detail": "4k"}}])},
            "messages[0].content[0].image_url.detail",
            "invalid_value",
        ),
        (
            {
                "messages": user(
                    [{"type": "input_audio", "input_audio": {"data": "AA", "format": "ogg"}}]
                )
            },
            "messages[0].content[0].input_audio.format",
            "invalid_value",
        ),
        (
            {"messages": [{"role": "tool", "content": "42"}]},
            "messages[0].tool_call_id",
            "missing_required_parameter",
        ),
        (
            {"messages": [{"role": "function", "content": "42"}]},
            "messages[0].name",
            "missing_required_parameter",
        ),
        (
            {"messages": [{"role": "user", "content": "hi", "name": 7}]},
            "messages[0].name",
            "invalid_type",
        ),
        ({"temperature": 2.01}, "temperature", "decimal_above_max_value"),
        ({"temperature": -0.1}, "temperature", "decimal_below_min_value"),
        ({"temperature": "hot"}, "temperature", "invalid_type"),
        ({"temperature": True}, "temperature", "invalid_type"),
        ({"top_p": 1.5}, "top_p", "decimal_above_max_value"),
        ({"top_logprobs": 21}, "top_logprobs", "integer_above_max_value"),
        ({"frequency_penalty": -2.5}, "frequency_penalty", "decimal_below_min_value"),
        ({"presence_penalty": 3}, "presence_penalty", "integer_above_max_value"),
        ({"n": 0}, "n", "integer_below_min_value"),
        ({"n": 129}, "n", "integer_above_max_value"),
        ({"n": 1.5}, "n", "invalid_type"),
        ({"max_completion_tokens": "100"}, "max_completion_tokens", "invalid_type"),
        ({"max_tokens": 1.5}, "max_tokens", "invalid_type"),
        ({"seed": 2**63}, "seed", "integer_above_max_value"),
        ({"logprobs": "yes"}, "logprobs", "invalid_type"),
        ({"stream": 1}, "stream", "invalid_type"),
        ({"store": "no"}, "store", "invalid_type"),
        ({"safety_identifier": "s" * 65}, "safety_identifier", "string_above_max_length"),
        ({"user": None}, "user", "invalid_type"),  # the one field here that is not nullable
        ({"prompt_cache_key": 5}, "prompt_cache_key", "invalid_type"),
        ({"prompt_cache_retention": "1h"}, "prompt_cache_retention", "invalid_value"),
        ({"service_tier": "turbo"}, "service_tier", "invalid_value"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort", "invalid_value"),
        ({"verbosity": "loud"}, "verbosity", "invalid_value"),
        ({"modalities": ["video"]}, "modalities[0]", "invalid_value"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "array_above_max_length"),
        ({"stop": []}, "stop", "empty_array"),
        ({"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        ({"logit_bias": {"50256": "ban"}}, "logit_bias.50256", "invalid_type"),
        ({"response_format": None}, "response_format", "invalid_type"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "invalid_value"),
        (
            {"response_format": {"type": "json_schema"}},
            "response_format.json_schema",
            "missing_required_parameter",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "response_format.json_schema.name",
            "missing_required_parameter",
        ),
        (
            {"response_format": strict(obj(), name="my scene")},
            "response_format.json_schema.name",
            "invalid_value",
        ),
        (
            {"response_format": strict(obj(), name="N" * 65)},
            "response_format.json_schema.name",
            "string_above_max_length",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "strict": 1}}},
            "response_format.json_schema.strict",
            "invalid_type",
        ),
    ],
)
async def test_a_chat_request_against_the_schema_is_refused(
    answering: OpenAIFake, change: dict[str, Any], param: str, code: str | None
) -> None:
    error = refusal_of(await post(answering, "/chat/completions", edited(CHAT, change)))
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert param in error["message"] or "Supported values" in error["message"]


async def test_a_refused_request_leaves_the_scripted_fault_for_the_next(
    answering: OpenAIFake,
) -> None:
    answering.fail("chat", "500")
    refusal_of(await post(answering, "/chat/completions", edited(CHAT, {"n": 0})))
    assert (await post(answering, "/chat/completions", CHAT)).status_code == 500


SCENE_SCHEMA = obj(title={"type": "string"}, beats={"type": "array", "items": {"type": "string"}})


def without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in schema.items() if name != key}


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        # "Root objects must not be anyOf and must be an object"
        ({"anyOf": [SCENE_SCHEMA, obj(other={"type": "string"})]}, "must not be anyOf"),
        ({"type": "array", "items": SCENE_SCHEMA}, "root schema must be an object"),
        # "additionalProperties: false must always be set in objects"
        (without(SCENE_SCHEMA, "additionalProperties"), "'additionalProperties' is required"),
        (
            obj(scene=SCENE_SCHEMA | {"additionalProperties": True}),
            "context=('properties', 'scene'), 'additionalProperties'",
        ),
        # "All fields must be required"
        (SCENE_SCHEMA | {"required": ["title"]}, "Missing 'beats'"),
        (without(SCENE_SCHEMA, "required"), "Missing 'title'"),
        (SCENE_SCHEMA | {"required": ["title", "beats", "mood"]}, "Extra required key 'mood'"),
        # "Supported types"
        (obj(when={"type": "date"}), "type 'date' is not supported"),
        (obj(when={"type": ["string", "timestamp"]}), "type 'timestamp' is not supported"),
        (obj(anything={}), "schema must have a 'type' key"),
        (obj(anything="string"), "schema must be a JSON Schema object"),
        # "Supported properties": the listed string formats only
        (obj(link={"type": "string", "format": "uri"}), "format 'uri' is not supported"),
        # "For anyOf, the nested schemas must each be a valid JSON Schema per this subset"
        (
            obj(item={"anyOf": [{"type": "null"}, without(SCENE_SCHEMA, "additionalProperties")]}),
            "context=('properties', 'item', 'anyOf', '1')",
        ),
        # "Definitions are supported": a $ref must name one
        (obj(step={"$ref": "#/$defs/step"}), "reference '#/$defs/step' can't be resolved"),
        (
            {
                "$defs": {"step": without(SCENE_SCHEMA, "required")},
                **obj(s={"$ref": "#/$defs/step"}),
            },
            "context=('$defs', 'step'), 'required'",
        ),
        # "Objects have limitations on nesting depth and size": 10 levels, 5000 properties
        (nested(11), "11 levels of nesting exceeds limit of 10"),
        (
            {"$defs": {"deep": nested(10)}, **obj(child={"$ref": "#/$defs/deep"})},
            "11 levels of nesting exceeds limit of 10",
        ),
        (obj(**{f"p{n}": {"type": "integer"} for n in range(5001)}), "5001 object properties"),
        # "Limitations on total string size": 120,000 characters
        (obj(motto={"type": "string", "const": "m" * 120_001}), "total string length"),
        # "Limitations on enum size": 1000 values; 15,000 characters past 250 values
        (
            obj(a={"enum": list(range(600))}, b={"type": "integer", "enum": list(range(401))}),
            "1001 enum values exceeds limit of 1000",
        ),
        (obj(word={"type": "string", "enum": [f"{n:060d}" for n in range(251)]}), "15000"),
    ],
)
async def test_a_strict_schema_outside_structured_outputs_is_refused(
    answering: OpenAIFake, schema: dict[str, Any], says: str
) -> None:
    body = CHAT | {"response_format": strict(schema)}
    error = refusal_of(await post(answering, "/chat/completions", body))
    assert error["param"] == "response_format"
    assert error["code"] is None
    assert error["message"].startswith("Invalid schema for response_format 'Scene': ")
    assert says in error["message"]


@pytest.mark.parametrize(
    "keyword", ["allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else"]
)
async def test_composition_keywords_are_refused_in_a_strict_schema(
    answering: OpenAIFake, keyword: str
) -> None:
    # "Some type-specific keywords are not yet supported": Composition.
    schema = obj(title={"type": "string", keyword: [{"type": "string"}]})
    error = refusal_of(
        await post(answering, "/chat/completions", CHAT | {"response_format": strict(schema)})
    )
    assert error["param"] == "response_format"
    assert f"'{keyword}' is not permitted" in error["message"]


@pytest.mark.parametrize(
    ("keyword", "schema"),
    [
        ("minLength", {"type": "string", "minLength": 1}),
        ("pattern", {"type": "string", "pattern": "^[a-z]+$"}),
        ("format", {"type": "string", "format": "email"}),
        ("maximum", {"type": "number", "maximum": 9}),
        ("maxItems", {"type": "array", "items": {"type": "string"}, "maxItems": 3}),
    ],
)
async def test_fine_tuned_models_refuse_the_keywords_the_guide_lists_for_them(
    answering: OpenAIFake, keyword: str, schema: dict[str, Any]
) -> None:
    fmt = strict(obj(value=schema))
    base = await post(answering, "/chat/completions", CHAT | {"response_format": fmt})
    assert base.status_code == 200  # a base model takes the keyword
    tuned = CHAT | {"model": "ft:gpt-4o-mini-2024-07-18:acme::abc123", "response_format": fmt}
    error = refusal_of(await post(answering, "/chat/completions", tuned))
    assert f"'{keyword}' is not permitted" in error["message"]


@pytest.mark.parametrize(
    "schema",
    [
        nested(10),
        {"$defs": {"deep": nested(9)}, **obj(child={"$ref": "#/$defs/deep"})},
        # "Recursive schemas are supported", by "#" and by a definition
        obj(label={"type": "string"}, children={"type": "array", "items": {"$ref": "#"}}),
        {
            "$defs": {
                "node": obj(
                    value={"type": "number"},
                    next={"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                )
            },
            **obj(head={"$ref": "#/$defs/node"}),
        },
        obj(**{f"p{n}": {"type": "integer"} for n in range(5000)}),
        obj(a={"enum": list(range(600))}, b={"type": "integer", "enum": list(range(400))}),
        obj(word={"type": "string", "enum": [f"{n:059d}" for n in range(251)]}),
        obj(unit={"type": ["string", "null"], "enum": ["F", "C", None]}),
        obj(when={"type": "string", "format": "date-time"}, n={"type": "integer", "minimum": 0}),
    ],
)
async def test_a_strict_schema_inside_structured_outputs_is_accepted(
    answering: OpenAIFake, schema: dict[str, Any]
) -> None:
    body = CHAT | {"response_format": strict(schema)}
    answer = await post(answering, "/chat/completions", body)
    assert answer.status_code == 200, answer.text


async def test_a_schema_that_is_not_strict_is_not_held_to_the_subset(
    answering: OpenAIFake,
) -> None:
    fmt = strict({"type": "object", "properties": {"x": {"allOf": []}}})
    fmt["json_schema"]["strict"] = False
    answer = await post(answering, "/chat/completions", CHAT | {"response_format": fmt})
    assert answer.status_code == 200, answer.text


async def test_the_sdk_raises_the_refusal_as_bad_request_naming_the_param(
    answering: OpenAIFake,
) -> None:
    schema = without(SCENE_SCHEMA, "additionalProperties")
    async with client(answering) as openai_client:
        with pytest.raises(openai.BadRequestError) as caught:
            await openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, response_format=strict(schema)
            )
    assert caught.value.status_code == 400
    assert caught.value.param == "response_format"
    assert caught.value.type == "invalid_request_error"
    assert "'additionalProperties' is required" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"input": "A fox."},
        {"input": ["A fox.", "A lantern."], "model": "omni-moderation-2024-09-26"},
        {"input": [], "model": "text-moderation-stable"},
        {
            "input": [
                {"type": "text", "text": "A fox."},
                {"type": "image_url", "image_url": {"url": "https://x.invalid/fox.png"}},
            ],
            "model": "a-model-the-enum-does-not-list",  # anyOf: any string is a model
        },
    ],
)
async def test_a_moderation_request_of_any_documented_shape_is_accepted(
    fake: OpenAIFake, body: dict[str, Any]
) -> None:
    answer = await post(fake, "/moderations", body)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        # CreateModerationRequest.required: input
        ({"model": "omni-moderation-latest"}, "input", "missing_required_parameter"),
        ({"input": 42}, "input", "invalid_type"),
        ({"input": {"text": "A fox."}}, "input", "invalid_type"),
        # oneOf: strings or objects, not both in one array
        ({"input": ["A fox.", {"type": "text", "text": "b"}]}, "input[0]", "invalid_type"),
        ({"input": [{"type": "video", "video": {}}]}, "input[0].type", "invalid_value"),
        ({"input": [{"type": "text"}]}, "input[0].text", "missing_required_parameter"),
        (
            {"input": [{"type": "image_url", "image_url": {}}]},
            "input[0].image_url.url",
            "missing_required_parameter",
        ),
        # model: nullable false
        ({"input": "A fox.", "model": None}, "model", "invalid_type"),
        ({"input": "A fox.", "model": 7}, "model", "invalid_type"),
    ],
)
async def test_a_moderation_request_against_the_schema_is_refused(
    fake: OpenAIFake, body: dict[str, Any], param: str, code: str
) -> None:
    error = refusal_of(await post(fake, "/moderations", body))
    assert error["param"] == param
    assert error["code"] == code


async def test_moderation_reads_the_text_parts_of_multimodal_input(fake: OpenAIFake) -> None:
    fake.flag_words = {"kill": "violence"}
    async with client(fake) as openai_client:
        done = await openai_client.moderations.create(
            input=[{"type": "text", "text": "The wolf wanted to kill."}]
        )
    assert done.results[0].categories.violence is True
