"""A loopback aiohttp server speaking the OpenAI HTTP API for chat parse, speech and moderation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias, get_args

from aiohttp import web

Endpoint: TypeAlias = Literal["chat", "speech", "moderation"]
Fault: TypeAlias = Literal[
    "400",
    "401",
    "403",
    "500",
    "429",
    "refusal",
    "bad_json",
    "length",
    "corrupt",
    "slow",
    "oversized",
    "oversized_stated",
]
ChatReply: TypeAlias = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]

PATHS: dict[str, Endpoint] = {
    "/v1/chat/completions": "chat",
    "/v1/audio/speech": "speech",
    "/v1/moderations": "moderation",
}
# Faults that only make sense for one endpoint; the rest apply to all of them.
ONLY_FOR: dict[Fault, Endpoint] = {
    "refusal": "chat",
    "bad_json": "chat",
    "length": "chat",
    "corrupt": "speech",
}
CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
REFUSAL = "I can't help with that"
CHUNK = 4096


@dataclass(frozen=True)
class Recorded:
    """One HTTP request as the fake received it, retries included."""

    path: str
    json: dict[str, Any] | None
    authorization: str | None


class OpenAIFake:
    """Scripted OpenAI API on 127.0.0.1; point `AsyncOpenAI(base_url=fake.base_url)` at it.

    Faults are consumed one per request, in order. Faults that replace the answer (500, 429,
    refusal, bad_json, corrupt) leave the queued chat reply for the next call, so a retry after
    a 429 gets it; "length" and "slow" deliver (part of) the queued reply and so consume it.
    Chat and moderation bodies are held to the official schemas before any of that: one the
    real API would refuse gets its 400, whatever is scripted.
    """

    def __init__(self, *, slow_seconds: float = 5.0, oversized_bytes: int = 16 * 2**20) -> None:
        self.requests: list[Recorded] = []
        # "oversized" replies (a runaway or hostile compatible server): streamed without a
        # length, or with it stated ("oversized_stated"); valid JSON or audio all the same.
        self.oversized_bytes = oversized_bytes
        self.default_chat: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.speech_file: Path | None = None
        self.flag_words: dict[str, str] = {}
        self.slow_seconds = slow_seconds
        # Every call to an endpoint takes this long: benchmarks model real service latency.
        self.latency: dict[Endpoint, float] = {}
        self._chat_replies: deque[ChatReply] = deque()
        self._faults: dict[Endpoint, deque[Fault]] = {name: deque() for name in get_args(Endpoint)}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- scripting ------------------------------------------------------------------------

    def reply_chat(self, payload: ChatReply) -> None:
        """Queue the JSON object (or a request -> object callable) for the next chat call."""
        self._chat_replies.append(payload)

    def fail(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        if endpoint not in self._faults or fault not in get_args(Fault):
            raise ValueError(f"unknown endpoint or fault: {endpoint!r}, {fault!r}")
        only = ONLY_FOR.get(fault)
        if only is not None and only != endpoint:
            raise ValueError(f"fault {fault!r} applies to {only!r} only, not {endpoint!r}")
        self._faults[endpoint].extend([fault] * times)

    def calls(self, endpoint: Endpoint) -> list[Recorded]:
        return [r for r in self.requests if PATHS.get(r.path) == endpoint]

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("OpenAIFake is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> None:
        app = web.Application()
        for path in PATHS:
            app.router.add_post(path, self._handle)
        # A short shutdown grace: handlers still running at close are test leftovers.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def close(self) -> None:
        self._closing.set()  # wakes "slow" handlers so cleanup does not wait them out
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- protocol -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] | None = None
        if request.content_type == "application/json" and request.can_read_body:
            with contextlib.suppress(ValueError):
                body = await request.json()
        self.requests.append(Recorded(request.path, body, request.headers.get("Authorization")))
        endpoint = PATHS[request.path]
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error")
        # Speech checks its body later; chat and moderation are checked against their
        # schemas before any scripted fault, so a malformed request never eats one.
        if not isinstance(body, dict) or (endpoint == "speech" and "model" not in body):
            return _error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error"
            )
        if (refused := _refusal(endpoint, body)) is not None:
            return refused
        queue = self._faults[endpoint]
        fault = queue.popleft() if queue else None
        # The 4xx answers of https://platform.openai.com/docs/guides/error-codes: a request
        # the API will not take, a key it refuses, a country it does not serve.
        if fault == "400":
            return _error(400, "Invalid 'input': empty string.", "invalid_request_error")
        if fault == "401":
            return _error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        if fault == "403":
            return _error(
                403,
                "Country, region, or territory not supported",
                "request_forbidden",
                "unsupported_country_region_territory",
            )
        if fault == "500":
            return _error(500, "boom", "server_error")
        if fault == "429":
            # retry-after-ms wins over retry-after in the SDK; "retry-after: 0" alone would be
            # ignored (it must be > 0) and the SDK would back off for ~0.5 s instead.
            headers = {"retry-after-ms": "10", "retry-after": "1"}
            return _error(429, "Rate limit reached.", "requests", "rate_limit_exceeded", headers)
        delay = self.slow_seconds if fault == "slow" else self.latency.get(endpoint, 0.0)
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        if endpoint == "speech":
            return await self._speech(request, body, fault)
        reply = self._chat(body, fault) if endpoint == "chat" else self._moderation(body)
        if fault in {"oversized", "oversized_stated"} and isinstance(reply.body, bytes):
            return await self._oversized(request, reply.body, stated=fault == "oversized_stated")
        return reply

    async def _oversized(
        self, request: web.Request, body: bytes, *, stated: bool
    ) -> web.StreamResponse:
        # The same valid JSON object with one more, huge, field.
        padded = body[:-1] + b', "padding": "' + b"x" * self.oversized_bytes + b'"}'
        if stated:
            return web.Response(body=padded, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(padded), 64 * CHUNK):
                await response.write(padded[start : start + 64 * CHUNK])
            await response.write_eof()
        except ConnectionError:
            pass  # the client stopped reading, as a capped client should
        return response

    def _chat(self, body: dict[str, Any], fault: Fault | None) -> web.Response:
        refusal: str | None = None
        finish = "stop"
        if fault == "refusal":
            content: str | None = None
            refusal = REFUSAL
        elif fault == "bad_json":
            content = "Sure! Here is your story: {not json"
        else:
            script = self._chat_replies.popleft() if self._chat_replies else self.default_chat
            if script is None:
                return _error(400, "OpenAIFake: no chat reply queued", "invalid_request_error")
            content = json.dumps(script(body) if callable(script) else script)
            if fault == "length":
                # The model ran out of tokens mid-object, as the real API does.
                content, finish = content[: len(content) // 2], "length"
        prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
        completion_tokens = len(content or refusal or "") // 4
        return _json(
            {
                "id": f"chatcmpl-{secrets.token_hex(12)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "system_fingerprint": "fp_fake",
            }
        )

    async def _speech(
        self, request: web.Request, body: dict[str, Any], fault: Fault | None
    ) -> web.StreamResponse:
        # CreateSpeechRequest in the official OpenAPI description (openai/openai-openapi):
        # model, input and voice are required; input has maxLength 4096; response_format is
        # one of mp3, opus, aac, flac, wav, pcm; speed is 0.25 to 4.0; instructions has
        # maxLength 4096.
        fmt = body.get("response_format", "mp3")
        text = body.get("input")
        speed = body.get("speed", 1.0)
        instructions = body.get("instructions", "")
        if (
            fmt not in AUDIO_TYPES
            or not isinstance(text, str)
            or not 1 <= len(text) <= 4096
            or not isinstance(body.get("voice"), str)
            or not isinstance(speed, int | float)
            or not 0.25 <= speed <= 4.0
            or not isinstance(instructions, str)
            or len(instructions) > 4096
        ):
            return _error(400, "Invalid speech request.", "invalid_request_error")
        if self.speech_file is None:
            return _error(400, "OpenAIFake: no speech_file set", "invalid_request_error")
        audio = self.speech_file.read_bytes()
        if fault == "corrupt":
            audio = os.urandom(len(audio) or CHUNK)
        if fault in {"oversized", "oversized_stated"}:
            audio += bytes(self.oversized_bytes)
        # The specification's only response type for createSpeech (the SDK asks for it in
        # its Accept header); the bytes themselves are in the requested format.
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.headers["x-request-id"] = f"req_{secrets.token_hex(12)}"
        if fault == "oversized_stated":
            response.content_length = len(audio)
        else:
            response.enable_chunked_encoding()  # the real API streams audio as it is made
        await response.prepare(request)
        try:
            for start in range(0, len(audio), 16 * CHUNK):
                await response.write(audio[start : start + 16 * CHUNK])
            await response.write_eof()
        except ConnectionError:
            pass  # the client stopped reading
        return response

    def _moderation(self, body: dict[str, Any]) -> web.Response:
        raw = body.get("input", "")
        texts = [raw] if isinstance(raw, str) else [_text_of(item) for item in raw]
        results = []
        for text in texts:
            hit = {
                category
                for word, category in self.flag_words.items()
                if re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE)
            }
            results.append(
                {
                    "flagged": bool(hit),
                    "categories": {name: name in hit for name in CATEGORIES},
                    "category_scores": {
                        name: 0.97 if name in hit else 1e-05 for name in CATEGORIES
                    },
                    "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
                }
            )
        return _json(
            {
                "id": f"modr-{secrets.token_hex(12)}",
                "model": body.get("model", "omni-moderation-latest"),
                "results": results,
            }
        )


def _refusal(endpoint: Endpoint, body: dict[str, Any]) -> web.Response | None:
    """The real service's 400 for a body its OpenAPI schema refuses, or None."""
    check = {"chat": check_chat, "moderation": check_moderation}.get(endpoint)
    try:
        if check is not None:
            check(body)
    except _RefusedError as refused:
        return _error(
            400, refused.message, "invalid_request_error", refused.code, param=refused.param
        )
    return None


