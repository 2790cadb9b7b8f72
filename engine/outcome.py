"""How a job ended, written in its folder before the database is told.

A job's end is recorded in two places, in this order: a small file in the job's folder,
then its row (charge, stage times and state in one transaction). Between the two a
process may be killed, or the database may refuse writes for a while; the file is what
tells a restarted engine that the job already ended, so it settles the job as it ended
instead of running it again: a delivered video is not sent twice, and a job the user was
told had failed is never delivered and charged afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.models import JobState, Language, Stage
from engine.notice import Named, Notice, Value

OUTCOME_FILE = "outcome.json"
_BLOCK = 4096  # the size of the reserved file: a file system block

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its state, and for a failure the stage and what the user is told."""

    state: JobState
    stage: Stage | None = None
    notice: Notice | None = None


def reserve_outcome(workdir: Path) -> None:
    """Give a starting job its outcome file, "not ended yet", of a full block.

    Written while there is room, it lets the outcome be written in place later on a disk
    that has filled up meanwhile (overwriting allocated bytes needs no new block).
    """
    target = workdir / OUTCOME_FILE
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        # Not synced: it only claims the block; lost in a crash, the job simply resumes
        # (an empty or missing file reads as "not ended").
        with target.open("xb") as out:
            out.write(_padded({"state": None}))
    except FileExistsError:
        pass  # a resumed job keeps its own
    except OSError:
        log.warning("no outcome file could be made for %s", workdir.name, exc_info=True)


def write_outcome(workdir: Path, outcome: Outcome) -> bool:
    """Write the outcome durably; False when it could not be written.

    A synced file renamed into place, or, when the disk refuses a new file (full), the
    reserved file overwritten in place. A job whose outcome could not be written at all
    still settles in the database; it is logged.
    """
    target = workdir / OUTCOME_FILE
    partial = target.with_suffix(".part")
    data = _padded(
        {
            "state": outcome.state.value,
            "stage": outcome.stage.value if outcome.stage else None,
            "notice": notice_data(outcome.notice) if outcome.notice else None,
        }
    )
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    try:
        with target.open("r+b") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return True
    except OSError:
        log.warning("the outcome of %s could not be written", workdir.name, exc_info=True)
        return False


def _padded(data: dict[str, Any]) -> bytes:
    # One block, whatever the outcome says: JSON allows the trailing spaces.
    text = json.dumps(data).encode("utf-8")
    return text + b" " * max(0, _BLOCK - len(text))


def read_outcome(workdir: Path | None) -> Outcome | None:
    """The outcome a job's folder records, or None (the job has not ended, or no record)."""
    if workdir is None:
        return None
    try:
        data = json.loads((workdir / OUTCOME_FILE).read_text(encoding="utf-8"))
        if data["state"] is None:
            return None  # reserved when the job started; it has not ended
        return Outcome(
            JobState(data["state"]),
            Stage(data["stage"]) if data["stage"] else None,
            notice_of(data["notice"]) if data["notice"] else None,
        )
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        with contextlib.suppress(OSError):
            if (workdir / OUTCOME_FILE).stat().st_size == 0:
                return None  # a reservation a crash left empty: not ended
        log.warning("the outcome of %s is unreadable; ignored", workdir.name, exc_info=True)
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Half written by a process killed mid-write is impossible (rename), so this is
        # damage from outside: the job then resumes as if it had not ended.
        log.warning("the outcome of %s is unreadable; ignored", workdir.name, exc_info=True)
        return None


def notice_data(notice: Notice) -> dict[str, Any]:
    return {
        "message": notice.message,
        "plural": notice.plural,
        "count": notice.count,
        "values": {key: _value_data(value) for key, value in notice.values.items()},
    }


def _value_data(value: Value) -> dict[str, Any]:
    if isinstance(value, Notice):
        return {"notice": notice_data(value)}
    if isinstance(value, Language):
        return {"language": value.tag}
    if isinstance(value, Named):
        return {"text": value.display_name("en")}
    return {"text": value} if isinstance(value, str) else {"number": value}


def notice_of(data: dict[str, Any]) -> Notice:
    return Notice(
        data["message"],
        {key: _value_of(value) for key, value in data["values"].items()},
        plural=data["plural"],
        count=data["count"],
    )


def _value_of(data: dict[str, Any]) -> Value:
    if "notice" in data:
        return notice_of(data["notice"])
    if "language" in data:
        return Language.parse(data["language"])
    return data["text"] if "text" in data else data["number"]  # type: ignore[no-any-return]
