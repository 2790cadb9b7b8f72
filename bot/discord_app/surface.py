"""One job's Discord message: the interaction's response, then a channel message if needed.

The original response is edited while the interaction token is fresh; before its
15-minute expiry the job moves to an ordinary channel message sent with the bot token and
keeps editing that, so long jobs still deliver. Mentions are suppressed on every call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from bot import refs
from bot.discord_app import render
from bot.discord_app.buttons import failed_view, finished_view, running_view
from bot.flusher import ProgressFlusher
from bot.i18n import DEFAULT_LOCALE, words
from bot.pacing import ChatPacer
from engine import Action, DreamResult, JobFailure, JobTicket, ProgressSnapshot
from engine.errors import SurfaceGoneError
from engine.media.ffmpeg import FFmpeg
from engine.media.fit import fit_to_size

REF_PREFIX = "discord:"
NO_MENTIONS = discord.AllowedMentions.none()
HANDOVER_AFTER_S = 13 * 60  # the token lasts 15 minutes; leave room for a slow upload
_EXPIRED_TOKEN = 50027  # "Invalid Webhook Token": the interaction token is no longer valid


@dataclass
class Place:
    """Where a job shows itself; stored as the job's surface reference."""

    channel_id: int
    title: str = ""
    message_id: int | None = None  # the channel message, once the job has moved to one
    # The asker's language, kept with the reference so a job resumed after a restart
    # still speaks it (references stored before it existed read as English).
    locale: str = DEFAULT_LOCALE
    # Where the delivered video is: /mydreams sends it again by its attachment's URL (read
    # afresh from the message, since Discord's attachment URLs are signed and expire).
    video_message_id: int | None = None
    video_url: str | None = None

    def ref(self) -> str:
        """The reference string stored with the job."""
        return refs.encode(REF_PREFIX, self)

    @classmethod
    def from_ref(cls, ref: str) -> Place | None:
        """The place a stored reference names, or None if it is not this platform's."""
        return refs.decode(REF_PREFIX, cls, ref)


