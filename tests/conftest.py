"""Shared fixtures: real ffmpeg, prepared tiny media, a small render size, clean environment."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from engine import (
    ROLE_DEFAULTS,
    Books,
    EngineConfig,
    Limits,
    QuotaPolicy,
    RenderConfig,
    RetryPolicy,
    retimed,
)
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.storage.dialect import Dialect
from tests.fakes.providers import FakeMedia
from tests.postgres import fresh_schema

TINY = RenderConfig(width=160, height=90, fps=12, preset="ultrafast")


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Settings must come from the test, never from the developer's shell or .env.

    pydantic-settings reads ``.env`` from the working directory, so each test (and every
    process it starts) works in its own empty folder.
    """
    for name in list(os.environ):
        if name.startswith(("DREAMBOT_", "TELEGRAM_", "DISCORD_", "OPENAI_", "FAL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield


@pytest.fixture(scope="session")
def ffmpeg_exe() -> str:
    return locate_ffmpeg()


@pytest.fixture
def ffmpeg(ffmpeg_exe: str) -> FFmpeg:
    return FFmpeg(ffmpeg_exe, max_procs=2, timeout_s=60)


@pytest.fixture(scope="session")
def media(ffmpeg_exe: str, tmp_path_factory: pytest.TempPathFactory) -> FakeMedia:
    folder = tmp_path_factory.mktemp("media")
    runner = FFmpeg(ffmpeg_exe, max_procs=2, timeout_s=60)
    return asyncio.run(FakeMedia.make(runner, folder, width=160, height=90))


@pytest.fixture
def config(tmp_path: Path) -> EngineConfig:
    return EngineConfig(
        work_dir=tmp_path / "work",
        render=TINY,
        limits=Limits(ffmpeg=2, ffmpeg_timeout_s=60),
        roles=retimed(ROLE_DEFAULTS, 5),
        retry=RetryPolicy(attempts=3, base_s=0.01, max_s=0.05),
    )


@pytest.fixture
async def books(tmp_path: Path) -> AsyncIterator[Books]:
    """A real SQLite file with no quota in the way, for tests that are not about quotas."""
    opened = await Books.open(tmp_path / "books.sqlite3", QuotaPolicy.unlimited())
    yield opened
    await opened.close()


@pytest.fixture(params=list(Dialect), ids=str)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a test's database lives, once per backend: a new SQLite file, then an empty
    schema on the PostgreSQL test server (skipped locally without one)."""
    if request.param is Dialect.SQLITE:
        yield tmp_path / "dreambot.sqlite3"
    else:
        with fresh_schema() as url:
            yield url
