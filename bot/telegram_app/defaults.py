"""What every Bot API call of the bot carries unless it says otherwise."""

from __future__ import annotations

from aiogram.client.default import DefaultBotProperties

# Every reply still lands when the message it answers is gone: groups that delete commands
# at once would otherwise make help, quota and refusal replies fail with "message to be
# replied not found" (Bot API, ReplyParameters.allow_sending_without_reply).
BOT_DEFAULTS = DefaultBotProperties(allow_sending_without_reply=True)
