"""The optional Prometheus endpoint: the engine's telemetry as histograms and counters."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from engine import Stage

# Stages run from a fraction of a second (a cached script) to minutes (a queued clip).
STAGE_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


class PrometheusTelemetry:
    """Engine telemetry kept in its own registry (no process-global state)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        # The standard process_* and python_* series the default registry would carry.
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.stage_seconds = Histogram(
            "dreambot_stage_seconds", "How long each job stage took.",
            ["stage", "status", "provider"], buckets=STAGE_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.jobs = Counter(
            "dreambot_jobs", "Jobs that ended, by outcome.", ["outcome"], registry=self.registry
        )
        self.provider_errors = Counter(
            "dreambot_provider_errors", "Failed provider call attempts, retried ones included.",
            ["role", "error"], registry=self.registry,
        )  # fmt: skip
        self.refusals = Counter(
            "dreambot_admission_refusals", "Requests refused before any work, by reason.",
            ["reason"], registry=self.registry,
        )  # fmt: skip
        self.spend = Counter(
            "dreambot_spend", "Estimated provider spend of delivered jobs, in US dollars.",
            registry=self.registry,
        )  # fmt: skip
        self.storage_refusals = Counter(
            "dreambot_storage_refused_writes",
            "Job writes the database refused for now (locked, read-only, full); each is retried "
            "until it is recorded.",
            ["kind"], registry=self.registry,
        )  # fmt: skip
        for outcome in ("delivered", "failed", "cancelled"):
            # Present from the first scrape, so rate() and alerts see a zero, not a gap.
            self.jobs.labels(outcome)

    def stage_done(self, stage: Stage, status: str, seconds: float, provider: str) -> None:
        self.stage_seconds.labels(stage.value, status, provider).observe(seconds)

    def job_ended(self, outcome: str) -> None:
        self.jobs.labels(outcome).inc()

    def provider_failed(self, role: str, error: str) -> None:
        self.provider_errors.labels(role, error).inc()

    def admission_refused(self, reason: str) -> None:
        self.refusals.labels(reason).inc()

    def spent(self, amount: float) -> None:
        if amount > 0:
            self.spend.inc(amount)

    def storage_refused(self, what: str) -> None:
        self.storage_refusals.labels(what).inc()


class MetricsServer:
    """prometheus_client's HTTP server on its own thread, stoppable."""

    def __init__(self, registry: CollectorRegistry, addr: str, port: int) -> None:
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, addr, registry)

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked for any free one)."""
        return int(self._server.server_port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
