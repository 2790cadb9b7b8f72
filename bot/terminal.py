"""The terminal surface: live stage progress in the console, files written to a folder."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.text import Text

from bot.i18n import ENGLISH, Words
from bot.progress_text import progress_lines
from engine import Action, DreamResult, JobFailure, JobTicket, ProgressSnapshot


class TerminalSurface:
    """Shows one job in a terminal and writes ``preview.mp4`` and ``final.mp4`` to ``out``."""

    def __init__(self, out: Path, console: Console, words: Words = ENGLISH) -> None:
        self.out = out
        self.console = console
        self.words = words
        self.failure: JobFailure | None = None
        self._live = Live(console=console, auto_refresh=False, transient=False)
        self._title = ""

    async def acknowledge(self, ticket: JobTicket) -> None:
        """Start the live view."""
        self._title = ticket.title
        self.console.print(
            self.words._(
                '🌙 Dreaming "{title}" (job {job})', title=ticket.title, job=ticket.job_id
            ),
            soft_wrap=True,
        )
        self._live.start()

    async def show_preview(self, preview: Path) -> None:
        """Copy the preview next to where the final will land."""
        target = self.out / "preview.mp4"
        shutil.copyfile(preview, target)
        self._live.console.print(self.words._("preview ready: {path}", path=target))

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        """Redraw the stage lines in place."""
        self._live.update(Text("\n".join(progress_lines(progress, self.words))), refresh=True)

    async def deliver_final(self, result: DreamResult) -> None:
        """Move the final video into the output folder."""
        if result.progress is not None:
            await self.show_progress(result.progress)
        self._stop_live()
        target = self.out / "final.mp4"
        shutil.move(result.final, target)
        self.console.print(
            self.words._(
                "final ready: {path} ({seconds} s)", path=target, seconds=f"{result.duration_s:.1f}"
            )
        )
        for notice in result.notices:
            self.console.print(f"ℹ️ {self.words.notice(notice)}", soft_wrap=True)

    async def fail(self, failure: JobFailure) -> None:
        """Remember why the job failed; the command prints it and exits non-zero."""
        if failure.progress is not None:
            await self.show_progress(failure.progress)
        self._stop_live()
        self.failure = failure

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        """A terminal has no buttons: Ctrl-C cancels, running the command again regenerates."""

    def close(self) -> None:
        """Stop the live view if a job ended without reaching final or fail."""
        self._stop_live()

    def _stop_live(self) -> None:
        if self._live.is_started:
            self._live.stop()
            if not self.console.is_terminal:
                # Off a terminal, rich leaves the cursor after the last frame's final line.
                self.console.line()
