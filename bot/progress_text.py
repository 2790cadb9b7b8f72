"""Progress as plain text lines, shared by every adapter that shows it."""

from __future__ import annotations

from bot.i18n import ENGLISH, NP_, Words
from engine import (
    JobFailure,
    ProgressSnapshot,
    Stage,
    StageProgress,
    StageStatus,
    Wait,
    WaitReason,
)

ICONS = {
    StageStatus.PENDING: "⬜",
    StageStatus.RUNNING: "⏳",
    StageStatus.DONE: "✅",
    StageStatus.FAILED: "❌",
    StageStatus.SKIPPED: "➖",
}
STAGE = "stage"  # the catalogs' context for stage names, which "scenes" elsewhere is not
_DELIVERY_SHOWN = frozenset({StageStatus.RUNNING, StageStatus.FAILED})
STAGE_NAMES = {
    Stage.PREVIEW: NP_("stage", "preview"),
    Stage.SCRIPT: NP_("stage", "script"),
    Stage.IMAGES: NP_("stage", "images"),
    Stage.NARRATION: NP_("stage", "narration"),
    Stage.CLIPS: NP_("stage", "clips"),
    Stage.SCENES: NP_("stage", "scenes"),
    Stage.MERGE: NP_("stage", "merge"),
    Stage.DELIVERY: NP_("stage", "delivery"),
}


def stage_name(stage: Stage, words: Words = ENGLISH) -> str:
    """A stage as the reader calls it."""
    return words.pgettext(STAGE, STAGE_NAMES[stage])


def describe_stage(progress: StageProgress, words: Words = ENGLISH) -> str:
    """What follows a stage's name: counts, fallbacks and time taken."""
    parts: list[str] = []
    if progress.total is not None:
        if progress.stage is Stage.SCRIPT or progress.status is not StageStatus.DONE:
            parts.append(f"{progress.done}/{progress.total}")
        else:
            parts.append(f"{progress.total}")
    if progress.fallbacks:
        parts.append(words.ngettext("{count} fell back", "{count} fell back", progress.fallbacks))
    if progress.queue_position is not None and progress.status is StageStatus.RUNNING:
        parts.append(words._("queue #{position}", position=progress.queue_position))
    if progress.waiting is not None and progress.status is StageStatus.RUNNING:
        parts.append(describe_wait(progress.waiting, words))
    if progress.elapsed_s is not None and progress.status in {StageStatus.DONE, StageStatus.FAILED}:
        parts.append(words._("{seconds} s", seconds=f"{progress.elapsed_s:.1f}"))
    if progress.status is StageStatus.SKIPPED:
        parts.append(words._("skipped"))
    return " · ".join(parts)


def describe_wait(wait: Wait, words: Words = ENGLISH) -> str:
    """A wait on this machine: for what, the place in line, and about how long."""
    place = wait.place or 1
    if wait.reason is WaitReason.RATE:
        said = words._("waiting for the provider's rate limit")
    elif wait.reason is WaitReason.ENCODER:
        said = words._("waiting for a free encoder, #{place}", place=place)
    else:
        said = words._("waiting for a free provider call, #{place}", place=place)
    if wait.eta_s is None:
        return said
    # Whole seconds, at least one: "about 0 s" would promise what no wait keeps.
    seconds = max(1, round(wait.eta_s))
    return f"{said} · " + words._("about {seconds} s", seconds=seconds)


def progress_lines(snapshot: ProgressSnapshot, words: Words = ENGLISH) -> list[str]:
    """One line per stage, e.g. ``⏳ images    3/4``.

    Delivery is listed only while it runs or once it failed: before, it would always say
    "pending", and once done the video itself says it.
    """
    shown = [
        p for p in snapshot.stages if p.stage is not Stage.DELIVERY or p.status in _DELIVERY_SHOWN
    ]
    width = max(len(stage_name(p.stage, words)) for p in shown) + 2
    lines = []
    for progress in shown:
        name, detail = stage_name(progress.stage, words), describe_stage(progress, words)
        lines.append(f"{ICONS[progress.status]} {name:<{width}}{detail}".rstrip())
    return lines


def failure_line(failed: JobFailure, words: Words) -> str:
    """What a failed or cancelled job says under its title, instead of a video."""
    # "Nothing was charged" only once the refund is in the books; until then (a database
    # refusing writes) the line says the refund is on its way, and is edited when it lands.
    if failed.cancelled:
        if failed.refunded:
            return words._("✖ Cancelled. Nothing was charged.")
        return words._("✖ Cancelled. The refund is still being recorded.")
    stage, reason = stage_name(failed.stage, words), words.notice(failed.reason)
    if failed.refunded:
        return words._(
            "❌ Failed at {stage}: {reason}. Nothing was charged.", stage=stage, reason=reason
        )
    return words._(
        "❌ Failed at {stage}: {reason}. The refund is still being recorded.",
        stage=stage,
        reason=reason,
    )
