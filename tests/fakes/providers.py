"""Stand-in providers for tests and benchmarks: set latencies, injected faults, real media.

They serve small prepared files (a real PNG, MP4 and WAV), so everything after the
provider call (probing, normalising, merging) runs for real with ffmpeg.
"""

from __future__ import annotations

import asyncio
import enum
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from engine.errors import ContentRejectedError, ProviderError, TransientError
from engine.media.ffmpeg import FFmpeg
from engine.models import Language, SceneSpec, Script
from engine.ports import RequestTicket


class Fault(enum.Enum):
    """What a provider call does instead of its job."""

    ERROR = "error"  # raises ProviderError
    REFUSED = "refused"  # raises ContentRejectedError
    BUSY = "busy"  # raises TransientError
    CORRUPT = "corrupt"  # returns a file of garbage bytes
    HANG = "hang"  # never returns (the engine's deadline must end it)
    CRASH = "crash"  # raises an exception that is not an engine error (a provider bug)


@dataclass(frozen=True)
class FakeMedia:
    """The prepared files fake providers hand out."""

    image: Path
    clip: Path
    narration: Path
    preview: Path

    @classmethod
    async def make(
        cls,
        ffmpeg: FFmpeg,
        folder: Path,
        *,
        width: int = 320,
        height: int = 180,
        clip_s: float = 2.0,
        clip_fps: int = 24,
        narration_s: float = 1.5,
    ) -> FakeMedia:
        """Create tiny real media files in ``folder`` with ffmpeg and Pillow."""
        folder.mkdir(parents=True, exist_ok=True)
        media = cls(
            folder / "image.png", folder / "clip.mp4", folder / "narration.wav", folder / "p.mp4"
        )
        Image.new("RGB", (width, height), (40, 90, 160)).save(media.image)
        size = f"{width}x{height}"
        await ffmpeg.run(
            ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={clip_fps}:duration={clip_s}"]
            + ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(media.clip)]
        )
        await ffmpeg.run(
            ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=22050:duration={narration_s}"]
            + [str(media.narration)]
        )
        await ffmpeg.run(
            ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=12:duration=1"]
            + ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(media.preview)]
        )
        return media


@dataclass(frozen=True)
class Call:
    """One provider call as the fake saw it."""

    role: str
    scene: int | None
    started: float
    ended: float


Hook = Callable[[str, int | None], Awaitable[None]]


