"""What the engine reports for metrics: a port, so the engine never imports a metrics library.

Every label value the engine passes comes from a small fixed set (stage names, provider
roles, error class names, refusal reasons), so an exporter can use them as labels without
risking unbounded series.
"""

from __future__ import annotations

from typing import Protocol

from engine.errors import Refusal
from engine.models import JobState, Role, Stage, StageStatus


class Telemetry(Protocol):
    """Receives counts and durations as the engine works; every method must be cheap."""

    def stage_done(self, stage: Stage, status: StageStatus, seconds: float, provider: str) -> None:
        """A job's stage ended (``status`` is done or failed) after ``seconds``."""

    def job_ended(self, outcome: JobState) -> None:
        """A job ended: delivered, failed or cancelled."""

    def provider_failed(self, role: Role, error: str) -> None:
        """One provider call attempt failed; ``error`` is the engine error's class name."""

    def admission_refused(self, reason: Refusal) -> None:
        """A request was refused before any work (quota, running, banned, invalid, …)."""

    def spent(self, amount: float) -> None:
        """A delivered job was charged its estimated cost (in the operator's currency)."""

    def storage_refused(self, what: str) -> None:
        """The database refused a job write for now (it is retried until recorded);
        ``what`` is ``settle``, ``journal`` or ``job``."""


class NoTelemetry:
    """The default: nothing is recorded."""

    def stage_done(self, stage: Stage, status: StageStatus, seconds: float, provider: str) -> None:
        return None

    def job_ended(self, outcome: JobState) -> None:
        return None

    def provider_failed(self, role: Role, error: str) -> None:
        return None

    def admission_refused(self, reason: Refusal) -> None:
        return None

    def spent(self, amount: float) -> None:
        return None

    def storage_refused(self, what: str) -> None:
        return None