def _text_of(item: object) -> str:
    """A moderation input item is a string or a multimodal part; only text parts are read."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and item.get("type") == "text":
        return str(item.get("text", ""))
    return ""


# -- request validation -------------------------------------------------------------------
# The rules below are the ones the official OpenAPI description (openai/openai-openapi,
# openapi.yaml) states as keywords, plus the Structured Outputs subset; each cites its source.
# The spec defines no error texts: messages and codes imitate the real service's 400
# answers (error.param naming the field), so code that reads them meets production's shape.

_Check: TypeAlias = Callable[[object, str], None]


class _RefusedError(Exception):
    """A request the real API answers 400 to; `param` names the field it blames."""

    def __init__(self, message: str, param: str | None, code: str | None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


def _kind(value: object) -> str:
    # bool before int: JSON true is not a number to the API, though Python says it is.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _wrong_type(param: str, expected: str, value: object) -> _RefusedError:
    return _RefusedError(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param,
        "invalid_type",
    )


def _at(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _require(body: dict[str, Any], key: str, prefix: str = "") -> object:
    if key not in body:
        param = _at(prefix, key)
        raise _RefusedError(
            f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
        )
    return body[key]


def _string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(param, "a string", value)
    return value


def _boolean(value: object, param: str) -> None:
    if not isinstance(value, bool):
        raise _wrong_type(param, "a boolean", value)


def _integer(value: object, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(param, "an integer", value)
    return value


def _number(value: object, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(param, "a decimal", value)
    return value


def _array(value: object, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise _wrong_type(param, "an array", value)
    return value


def _object(value: object, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong_type(param, "an object", value)
    return value


def _in_range(value: float, param: str, low: float, high: float) -> None:
    word = "integer" if isinstance(value, int) else "decimal"
    if value < low:
        raise _RefusedError(
            f"Invalid '{param}': {word} below minimum value. Expected a value >= {low},"
            f" but got {value} instead.",
            param,
            f"{word}_below_min_value",
        )
    if value > high:
        raise _RefusedError(
            f"Invalid '{param}': {word} above maximum value. Expected a value <= {high},"
            f" but got {value} instead.",
            param,
            f"{word}_above_max_value",
        )


def _one_of(value: object, param: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        listed = ", ".join(f"'{name}'" for name in allowed)
        raise _RefusedError(
            f"Invalid value: '{value}'. Supported values are: {listed}.", param, "invalid_value"
        )


def _max_length(text: str, param: str, limit: int) -> None:
    if len(text) > limit:
        raise _RefusedError(
            f"Invalid '{param}': string too long. Expected a string with maximum length"
            f" {limit}, but got a string with length {len(text)} instead.",
            param,
            "string_above_max_length",
        )


def _array_length(items: list[Any], param: str, low: int, high: int | None = None) -> None:
    if len(items) < low:
        raise _RefusedError(
            f"Invalid '{param}': empty array. Expected an array with minimum length {low},"
            f" but got an empty array instead.",
            param,
            "empty_array",
        )
    if high is not None and len(items) > high:
        raise _RefusedError(
            f"Invalid '{param}': array too long. Expected an array with maximum length"
            f" {high}, but got an array with length {len(items)} instead.",
            param,
            "array_above_max_length",
        )


# Check factories, so the table of chat fields reads as the spec does: one row per field.


def _number_between(low: float, high: float) -> _Check:
    def check(value: object, param: str) -> None:
        _in_range(_number(value, param), param, low, high)

    return check


def _integer_between(low: int | None = None, high: int | None = None) -> _Check:
    def check(value: object, param: str) -> None:
        number = _integer(value, param)
        _in_range(
            number, param, -math.inf if low is None else low, math.inf if high is None else high
        )

    return check


def _enum(*allowed: str) -> _Check:
    def check(value: object, param: str) -> None:
        _one_of(_string(value, param), param, allowed)

    return check


def _string_up_to(limit: int | None = None) -> _Check:
    def check(value: object, param: str) -> None:
        text = _string(value, param)
        if limit is not None:
            _max_length(text, param, limit)

    return check


def _map_of(values: _Check) -> _Check:
    def check(value: object, param: str) -> None:
        for key, item in _object(value, param).items():
            values(item, f"{param}.{key}")

    return check


def _modalities(value: object, param: str) -> None:
    for index, item in enumerate(_array(value, param)):
        _enum("text", "audio")(item, f"{param}[{index}]")


def _stop(value: object, param: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise _wrong_type(param, "one of a string or an array of strings", value)
    _array_length(value, param, 1, 4)
    for index, item in enumerate(value):
        _string(item, f"{param}[{index}]")


# int64, which the spec prints through a double as -9223372036854776000 and
# 9223372036854776000; a wider value is no int64 and the service takes none.
_INT64 = (-(2**63), 2**63 - 1)

# (field, check, nullable) of CreateChatCompletionRequest, all from openai-openapi openapi.yaml.
_CHAT_FIELDS: tuple[tuple[str, _Check, bool], ...] = (
    # ModelResponseProperties.temperature: number, minimum 0, maximum 2, or null
    ("temperature", _number_between(0, 2), True),
    # ModelResponseProperties.top_p: number, minimum 0, maximum 1, or null
    ("top_p", _number_between(0, 1), True),
    # CreateChatCompletionRequest.top_logprobs: integer, minimum 0, maximum 20, nullable
    ("top_logprobs", _integer_between(0, 20), True),
    # CreateChatCompletionRequest.frequency_penalty: number, minimum -2, maximum 2, nullable
    ("frequency_penalty", _number_between(-2, 2), True),
    # CreateChatCompletionRequest.presence_penalty: number, minimum -2, maximum 2, nullable
    ("presence_penalty", _number_between(-2, 2), True),
    # CreateChatCompletionRequest.n: integer, minimum 1, maximum 128, nullable
    ("n", _integer_between(1, 128), True),
    # CreateChatCompletionRequest.max_completion_tokens: integer, nullable (no bound stated)
    ("max_completion_tokens", _integer_between(), True),
    # CreateChatCompletionRequest.max_tokens: integer, nullable, deprecated
    ("max_tokens", _integer_between(), True),
    # CreateChatCompletionRequest.seed: integer, minimum/maximum the int64 range, nullable
    ("seed", _integer_between(*_INT64), True),
    # CreateChatCompletionRequest.logprobs / store / stream: boolean, nullable
    ("logprobs", _boolean, True),
    ("store", _boolean, True),
    ("stream", _boolean, True),
    # ModelResponseProperties.safety_identifier: string, maxLength 64, or null
    ("safety_identifier", _string_up_to(64), True),
    # ModelResponseProperties.user: string (not nullable), deprecated
    ("user", _string_up_to(), False),
    # ModelResponseProperties.prompt_cache_key: string or null
    ("prompt_cache_key", _string_up_to(), True),
    # ModelResponseProperties.prompt_cache_retention: enum in_memory, 24h, or null
    ("prompt_cache_retention", _enum("in_memory", "24h"), True),
    # ServiceTier: enum auto, default, flex, scale, priority, fast, or null
    ("service_tier", _enum("auto", "default", "flex", "scale", "priority", "fast"), True),
    # ReasoningEffort: enum none, minimal, low, medium, high, xhigh, max, or null
    (
        "reasoning_effort",
        _enum("none", "minimal", "low", "medium", "high", "xhigh", "max"),
        True,
    ),
    # Verbosity: enum low, medium, high, or null
    ("verbosity", _enum("low", "medium", "high"), True),
    # ResponseModalities: array of enum text, audio, or null
    ("modalities", _modalities, True),
    # StopConfiguration: string, or array of strings with minItems 1, maxItems 4; nullable
    ("stop", _stop, True),
    # Metadata: object whose additionalProperties are strings, or null
    ("metadata", _map_of(_string_up_to()), True),
    # CreateChatCompletionRequest.logit_bias: object whose additionalProperties are integers
    ("logit_bias", _map_of(_integer_between()), True),
)

# ChatCompletionRequestMessage: oneOf the six messages, discriminator role.
_ROLES = ("developer", "system", "user", "assistant", "tool", "function")
# The content part types each role's content array takes (its ...ContentPart schema):
# developer, system and tool messages text only; user text, image_url, input_audio, file;
# assistant text or refusal. Function messages take a string or null, no parts.
_PARTS: dict[str, tuple[str, ...]] = {
    "developer": ("text",),
    "system": ("text",),
    "tool": ("text",),
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
}


def check_chat(body: dict[str, Any]) -> None:
    """Raise _RefusedError where CreateChatCompletionRequest (openai-openapi) refuses the body."""
    # CreateChatCompletionRequest.required: model, messages; model is ModelIdsShared, a string.
    model = _string(_require(body, "model"), "model")
    messages = _array(_require(body, "messages"), "messages")
    # CreateChatCompletionRequest.messages: minItems 1
    _array_length(messages, "messages", 1)
    for index, message in enumerate(messages):
        _check_message(message, f"messages[{index}]")
    for key, check, nullable in _CHAT_FIELDS:
        if key in body and not (nullable and body[key] is None):
            check(body[key], key)
    if "response_format" in body:
        _check_response_format(body["response_format"], model)


def _check_message(value: object, param: str) -> None:
    message = _object(value, param)
    role = _string(_require(message, "role", param), f"{param}.role")
    _one_of(role, f"{param}.role", _ROLES)
    # Every message's name, where it has one, is a string.
    if "name" in message:
        _string(message["name"], f"{param}.name")
    if role == "function":
        # ChatCompletionRequestFunctionMessage.required: role, content (string or null), name
        content = _require(message, "content", param)
        if content is not None:
            _string(content, f"{param}.content")
        _string(_require(message, "name", param), f"{param}.name")
        return
    if role == "tool":
        # ChatCompletionRequestToolMessage.required: role, content, tool_call_id
        _string(_require(message, "tool_call_id", param), f"{param}.tool_call_id")
    if role == "assistant":
        # ChatCompletionRequestAssistantMessage.required: role only; content may be null.
        content = message.get("content")
        if content is None:
            return
    else:
        # Developer, system, user and tool messages: content is required.
        content = _require(message, "content", param)
    _check_content(content, f"{param}.content", _PARTS[role])


def _check_content(content: object, param: str, parts: tuple[str, ...]) -> None:
    # Each message's content: oneOf a string, or an array of parts with minItems 1.
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _wrong_type(param, "one of a string or an array of objects", content)
    _array_length(content, param, 1)
    for index, part in enumerate(content):
        _check_part(part, f"{param}[{index}]", parts)


def _check_part(value: object, param: str, allowed: tuple[str, ...]) -> None:
    """A content part: its type, and the payload it carries under a key of the same name."""
    part = _object(value, param)
    kind = _string(_require(part, "type", param), f"{param}.type")
    _one_of(kind, f"{param}.type", allowed)
    payload = _require(part, kind, param)
    where = f"{param}.{kind}"
    if kind in {"text", "refusal"}:
        # ChatCompletionRequestMessageContentPartText.text / ...PartRefusal.refusal: string
        _string(payload, where)
    elif kind == "image_url":
        # ChatCompletionRequestMessageContentPartImage.image_url: url required (string);
        # detail enum auto, low, high.
        image = _object(payload, where)
        _string(_require(image, "url", where), f"{where}.url")
        if "detail" in image:
            _enum("auto", "low", "high")(image["detail"], f"{where}.detail")
    elif kind == "input_audio":
        # ChatCompletionRequestMessageContentPartAudio.input_audio: data (string) and
        # format (enum wav, mp3), both required.
        audio = _object(payload, where)
        _string(_require(audio, "data", where), f"{where}.data")
        _enum("wav", "mp3")(_require(audio, "format", where), f"{where}.format")
    else:
        # ChatCompletionRequestMessageContentPartFile.file: an object
        _object(payload, where)


# ResponseFormatJsonSchema.json_schema.name: "Must be a-z, A-Z, 0-9, or contain underscores
# and dashes, with a maximum length of 64" (openai-openapi openapi.yaml states it in the
# description, not as pattern/maxLength keywords; the service enforces it all the same).
_FORMAT_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_FORMAT_NAME_MAX = 64


def _check_response_format(value: object, model: str) -> None:
    fmt = _object(value, "response_format")
    # CreateChatCompletionRequest.response_format: oneOf ResponseFormatText,
    # ResponseFormatJsonSchema, ResponseFormatJsonObject; discriminator type (required).
    kind = _string(_require(fmt, "type", "response_format"), "response_format.type")
    _one_of(kind, "response_format.type", ("text", "json_schema", "json_object"))
    if kind != "json_schema":
        return
    # ResponseFormatJsonSchema.required: type, json_schema; json_schema.required: name
    spec = _object(_require(fmt, "json_schema", "response_format"), "response_format.json_schema")
    param = "response_format.json_schema.name"
    name = _string(_require(spec, "name", "response_format.json_schema"), param)
    _max_length(name, param, _FORMAT_NAME_MAX)
    if not _FORMAT_NAME.fullmatch(name):
        raise _RefusedError(
            f"Invalid '{param}': string does not match pattern. Expected a string that"
            " matches the pattern '^[a-zA-Z0-9_-]+$'.",
            param,
            "invalid_value",
        )
    # json_schema.description: string; strict: boolean or null; schema: an object
    # (ResponseFormatJsonSchemaSchema).
    if "description" in spec:
        _string(spec["description"], "response_format.json_schema.description")
    strict = spec.get("strict")
    if strict is not None:
        _boolean(strict, "response_format.json_schema.strict")
    schema = spec.get("schema")
    if schema is not None:
        schema = _object(schema, "response_format.json_schema.schema")
        if strict is True:
            # Fine-tuned models are named ft:<base>:...; the guide lists extra keywords
            # they do not support.
            _StrictSchema(name, schema, fine_tuned=model.startswith("ft:")).check()


# Structured Outputs, https://platform.openai.com/docs/guides/structured-outputs, section
# "Supported schemas": the subset of JSON Schema a strict json_schema may use, and its limits.
# "Supported types": string, number, boolean, integer, object, array, enum, anyOf; null only
# in a union ("emulate an optional parameter by using a union type with null").
_SCHEMA_TYPES = frozenset({"string", "number", "boolean", "integer", "object", "array", "null"})
# "Supported properties": format is one of these.
_SCHEMA_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
# "Some type-specific keywords are not yet supported": composition, for every model...
_UNSUPPORTED = ("allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else")
# ...and, for fine-tuned models, these string, number, object and array keywords too.
_UNSUPPORTED_FINE_TUNED = (
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "multipleOf",
    "patternProperties",
    "minItems",
    "maxItems",
)
# "Objects have limitations on nesting depth and size": up to 5000 object properties total,
# with up to 10 levels of nesting (counted here as object schemas inside object schemas,
# the root being level 1).
_MAX_PROPERTIES = 5000
_MAX_DEPTH = 10
# "Limitations on total string size": property names, definition names, enum values and
# const values, 120,000 characters in all.
_MAX_SCHEMA_CHARS = 120_000
# "Limitations on enum size": 1000 enum values across the schema; a single string enum of
# more than 250 values has at most 15,000 characters of values.
_MAX_ENUM_VALUES = 1000
_BIG_ENUM = 250
_BIG_ENUM_CHARS = 15_000

Context: TypeAlias = tuple[str, ...]


class _StrictSchema:
    """One strict json_schema, checked against the Structured Outputs subset."""

    def __init__(self, name: str, root: dict[str, Any], *, fine_tuned: bool) -> None:
        self._name, self._root = name, root
        self._unsupported = _UNSUPPORTED + (_UNSUPPORTED_FINE_TUNED if fine_tuned else ())
        self._properties = self._enum_values = self._chars = 0

    def check(self) -> None:
        # "Root objects must not be anyOf and must be an object"
        if "anyOf" in self._root or self._root.get("type") != "object":
            raise self._refused((), "the root schema must be an object and must not be anyOf.")
        self._node(self._root, ())
        self._limits()

    def _refused(self, context: Context, problem: str) -> _RefusedError:
        # The service blames the whole response_format and says where in the schema.
        return _RefusedError(
            f"Invalid schema for response_format '{self._name}': In context={context!r}, {problem}",
            "response_format",
            None,
        )

    def _limit(self, problem: str) -> _RefusedError:
        return _RefusedError(
            f"Invalid schema for response_format '{self._name}': {problem}",
            "response_format",
            None,
        )

    def _node(self, node: object, context: Context) -> None:
        if not isinstance(node, dict):
            raise self._refused(context, "schema must be a JSON Schema object.")
        for keyword in self._unsupported:
            if keyword in node:
                raise self._refused(context, f"'{keyword}' is not permitted.")
        if not {"$ref", "anyOf", "type", "enum", "const"} & node.keys():
            raise self._refused(context, "schema must have a 'type' key.")
        self._definitions(node, context)
        if "$ref" in node:
            self._ref(node["$ref"], context)
        if "anyOf" in node:
            self._any_of(node["anyOf"], context)
        if "type" in node:
            self._typed(node, context)
        self._values(node, context)

    def _definitions(self, node: dict[str, Any], context: Context) -> None:
        # "Definitions are supported": subschemas under $defs, each a schema of the subset.
        for keyword in ("$defs", "definitions"):
            if keyword not in node:
                continue
            definitions = node[keyword]
            if not isinstance(definitions, dict):
                raise self._refused(context, f"'{keyword}' must be an object.")
            for name, definition in definitions.items():
                self._chars += len(name)
                self._node(definition, (*context, keyword, name))

    def _ref(self, ref: object, context: Context) -> None:
        # "Definitions are supported" / "Recursive schemas are supported": $ref to "#" or
        # to a definition; one that points nowhere cannot be a schema of the subset.
        if not isinstance(ref, str) or _resolve(self._root, ref) is None:
            raise self._refused(context, f"reference {ref!r} can't be resolved.")

    def _any_of(self, branches: object, context: Context) -> None:
        # "For anyOf, the nested schemas must each be a valid JSON Schema per this subset"
        if not isinstance(branches, list) or not branches:
            raise self._refused(context, "'anyOf' must be a non-empty array.")
        for index, branch in enumerate(branches):
            self._node(branch, (*context, "anyOf", str(index)))

    def _typed(self, node: dict[str, Any], context: Context) -> None:
        raw = node["type"]
        types = [raw] if isinstance(raw, str) else raw
        if not isinstance(types, list) or not types:
            raise self._refused(context, "'type' must be a string or an array of strings.")
        for kind in types:
            if kind not in _SCHEMA_TYPES:
                raise self._refused(context, f"type {kind!r} is not supported.")
        if "format" in node and node["format"] not in _SCHEMA_FORMATS:
            raise self._refused(context, f"format {node['format']!r} is not supported.")
        if "object" in types:
            self._object(node, context)
        if "array" in types and "items" in node:
            self._node(node["items"], (*context, "items"))

    def _object(self, node: dict[str, Any], context: Context) -> None:
        # "additionalProperties: false must always be set in objects"
        if node.get("additionalProperties") is not False:
            raise self._refused(
                context, "'additionalProperties' is required to be supplied and to be false."
            )
        properties = node.get("properties", {})
        required = node.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise self._refused(context, "'properties' must be an object, 'required' an array.")
        # "All fields must be required": every property, and nothing else, in required.
        for key in properties:
            if key not in required:
                raise self._refused(
                    context,
                    "'required' is required to be supplied and to be an array including"
                    f" every key in properties. Missing '{key}'.",
                )
        for key in required:
            if key not in properties:
                raise self._refused(context, f"Extra required key '{key}' supplied.")
        for key, schema in properties.items():
            self._properties += 1
            self._chars += len(key)
            self._node(schema, (*context, "properties", key))

    def _values(self, node: dict[str, Any], context: Context) -> None:
        enum = node.get("enum")
        if enum is not None:
            if not isinstance(enum, list):
                raise self._refused(context, "'enum' must be an array.")
            strings = [value for value in enum if isinstance(value, str)]
            chars = sum(len(value) for value in strings)
            self._enum_values += len(enum)
            self._chars += chars
            if len(strings) > _BIG_ENUM and chars > _BIG_ENUM_CHARS:
                raise self._refused(
                    context,
                    f"an enum of {len(strings)} string values has a total string length of"
                    f" {chars}, exceeding the limit of {_BIG_ENUM_CHARS}.",
                )
        if isinstance(node.get("const"), str):
            self._chars += len(node["const"])

    def _limits(self) -> None:
        depth = _object_depth(self._root, self._root, frozenset({"#"}))
        if depth > _MAX_DEPTH:
            raise self._limit(f"{depth} levels of nesting exceeds limit of {_MAX_DEPTH}.")
        if self._properties > _MAX_PROPERTIES:
            raise self._limit(
                f"{self._properties} object properties exceeds limit of {_MAX_PROPERTIES}."
            )
        if self._enum_values > _MAX_ENUM_VALUES:
            raise self._limit(
                f"{self._enum_values} enum values exceeds limit of {_MAX_ENUM_VALUES}."
            )
        if self._chars > _MAX_SCHEMA_CHARS:
            raise self._limit(
                f"total string length of property names, definition names, enum values and"
                f" const values {self._chars} exceeds limit of {_MAX_SCHEMA_CHARS}."
            )


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """The schema a local JSON pointer reference names, or None."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: object = root
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _object_depth(node: object, root: dict[str, Any], followed: frozenset[str]) -> int:
    """Object schemas nested in `node`, through $refs; a recursive $ref is not re-entered,
    since the guide supports recursion ("Recursive schemas are supported")."""
    if not isinstance(node, dict):
        return 0
    children: list[object] = []
    if isinstance(node.get("properties"), dict):
        children.extend(node["properties"].values())
    if "items" in node:
        children.append(node["items"])
    if isinstance(node.get("anyOf"), list):
        children.extend(node["anyOf"])
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in followed:
        children.append(_resolve(root, ref))
        followed |= {ref}
    types = node.get("type")
    own = 1 if types == "object" or (isinstance(types, list) and "object" in types) else 0
    return own + max((_object_depth(child, root, followed) for child in children), default=0)


