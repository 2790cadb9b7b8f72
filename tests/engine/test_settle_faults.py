"""A database that refuses writes while jobs end: nobody is told an untruth, nothing is lost.

The fault is real SQLite: ``PRAGMA query_only`` on the engine's own connection makes every
write fail with SQLITE_READONLY, as a read-only file system or a revoked permission does.
What the user was told is checked against the row a separate connection reads at that
moment, so "nothing was charged" is only ever said of a row that is ``refunded``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from engine import Books, Engine, EngineConfig, Providers, Role, StageFailedError, retimed
from engine.errors import AdmissionRefusedError, Refusal
from engine.media.ffmpeg import FFmpeg
from engine.models import Action, DreamResult, JobFailure, VisualKind
from engine.outcome import OUTCOME_FILE, read_outcome
from engine.ports import RequestTicket
from engine.storage import QuotaPolicy, Storage, StoredJob, Write
from engine.storage.patience import is_refused
from tests.fakes.providers import FakeMedia, FakeProviders, Fault
from tests.surfaces import RecordingSurface

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


class Refusals:
    """Counts the writes the database refused, and lets a test wait for the first."""

    def __init__(self) -> None:
        self.seen: list[Write] = []
        self.first = asyncio.Event()
        self._more = asyncio.Event()

    def __call__(self, what: Write) -> None:
        self.seen.append(what)
        self.first.set()
        self._more.set()

    async def at_least(self, count: int) -> None:
        while len(self.seen) < count:
            self._more.clear()
            await self._more.wait()


async def refuse_writes(storage: Storage, refuse: bool) -> None:
    await storage.db.fetch(f"PRAGMA query_only = {int(refuse)}")


def row(db_file: Path, job_id: str) -> tuple[str, str]:
    """The job's state and charge, as another connection sees them now."""
    with sqlite3.connect(db_file) as db:
        found = db.execute("SELECT state, charge FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return (str(found[0]), str(found[1]))


class Witness(RecordingSurface):
    """Notes, at each failure told, what the books said at that moment."""

    def __init__(self, db_file: Path) -> None:
        super().__init__()
        self.db_file = db_file
        self.told: list[tuple[JobFailure, tuple[str, str]]] = []
        self.told_unrefunded = asyncio.Event()

    async def fail(self, failure: JobFailure) -> None:
        await super().fail(failure)
        self.told.append((failure, row(self.db_file, failure.job_id)))
        if not failure.refunded:
            self.told_unrefunded.set()


class RefusingAtDelivery(RecordingSurface):
    """Delivers, and at that moment the database stops taking writes."""

    def __init__(self, storage: Storage) -> None:
        super().__init__()
        self.storage = storage

    async def deliver_final(self, result: DreamResult) -> None:
        await super().deliver_final(result)
        await refuse_writes(self.storage, True)


@pytest.fixture
async def faulty(tmp_path: Path):
    refusals = Refusals()
    storage = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy(), on_refused=refusals)
    yield storage, refusals
    await refuse_writes(storage, False)
    await storage.close()


def failing_script(media: FakeMedia, storage: Storage) -> FakeProviders:
    """Providers whose script fails, the database refusing writes from that moment on."""

    async def refuse_then_fail(role: str, scene: int | None) -> None:
        if role == "script":
            await refuse_writes(storage, True)

    return FakeProviders(media, faults={"script": {None: Fault.ERROR}}, hook=refuse_then_fail)


def build(config: EngineConfig, ffmpeg: FFmpeg, fake: object, storage: Storage) -> Engine:
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)  # type: ignore[arg-type]
    return Engine(replace(config, settle_wait_s=0.05), providers, ffmpeg, books=Books(storage))


async def test_a_refund_the_database_refuses_is_not_called_done_until_it_is(
    config, ffmpeg, media, faulty, tmp_path
) -> None:
    storage, refusals = faulty
    engine = build(config, ffmpeg, failing_script(media, storage), storage)
    request = await engine.admit(STORY, requester="telegram:1")
    surface = Witness(tmp_path / "db.sqlite3")
    job = asyncio.create_task(engine.dream(request, surface))

    await asyncio.wait_for(surface.told_unrefunded.wait(), timeout=30)
    assert Write.SETTLE in refusals.seen
    assert row(tmp_path / "db.sqlite3", request.job_id) == ("running", "reserved")
    assert not engine.cancel(request.job_id)  # it is ending already: a cancel changes nothing
    await refuse_writes(storage, False)
    with pytest.raises(StageFailedError):
        await job

    assert [failure.refunded for failure, _ in surface.told] == [False, True]
    for failure, books in surface.told:
        assert failure.refunded == (books[1] == "refunded")  # told the truth, each time
    assert row(tmp_path / "db.sqlite3", request.job_id) == ("failed", "refunded")
    # The running slot is free again: the same user is admitted at once.
    await engine.admit(STORY, requester="telegram:1")


