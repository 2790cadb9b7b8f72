"""A loopback fake of the fal.ai queue API that the real fal_client.AsyncClient talks to."""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import fal_client.client as fal
import pytest
from aiohttp import web
from PIL import Image

Kind = Literal["image", "video"]
Fault = Literal[
    "submit_500",
    "submit_429",
    "submit_dropped",  # queued, then the connection drops before the answer
    "content_policy",
    "corrupt_file",
    "wrong_content_type",
    "oversized",
    "never_completes",
    "result_500",
    "result_oversized",
]
NAMESPACES = {"workflows", "comfy"}  # fal_client.client.APP_NAMESPACES: ids with one more part
CHUNK = 64 * 1024
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
# https://fal.ai/docs/api-reference/inference-api: "The API returns 202 while the request is
# in the queue or in progress, and 200 when it is complete."
PENDING, DONE = 202, 200
# https://docs.fal.ai/errors: a model error is {"detail": [Error]}, each Error with loc, msg,
# type and url required and ctx optional; a content refusal is a 422 of this type.
CONTENT_POLICY = "content_policy_violation"


@dataclass(frozen=True)
class Submission:
    app: str
    request_id: str
    arguments: dict[str, Any]
    authorization: str | None


@dataclass
class _App:
    kind: Kind
    name: str
    data: bytes
    content_type: str
    size: tuple[int, int] | None  # width, height of images
    steps_in_queue: int
    steps_in_progress: int
    latency_s: float
    output_url: str | None  # a result naming some other URL than the fake's own file


@dataclass
class _Request:
    sub: Submission
    base: str  # owner/alias (with namespace): what fal puts in status/result/cancel URLs
    fault: Fault | None
    started: float = field(default_factory=time.monotonic)
    polls: int = 0
    completed: bool = False
    cancelled: bool = False


def queue_base(app: str) -> str:
    """Request URLs drop the endpoint subpath: fal-ai/kling-video/v2.1/x -> fal-ai/kling-video."""
    parts = app.strip("/").split("/")
    return "/".join(parts[: 3 if parts[0] in NAMESPACES else 2])


