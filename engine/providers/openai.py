"""OpenAI (or any compatible server): the script by structured output, narration, moderation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import openai
from pydantic import BaseModel, ValidationError

from engine.errors import (
    ContentRejectedError,
    PermanentError,
    ProviderError,
    ReplyTooLargeError,
    StoryRejectedError,
    TransientError,
)
from engine.models import Language, SceneSpec, Script
from engine.notice import N_, Notice
from engine.ports import RequestTicket
from engine.providers.download import MediaKind, check_kind
from engine.providers.openai_voices import TTS1_VOICES, VOICES
from engine.providers.replies import IDENTITY, JSON_REPLY_BYTES, capped_httpx2_hooks
from engine.story import scene_count_for

# 4096 characters of speech are about 5 minutes: ~5 MB of mp3 at 128 kb/s.
_MAX_SPEECH_BYTES = 25 * 2**20
_SPEECH_PATH = "/audio/speech"
_MAX_FIELD = 1200  # provider output is untrusted: no caption or prompt longer than this

_INSTRUCTIONS = """You turn a short story into the script of a short narrated video.
The story is written in {language} (BCP 47 tag {tag}).
Split the story into exactly {scenes} scenes, in order, each ending where a sentence ends
(or, inside a long sentence, at a clause break). For each scene write:
- narration: the words read aloud for that scene, taken from the story (lightly edited
  for reading aloud), in {language} and in the story's own script: never translated,
  never transliterated;
- visual_prompt: one vivid, concrete description of the picture for that scene, in
  English, since image models read English best.
Also write a title in {language} (at most 8 words) and one style sheet in English that
begins with the place the whole story happens in as "setting: <one English word such as
sea, island, city, village, forest, desert, snow, mountain>", then the art style and a
fixed description of every recurring character and place, so that all scenes look like
one film; a scene's time of day and weather belong in its own visual prompt. Do not
repeat the style sheet inside the visual prompts."""
# gpt-4o-mini-tts follows spoken instructions; the tts-1 models take none.
_SPEECH = "Read this as a warm, unhurried storyteller, in {language} ({tag})."


class _SceneOut(BaseModel):
    narration: str
    visual_prompt: str


class _ScriptOut(BaseModel):
    title: str
    style: str
    scenes: list[_SceneOut]


def openai_client(
    api_key: str, base_url: str | None, timeout_s: float = 60.0
) -> openai.AsyncOpenAI:
    """A client with the SDK's own retries off (the engine retries, once, in one place)
    and every reply body capped: speech audio at its own size, everything else as JSON."""
    http = openai.DefaultAsyncHttpxClient(
        headers=IDENTITY, event_hooks=capped_httpx2_hooks(_reply_limit)
    )
    return openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s, http_client=http
    )


def _reply_limit(path: str) -> int:
    return _MAX_SPEECH_BYTES if path.endswith(_SPEECH_PATH) else JSON_REPLY_BYTES


class OpenAIScriptWriter:
    """The script as structured output: title, one style sheet, scenes in order."""

    def __init__(self, client: openai.AsyncOpenAI, model: str) -> None:
        self._client, self._model = client, model
        self.identity = f"openai:{model} script/2"

    async def write_script(
        self,
        story: str,
        *,
        seed: int,
        language: Language,
        ticket: RequestTicket | None = None,
    ) -> Script:
        """Ask for a script of as many scenes as the story's length calls for."""
        scenes = scene_count_for(story)
        system = _INSTRUCTIONS.format(
            scenes=scenes, language=language.english_name, tag=language.tag
        )
        with _mapped_errors():
            completion = await self._client.chat.completions.parse(
                model=self._model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": story},
                ],
                response_format=_ScriptOut,
            )
        message = completion.choices[0].message
        if message.refusal:
            raise ContentRejectedError("the script writer refused the story")
        if message.parsed is None:
            raise ProviderError("the script writer returned no script")
        return _checked_script(message.parsed, seed, language)


