"""The fake fal queue speaks the protocol the real fal_client.AsyncClient expects."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import fal_client
import fal_client.client as fal
import httpx
import pytest
from PIL import Image

from tests.fakes.fal_queue import FakeFalQueue, close_fal_client, point_fal_client_at

IMAGE_APP = "fal-ai/flux/schnell"
VIDEO_APP = "fal-ai/kling-video/v2.1/standard/image-to-video"
AUTH = {"Authorization": "Key test-key"}


@pytest.fixture(scope="session")
def png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fal") / "picture.png"
    Image.new("RGB", (48, 32), (200, 40, 90)).save(path)
    return path


@pytest.fixture(scope="session")
def mp4(tmp_path_factory: pytest.TempPathFactory, ffmpeg_exe: str) -> Path:
    path = tmp_path_factory.mktemp("fal") / "clip.mp4"
    source = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=8:duration=1"]
    subprocess.run(
        [ffmpeg_exe, "-v", "error", "-y", *source, "-pix_fmt", "yuv420p", str(path)],
        check=True,
        timeout=60,
    )
    return path


@pytest.fixture
async def queue(png: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeFalQueue]:
    async with FakeFalQueue(oversized_bytes=3 * 2**20 + 5) as fake:
        fake.serve(IMAGE_APP, kind="image", file=png)
        point_fal_client_at(fake.url, monkeypatch)
        yield fake


@pytest.fixture
async def client(queue: FakeFalQueue) -> AsyncIterator[fal_client.AsyncClient]:
    client = fal_client.AsyncClient(key="test-key")
    yield client
    await close_fal_client(client)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def test_image_request_walks_queue_progress_and_completion(queue, client, http, png) -> None:
    queue.serve(IMAGE_APP, kind="image", file=png, steps_in_queue=3, steps_in_progress=2)
    handle = await client.submit(IMAGE_APP, {"prompt": "a red fox", "seed": 7})

    seen = [await handle.status(with_logs=True) for _ in range(6)]
    assert seen[:3] == [fal.Queued(position=2), fal.Queued(position=1), fal.Queued(position=0)]
    assert [type(s) for s in seen[3:]] == [fal.InProgress, fal.InProgress, fal.Completed]
    messages = [[line["message"] for line in s.logs] for s in seen[3:]]
    assert messages == [["step 1"], ["step 1", "step 2"], ["step 1", "step 2"]]
    assert {"message", "level", "timestamp"} <= set(seen[4].logs[0])
    done = seen[5]
    assert isinstance(done, fal.Completed)
    assert done.metrics == {"inference_time": 1.2} and done.error is None
    assert (await handle.status()).logs is None  # logs only when asked for

    result = await handle.get()
    image = result["images"][0]
    assert (image["width"], image["height"], result["seed"]) == (48, 32, 7)
    assert result["has_nsfw_concepts"] == [False]
    assert image["url"].startswith(queue.files_url + "/files/")  # the CDN, not the queue
    file = await http.get(image["url"])
    assert file.content == png.read_bytes()
    assert file.headers["content-type"] == image["content_type"] == "image/png"

    [submission] = queue.submissions
    assert submission.arguments == {"prompt": "a red fox", "seed": 7}
    assert submission.authorization == "Key test-key"
    assert queue.submitted_ids(IMAGE_APP) == [handle.request_id]
    assert queue.status_calls[handle.request_id] == 8  # six above, one without logs, one in get()
    assert queue.result_calls[handle.request_id] == 1
    assert queue.downloads == ["picture.png"]
    assert queue.unexpected == []


@pytest.mark.ffmpeg
async def test_video_handle_rebuilt_from_id_uses_owner_and_alias(queue, client, http, mp4) -> None:
    queue.serve(VIDEO_APP, kind="video", file=mp4, steps_in_queue=0, steps_in_progress=0)
    submitted = await client.submit(VIDEO_APP, {"image_url": "x"})
    handle = await client.get_handle(VIDEO_APP, submitted.request_id)

    assert (
        handle.status_url
        == submitted.status_url
        == f"{queue.url}/fal-ai/kling-video/requests/{submitted.request_id}/status"
    )
    result = await handle.get(interval=0)
    assert result["seed"] == 42
    video = result["video"]
    assert video["content_type"] == "video/mp4"
    assert video["file_size"] == mp4.stat().st_size
    assert (await http.get(video["url"])).content == mp4.read_bytes()
    assert await client.result(VIDEO_APP, submitted.request_id) == result


async def test_cancel_is_recorded_and_ends_the_request(queue, client, png) -> None:
    queue.serve(IMAGE_APP, kind="image", file=png, steps_in_queue=5)
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    assert isinstance(await handle.status(), fal.Queued)
    await handle.cancel()
    assert queue.cancels == [handle.request_id]
    assert isinstance(await handle.status(), fal.Completed)
    with pytest.raises(fal.FalClientHTTPError) as caught:
        await handle.get()
    assert caught.value.status_code == 400


async def test_cancel_after_completion_is_refused_like_fal(queue, client, png) -> None:
    queue.serve(IMAGE_APP, kind="image", file=png, steps_in_queue=0, steps_in_progress=0)
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    await handle.get(interval=0)
    with pytest.raises(fal.FalClientHTTPError) as caught:
        await client.cancel(IMAGE_APP, handle.request_id)
    assert caught.value.status_code == 400  # fal answers 400 {"status": "ALREADY_COMPLETED"}
    assert queue.cancels == [handle.request_id]


async def test_submit_500_raises_the_clients_http_error_without_retrying(queue, client) -> None:
    queue.fail(IMAGE_APP, "submit_500")
    with pytest.raises(fal.FalClientHTTPError) as caught:
        await client.submit(IMAGE_APP, {"prompt": "p"})
    assert (caught.value.status_code, str(caught.value)) == (500, "boom")
    assert caught.value.response_headers["content-type"].startswith("application/json")
    # A request error, documented flat, its type in the body and in X-Fal-Error-Type.
    assert caught.value.error_type == caught.value.response_headers["x-fal-error-type"]
    assert caught.value.error_type == "internal_error"
    assert queue.submit_attempts[IMAGE_APP] == 1
    assert queue.submissions == []
    await client.submit(IMAGE_APP, {"prompt": "p"})  # the fault was used up
    assert len(queue.submissions) == 1


async def test_submit_429_is_retried_by_the_client_until_it_succeeds(queue, client) -> None:
    queue.fail(IMAGE_APP, "submit_429", times=2)
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    assert queue.submit_attempts[IMAGE_APP] == 3
    assert queue.submitted_ids(IMAGE_APP) == [handle.request_id]


async def test_always_keeps_failing(queue, client) -> None:
    queue.fail(IMAGE_APP, "submit_500", times="always")
    for _ in range(3):
        with pytest.raises(fal.FalClientHTTPError):
            await client.submit(IMAGE_APP, {"prompt": "p"})
    assert queue.submit_attempts[IMAGE_APP] == 3


async def test_a_content_refusal_completes_and_its_result_is_the_documented_422(
    queue, client, http
) -> None:
    queue.fail(IMAGE_APP, "content_policy")
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    statuses = [await handle.status(with_logs=True) for _ in range(3)]
    assert isinstance(statuses[-1], fal.Completed)
    answer = await http.get(handle.response_url, headers=AUTH)
    assert answer.status_code == 422
    [error] = answer.json()["detail"]  # https://docs.fal.ai/errors: an array of Error
    assert {"loc", "msg", "type", "url"} <= set(error)
    assert (error["type"], error["loc"]) == ("content_policy_violation", ["body", "prompt"])
    assert "error_type" not in answer.json()  # the flat shape is for request errors only
    with pytest.raises(fal.FalClientHTTPError) as caught:
        await handle.get(interval=0)
    assert caught.value.status_code == 422
    assert caught.value.error_type is None  # fal-client does not read the documented shape
    clean = await client.submit(IMAGE_APP, {"prompt": "p"})  # faults go to the next submission only
    assert "images" in await clean.get(interval=0)


async def test_status_answers_202_while_pending_and_200_once_complete(queue, http, png) -> None:
    queue.serve(IMAGE_APP, kind="image", file=png, steps_in_queue=1, steps_in_progress=1)
    submitted = (await http.post(f"{queue.url}/{IMAGE_APP}", json={}, headers=AUTH)).json()
    seen = [await http.get(submitted["status_url"], headers=AUTH) for _ in range(3)]
    assert [(r.status_code, r.json()["status"]) for r in seen] == [
        (202, "IN_QUEUE"),
        (202, "IN_PROGRESS"),
        (200, "COMPLETED"),
    ]


async def test_request_urls_with_the_endpoint_path_are_refused(queue, client, http, mp4) -> None:
    # "The status, result, and cancel URLs use only the owner and the app."
    queue.serve(VIDEO_APP, kind="video", file=mp4)
    handle = await client.submit(VIDEO_APP, {"image_url": "x"})
    with_path = f"{queue.url}/{VIDEO_APP}/requests/{handle.request_id}"
    for method, url in (("GET", with_path + "/status"), ("GET", with_path),
                        ("PUT", with_path + "/cancel")):  # fmt: skip
        assert (await http.request(method, url, headers=AUTH)).status_code == 404
    assert queue.cancels == []


async def test_a_dropped_submit_answer_is_queued_and_fal_client_sends_it_again(
    queue, client
) -> None:
    # The hazard behind "fal bills once": fal-client's own loop resubmits.
    queue.fail(IMAGE_APP, "submit_dropped")
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    assert queue.submit_attempts[IMAGE_APP] == 2
    assert len(queue.submissions) == 2  # two requests queued, and billed, for one clip
    assert queue.submitted_ids(IMAGE_APP)[1] == handle.request_id


async def test_never_completes_stays_in_progress(queue, client, http) -> None:
    queue.fail(IMAGE_APP, "never_completes")
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    statuses = [await handle.status(with_logs=True) for _ in range(25)]
    assert isinstance(statuses[0], fal.Queued)
    assert all(isinstance(s, fal.InProgress) for s in statuses[1:])
    early = await http.get(handle.response_url, headers=AUTH)
    assert (early.status_code, early.json()) == (400, {"detail": "Request is still in progress"})


async def test_result_500_fails_once(queue, client) -> None:
    queue.fail(IMAGE_APP, "result_500")
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    with pytest.raises(fal.FalClientHTTPError) as caught:
        await handle.get(interval=0)
    assert caught.value.status_code == 500
    assert "images" in await handle.get(interval=0)
    assert queue.result_calls[handle.request_id] == 2


@pytest.mark.parametrize("fault", ["corrupt_file", "wrong_content_type"])
async def test_bad_files_keep_the_url_and_change_the_bytes(queue, client, http, png, fault) -> None:
    queue.fail(IMAGE_APP, fault)
    result = await (await client.submit(IMAGE_APP, {"prompt": "p"})).get(interval=0)
    file = await http.get(result["images"][0]["url"])
    assert file.status_code == 200 and file.content != png.read_bytes()
    if fault == "corrupt_file":
        assert file.headers["content-type"] == "image/png"
        assert len(file.content) == png.stat().st_size
    else:
        assert file.headers["content-type"].startswith("text/html")
        assert file.content.startswith(b"<html>")


async def test_oversized_file_streams_without_a_length(queue, client, http) -> None:
    queue.fail(IMAGE_APP, "oversized", times=2)
    first, second = [
        (await (await client.submit(IMAGE_APP, {"prompt": "p"})).get(interval=0))["images"][0]
        for _ in range(2)
    ]
    total = 0
    async with http.stream("GET", first["url"]) as response:
        assert "content-length" not in response.headers
        assert response.headers["content-type"] == "image/png"
        async for chunk in response.aiter_bytes():
            total += len(chunk)
    assert total == queue.oversized_bytes
    async with http.stream("GET", second["url"]) as response:  # a reader that gives up early
        async for _ in response.aiter_bytes():
            break
    assert queue.downloads == ["picture.png", "picture.png"]


async def test_latency_holds_completion_back(queue, client, png) -> None:
    queue.serve(IMAGE_APP, kind="image", file=png, steps_in_queue=0, steps_in_progress=0,
                latency_s=0.3)  # fmt: skip
    began = time.monotonic()
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    await handle.get(interval=0.02)
    assert time.monotonic() - began >= 0.3
    assert queue.status_calls[handle.request_id] > 2


async def test_requests_need_a_key_and_the_right_app(queue, client, http) -> None:
    handle = await client.submit(IMAGE_APP, {"prompt": "p"})
    assert (await http.get(handle.status_url)).status_code == 401
    wrong = handle.status_url.replace("fal-ai/flux", "fal-ai/other")
    assert (await http.get(wrong, headers=AUTH)).status_code == 404
    with pytest.raises(fal.FalClientHTTPError) as caught:
        await client.submit("fal-ai/not-served", {})
    assert caught.value.status_code == 404
    assert queue.unexpected == ["POST /fal-ai/not-served"]


async def test_nothing_but_the_queue_leaves_loopback(queue, client) -> None:
    for url in (fal.QUEUE_URL_FORMAT, fal.RUN_URL_FORMAT, fal.REST_URL, fal.CDN_URL):
        assert url.startswith(queue.url)
    with pytest.raises(fal.FalClientHTTPError):
        await client.run(IMAGE_APP, {"prompt": "p"})
    with pytest.raises(fal.FalClientHTTPError):
        await client.upload(b"data", "text/plain")
    assert queue.unexpected[0] == f"POST /__run__/{IMAGE_APP}"
    assert all("/__rest__/" in u or "/__cdn__/" in u for u in queue.unexpected[1:])