def _json(status: int, body: object, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def request_error(status: int, error_type: str, detail: str) -> web.Response:
    """An infrastructure error as fal documents it: a flat body, its type also a header.

    https://fal.ai/docs/documentation/model-apis/request-errors: ``{"detail": str,
    "error_type": str}``, and "X-Fal-Error-Type response header contains the same value".
    """
    body = {"detail": detail, "error_type": error_type}
    return _json(status, body, **{"X-Fal-Error-Type": error_type})


def content_refusal(field: str) -> web.Response:
    """fal's documented content refusal (https://docs.fal.ai/errors): 422, a detail array."""
    error = {
        "loc": ["body", field],
        "msg": "The content was flagged by a content checker.",
        "type": CONTENT_POLICY,
        "url": f"https://docs.fal.ai/errors#{CONTENT_POLICY}",
        "ctx": {},
    }
    return _json(422, {"detail": [error]}, **{"X-Fal-Retryable": "false"})


class FakeFalQueue:
    """Serves submit/status/result/cancel and the result files; records every call."""

    def __init__(self, *, oversized_bytes: int = 64 * 2**20, json_bytes: int = 6 * 2**20) -> None:
        self.oversized_bytes = oversized_bytes
        self.json_bytes = json_bytes  # the size of a "result_oversized" reply
        self.submissions: list[Submission] = []
        self.submit_attempts: Counter[str] = Counter()  # per app, rejected attempts included
        self.status_calls: Counter[str] = Counter()
        self.result_calls: Counter[str] = Counter()
        self.cancels: list[str] = []
        self.downloads: list[str] = []
        self.unexpected: list[str] = []  # anything fal_client should never have sent here
        self.url = ""
        self.files_url = ""
        self._apps: dict[str, _App] = {}
        self._faults: dict[str, list[list[Any]]] = {}  # app -> [[fault, times left or None]]
        self._requests: dict[str, _Request] = {}
        self._result_500_done: set[str] = set()
        self._runner: web.AppRunner | None = None

    def serve(
        self,
        app: str,
        *,
        kind: Kind,
        file: Path,
        content_type: str | None = None,
        steps_in_queue: int = 1,
        steps_in_progress: int = 1,
        latency_s: float = 0.0,
        output_url: str | None = None,
    ) -> None:
        if content_type is None:
            content_type = "video/mp4" if kind == "video" else f"image/{file.suffix[1:].lower()}"
        size = None
        if kind == "image":
            with warnings.catch_warnings():
                # A hostile picture may claim any size: reading it is the engine's problem.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(file) as picture:
                    size = picture.size
        self._apps[app] = _App(
            kind, file.name, file.read_bytes(), content_type, size,
            steps_in_queue, steps_in_progress, latency_s, output_url,
        )  # fmt: skip

    def fail(self, app: str, fault: Fault, times: int | Literal["always"] = 1) -> None:
        """Queue a fault; each submit attempt takes the head (submit faults reject it)."""
        self._faults.setdefault(app, []).append([fault, None if times == "always" else times])

    def submitted_ids(self, app: str) -> list[str]:
        return [s.request_id for s in self.submissions if s.app == app]

    async def start(self) -> str:
        web_app = web.Application()
        web_app.router.add_get("/files/{rid}/{name}", self._file)
        web_app.router.add_get("/{base:.+}/requests/{rid}/status", self._status)
        web_app.router.add_put("/{base:.+}/requests/{rid}/cancel", self._cancel)
        web_app.router.add_get("/{base:.+}/requests/{rid}", self._result)
        web_app.router.add_post("/{app:.+}", self._submit)
        web_app.router.add_route("*", "/{tail:.*}", self._unexpected)
        # A client stuck mid-download must not hold close() for aiohttp's default 60 s.
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        # fal serves output files from its CDN (https://v3.fal.media/files/...), another host
        # than the queue; here that host is "localhost", so a test can allow it by name and
        # still see the downloader refuse 127.0.0.1 itself.
        self.files_url = f"http://localhost:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeFalQueue:
        await self.start()
        return self

    async def __aexit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _take_fault(self, app: str) -> Fault | None:
        pending = self._faults.get(app) or [[None, None]]
        fault: Fault | None = pending[0][0]
        if pending[0][1] is not None:  # None: "always", the head never leaves
            pending[0][1] -= 1
            if pending[0][1] <= 0:
                pending.pop(0)
        return fault

    def _lookup(self, request: web.Request) -> _Request | web.Response:
        if not request.headers.get("Authorization", "").startswith("Key "):
            return _json(401, {"detail": "No user found for Key ID and Secret"})
        found = self._requests.get(request.match_info["rid"])
        if found is None or found.base != request.match_info["base"]:
            return _json(404, {"detail": "Request not found"})
        return found

    def _urls(self, base: str, rid: str) -> dict[str, str]:
        url = f"{self.url}/{base}/requests/{rid}"
        return {"response_url": url, "status_url": url + "/status", "cancel_url": url + "/cancel"}

    async def _submit(self, request: web.Request) -> web.Response:
        app = request.match_info["app"]
        if app not in self._apps:
            return await self._unexpected(request)
        self.submit_attempts[app] += 1
        auth = request.headers.get("Authorization")
        if not (auth or "").startswith("Key "):
            return _json(401, {"detail": "No user found for Key ID and Secret"})
        fault = self._take_fault(app)
        if fault == "submit_500":
            return request_error(500, "internal_error", "boom")
        if fault == "submit_429":
            # fal_client ignores Retry-After and backs off 0.1 s x 2^n x jitter on its own.
            return _json(429, {"detail": "Too many requests"}, **{"Retry-After": "0"})
        rid = str(uuid.uuid4())
        sub = Submission(app, rid, await request.json(), auth)
        self.submissions.append(sub)
        self._requests[rid] = _Request(sub, queue_base(app), fault)
        if fault == "submit_dropped" and request.transport is not None:
            # Queued (and billed, on fal) but the answer never arrives: the client cannot
            # learn the request id, so only not sending it again keeps it one request.
            request.transport.close()
        return _json(200, {"request_id": rid, **self._urls(queue_base(app), rid)})

    def _logs(self, count: int) -> list[dict[str, str]]:
        now = datetime.now(UTC).isoformat()
        return [
            {"message": f"step {i + 1}", "level": "INFO", "source": "user", "timestamp": now}
            for i in range(count)
        ]

    async def _status(self, request: web.Request) -> web.Response:
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        rid, spec = found.sub.request_id, self._apps[found.sub.app]
        self.status_calls[rid] += 1
        found.polls += 1
        queued, busy = spec.steps_in_queue, spec.steps_in_progress
        body: dict[str, Any] = {"request_id": rid, **self._urls(found.base, rid)}
        status = "COMPLETED"
        if not (found.completed or found.cancelled):
            late = time.monotonic() - found.started < spec.latency_s
            if found.polls <= queued:
                # 0-indexed like fal's queue_position: three queued polls answer 2, 1, 0.
                body |= {"status": "IN_QUEUE", "queue_position": queued - found.polls}
                return _json(PENDING, body)
            if found.fault == "never_completes" or found.polls <= queued + busy or late:
                status = "IN_PROGRESS"
            else:
                found.completed = True
        # fal sends "logs": null unless asked; fal_client asks with logs=true (or false).
        wants_logs = request.query.get("logs", "").lower() in {"1", "true"}
        logs = self._logs(min(found.polls - queued, busy)) if wants_logs else None
        body |= {"status": status, "logs": logs}
        if status == "COMPLETED":
            # A refused request completes too: its error is the result's answer (below).
            body["metrics"] = {"inference_time": 1.2}
        return _json(DONE if status == "COMPLETED" else PENDING, body)

    async def _result(self, request: web.Request) -> web.Response:
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        rid, spec = found.sub.request_id, self._apps[found.sub.app]
        self.result_calls[rid] += 1
        if found.cancelled:
            return _json(400, {"detail": "Request was cancelled"})
        if not found.completed:
            return _json(400, {"detail": "Request is still in progress"})
        if found.fault == "content_policy":
            # https://fal.ai/docs/inference-api/queue/result: "If the model returned an error,
            # this operation returns the same error."
            return content_refusal("prompt")
        if found.fault == "result_500" and rid not in self._result_500_done:
            self._result_500_done.add(rid)
            return _json(500, {"detail": "Internal server error"})
        url = spec.output_url or f"{self.files_url}/files/{rid}/{spec.name}"
        seed = found.sub.arguments.get("seed", 42)
        if spec.kind == "video":
            video = {"url": url, "content_type": spec.content_type, "file_size": len(spec.data)}
            if found.fault == "result_oversized":
                # A valid result with a huge extra field, and its Content-Length stated.
                return _json(200, {"video": video, "seed": seed, "logs": "x" * self.json_bytes})
            return _json(200, {"video": video, "seed": seed})
        width, height = spec.size or (0, 0)
        image = {"url": url, "width": width, "height": height, "content_type": spec.content_type}
        return _json(200, {"images": [image], "seed": seed, "has_nsfw_concepts": [False]})

    async def _cancel(self, request: web.Request) -> web.Response:
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        self.cancels.append(found.sub.request_id)
        if found.completed:  # fal answers 400 here, so fal_client raises FalClientHTTPError
            return _json(400, {"status": "ALREADY_COMPLETED"})
        found.cancelled = True
        return _json(202, {"status": "CANCELLATION_REQUESTED"})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        found = self._requests.get(request.match_info["rid"])
        spec = self._apps[found.sub.app] if found else None
        if found is None or spec is None or request.match_info["name"] != spec.name:
            return web.Response(status=404, text="Not Found")
        self.downloads.append(spec.name)
        if found.fault == "corrupt_file":
            return web.Response(body=os.urandom(len(spec.data)), content_type=spec.content_type)
        if found.fault == "wrong_content_type":
            return web.Response(body=HTML, content_type="text/html")
        if found.fault != "oversized":
            return web.Response(body=spec.data, content_type=spec.content_type)
        # Chunked with no Content-Length, so only a reader that counts bytes can stop it.
        response = web.StreamResponse(headers={"Content-Type": spec.content_type})
        await response.prepare(request)
        chunk, left = os.urandom(CHUNK), self.oversized_bytes
        try:
            while left > 0:
                await response.write(chunk[:left])
                left -= CHUNK
            await response.write_eof()
        except ConnectionError:
            pass  # the reader gave up early, which is what a size cap should do
        return response

    async def _unexpected(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return _json(404, {"detail": f"Application not found: {request.path}"})


def point_fal_client_at(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Aim fal_client (read at call time) at the fake; stray URLs land in `unexpected`."""
    monkeypatch.setattr(fal, "QUEUE_URL_FORMAT", base_url + "/")
    # run/upload/realtime are not queue calls, but if code under test makes one it must
    # reach loopback and fail, never the internet (and never the falrun.com backup).
    monkeypatch.setattr(fal, "RUN_URL_FORMAT", base_url + "/__run__/")
    monkeypatch.setattr(fal, "REST_URL", base_url + "/__rest__")
    monkeypatch.setattr(fal, "CDN_URL", base_url + "/__cdn__")
    monkeypatch.setattr(fal, "REALTIME_URL_FORMAT", base_url.replace("http", "ws", 1) + "/__ws__/")
    # fal_client's inner httpx client trusts *_PROXY from the environment.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


async def close_fal_client(client: fal.AsyncClient) -> None:
    """AsyncClient has no aclose(); it caches an httpx client under `_client` once used."""
    if "_client" in vars(client):
        http: Any = await client._client
        await http.aclose()