class DiscordSurface:
    """The engine's view of one Discord message."""

    def __init__(
        self,
        client: discord.Client,
        place: Place,
        *,
        interaction: discord.Interaction | None,
        pacer: ChatPacer,
        ffmpeg: FFmpeg,
        upload_limit_bytes: int,
        can_share: bool,
        remember: Callable[[str], Awaitable[None]] | None = None,
        handover_after_s: float = HANDOVER_AFTER_S,
    ) -> None:
        self.client = client
        self.place = place
        self.job_id = ""
        self._interaction = interaction
        self._pacer = pacer
        self._ffmpeg = ffmpeg
        self._limit = upload_limit_bytes
        self._can_share = can_share
        self._remember = remember
        self._words = words(place.locale)
        self._handover_at = time.monotonic() + handover_after_s
        self._shown = ""
        self._preview: Path | None = None
        self._flusher = ProgressFlusher(pacer, self._send_progress)

    def ref(self) -> str:
        """Where the job shows itself, as stored with it."""
        return self.place.ref()

    async def close(self) -> None:
        """Stop the progress sender (the job was stopped at shutdown, without a word)."""
        await self._flusher.stop()

    async def acknowledge(self, ticket: JobTicket) -> None:
        """Turn the deferred "thinking…" reply into the job's message with a Cancel button."""
        self.job_id, self.place.title = ticket.job_id, ticket.title
        async with self._pacer.turn(final=True):
            await self._show(render.progress(ticket.title, None, self._words), view=self._running())
        await self._store_place()

    async def show_preview(self, preview: Path) -> None:
        """Attach the preview clip under the progress."""
        self._preview = preview
        async with self._pacer.turn():
            content = render.progress(self.place.title, self._flusher.latest, self._words)
            await self._show(
                content,
                attachments=[(preview, "preview.mp4")],
                view=self._running(),
            )

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        """Note the newest state; it is sent when the message's slot comes."""
        self._flusher.offer(progress)

    async def deliver_final(self, result: DreamResult) -> None:
        """Replace the preview with the final video in the same message (shrunk to fit)."""
        await self._flusher.stop()
        video, shrunk = await fit_to_size(self._ffmpeg, result.final, self._limit)
        content = render.final(
            result, self._words, shrunk=shrunk, limit_mb=round(self._limit / 2**20, 1)
        )
        async with self._pacer.turn(final=True):
            shown = await self._show(
                content,
                attachments=[(video, "dream.mp4")],
                view=finished_view(self.job_id, self._words, can_share=self._can_share),
            )
        videos = [a for a in shown.attachments if a.filename.endswith(".mp4")] if shown else []
        if shown is not None and videos:
            self.place.video_message_id, self.place.video_url = shown.id, videos[0].url
            await self._store_place()

    async def fail(self, failure: JobFailure) -> None:
        """Say why there is no video (or that it was cancelled), with a Try again button."""
        await self._flusher.stop()
        async with self._pacer.turn(final=True):
            await self._show(
                render.failure(self.place.title, failure, self._words),
                attachments=[],
                view=failed_view(self.job_id, self._words),
            )

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        """Buttons travel with every edit (Cancel while running, the rest at the end)."""

    async def _send_progress(self, snapshot: ProgressSnapshot) -> None:
        content = render.progress(self.place.title, snapshot, self._words)
        if content != self._shown:
            await self._show(content, view=self._running())

    async def _show(
        self, content: str, *, attachments: list[tuple[Path, str]] | None = None, **changes: Any
    ) -> discord.Message | None:
        """Edit the job's message, moving to a channel message before the token expires;
        the message as it now is.

        ``attachments`` (path, file name) replace the message's files; None keeps them.
        """
        if self._interaction is not None and time.monotonic() >= self._handover_at:
            return await self._hand_over(content, attachments, **changes)
        edit = changes if attachments is None else changes | {"attachments": _files(attachments)}
        try:
            if self._interaction is not None:
                shown: discord.Message = await self._interaction.edit_original_response(
                    content=content, allowed_mentions=NO_MENTIONS, **edit
                )
            elif self.place.message_id is not None:
                channel = self.client.get_partial_messageable(self.place.channel_id)
                shown = await channel.get_partial_message(self.place.message_id).edit(
                    content=content, allowed_mentions=NO_MENTIONS, **edit
                )
            else:
                return await self._hand_over(content, attachments, **changes)
        except discord.Forbidden as exc:
            raise SurfaceGoneError("the bot can no longer write to this channel") from exc
        except discord.HTTPException as exc:
            if not (exc.status == 404 or exc.code == _EXPIRED_TOKEN):
                raise
            # The message is gone, or the interaction token expired early: carry on in a
            # new channel message.
            return await self._hand_over(content, attachments, **changes)
        self._shown = content
        return shown

    async def _hand_over(
        self, content: str, attachments: list[tuple[Path, str]] | None, **changes: Any
    ) -> discord.Message:
        """Post the job's state as a channel message and keep editing that from now on."""
        interaction, self._interaction = self._interaction, None
        if attachments is None and self._preview is not None:
            attachments = [(self._preview, "preview.mp4")]
        channel = self.client.get_partial_messageable(self.place.channel_id)
        try:
            message = await channel.send(
                content, files=_files(attachments) or [], allowed_mentions=NO_MENTIONS, **changes
            )
        except discord.Forbidden as exc:
            raise SurfaceGoneError("the bot can no longer write to this channel") from exc
        self.place.message_id = message.id
        self._shown = content
        await self._store_place()
        if interaction is not None:
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(
                    content=render.moved(self.place.title, self._words), attachments=[], view=None
                )
        return message

    def _running(self) -> discord.ui.View:
        return running_view(self.job_id, self._words)

    async def _store_place(self) -> None:
        if self._remember is not None:
            await self._remember(self.place.ref())


def _files(attached: list[tuple[Path, str]] | None) -> list[discord.File] | None:
    """Files opened for one request: discord.py closes a request's files once it is sent,
    so the message that replaces a refused edit needs its own."""
    if attached is None:
        return None
    return [discord.File(path, filename=name) for path, name in attached]
