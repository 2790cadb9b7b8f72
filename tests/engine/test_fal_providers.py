"""The fal providers, through the real fal-client, against the fake queue on loopback.

What is checked is what fal bills and what the user is told: a documented content refusal
is a content refusal, and a submit whose answer was lost is never sent a second time.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.calls import describe_failure
from engine.config import DownloadPolicy
from engine.errors import ContentRejectedError, PermanentError, TransientError
from engine.notice import Notice
from engine.ports import RequestTicket
from engine.providers.fal import FalImages, FalModel, FalQueue
from engine.providers.fal_submit import SubmitUncertainError
from tests.fakes.fal_queue import FakeFalQueue, point_fal_client_at
from tests.fakes.providers import FakeMedia

IMAGE = "fal-ai/flux/schnell"


@pytest.fixture
async def fal(media: FakeMedia, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeFalQueue]:
    async with FakeFalQueue() as queue:
        point_fal_client_at(queue.url, monkeypatch)
        queue.serve(IMAGE, kind="image", file=media.image, steps_in_queue=0)
        yield queue


@pytest.fixture
async def images(fal: FakeFalQueue) -> AsyncIterator[FalImages]:
    allowed = DownloadPolicy(allow_hosts=frozenset({"localhost"}))  # the fake's file host
    queue = FalQueue("key-id:key-secret", poll_s=0.01, downloads=allowed)
    yield FalImages(queue, FalModel(IMAGE))
    await queue.close()


class Recorded:
    """A ticket whose ids are kept in a list, as the journal would keep them."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.ticket = RequestTicket(None, self._store)

    async def _store(self, request_id: str) -> None:
        self.ids.append(request_id)


async def picture(images: FalImages, tmp_path: Path, ticket: RequestTicket) -> Path:
    return await images.generate_image(
        "a fox", seed=1, width=64, height=48, out_dir=tmp_path, ticket=ticket
    )


async def test_a_documented_422_content_refusal_is_a_content_refusal(fal, images, tmp_path) -> None:
    fal.fail(IMAGE, "content_policy")
    recorded = Recorded()
    with pytest.raises(ContentRejectedError) as refused:
        await picture(images, tmp_path, recorded.ticket)
    assert "content_policy_violation" in str(refused.value)
    assert describe_failure(refused.value) == Notice(
        "the content was refused by the provider's policy"
    )
    assert recorded.ids == fal.submitted_ids(IMAGE)  # one request, recorded, not resent


async def test_a_dropped_submit_answer_is_one_request_and_never_resent(
    fal, images, tmp_path
) -> None:
    fal.fail(IMAGE, "submit_dropped")
    recorded = Recorded()
    with pytest.raises(SubmitUncertainError) as lost:
        await picture(images, tmp_path, recorded.ticket)
    # Permanent: the engine's own retry would submit it again, just as fal-client's did.
    assert isinstance(lost.value, PermanentError)
    assert not isinstance(lost.value, TransientError)
    assert fal.submit_attempts[IMAGE] == 1
    assert len(fal.submitted_ids(IMAGE)) == 1  # queued once, billed once
    assert recorded.ids == []  # its id never arrived: nothing to re-attach to


@pytest.mark.parametrize("fault", ["submit_429", "submit_500"])
async def test_a_refused_submit_is_transient_and_queued_nothing(
    fal, images, tmp_path, fault
) -> None:
    fal.fail(IMAGE, fault)
    with pytest.raises(TransientError):
        await picture(images, tmp_path, Recorded().ticket)
    assert fal.submit_attempts[IMAGE] == 1  # answered, so sending it again is the engine's call
    assert fal.submitted_ids(IMAGE) == []


async def test_a_submit_that_never_connected_is_transient(
    fal, images, tmp_path, monkeypatch
) -> None:
    with socket.socket() as unused:  # a port that was free a moment ago: nothing listens
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    point_fal_client_at(f"http://127.0.0.1:{port}", monkeypatch)
    with pytest.raises(TransientError):
        await picture(images, tmp_path, Recorded().ticket)
    assert fal.submit_attempts[IMAGE] == 0


async def test_a_clean_submit_records_its_id_and_delivers(fal, images, tmp_path) -> None:
    recorded = Recorded()
    path = await picture(images, tmp_path, recorded.ticket)
    assert path.read_bytes()
    assert recorded.ids == fal.submitted_ids(IMAGE)
    [submission] = fal.submissions
    assert submission.authorization == "Key key-id:key-secret"
    assert submission.arguments["image_size"] == {"width": 64, "height": 48}
