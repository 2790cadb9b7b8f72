"""Kill the engine with SIGKILL while clips are queued; a new process finishes the job.

The fake queue runs in this test process on loopback and counts every submission, so
the test sees whether the restarted engine re-attached or paid for the clips again.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fakes.providers import FakeMedia

SCENES = 3
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Queue:
    """What the fake remote queue has seen, and whether it lets results out."""

    clip: bytes
    submissions: list[str] = field(default_factory=list)
    polled: set[str] = field(default_factory=set)
    fetched: set[str] = field(default_factory=set)
    all_recorded: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def handler_for(queue: Queue) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with queue.lock:
                request_id = f"req-{len(queue.submissions)}"
                queue.submissions.append(request_id)
            self._reply(200, json.dumps({"request_id": request_id}).encode())

        def do_GET(self) -> None:
            request_id = self.path.rsplit("/", 1)[-1]
            with queue.lock:
                queue.polled.add(request_id)
                # The engine stores an id before its first poll, so once every submission
                # has been polled, every id is in the database.
                if len(queue.polled) >= SCENES and queue.polled >= set(queue.submissions):
                    queue.all_recorded.set()
            if request_id not in queue.submissions:
                self._reply(404, b'{"detail": "unknown request"}')
            elif not queue.release.is_set():
                self._reply(202, b'{"status": "IN_PROGRESS"}')
            else:
                queue.fetched.add(request_id)
                self._reply(200, queue.clip, "video/mp4")

    return Handler


@pytest.fixture
def queue(media: FakeMedia) -> Iterator[tuple[Queue, str]]:
    state = Queue(clip=media.clip.read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def worker(mode: str, tmp_path: Path, url: str, *extra: str) -> subprocess.Popen[bytes]:
    with (tmp_path / f"{mode}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.restart.worker",
                mode,
                "--db",
                str(tmp_path / "db.sqlite3"),
            ]
            + ["--work", str(tmp_path / "work"), "--queue", url]
            + ["--events", str(tmp_path / "events.jsonl"), *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=log,
        )


def job_rows(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        return db.execute("SELECT state, charge FROM jobs").fetchall()


def test_sigkill_mid_scenes_then_restart_finishes_without_paying_twice(tmp_path, queue) -> None:
    state, url = queue
    first = worker("run", tmp_path, url)
    try:
        assert state.all_recorded.wait(timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert job_rows(tmp_path) == [("running", "reserved")]

    state.release.set()
    second = worker("resume", tmp_path, url)
    second.wait(timeout=180)
    assert second.returncode == 0, (tmp_path / "resume.log").read_text()

    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    kinds = [event["kind"] for event in events]
    assert kinds.count("ack") == 1 and kinds[-1] == "final"
    assert Path(events[-1]["path"]).stat().st_size > 0
    assert state.submissions == [f"req-{n}" for n in range(SCENES)]  # each submitted once
    assert state.fetched == set(state.submissions)  # and each result fetched after restart
    assert job_rows(tmp_path) == [("delivered", "committed")]


def test_sigkill_between_delivery_and_charge_sends_one_final_and_charges_once(
    tmp_path, queue
) -> None:
    state, url = queue
    state.release.set()
    first = worker("run", tmp_path, url, "--die-after-final")
    first.wait(timeout=180)
    assert first.returncode == -signal.SIGKILL, (tmp_path / "run.log").read_text()
    assert job_rows(tmp_path) == [("running", "reserved")]  # delivered, not yet charged

    second = worker("resume", tmp_path, url)
    second.wait(timeout=180)
    assert second.returncode == 0, (tmp_path / "resume.log").read_text()

    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [event["kind"] for event in events].count("final") == 1  # not sent again
    assert "fail" not in [event["kind"] for event in events]
    assert len(state.submissions) == SCENES  # nothing made again
    assert job_rows(tmp_path) == [("delivered", "committed")]
