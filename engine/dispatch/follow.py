"""The adapter's side of a job run by a worker: its events applied to the chat surface.

One listening connection wakes the job whose events arrived; each job also looks every
``poll_s`` on its own, so a notification lost (a reconnect) only delays an edit. Progress
snapshots that a newer one replaced are skipped: a chat shows only the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import psycopg

from engine.dispatch.codec import actions_of, failure_of, result_of, snapshot_of
from engine.dispatch.events import CHANNEL, Event, EventKind, EventLog, EventOutcome
from engine.models import JobTicket
from engine.ports import Surface
from engine.storage.jobs import JobStore, StoredJob

log = logging.getLogger(__name__)


class Follower:
    """Applies workers' events to the surfaces this adapter shows jobs on."""

    def __init__(
        self, events: EventLog, jobs: JobStore, url: str, work_dir: Path, *, poll_s: float
    ) -> None:
        self._events = events
        self._jobs = jobs
        self._url = url
        self._work_dir = work_dir
        self._poll_s = poll_s
        self._wakes: dict[str, asyncio.Event] = {}

    async def listen(self) -> None:
        """Wake the jobs whose events arrive, until cancelled; reconnects when dropped."""
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    for wake in self._wakes.values():
                        wake.set()  # whatever came while not listening
                    async for note in connection.notifies():
                        if (woken := self._wakes.get(note.payload)) is not None:
                            woken.set()
            except psycopg.Error as exc:
                log.warning("not hearing of job events now (%s); polling meanwhile", exc)
                await asyncio.sleep(self._poll_s)

    async def to_follow(self) -> list[StoredJob]:
        """What an adapter starting follows again: every job a worker runs, or ran and
        has told something this adapter has not applied yet."""
        unfinished = await self._jobs.unfinished()
        known = {stored.job_id for stored in unfinished}
        told = [job for job in await self._events.followed_jobs() if job not in known]
        ended = [await self._jobs.one(job_id) for job_id in told]
        return unfinished + [stored for stored in ended if stored is not None]

    async def follow(self, job_id: str, surface: Surface) -> None:
        """Apply the job's events as they come, until its worker says it is done."""
        wake = self._wakes.setdefault(job_id, asyncio.Event())
        try:
            while True:
                wake.clear()
                try:
                    if await self._apply(job_id, surface):
                        break
                except Exception as exc:  # the server away for now: tried again next poll
                    log.warning("job %s: events cannot be read now: %s", job_id, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._poll_s)
        finally:
            self._wakes.pop(job_id, None)
        with contextlib.suppress(Exception):
            await self._events.forget(job_id)

    async def _apply(self, job_id: str, surface: Surface) -> bool:
        """Apply what is open; True once the job's end was among it."""
        events = await self._events.open_events(job_id)
        progress = [e.seq for e in events if e.kind is EventKind.PROGRESS]
        replaced = set(progress[:-1])  # each snapshot but the latest, marked at once
        await self._events.mark(sorted(replaced), EventOutcome.SKIPPED)
        for event in events:
            if event.seq in replaced:
                continue
            await self._events.mark([event.seq], await self._one(event, surface))
            if event.kind is EventKind.END:
                return True
        return False

    async def _one(self, event: Event, surface: Surface) -> EventOutcome:
        body = event.body
        try:
            match event.kind:
                case EventKind.ACKNOWLEDGE:
                    await surface.acknowledge(JobTicket(event.job_id, body["title"]))
                case EventKind.PREVIEW:
                    await surface.show_preview(await self._file(event, body["name"]))
                case EventKind.PROGRESS:
                    await surface.show_progress(snapshot_of(body))
                case EventKind.FINAL:
                    final = await self._file(event, "final.mp4")
                    await surface.deliver_final(result_of(body, final))
                case EventKind.FAIL:
                    await surface.fail(failure_of(body))
                case EventKind.ACTIONS:
                    await surface.offer_actions(actions_of(body))
                case EventKind.END:
                    pass
        except Exception:
            log.exception("job %s: the chat did not take its %s", event.job_id, event.kind)
            return EventOutcome.FAILED
        return EventOutcome.APPLIED

    async def _file(self, event: Event, name: str) -> Path:
        """The event's media, written where this adapter keeps the job's files."""
        folder = self._work_dir / event.job_id
        path = folder / Path(name).name  # a name, never a path a worker chose
        data = event.media or b""

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        return path
