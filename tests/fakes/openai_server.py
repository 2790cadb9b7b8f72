"""A loopback aiohttp server speaking the OpenAI HTTP API for chat parse, speech and moderation."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
        # Moderation alone has a default model; the others reject a body without one.
        if not isinstance(body, dict) or (endpoint != "moderation" and "model" not in body):
            return _error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error"
            )
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


def _text_of(item: object) -> str:
    """A moderation input item is a string or a multimodal part; only text parts are read."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and item.get("type") == "text":
        return str(item.get("text", ""))
    return ""


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
) -> web.Response:
    error = {"message": message, "type": kind, "param": None, "code": code}
    return _json({"error": error}, status, headers)
