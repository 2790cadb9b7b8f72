"""Progress as plain text lines, shared by every adapter that shows it."""

from __future__ import annotations

from engine import ProgressSnapshot, Stage, StageProgress, StageStatus

ICONS = {
    StageStatus.PENDING: "⬜",
    StageStatus.RUNNING: "⏳",
    StageStatus.DONE: "✅",
    StageStatus.FAILED: "❌",
    StageStatus.SKIPPED: "➖",
}
_WIDTH = max(len(stage.value) for stage in Stage) + 2


def describe_stage(progress: StageProgress) -> str:
    """What follows a stage's name: counts, fallbacks and time taken."""
    parts: list[str] = []
    if progress.total is not None:
        if progress.stage is Stage.SCRIPT or progress.status is not StageStatus.DONE:
            parts.append(f"{progress.done}/{progress.total}")
        else:
            parts.append(f"{progress.total}")
    if progress.fallbacks:
        parts.append(f"{progress.fallbacks} fell back")
    if progress.queue_position is not None and progress.status is StageStatus.RUNNING:
        parts.append(f"queue #{progress.queue_position}")
    if progress.elapsed_s is not None and progress.status in {StageStatus.DONE, StageStatus.FAILED}:
        parts.append(f"{progress.elapsed_s:.1f} s")
    if progress.status is StageStatus.SKIPPED:
        parts.append("skipped")
    return " · ".join(parts)


def progress_lines(snapshot: ProgressSnapshot) -> list[str]:
    """One line per stage, e.g. ``⏳ images    3/4``."""
    lines = []
    for progress in snapshot.stages:
        detail = describe_stage(progress)
        lines.append(f"{ICONS[progress.status]} {progress.stage.value:<{_WIDTH}}{detail}".rstrip())
    return lines