def check_moderation(body: dict[str, Any]) -> None:
    """Raise _RefusedError where CreateModerationRequest (openai-openapi) refuses the body."""
    # CreateModerationRequest.required: input. input: oneOf a string, an array of strings,
    # or an array of multimodal objects (image_url with image_url.url, or text with text).
    raw = _require(body, "input")
    if isinstance(raw, list) and not all(isinstance(item, str) for item in raw):
        for index, item in enumerate(raw):
            _check_part(item, f"input[{index}]", ("image_url", "text"))
    elif not isinstance(raw, str | list):
        raise _wrong_type(
            "input", "one of a string, an array of strings or an array of objects", raw
        )
    # CreateModerationRequest.model: anyOf a string or the enum omni-moderation-latest,
    # omni-moderation-2024-09-26, text-moderation-latest, text-moderation-stable; since any
    # string matches, only the type is checked. nullable: false, so null is refused.
    if "model" in body:
        _string(body["model"], "model")


def _json(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # web.json_response appends "; charset=utf-8"; the real API sends the bare type.
    response = web.Response(status=status, body=json.dumps(payload).encode(), headers=headers)
    response.headers["Content-Type"] = "application/json"
    response.headers["x-request-id"] = f"req_{secrets.token_hex(12)}"
    return response


def _error(
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    param: str | None = None,
) -> web.Response:
    error = {"message": message, "type": kind, "param": param, "code": code}
    return _json({"error": error}, status, headers)
