"""fal.ai through its queue: submit once, record the id, follow status, fetch the output."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import fal_client
import httpx
from fal_client.client import Completed, FalClientHTTPError, InProgress, Queued
from pydantic import BaseModel, Field, ValidationError

from engine.config import DownloadPolicy
from engine.errors import EngineError, ProviderError, TransientError
from engine.ports import RequestTicket
from engine.providers.addresses import HostPolicy
from engine.providers.download import MediaKind, download
from engine.providers.fal_errors import error_for
from engine.providers.fal_submit import submit_once
from engine.providers.replies import JSON_REPLY_BYTES, cap_httpx_replies
from engine.providers.untrusted_http import untrusted_client

M = TypeVar("M", bound=BaseModel)

_SOURCE_URL = ".source-url"  # sidecar: lets the next fal model take the picture by URL
_FIRST_POLL_S = 0.1


@dataclass(frozen=True)
class FalModel:
    """An endpoint id and the fixed arguments it is always called with."""

    app: str
    arguments: Mapping[str, object] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """Names the model and its settings, for cache keys."""
        return f"fal:{self.app} {json.dumps(dict(self.arguments), sort_keys=True)}"


class _File(BaseModel):
    url: str
    content_type: str | None = None


class _VideoResult(BaseModel):
    video: _File


class _ImageResult(BaseModel):
    images: list[_File] = Field(min_length=1)


class FalQueue:
    """One fal client for the process, used by every fal provider."""

    def __init__(
        self, key: str, *, poll_s: float = 1.0, downloads: DownloadPolicy | None = None
    ) -> None:
        self._client = fal_client.AsyncClient(key=key)
        self._capped = False
        self._downloads = downloads or DownloadPolicy()
        self._hosts = HostPolicy.of(self._downloads.allow_hosts)
        self._http = untrusted_client(self._hosts, timeout_s=self._downloads.read_timeout_s)
        self._poll_s = poll_s

    async def _ready(self) -> fal_client.AsyncClient:
        """fal's client, its replies capped before its first request."""
        if not self._capped:
            # fal-client builds its httpx client lazily and takes no transport or hooks.
            http = await self._client._client
            if not self._capped:
                cap_httpx_replies(http, lambda path: JSON_REPLY_BYTES)
                self._capped = True
        return self._client

    async def run(
        self, model: FalModel, arguments: Mapping[str, object], ticket: RequestTicket | None
    ) -> Any:
        """The result JSON of one call, submitting only if the ticket has no request yet."""
        with _mapped_errors():
            client = await self._ready()
            if ticket is not None and ticket.existing is not None:
                handle = await client.get_handle(model.app, ticket.existing)
            else:
                payload = {**model.arguments, **arguments}
                http = await client._client  # fal-client's own, capped in _ready
                handle = await submit_once(
                    http, model.app, payload, timeout_s=client.default_timeout
                )
                if ticket is not None:
                    await ticket.record(handle.request_id)
            interval = _FIRST_POLL_S
            while True:
                status = await handle.status(with_logs=True)
                if isinstance(status, Queued):
                    _report(ticket, status.position + 1)  # fal counts from 0
                elif isinstance(status, InProgress):
                    _report(ticket, None)
                elif isinstance(status, Completed):
                    # Even a failed one: its result answers with fal's error itself, in the
                    # documented shape (a content refusal is a 422 there), which the status
                    # only summarises.
                    _report(ticket, None)
                    break
                # fal's queue is polled (it has no push): often at first, so quick requests
                # are noticed at once, then less, so long clips cost few status calls.
                await asyncio.sleep(interval)
                interval = min(self._poll_s, interval * 1.5)
            return await handle.get(interval=_FIRST_POLL_S)

    async def cancel(self, model: FalModel, request_id: str) -> None:
        """Cancel a queued or running request."""
        with _mapped_errors():
            await (await self._ready()).cancel(model.app, request_id)

    async def fetch(self, url: str, target: Path, kind: MediaKind) -> Path:
        """Download one output file, checked and capped."""
        path = await download(
            self._http, url, target, kind=kind, policy=self._downloads, hosts=self._hosts
        )
        path.with_name(path.name + _SOURCE_URL).write_text(url, encoding="utf-8")
        return path

    async def reference(self, image: Path) -> str:
        """How the next model gets a picture: by its fal URL when it has one, else inline.

        The URL is checked again, as it was on download: one kept before a restart, or
        under another allow-list, is never handed on unless it passes now.
        """
        sidecar = image.with_name(image.name + _SOURCE_URL)
        if sidecar.is_file():
            url = sidecar.read_text(encoding="utf-8").strip()
            try:
                await self._hosts.check_url(url)
            except EngineError:
                pass
            else:
                return url
        return str(await asyncio.to_thread(fal_client.encode_file, image))

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
        if "_client" in vars(self._client):
            # fal-client caches its httpx client once used, and offers no public close.
            await (await self._client._client).aclose()