async def test_a_charge_the_database_refuses_after_delivery_is_recorded_once_it_can_be(
    config, ffmpeg, media, faulty, tmp_path
) -> None:
    storage, refusals = faulty
    engine = build(config, ffmpeg, FakeProviders(media), storage)
    request = await engine.admit(STORY, requester="telegram:1")
    job = asyncio.create_task(engine.dream(request, RefusingAtDelivery(storage)))

    await asyncio.wait_for(refusals.first.wait(), timeout=30)
    assert refusals.seen[0] is Write.SETTLE
    assert row(tmp_path / "db.sqlite3", request.job_id) == ("running", "reserved")
    assert read_outcome(config.work_dir / request.job_id) is not None  # delivery recorded
    await refuse_writes(storage, False)
    await job

    assert row(tmp_path / "db.sqlite3", request.job_id) == ("delivered", "committed")


@pytest.mark.parametrize("ending", ["failed", "delivered"])
async def test_a_job_whose_end_the_database_missed_is_settled_not_rerun_after_a_restart(
    config, ffmpeg, media, tmp_path, ending
) -> None:
    db_file = tmp_path / "db.sqlite3"
    refusals = Refusals()
    storage = await Storage.open(db_file, QuotaPolicy(), on_refused=refusals)

    if ending == "failed":
        first = failing_script(media, storage)
        surface: RecordingSurface = Witness(db_file)
    else:
        first = FakeProviders(media)
        surface = RefusingAtDelivery(storage)
    engine = build(config, ffmpeg, first, storage)
    request = await engine.admit(STORY, requester="telegram:1")
    job = asyncio.create_task(engine.dream(request, surface, surface_ref="msg:1"))
    await asyncio.wait_for(refusals.first.wait(), timeout=30)
    if isinstance(surface, Witness):
        await asyncio.wait_for(surface.told_unrefunded.wait(), timeout=30)
    job.cancel()  # the process stops while the database still refuses
    with pytest.raises(asyncio.CancelledError):
        await job
    await storage.close()
    assert row(db_file, request.job_id) == ("running", "reserved")

    restarted = await Storage.open(db_file, QuotaPolicy())
    second = FakeProviders(media)
    surfaces: list[Witness] = []

    async def rebuild(stored: StoredJob) -> Witness:
        surfaces.append(Witness(db_file))
        return surfaces[-1]

    tasks = await build(config, ffmpeg, second, restarted).resume(rebuild)
    await asyncio.gather(*tasks)
    await restarted.close()

    assert tasks == [] and second.calls == []  # nothing made again, nothing sent again
    kinds = surfaces[0].kinds()
    if ending == "failed":
        assert row(db_file, request.job_id) == ("failed", "refunded")
        assert kinds == ["fail"] and surfaces[0].told[0][0].refunded
    else:
        assert row(db_file, request.job_id) == ("delivered", "committed")
        assert kinds == []


class RecordingLateClips:
    """A queue whose request id is recorded while the database refuses writes."""

    identity = "late-queue/1"

    def __init__(self, media: FakeMedia, storage: Storage) -> None:
        self.media, self.storage = media, storage

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
        assert ticket is not None
        await refuse_writes(self.storage, True)
        await ticket.record(f"req-{seed}")  # waits for the database, not for the provider
        target = out_dir / "clip.mp4"
        target.write_bytes(self.media.clip.read_bytes())
        return target


