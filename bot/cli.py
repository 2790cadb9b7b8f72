"""The ``dreambot`` console script: the terminal's dream, the admin commands and ``run``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bot import admin
from bot.i18n import process_locale, words
from bot.logs import configure_logging
from bot.progress_text import stage_name
from bot.settings import Settings
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
)
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.providers.local import LocalVoice

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130
DESCRIPTION = (
    "Turn a story into a narrated video from the terminal, run the Telegram and Discord "
    "bots, and manage their users' quotas. Settings come from the environment or a .env "
    "file (docs/configuration.md)."
)
USER = "telegram:ID or discord:ID"
# What --out must not look like: it is a folder, and a new user often types a file name.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"})


def _language(text: str) -> Language:
    try:
        return Language.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``dreambot dream STORY --out DIR`` and the admin commands."""
    parser = argparse.ArgumentParser(prog="dreambot", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dream = commands.add_parser(
        "dream",
        help="turn a story into a narrated video (offline unless FAL_KEY or OPENAI_API_KEY is set)",
    )
    dream.add_argument("story", help='the story, in quotes (or "-" to read it from stdin)')
    dream.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="folder for preview.mp4 and final.mp4, made if missing (default: out)",
    )
    dream.add_argument("--seed", type=int, default=None, help="vary the look of the same story")
    dream.add_argument(
        "--lang",
        type=_language,
        default=None,
        help="the story's language as a BCP 47 tag (en, ru, pt-BR…); detected if left out",
    )
    dream.add_argument(
        "--shape",
        choices=[aspect.value for aspect in Aspect],
        default=Aspect.WIDE.value,
        help="wide, tall (for phones) or square (default: 16:9)",
    )
    dream.add_argument(
        "--voice", default=None, help="one of the voice provider's voices (default: its first)"
    )
    dream.add_argument("--no-captions", action="store_true", help="leave the words off the picture")

    quota = commands.add_parser(
        "quota", help="see or change a chat user's daily quota (in DREAMBOT_DB)"
    )
    quota_commands = quota.add_subparsers(dest="quota_command", required=True, metavar="COMMAND")
    quota_commands.add_parser("show", help="a user's quota today").add_argument("user", help=USER)
    grant = quota_commands.add_parser("grant", help="give a user N more dreams today")
    grant.add_argument("user", help=USER)
    grant.add_argument("dreams", type=int, metavar="N")
    quota_commands.add_parser("reset", help="give a user a full quota again today").add_argument(
        "user", help=USER
    )
    commands.add_parser("ban", help="refuse every dream from a chat user").add_argument(
        "user", help=USER
    )
    commands.add_parser("unban", help="lift a ban").add_argument("user", help=USER)
    commands.add_parser(
        "stats",
        help="the chat bots' jobs by state, median stage times, spend today (not terminal dreams)",
    )
    commands.add_parser(
        "run", help="run the Telegram and Discord bots whose tokens are set, until stopped"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.command == "run":
            return asyncio.run(run_bots(settings))
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


async def run_bots(settings: Settings) -> int:
    """``dreambot run``, with its database checked before the chat libraries are imported.

    aiogram alone takes seconds to import, and a damaged database must be refused at once;
    with no bot to run, no database is made.
    """
    books = await Books.open(settings.db, settings.quota_policy()) if settings.has_bot else None
    try:
        from bot.run import run

        return await run(settings, books)
    finally:
        if books is not None:
            await books.close()


async def administer(args: argparse.Namespace, settings: Settings) -> int:
    """Run one admin command against the database named by DREAMBOT_DB."""
    try:
        user = parse_user(args.user) if hasattr(args, "user") else ""
    except UsageError as exc:
        print(f"dreambot: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    # A report never makes a database: a missing one is most likely a wrong DREAMBOT_DB.
    reporting = args.command == "stats" or getattr(args, "quota_command", "") == "show"
    try:
        books = await Books.open(settings.db, settings.quota_policy(), create=not reporting)
    except DatabaseMissingError as exc:
        print(
            f"dreambot: there is no database at {exc.path} (DREAMBOT_DB), so nothing to report; "
            "dreambot run makes it",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    try:
        if args.command == "stats":
            text = f"{settings.db.absolute()} (chat bots only):\n" + await admin.stats(books)
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
