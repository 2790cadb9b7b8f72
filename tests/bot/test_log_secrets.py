"""Credentials never reach the logs, at any level: Discord interaction tokens, bot tokens."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging
from bot.redaction import REDACTED, redact
from tests.bot.test_discord import OWNER, Build, discord_bot  # noqa: F401 - the fixture


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes the process's logging; give the next test it back."""
    root = logging.getLogger()
    handlers, level, factory = root.handlers[:], root.level, logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_an_interaction_at_debug_logs_no_token(
    discord_bot: Build,  # noqa: F811 - the fixture
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    restored_logging: None,
    fmt: str,
) -> None:
    configure_logging("DEBUG", fmt)  # as main() does: a handler on stderr, the redaction
    logging.getLogger().addHandler(caplog.handler)  # basicConfig(force=True) took it away
    t = await discord_bot()
    payload = await t.dream(OWNER)
    await t.jobs.drain()

    written = capsys.readouterr().err
    captured = caplog.text + "".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    for secret in (payload["token"], "fake-discord-token"):
        assert secret not in written and secret not in captured
    # discord.py did log the webhook calls, with the token's place in the path redacted.
    assert f"/interactions/{payload['id']}/{REDACTED}/callback" in captured
    assert f"/{REDACTED}/messages/@original" in written
    if fmt == "json":
        assert all(json.loads(line) for line in written.splitlines())


@pytest.mark.parametrize(
    ("logged", "shown"),
    [
        (
            "POST https://discord.com/api/v10/webhooks/1300000000000000001/aW50ZXJh-c_t0k3n",
            f"POST https://discord.com/api/v10/webhooks/1300000000000000001/{REDACTED}",
        ),
        (
            "GET https://api.telegram.org/bot123456:AAE-x_Yz9/getUpdates?offset=1",
            f"GET https://api.telegram.org/bot{REDACTED}/getUpdates?offset=1",
        ),
        (
            "{'op': 2, 'd': {'token': 'MTA.x.y', 'intents': 1}}",
            f"{{'op': 2, 'd': {{'token': '{REDACTED}', 'intents': 1}}}}",
        ),
        ("stage clips done in 2.1 s", "stage clips done in 2.1 s"),
    ],
)
def test_tokens_in_urls_and_payloads_are_redacted(logged: str, shown: str) -> None:
    assert redact(logged) == shown


def test_arguments_and_tracebacks_are_redacted_too(
    caplog: pytest.LogCaptureFixture, restored_logging: None
) -> None:
    configure_logging("DEBUG", "text")
    logging.getLogger().addHandler(caplog.handler)
    url = "https://api.telegram.org/bot123456:AAE-secret/sendMessage"

    class Url:  # an argument that is not a str, as aiohttp's URL objects are not
        def __str__(self) -> str:
            return url

    log = logging.getLogger("aiogram.session")
    log.warning("request to %s failed", Url())
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        log.exception("giving up")

    assert "AAE-secret" not in caplog.text
    assert caplog.text.count(f"/bot{REDACTED}/sendMessage") == 2