class OpenAIVoice:
    """Narration from the speech endpoint, streamed to a file."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, voice: str) -> None:
        self._client, self._model, self._voice = client, model, voice
        self.identity = f"openai:{model} voice:{voice}/2"
        offered = TTS1_VOICES if model.startswith("tts-1") else VOICES
        self.choices = (voice, *(name for name in offered if name != voice))

    async def narrate(
        self,
        text: str,
        *,
        language: Language,
        voice: str | None = None,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """Speak the text into an mp3, refusing anything that is not audio or is too large."""
        target = out_dir / "narration.mp3"
        instructions = (
            openai.omit
            if self._model.startswith("tts-1")
            else _SPEECH.format(language=language.english_name, tag=language.tag)
        )
        with _mapped_errors():
            async with self._client.audio.speech.with_streaming_response.create(
                model=self._model,
                voice=voice if voice in self.choices else self._voice,
                input=text[:4096],
                response_format="mp3",
                instructions=instructions,
            ) as response:
                with target.open("wb") as out:  # the client caps the body as it streams
                    async for chunk in response.iter_bytes():
                        out.write(chunk)
        return check_kind(target, MediaKind.AUDIO)


class OpenAIModerator:
    """Checks a story before anything is spent on it."""

    def __init__(self, client: openai.AsyncOpenAI, model: str) -> None:
        self._client, self._model = client, model

    async def check(self, text: str) -> None:
        """Raise StoryRejectedError naming the categories if the story is flagged.

        A check that cannot run raises the engine error it maps to; admission then refuses
        without blaming the story (``CHECK_UNAVAILABLE``).
        """
        with _mapped_errors():
            response = await self._client.moderations.create(input=text, model=self._model)
        flagged = [result for result in response.results if result.flagged]
        if flagged:
            categories = sorted(
                name.replace("_", " ").replace("/", " ")
                for name, hit in flagged[0].categories.model_dump().items()
                if hit
            )
            reason = ", ".join(categories[:3]) or "unsafe content"
            raise StoryRejectedError(
                Notice(
                    N_("Your story was flagged ({reason}). Please try another."), {"reason": reason}
                )
            )


def _checked_script(parsed: _ScriptOut, seed: int, language: Language) -> Script:
    scenes = [s for s in parsed.scenes if s.narration.strip() and s.visual_prompt.strip()][:8]
    if not scenes:
        raise ProviderError("the script has no usable scenes")
    return Script(
        title=parsed.title.strip()[:120],
        style=parsed.style.strip()[:_MAX_FIELD],
        seed=seed,
        scenes=tuple(
            SceneSpec(n, s.narration.strip()[:_MAX_FIELD], s.visual_prompt.strip()[:_MAX_FIELD])
            for n, s in enumerate(scenes)
        ),
        language=language,
    )


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """SDK errors as engine errors; messages never carry the key or the provider's text."""
    try:
        yield
    except openai.RateLimitError as exc:
        raise TransientError("OpenAI rate limit", retry_after=_retry_after(exc)) from exc
    except openai.APIConnectionError as exc:
        # The SDK reports whatever goes wrong while it receives a reply as a connection
        # error, the reply cap included; an APITimeoutError is one too.
        if isinstance(exc.__cause__, ReplyTooLargeError):
            raise exc.__cause__ from exc
        raise TransientError(f"OpenAI unavailable ({type(exc).__name__})") from exc
    except openai.InternalServerError as exc:
        raise TransientError(f"OpenAI unavailable ({type(exc).__name__})") from exc
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise PermanentError("OpenAI refused the API key") from exc
    except openai.ContentFilterFinishReasonError as exc:
        raise ContentRejectedError("OpenAI's content filter stopped the reply") from exc
    except openai.LengthFinishReasonError as exc:
        raise ProviderError("the script was cut off") from exc
    except openai.APIStatusError as exc:
        raise ProviderError(f"OpenAI answered {exc.status_code}") from exc
    except ValidationError as exc:
        raise ProviderError("OpenAI returned a script of the wrong shape") from exc


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    if (ms := headers.get("retry-after-ms")) is not None:
        with contextlib.suppress(ValueError):
            return float(ms) / 1000
    if (seconds := headers.get("retry-after")) is not None:
        with contextlib.suppress(ValueError):
            return float(seconds)
    return None
