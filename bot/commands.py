"""The bodies of the ``dreambot`` commands: imported by bot.cli once the command line is
parsed and, for ``run``, once a bot token is known to be set (the engine, rich and the chat
libraries take seconds to import; issue 16)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from bot import admin
from bot.i18n import process_locale, words
from bot.progress_text import stage_name
from bot.settings import ProcessRole, Settings
from bot.terminal import TerminalSurface
from bot.users import parse_user
from engine import (
    Aspect,
    Books,
    DatabaseMissingError,
    DatabaseUnusableError,
    Engine,
    Language,
    Look,
    QuotaPolicy,
    StageFailedError,
    StoryRejectedError,
    UsageError,
    describe_database,
    is_server_url,
)
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.providers.local import LocalVoice

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130
# What --out must not look like: it is a folder, and a new user often types a file name.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"})


def execute(args: argparse.Namespace, settings: Settings) -> int:
    """Run the parsed command; return the process exit code."""
    try:
        if args.command == "run":
            return asyncio.run(run_bots(settings, ProcessRole(args.role)))
        if args.command == "db":
            return asyncio.run(migrate_books(args.url, settings))
        if args.command != "dream":
            return asyncio.run(administer(args, settings))
        story = sys.stdin.read() if args.story == "-" else args.story
        return asyncio.run(
            dream(
                story,
                out=args.out,
                seed=args.seed,
                language=args.lang,
                look=Look(Aspect(args.shape), args.voice, captions=not args.no_captions),
                settings=settings,
            )
        )
    except KeyboardInterrupt:
        print("dreambot: " + words(process_locale())._("cancelled"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except DatabaseUnusableError as exc:
        print(f"dreambot: {exc}", file=sys.stderr)
        return EXIT_REFUSED


async def run_bots(settings: Settings, role: ProcessRole = ProcessRole.ALL) -> int:
    """``dreambot run``, with its database checked before the chat libraries are imported.

    aiogram alone takes seconds to import, and a damaged database must be refused at once;
    with no bot to run (and no worker), no database is made.
    """
    worker = role is ProcessRole.WORKER
    books = (
        await Books.open(settings.database(), settings.quota_policy())
        if settings.has_bot or worker
        else None
    )
    try:
        if worker and books is not None:
            from bot.worker import work

            return await work(settings, books)
        from bot.run import run

        return await run(settings, books, role)
    finally:
        if books is not None:
            await books.close()


async def migrate_books(url: str | None, settings: Settings) -> int:
    """``dreambot db migrate-to``: the SQLite file's books into an empty PostgreSQL database."""
    target = url or settings.database()
    if not is_server_url(target):
        print(
            "dreambot: name the PostgreSQL database to move to: dreambot db migrate-to URL, "
            "or set DREAMBOT_DATABASE_URL",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    policy = settings.quota_policy()
    try:
        source = await Books.open(settings.db, policy, create=False)
    except DatabaseMissingError as exc:
        print(
            f"dreambot: there is no database at {exc.path} (DREAMBOT_DB) to move", file=sys.stderr
        )
        return EXIT_REFUSED
    try:
        destination = await Books.open(target, policy)
        try:
            copied = await source.copy_into(destination)
        finally:
            await destination.close()
    except UsageError as exc:
        print(f"dreambot: nothing was moved: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await source.close()
    counts = ", ".join(f"{rows} {table}" for table, rows in copied.items())
    print(f"{describe_database(settings.db)} → {describe_database(target)}: {counts}")
    return 0


async def administer(args: argparse.Namespace, settings: Settings) -> int:
    """Run one admin command against the database (DREAMBOT_DATABASE_URL or DREAMBOT_DB)."""
    try:
        user = parse_user(args.user) if hasattr(args, "user") else ""
    except UsageError as exc:
        print(f"dreambot: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    # A report never makes a database: a missing one is most likely a wrong DREAMBOT_DB.
    reporting = args.command == "stats" or getattr(args, "quota_command", "") == "show"
    try:
        books = await Books.open(settings.database(), settings.quota_policy(), create=not reporting)
    except DatabaseMissingError as exc:
        print(
            f"dreambot: there is no database at {exc.path} (DREAMBOT_DB), so nothing to report; "
            "dreambot run makes it",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    try:
        if args.command == "stats":
            text = (
                f"{describe_database(settings.database())} (chat bots only):\n"
                + await admin.stats(books)
            )
        elif args.command in {"ban", "unban"}:
            text = await admin.set_banned(books, user, args.command == "ban")
        elif args.quota_command == "grant":
            text = await admin.grant(books, user, args.dreams)
        elif args.quota_command == "reset":
            text = await admin.reset(books, user)
        else:
            text = await admin.show(books, user)
    finally:
        await books.close()
    print(text)
    return 0


def _scratch_in(out: Path) -> tempfile.TemporaryDirectory[str]:
    """Make ``out`` and the job's scratch folder in it, or say in one line why they cannot be."""
    if out.suffix.lower() in VIDEO_SUFFIXES and not out.is_dir():
        raise UsageError(
            f"--out names a folder for preview.mp4 and final.mp4, not a video file: "
            f"try --out {out.with_suffix('')}"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; it must name a folder (made if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in out.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise UsageError(f"cannot make the folder {out}: {blocker} is a file") from exc
        raise UsageError(f"cannot make the folder {out} ({exc.strerror or exc})") from exc
    try:
        # Made first of all, so an unwritable folder is refused before any work.
        return tempfile.TemporaryDirectory(prefix=".dreambot-", dir=out)
    except OSError as exc:
        raise UsageError(f"cannot write in the folder {out} ({exc.strerror or exc})") from exc


async def dream(
    story: str,
    *,
    out: Path,
    seed: int | None,
    language: Language | None,
    settings: Settings,
    look: Look | None = None,
) -> int:
    """Make one video in ``out``, showing progress; return the process exit code."""
    try:
        scratch_folder = _scratch_in(out)
    except UsageError as exc:
        print(f"dreambot: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    console = Console(stderr=True, highlight=False)
    said = words(process_locale())
    with scratch_folder as scratch:
        config = settings.engine_config(work_dir=Path(scratch))
        ffmpeg = FFmpeg(
            locate_ffmpeg(),
            max_procs=config.limits.ffmpeg,
            timeout_s=config.limits.ffmpeg_timeout_s,
        )
        # Imported here: the provider SDKs are slow to import and admin commands need none.
        from bot.providers import build_providers

        try:
            built = build_providers(settings, ffmpeg, config.render)
        except UsageError as exc:
            print(f"dreambot: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        # The terminal's user is the operator: the books live and die with the scratch folder.
        try:
            books = await Books.open(Path(scratch) / "books.sqlite3", QuotaPolicy.unlimited())
        except BaseException:
            await built.close()
            raise
        engine = Engine(
            config, built.providers, ffmpeg, books=books, estimate_cost=built.estimate_cost
        )
        try:
            voices = built.providers.voice.choices
            if look is not None and look.voice is not None and look.voice not in voices:
                wrong = said._("--voice must be one of {voices}", voices=", ".join(voices))
                print(f"dreambot: {wrong}", file=sys.stderr)
                return EXIT_REFUSED
            request = await engine.admit(
                story, requester="terminal:local", seed=seed, language=language, look=look
            )
            if built.choice["voice"] == "local" and not LocalVoice().speaks:
                console.print(
                    said._("note: espeak-ng is not installed, so the narration is silent")
                )
            surface = TerminalSurface(out, console, said)
            try:
                result = await engine.dream(request, surface)
            finally:
                surface.close()
        except StoryRejectedError as refusal:
            print(f"dreambot: {said.notice(refusal.notice)}", file=sys.stderr)
            return EXIT_REFUSED
        except StageFailedError as failure:
            failed = said._(
                "failed at {stage}: {reason}",
                stage=stage_name(failure.stage, said),
                reason=said.notice(failure.notice),
            )
            print(f"dreambot: {failed}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            await books.close()
            await built.close()
    timings = "  ".join(f"{stage.value} {secs:.1f}s" for stage, secs in result.timings.items())
    console.print(said._("stage timings: {timings}", timings=timings), soft_wrap=True)
    print(out / "final.mp4")
    return 0