@dataclass
class FakeProviders:
    """Every provider role at once, with per-role latency and per-scene faults.

    ``faults`` maps a role to {scene index: Fault}; the key ``None`` means every call of
    that role (script and preview calls have no scene). ``scene_latency`` maps a role to
    {scene index: seconds}, overriding ``latency`` for those scenes. ``hook`` is awaited at
    the start of every call, so tests can hold calls at a barrier instead of sleeping.
    """

    media: FakeMedia
    scenes: int = 3
    latency: Mapping[str, float] = field(default_factory=dict)
    scene_latency: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    faults: Mapping[str, Mapping[int | None, Fault]] = field(default_factory=dict)
    hook: Hook | None = None
    calls: list[Call] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    narrated: list[tuple[str, Language]] = field(default_factory=list)  # what voices were given
    voices_used: list[str | None] = field(default_factory=list)  # the voice asked for, each time
    choices: tuple[str, ...] = ("fake-a", "fake-b")
    identity: str = "fake/1"

    async def write_script(
        self,
        story: str,
        *,
        seed: int,
        language: Language,
        ticket: RequestTicket | None = None,
    ) -> Script:
        """A script of ``self.scenes`` scenes whose texts name their index."""
        async with self._call("script", None, ticket):
            words = story.split()
            scenes = tuple(
                SceneSpec(n, f"Scene {n}: {' '.join(words[:8])}", f"scene-{n} {story[:40]}")
                for n in range(self.scenes)
            )
            title = " ".join(words[:5])
            return Script(title, "fake style", seed, scenes, language)

    async def generate_preview(
        self, story: str, *, seed: int, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path:
        """The prepared preview clip."""
        async with self._call("preview", None, ticket) as fault:
            return _hand_out(self.media.preview, out_dir / "preview.mp4", fault)

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
        """The prepared image."""
        async with self._call("images", _scene_of(prompt), ticket) as fault:
            return _hand_out(self.media.image, out_dir / "image.png", fault)

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
        """The prepared clip."""
        async with self._call("clips", _scene_of(prompt), ticket) as fault:
            return _hand_out(self.media.clip, out_dir / "clip.mp4", fault)

    async def narrate(
        self,
        text: str,
        *,
        language: Language,
        voice: str | None = None,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """The prepared narration."""
        self.narrated.append((text, language))
        self.voices_used.append(voice)
        async with self._call("voice", _scene_of(text), ticket) as fault:
            return _hand_out(self.media.narration, out_dir / "narration.wav", fault)

    async def cancel_request(self, request_id: str) -> None:
        """Drop a queued request, as a remote queue's cancel does."""
        self.cancelled.append(request_id)

    def calls_of(self, role: str) -> list[Call]:
        """The finished calls of one role, in the order they ended."""
        return [call for call in self.calls if call.role == role]

    def _call(self, role: str, scene: int | None, ticket: RequestTicket | None) -> _CallScope:
        return _CallScope(self, role, scene, ticket)


class _CallScope:
    """One call, acting like a remote queue when given a ticket: submit once, or re-attach."""

    def __init__(
        self, fake: FakeProviders, role: str, scene: int | None, ticket: RequestTicket | None
    ) -> None:
        self.fake, self.role, self.scene, self.ticket = fake, role, scene, ticket
        self.started = 0.0

    async def __aenter__(self) -> Fault | None:
        self.started = time.monotonic()
        if self.ticket is not None:
            if self.ticket.existing is not None:
                self.fake.attached.append(self.ticket.existing)
            else:
                request_id = f"{self.role}-{self.scene}-{len(self.fake.submitted)}"
                self.fake.submitted.append(request_id)
                await self.ticket.record(request_id)
        try:
            return await self._start()
        except Exception:
            self._record()  # a call that failed is still a call the provider saw
            raise

    async def _start(self) -> Fault | None:
        if self.fake.hook is not None:
            await self.fake.hook(self.role, self.scene)
        latency = self.fake.latency.get(self.role, 0.0)
        if self.scene is not None:
            latency = self.fake.scene_latency.get(self.role, {}).get(self.scene, latency)
        await asyncio.sleep(latency)
        by_scene = self.fake.faults.get(self.role, {})
        fault = by_scene.get(self.scene, by_scene.get(None))
        if fault is Fault.HANG:
            await asyncio.Event().wait()
        if fault is Fault.ERROR:
            raise ProviderError(f"fake {self.role} failed")
        if fault is Fault.REFUSED:
            raise ContentRejectedError(f"fake {self.role} refused")
        if fault is Fault.CRASH:
            raise RuntimeError(f"fake {self.role} crashed")
        if fault is Fault.BUSY:
            raise TransientError(f"fake {self.role} busy", retry_after=1.0)
        return fault

    async def __aexit__(self, *exc: object) -> None:
        self._record()

    def _record(self) -> None:
        self.fake.calls.append(Call(self.role, self.scene, self.started, time.monotonic()))


def _hand_out(source: Path, target: Path, fault: Fault | None) -> Path:
    if fault is Fault.CORRUPT:
        target.write_bytes(b"\x00not media\xff" * 64)
    else:
        shutil.copyfile(source, target)
    return target


def _scene_of(text: str) -> int | None:
    for marker in ("scene-", "Scene "):
        if marker in text:
            digits = text.split(marker, 1)[1].split(":", 1)[0].split(" ", 1)[0]
            if digits.isdigit():
                return int(digits)
    return None
