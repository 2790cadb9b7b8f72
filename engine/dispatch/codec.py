"""What a worker tells a job's surface, as JSON the adapter turns back into the same values.

The media (the preview and final files) travel beside this text; a result's paths are
rebuilt where the adapter wrote them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.models import (
    Action,
    DreamResult,
    JobFailure,
    ProgressSnapshot,
    SceneResult,
    Stage,
    StageProgress,
    StageStatus,
    VisualKind,
    Wait,
    WaitReason,
)
from engine.outcome import notice_data, notice_of

Data = dict[str, Any]


def snapshot_data(snapshot: ProgressSnapshot) -> Data:
    return {"title": snapshot.title, "stages": [_stage_data(s) for s in snapshot.stages]}


def snapshot_of(data: Data) -> ProgressSnapshot:
    return ProgressSnapshot(data["title"], tuple(_stage_of(s) for s in data["stages"]))


def failure_data(failure: JobFailure) -> Data:
    return {
        "job_id": failure.job_id,
        "stage": failure.stage.value,
        "reason": notice_data(failure.reason),
        "progress": snapshot_data(failure.progress) if failure.progress else None,
        "cancelled": failure.cancelled,
        "refunded": failure.refunded,
    }


def failure_of(data: Data) -> JobFailure:
    return JobFailure(
        data["job_id"],
        Stage(data["stage"]),
        notice_of(data["reason"]),
        snapshot_of(data["progress"]) if data["progress"] else None,
        cancelled=data["cancelled"],
        refunded=data["refunded"],
    )


def result_data(result: DreamResult) -> Data:
    """A delivered result without its files (they are sent beside it)."""
    return {
        "job_id": result.job_id,
        "title": result.title,
        "duration_s": result.duration_s,
        "scenes": [
            {
                "index": scene.index,
                "duration_s": scene.duration_s,
                "visual": scene.visual.value,
                "spoken": scene.spoken,
                "notes": list(scene.notes),
                "unreadable": scene.unreadable,
            }
            for scene in result.scenes
        ],
        "timings": {stage.value: seconds for stage, seconds in result.timings.items()},
        "progress": snapshot_data(result.progress) if result.progress else None,
        "notices": [notice_data(notice) for notice in result.notices],
    }


def result_of(data: Data, final: Path) -> DreamResult:
    """The result as the adapter has it: its final video at ``final``; the scenes' own
    files stay with the worker (an adapter shows only how many there were)."""
    return DreamResult(
        job_id=data["job_id"],
        title=data["title"],
        final=final,
        duration_s=data["duration_s"],
        scenes=tuple(
            SceneResult(
                scene["index"],
                final,
                scene["duration_s"],
                VisualKind(scene["visual"]),
                scene["spoken"],
                tuple(scene["notes"]),
                scene["unreadable"],
            )
            for scene in data["scenes"]
        ),
        timings={Stage(stage): seconds for stage, seconds in data["timings"].items()},
        progress=snapshot_of(data["progress"]) if data["progress"] else None,
        notices=tuple(notice_of(notice) for notice in data["notices"]),
    )


def actions_data(actions: list[Action]) -> Data:
    return {"actions": [action.value for action in actions]}


def actions_of(data: Data) -> list[Action]:
    return [Action(action) for action in data["actions"]]


def _stage_data(stage: StageProgress) -> Data:
    waiting = stage.waiting
    return {
        "stage": stage.stage.value,
        "status": stage.status.value,
        "done": stage.done,
        "total": stage.total,
        "fallbacks": stage.fallbacks,
        "elapsed_s": stage.elapsed_s,
        "queue_position": stage.queue_position,
        "waiting": None
        if waiting is None
        else {"reason": waiting.reason.value, "place": waiting.place, "eta_s": waiting.eta_s},
    }


def _stage_of(data: Data) -> StageProgress:
    waiting = data["waiting"]
    return StageProgress(
        Stage(data["stage"]),
        StageStatus(data["status"]),
        data["done"],
        data["total"],
        data["fallbacks"],
        data["elapsed_s"],
        data["queue_position"],
        None
        if waiting is None
        else Wait(WaitReason(waiting["reason"]), waiting["place"], waiting["eta_s"]),
    )