async def test_waiting_for_the_database_does_not_use_up_a_providers_deadline(
    config, ffmpeg, media, faulty
) -> None:
    storage, refusals = faulty
    fake = FakeProviders(media, scenes=1)
    clips = RecordingLateClips(media, storage)
    providers = Providers(script=fake, preview=fake, images=fake, clips=clips, voice=fake)
    deadline_s = 0.3
    config = replace(config, roles=retimed(config.roles, {Role.CLIPS: deadline_s}))
    engine = Engine(config, providers, ffmpeg, books=Books(storage))
    request = await engine.admit(STORY, requester="telegram:1")
    job = asyncio.create_task(engine.dream(request, RecordingSurface()))

    await asyncio.wait_for(refusals.first.wait(), timeout=30)
    await asyncio.sleep(3 * deadline_s)  # the fault outlasts the clip's deadline
    await refuse_writes(storage, False)
    result = await job

    assert Write.JOURNAL in refusals.seen
    assert [scene.visual for scene in result.scenes] == [VisualKind.CLIP]


async def test_a_database_that_refuses_at_admission_gets_an_answer_and_no_charge(
    config, ffmpeg, media, faulty, tmp_path
) -> None:
    storage, _ = faulty
    engine = build(config, ffmpeg, FakeProviders(media), storage)
    await refuse_writes(storage, True)

    with pytest.raises(AdmissionRefusedError) as refused:
        await engine.admit(STORY, requester="telegram:1")

    assert refused.value.refusal is Refusal.UNAVAILABLE
    assert "nothing was charged" in str(refused.value.notice)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


def test_an_outcome_file_names_the_end_it_records(tmp_path: Path) -> None:
    assert read_outcome(tmp_path) is None
    (tmp_path / OUTCOME_FILE).write_text("{not json", encoding="utf-8")
    assert read_outcome(tmp_path) is None  # damaged from outside: resumed as unfinished


def test_a_lock_another_process_holds_counts_as_refused_for_now(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            other.execute("INSERT INTO t VALUES (1)")
        assert is_refused(locked.value)  # SQLITE_BUSY: waited out, not a failure
        holder.execute("ROLLBACK")
        with pytest.raises(sqlite3.OperationalError) as broken:
            other.execute("INSERT INTO missing VALUES (1)")
        assert not is_refused(broken.value)  # a wrong statement is a bug: never retried
    finally:
        holder.close()
        other.close()


@pytest.mark.parametrize("disk", ["no new file", "no file at all"])
async def test_on_a_full_disk_a_failure_is_told_only_as_far_as_it_is_recorded(
    config, ffmpeg, media, faulty, tmp_path, disk
) -> None:
    storage, refusals = faulty
    engine = build(config, ffmpeg, failing_script(media, storage), storage)
    request = await engine.admit(STORY, requester="telegram:1")
    # Real refusals of the file system: a directory where a file must be written.
    folder = config.work_dir / request.job_id
    (folder / "outcome.part").mkdir(parents=True)
    if disk == "no file at all":
        (folder / OUTCOME_FILE).mkdir()
    surface = Witness(tmp_path / "db.sqlite3")
    job = asyncio.create_task(engine.dream(request, surface))

    await asyncio.wait_for(refusals.first.wait(), timeout=30)
    if disk == "no new file":  # the reserved outcome file was overwritten in place
        await asyncio.wait_for(surface.told_unrefunded.wait(), timeout=30)
        assert read_outcome(folder) is not None
    else:  # nothing on disk says the job ended: not even "failed" is told yet
        # Retries 0.05, 0.1 and 0.2 s apart: well past the 0.05 s the user would wait.
        await asyncio.wait_for(refusals.at_least(4), timeout=30)
        assert surface.told == []
    await refuse_writes(storage, False)
    with pytest.raises(StageFailedError):
        await job

    told = [failure.refunded for failure, _ in surface.told]
    assert told == ([False, True] if disk == "no new file" else [True])
    assert row(tmp_path / "db.sqlite3", request.job_id) == ("failed", "refunded")


class NoButtons(RecordingSurface):
    """A surface whose buttons cannot be offered once the video is there."""

    async def offer_actions(self, actions) -> None:
        await super().offer_actions(actions)
        if Action.REGENERATE in actions:
            raise RuntimeError("the chat service refused the buttons")


async def test_a_button_that_cannot_be_offered_after_delivery_still_settles_the_job(
    config, ffmpeg, media, faulty, tmp_path
) -> None:
    storage, _ = faulty
    engine = build(config, ffmpeg, FakeProviders(media), storage)
    request = await engine.admit(STORY, requester="telegram:1")

    await engine.dream(request, NoButtons())

    assert row(tmp_path / "db.sqlite3", request.job_id) == ("delivered", "committed")
