"""The ``dreambot`` console script: the terminal's dream, the admin commands and ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.logs import configure_logging
from bot.settings import NO_BOT, ProcessRole, Settings, refused_settings

if TYPE_CHECKING:
    from engine import Language

# Only the above is imported before the command line is read: the engine, rich and the chat
# libraries take seconds, and `dreambot run` without a token must say so at once (issue 16).
# The commands themselves are in bot.commands, imported once they are known to be needed.
EXIT_REFUSED = 2  # as in bot.commands
# engine.Aspect's values (tests/bot/test_cli.py holds them equal), for --shape's choices.
SHAPES = ("16:9", "9:16", "1:1")
DESCRIPTION = (
    "Turn a story into a narrated video from the terminal, run the Telegram and Discord "
    "bots, and manage their users' quotas. Settings come from the environment or a .env "
    "file (docs/configuration.md)."
)
USER = "telegram:ID or discord:ID"


def _language(text: str) -> Language:
    from engine import Language

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
        choices=SHAPES,
        default=SHAPES[0],
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
    ).add_argument(
        "--role",
        choices=[role.value for role in ProcessRole],
        default=ProcessRole.ALL.value,
        help="all: one process does everything (the default); with DREAMBOT_DATABASE_URL, "
        "adapter: the chat bots, which queue jobs for workers; worker: runs queued jobs",
    )
    database = commands.add_parser("db", help="the database itself")
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    database_commands.add_parser(
        "migrate-to",
        help="copy the SQLite file's users, bans, grants, settings and finished jobs to an "
        "empty PostgreSQL database (stop the bot first)",
    ).add_argument(
        "url",
        nargs="?",
        help="postgresql://user:password@host/database; by default DREAMBOT_DATABASE_URL, "
        "which keeps the password out of the process list and the shell's history",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for line in refused_settings(exc):
            print(f"dreambot: {line}", file=sys.stderr)
        return EXIT_REFUSED
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "run":
        role = ProcessRole(args.role)
        if role is not ProcessRole.ALL and settings.database_url is None:
            print(f"dreambot: --role {role} needs DREAMBOT_DATABASE_URL", file=sys.stderr)
            return EXIT_REFUSED
        if role is not ProcessRole.WORKER and not settings.has_bot:
            print(NO_BOT, file=sys.stderr)
            return EXIT_REFUSED
    from bot.commands import execute

    return execute(args, settings)
