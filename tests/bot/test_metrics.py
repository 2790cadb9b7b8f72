"""The Prometheus endpoint: a real HTTP scrape after real jobs on fake providers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import MetricsServer, PrometheusTelemetry
from engine import Engine, Providers, StageFailedError, StoryRejectedError
from engine.books import Books
from engine.errors import AdmissionRefusedError
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.fakes.providers import FakeProviders, Fault
from tests.surfaces import RecordingSurface

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped[(name, frozenset(labels.items()))]


async def test_a_scrape_after_jobs_shows_stage_histograms_and_counters(
    config, ffmpeg, media, tmp_path
) -> None:
    storage = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=1))
    telemetry = PrometheusTelemetry()
    server = MetricsServer(telemetry.registry, "127.0.0.1", 0)
    try:
        # The script fails; the preview never finishes, so only the next job's counts as done.
        broken = FakeProviders(
            media, faults={"script": {None: Fault.ERROR}, "preview": {None: Fault.HANG}}
        )
        engine = Engine(
            config, providers_of(broken), ffmpeg, books=Books(storage), telemetry=telemetry,
            estimate_cost=lambda story: 0.25,
        )  # fmt: skip
        failed = await engine.admit(STORY, requester="telegram:1")
        with pytest.raises(StageFailedError):
            await engine.dream(failed, RecordingSurface())

        # Scene 0's picture fails (a provider error) but the job still delivers.
        engine = Engine(
            config, providers_of(FakeProviders(media, faults={"images": {0: Fault.ERROR}})),
            ffmpeg, books=Books(storage), telemetry=telemetry, estimate_cost=lambda story: 0.25,
        )  # fmt: skip
        delivered = await engine.admit(STORY, requester="telegram:1")  # the failure was refunded
        await engine.dream(delivered, RecordingSurface())

        with pytest.raises(AdmissionRefusedError):
            await engine.admit(STORY, requester="telegram:1")
        with pytest.raises(StoryRejectedError):
            await engine.admit("   ", requester="telegram:2")

        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.close()
        await storage.close()

    assert response.status_code == 200
    scraped = samples(response.text)
    for stage in ("preview", "script", "images", "narration", "clips", "scenes", "merge"):
        provider = "ffmpeg" if stage in ("scenes", "merge") else "fake/1"
        count = value(
            scraped, "dreambot_stage_seconds_count", stage=stage, status="done", provider=provider
        )
        assert count == 1, stage
    failed_script = value(
        scraped, "dreambot_stage_seconds_count", stage="script", status="failed", provider="fake/1"
    )
    assert failed_script == 1
    merge_sum = value(
        scraped, "dreambot_stage_seconds_sum", stage="merge", status="done", provider="ffmpeg"
    )
    assert merge_sum > 0
    assert value(scraped, "dreambot_jobs_total", outcome="delivered") == 1
    assert value(scraped, "dreambot_jobs_total", outcome="failed") == 1
    assert value(scraped, "dreambot_jobs_total", outcome="cancelled") == 0
    assert (
        value(scraped, "dreambot_provider_errors_total", role="images", error="ProviderError") == 1
    )
    assert (
        value(scraped, "dreambot_provider_errors_total", role="script", error="ProviderError") == 1
    )
    assert value(scraped, "dreambot_admission_refusals_total", reason="quota") == 1
    assert value(scraped, "dreambot_admission_refusals_total", reason="rejected") == 1
    assert value(scraped, "dreambot_spend_total") == 0.25  # the refunded job costs nothing


def providers_of(fake: FakeProviders) -> Providers:
    return Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)


async def test_writes_the_database_refused_are_counted(config, ffmpeg, media, tmp_path) -> None:
    storage = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy())
    telemetry = PrometheusTelemetry()
    lifted: list[asyncio.Task[object]] = []

    async def refuse(role: str, scene: int | None) -> None:
        if role == "script":
            await storage.db.fetch("PRAGMA query_only = 1")

    def lift_once(what: object) -> None:
        # After the first refused write, the operator frees the disk.
        if not lifted:
            lifted.append(asyncio.ensure_future(storage.db.fetch("PRAGMA query_only = 0")))

    try:
        fake = FakeProviders(media, hook=refuse)
        engine = Engine(
            config, providers_of(fake), ffmpeg, books=Books(storage), telemetry=telemetry
        )
        storage.patience.listen(lift_once)
        request = await engine.admit(STORY, requester="telegram:1")
        await engine.dream(request, RecordingSurface())
    finally:
        await storage.close()

    scraped = samples(generate_latest(telemetry.registry).decode())
    refused = sum(
        v for (name, _), v in scraped.items() if name == "dreambot_storage_refused_writes_total"
    )
    assert refused >= 1
