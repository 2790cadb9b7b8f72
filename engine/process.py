"""Runs a child process that dies with its caller: on timeout and on cancellation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from engine.errors import ProcessTimeoutError


async def run_process(
    argv: Sequence[str], *, timeout_s: float, stdin: bytes | None = None
) -> tuple[int, str]:
    """Run argv (never through a shell) and return (exit code, stderr text)."""
    code, _, err = await _run(argv, timeout_s, stdin, asyncio.subprocess.DEVNULL)
    return code, err


async def read_process(argv: Sequence[str], *, timeout_s: float) -> tuple[int, str]:
    """Run argv (never through a shell) and return (exit code, stdout text)."""
    code, out, _ = await _run(argv, timeout_s, None, asyncio.subprocess.PIPE)
    return code, out


async def _run(
    argv: Sequence[str], timeout_s: float, stdin: bytes | None, stdout: int
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    except TimeoutError:
        await _kill(proc)
        raise ProcessTimeoutError(f"{argv[0]} took longer than {timeout_s:g} s") from None
    except BaseException:
        # Cancelled, or the loop is closing: the child must not outlive the work it was for.
        await _kill(proc)
        raise
    text = (out or b"").decode("utf-8", errors="replace")
    return proc.returncode or 0, text, err.decode("utf-8", errors="replace")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