class FalPreview:
    """A low-resolution, few-frame text-to-video sketch of the whole story."""

    def __init__(self, queue: FalQueue, model: FalModel) -> None:
        self._queue, self._model = queue, model
        self.identity = model.identity

    async def generate_preview(
        self, story: str, *, seed: int, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path:
        """Submit the story as one prompt and download the clip."""
        result = await self._queue.run(self._model, {"prompt": story, "seed": seed}, ticket)
        video = _parse(_VideoResult, result).video
        return await self._queue.fetch(video.url, out_dir / "preview", MediaKind.VIDEO)

    async def cancel_request(self, request_id: str) -> None:
        """Cancel a queued preview."""
        await self._queue.cancel(self._model, request_id)


class FalImages:
    """Scene pictures from a fast text-to-image model."""

    def __init__(self, queue: FalQueue, model: FalModel) -> None:
        self._queue, self._model = queue, model
        self.identity = model.identity

    async def generate_image(
        self,
        prompt: str,
        *,
        seed: int,
        width: int,
        height: int,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """Submit the prompt at the video's size and download the picture."""
        arguments = {
            "prompt": prompt,
            "seed": seed,
            "image_size": {"width": width, "height": height},
        }
        result = await self._queue.run(self._model, arguments, ticket)
        image = _parse(_ImageResult, result).images[0]
        return await self._queue.fetch(image.url, out_dir / "image", MediaKind.IMAGE)

    async def cancel_request(self, request_id: str) -> None:
        """Cancel a queued picture."""
        await self._queue.cancel(self._model, request_id)


class FalClips:
    """Scene clips from an image-to-video model."""

    def __init__(self, queue: FalQueue, model: FalModel) -> None:
        self._queue, self._model = queue, model
        self.identity = model.identity

    async def generate_clip(
        self,
        image: Path,
        prompt: str,
        *,
        seed: int,
        duration_s: float,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """Animate the picture (passed by its fal URL when it has one, else inline)."""
        arguments = {"prompt": prompt, "image_url": await self._queue.reference(image)}
        result = await self._queue.run(self._model, arguments, ticket)
        video = _parse(_VideoResult, result).video
        return await self._queue.fetch(video.url, out_dir / "clip", MediaKind.VIDEO)

    async def cancel_request(self, request_id: str) -> None:
        """Cancel a queued clip."""
        await self._queue.cancel(self._model, request_id)


def _report(ticket: RequestTicket | None, position: int | None) -> None:
    if ticket is not None:
        ticket.queued(position)


def _parse(model: type[M], result: Any) -> M:
    try:
        return model.model_validate(result)
    except ValidationError as exc:
        raise ProviderError("fal returned a result of an unexpected shape") from exc


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """fal-client and httpx errors, as engine errors (never carrying the key).

    Past the submit, calls only read or end a request, so repeating them (in fal-client's
    loop or the engine's) never queues or bills anything twice.
    """
    try:
        yield
    except FalClientHTTPError as exc:
        raise error_for(exc.response) from exc
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise TransientError("fal did not answer in time") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"fal could not be reached ({type(exc).__name__})") from exc
