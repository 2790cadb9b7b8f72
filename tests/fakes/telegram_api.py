"""A loopback fake of the Telegram Bot API that the real aiogram 3 Bot talks to."""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, get_args

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import BodyPartReader, web

from bot.telegram_app.defaults import BOT_DEFAULTS
from tests.fakes import telegram_updates as tg

Fault = Literal["429", "blocked", "deleted", "500", "502", "409", "chat not found"]
Kind = Literal["text", "video", "animation"]
EDITS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}
)
# aiogram sends nested objects as JSON strings inside the form.
JSON_FIELDS = (
    "reply_markup", "reply_parameters", "media", "entities", "caption_entities",
    "link_preview_options", "commands", "results",
)  # fmt: skip
ACTIONS = frozenset({"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                     "upload_voice", "upload_document", "choose_sticker", "find_location",
                     "record_video_note", "upload_video_note"})  # fmt: skip
TOKEN = re.compile(r"\d+:[\w-]+")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
FAULTS: dict[str, tuple[int, str]] = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deleted": (400, EDIT_NOT_FOUND),
    "500": (500, "Internal Server Error"),
    # getUpdates while another getUpdates is open (https://core.telegram.org/bots/api#getupdates).
    "409": (
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one "
        "bot instance is running",
    ),
    # What api.telegram.org's front end answers while the Bot API behind it is away
    # (core.telegram.org/bots/api#making-requests: "ok" false with an error_code).
    "502": (502, "Bad Gateway"),
    # A gallery the bot was removed from, or an id that never was a chat.
    "chat not found": (400, "Bad Request: chat not found"),
}
# getUpdates "will not work if an outgoing webhook is set up" (Bot API, getUpdates).
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files on the cloud Bot API
# "Your bot will not be able to send more than 20 messages per minute to the same group"
# (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). Edits are not
# named there, so only calls that make a new message count. The FAQ's other figures ("one
# message per second" in a chat, "30 messages per second or so" overall) are advice to
# avoid, not limits it states, so the fake does not enforce them.
GROUP_MESSAGES_PER_MINUTE = 20
SENDS = frozenset({"sendMessage", "sendVideo", "sendAnimation", "copyMessage"})
# answerCallbackQuery takes each query once; a second answer, or an id Telegram never sent,
# gets this (the Bot API's own wording; text: "0-200 characters").
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CALLBACK_TEXT_LIMIT = 200
# Bot API, answerInlineQuery: "No more than 50 results per query are allowed."
INLINE_RESULTS_LIMIT = 50
# InlineQueryResult*: "id — Unique identifier for this result, 1-64 Bytes".
INLINE_ID_BYTES = 64
GENERAL_TOPIC = 1  # a forum's General topic, which every forum has and no one creates


@dataclass(frozen=True)
class FileInfo:
    """Stands in for an uploaded file part in recorded params."""

    name: str
    size: int


@dataclass(frozen=True)
class Call:
    """One request as received, rejected ones included: flood limits count attempts."""

    method: str
    params: dict[str, Any]
    chat_id: int | None
    at: float


@dataclass
class StoredFile:
    file_id: str
    kind: str
    size: int
    data: bytes | None  # None for files "fetched" from a URL
    width: int = 0
    height: int = 0
    duration: int = 0
    path: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": "u" + self.file_id,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "file_size": self.size,
            "mime_type": "video/mp4",
        }


@dataclass
class StoredMessage:
    """A message in a chat; `text` is the text of a text message or a media caption, as sent."""

    chat_id: int
    message_id: int
    kind: Kind
    text: str | None = None
    parse_mode: str | None = None
    file_id: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    sender: dict[str, Any] | None = None  # None: the bot sent it
    date: int = field(default_factory=lambda: int(time.time()))
    edit_date: int | None = None
    deleted: bool = False


@dataclass
class _Fault:
    method: str
    fault: Fault
    left: int
    chat_id: int | None
    retry_after: int


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.lstrip("-").isdigit() else None


def _reply(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


@dataclass
class _Request:
    params: dict[str, Any]
    uploads: dict[str, tuple[str, bytes]]  # part name -> (filename, data)
    method: str


class FakeTelegramAPI:
    """Bot API on 127.0.0.1 with per-chat message state, Telegram's checks and fault injection.

    `fake.bot()` builds an aiogram Bot pointed here; close it with `await bot.session.close()`.
    Faults are consumed by the first matching call and replace its answer, so the call has no
    effect. Records: calls, unexpected, uploads (method, size), messages[chat_id][message_id].
    """

    def __init__(
        self, *, username: str = "dreambot_test_bot", upload_limit_bytes: int = 50 * 1024 * 1024
    ) -> None:
        self.upload_limit_bytes = upload_limit_bytes
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        self.uploads: list[tuple[str, int]] = []
        self.messages: dict[int, dict[int, StoredMessage]] = {}
        self.files: dict[str, StoredFile] = {}
        self.chats: dict[int, dict[str, Any]] = {}  # chat JSON learnt from built updates
        self.me: dict[str, Any] = {"id": 123, "is_bot": True, "first_name": "Dreambot",
                                   "username": username}  # fmt: skip
        self._faults: list[_Fault] = []
        self.webhook_url = ""  # a webhook left set by an earlier deployment, if not empty
        self.webhook_secret = ""
        self.webhook_deliveries: list[int] = []  # the HTTP status of each update posted
        self._posting: set[asyncio.Task[None]] = set()
        self.revoked_tokens: set[str] = set()  # well formed, refused: revoked in @BotFather
        self.commands: dict[str, list[dict[str, str]]] = {}  # by language_code ("" default)
        self.sent_at: dict[int, list[float]] = {}  # when each new message landed, per chat
        self.callback_answers: dict[str, dict[str, Any]] = {}  # query id -> its one answer
        self._queries: set[str] = set()  # callback query ids sent in updates, not answered
        # Inline mode is switched on in @BotFather (/setinline); until then getMe says
        # supports_inline_queries false and Telegram sends no inline queries.
        self.inline_mode = False
        self._inline_queries: set[str] = set()  # inline query ids sent, not answered
        self.inline_answers: dict[str, dict[str, Any]] = {}  # inline query id -> its answer
        self.topics: dict[int, dict[int, str]] = {}  # forum chat -> topic thread id -> name
        self._poll: asyncio.Future[None] | None = None  # the getUpdates being held open
        self._last_id: dict[int, int] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._handlers: dict[str, Callable[[_Request], Any]] = {
            "getMe": lambda r: (
                self.me | {"can_join_groups": True, "supports_inline_queries": self.inline_mode}
            ),
            "answerInlineQuery": self._answer_inline,
            "sendMessage": self._send_message,
            "sendVideo": self._send_media,
            "sendAnimation": self._send_media,
            "editMessageText": self._edit_text,
            "editMessageCaption": self._edit_caption,
            "editMessageMedia": self._edit_media,
            "editMessageReplyMarkup": self._edit_markup,
            "deleteMessage": self._delete,
            "answerCallbackQuery": self._answer_callback,
            "createForumTopic": self._create_topic,
            "sendChatAction": self._chat_action,
            "copyMessage": self._copy,
            "getFile": self._get_file,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "setMyCommands": self._set_my_commands,
            "getWebhookInfo": lambda r: {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            },
            "getUpdates": lambda r: [],  # answered by _get_updates: it waits (long polling)
        }
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._holds: dict[str, asyncio.Event] = {}
        self._late: dict[str, tuple[int, asyncio.Event]] = {}
        self._called = asyncio.Event()  # set on every call, for tests waiting on calls
        # While down, every call is answered 502, as the Bot API's front end does when the
        # service behind it is unreachable.
        self.down = False
        # Telegram matches method names case-insensitively.
        self._by_lower = {name.lower(): name for name in self._handlers}

    # -- scripting and records ------------------------------------------------------------

    def bot(self, token: str = "123:ABC", **kwargs: Any) -> Bot:  # noqa: S107 - a fake token
        """A Bot on this fake, with dreambot's own defaults (``bot.telegram_app.defaults``)."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url, is_local=False))
        kwargs.setdefault("default", BOT_DEFAULTS)
        return Bot(token, session=session, **kwargs)

    def fail(
        self,
        method: str,
        fault: Fault,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
    ) -> None:
        if method not in self._handlers or fault not in get_args(Fault):
            raise ValueError(f"unknown method or fault: {method!r}, {fault!r}")
        self._faults.append(_Fault(method, fault, times, chat_id, retry_after))

    def hold(self, method: str) -> asyncio.Event:
        """Calls of `method` are recorded but not answered until the returned event is set
        (a slow upload, as far as the bot can tell)."""
        if method not in self._handlers:
            raise ValueError(f"unknown method: {method!r}")
        return self._holds.setdefault(method, asyncio.Event())

    def answer_late(self, method: str, times: int = 1) -> asyncio.Event:
        """The next `times` calls of `method` take effect, as Telegram applies a request it
        has received whole, but their answer waits for the returned event: a client whose
        timeout is shorter sees a timeout although the call landed."""
        if method not in self._handlers:
            raise ValueError(f"unknown method: {method!r}")
        release = asyncio.Event()
        self._late[method] = (times, release)
        return release

    async def wait_calls(self, method: str, count: int) -> None:
        """Return once `count` calls of `method` were received (answered or refused)."""
        while len(self.calls_of(method)) < count:
            self._called.clear()
            await self._called.wait()

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for a bot that polls with getUpdates, or post it to its webhook."""
        if self.webhook_url:
            posting = asyncio.get_running_loop().create_task(self._post_update(update))
            self._posting.add(posting)
            posting.add_done_callback(self._posting.discard)
            return
        self._updates.append(update)
        self._new_update.set()

    async def _post_update(self, update: dict[str, Any], secret: str | None = None) -> None:
        """An HTTPS POST of one JSON-serialized Update, with the secret token in the
        X-Telegram-Bot-Api-Secret-Token header (Bot API, setWebhook)."""
        token = self.webhook_secret if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        try:
            async with (
                aiohttp.ClientSession() as client,
                client.post(self.webhook_url, json=update, headers=headers) as answer,
            ):
                self.webhook_deliveries.append(answer.status)
        except aiohttp.ClientError:
            # An unreachable webhook: Telegram keeps the update pending and tries again;
            # after deleteWebhook, getUpdates returns it.
            if secret is None:
                self._updates.append(update)
                self._new_update.set()

    async def post_update_with_secret(self, update: dict[str, Any], secret: str) -> int:
        """Post an update as someone who is not Telegram would: the status it got."""
        await self._post_update(update, secret)
        return self.webhook_deliveries.pop()

    def _set_my_commands(self, r: _Request) -> bool:
        """setMyCommands: "At most 100 commands"; BotCommand.command "1-32 characters. Can
        contain only lowercase English letters, digits and underscores", description
        "1-256 characters"; language_code "A two-letter ISO 639-1 language code" or empty."""
        commands = r.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        code = str(r.params.get("language_code") or "")
        if code and not re.fullmatch(r"[a-z]{2}", code):
            raise _bad("invalid language code specified")
        self.commands[code] = commands
        return True

    def _set_webhook(self, r: _Request) -> bool:
        url = str(r.params.get("url", ""))
        # The cloud Bot API takes HTTPS URLs only; a local Bot API server (which
        # TELEGRAM_API_BASE points the bot at here) also takes "an HTTP URL", "any local
        # IP address and any port" (https://core.telegram.org/bots/api#using-a-local-bot-api-server).
        if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        secret = str(r.params.get("secret_token", ""))
        # secret_token: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed."
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        self.webhook_url, self.webhook_secret = url, secret
        if str(r.params.get("drop_pending_updates", "")).lower() == "true":
            self._updates.clear()
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: confirmed updates (below `offset`) go; wait a little for new ones.

        A getUpdates that arrives while another is held open ends that one with 409
        ("terminated by other getUpdates request", Bot API getUpdates): two instances on
        one token take turns at failing.
        """
        offset = _int(params.get("offset")) or 0
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)
        if self._updates:
            return list(self._updates)
        self._new_update.clear()
        poll = self._poll = asyncio.get_running_loop().create_future()
        arrived = asyncio.ensure_future(self._new_update.wait())
        try:
            wait = min(float(params.get("timeout") or 0), 1.0)
            await asyncio.wait({poll, arrived}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            arrived.cancel()
        if poll.done():
            raise ApiError(*FAULTS["409"])
        poll.cancel()
        return list(self._updates)

    def _delete_webhook(self, r: _Request) -> bool:
        # drop_pending_updates: "Pass True to drop all pending updates" (deleteWebhook).
        self.webhook_url = ""
        if str(r.params.get("drop_pending_updates", "")).lower() == "true":
            self._updates.clear()
        return True

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """The user deletes a message: later edits of it fail as on Telegram."""
        self.messages[chat_id][message_id].deleted = True

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def chat_calls(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if c.chat_id == chat_id]

    def edits_per_second_max(self, chat_id: int) -> float:
        """Most edit calls to the chat inside any 1-second window [t, t + 1)."""
        times = sorted(c.at for c in self.chat_calls(chat_id) if c.method in EDITS)
        return float(
            max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
        )

    def message_update(
        self,
        update_id: int,
        chat_id: int,
        user_id: int,
        text: str,
        chat_type: str = "private",
        username: str | None = None,
        message_id: int | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user's message, stored in the chat so the bot can reply to it."""
        message_id = message_id or self._last_id.get(chat_id, 0) + 1
        self._last_id[chat_id] = max(message_id, self._last_id.get(chat_id, 0))
        replied = self.messages.get(chat_id, {}).get(reply_to or 0)
        update = tg.message_update(
            update_id, chat_id, user_id, text, chat_type, username, message_id,
            self._message_json(replied) if replied else reply_to, thread_id, entities,
        )  # fmt: skip
        message = update["message"]
        if chat_id in self.topics:  # a forum stays one, whatever the built update says
            message["chat"] = self.chats[chat_id]
        self.chats[chat_id] = message["chat"]
        self.messages.setdefault(chat_id, {})[message_id] = StoredMessage(
            chat_id, message_id, "text", text, reply_to=reply_to, thread_id=thread_id,
            sender=message["from"], date=message["date"],
        )  # fmt: skip
        return update

    def callback_update(
        self, update_id: int, chat_id: int, user_id: int, message_id: int, data: str
    ) -> dict[str, Any]:
        """A button press on a stored message (an InaccessibleMessage once it is deleted)."""
        found = self.messages.get(chat_id, {}).get(message_id)
        if found is not None and not found.deleted:
            message = self._message_json(found)
        else:
            message = {"chat": self._chat_json(chat_id), "message_id": message_id, "date": 0}
        update = tg.callback_update(update_id, chat_id, user_id, message_id, data, message)
        self._queries.add(update["callback_query"]["id"])
        return update

    def inline_update(self, update_id: int, user_id: int, query: str) -> dict[str, Any]:
        """Someone typing "@bot QUERY" in any chat (only once inline mode is on)."""
        if not self.inline_mode:
            raise AssertionError("Telegram sends inline queries only to bots with inline mode")
        update = tg.inline_update(update_id, user_id, query)
        self._inline_queries.add(update["inline_query"]["id"])
        return update

    def forum(self, chat_id: int) -> None:
        """A supergroup with topics, as built updates from it show it ("is_forum")."""
        self.chats[chat_id] = tg.chat_json(chat_id, "supergroup") | {"is_forum": True}
        self.topics.setdefault(chat_id, {GENERAL_TOPIC: "General"})
        # A topic's id is the id of the message that opened it; General's is taken.
        self._last_id[chat_id] = max(self._last_id.get(chat_id, 0), GENERAL_TOPIC)

    def group_sends_per_minute_max(self, chat_id: int) -> int:
        """Most messages the bot made in the chat inside any 60-second window."""
        times = sorted(self.sent_at.get(chat_id, []))
        return max(
            (bisect.bisect_left(times, t + 60.0) - i for i, t in enumerate(times)), default=0
        )

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._unexpected)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        for posting in list(self._posting):
            posting.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- protocol -------------------------------------------------------------------------

    async def _unexpected(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return _reply({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        params: dict[str, Any] = {}
        uploads: dict[str, tuple[str, bytes]] = {}
        if request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is None:
                    params[part.name] = await part.text()
                else:
                    uploads[part.name] = (part.filename, bytes(await part.read()))
        else:  # form-urlencoded, or a GET with a query string
            params.update(request.query)
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params, uploads

    async def _api(self, request: web.Request) -> web.Response:
        params, uploads = await self._read(request)
        token, name = request.match_info["token"], request.match_info["method"]
        method = self._by_lower.get(name.lower(), name)
        recorded = params | {k: FileInfo(f, len(d)) for k, (f, d) in uploads.items()}
        unparsed = []  # answered with a 400 below, once the call is recorded
        for key in JSON_FIELDS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = recorded[key] = json.loads(params[key])
                except ValueError:
                    unparsed.append(key)
        chat_id = _int(params.get("chat_id"))
        self.calls.append(Call(method, recorded, chat_id, time.monotonic()))
        self._called.set()
        if (gate := self._holds.get(method)) is not None:
            await gate.wait()
        try:
            if self.down:
                raise ApiError(*FAULTS["502"])
            if method not in self._handlers:
                self.unexpected.append(method)
                raise ApiError(404, "Not Found: method not found")
            if not TOKEN.fullmatch(token) or token in self.revoked_tokens:
                raise ApiError(401, "Unauthorized")
            self._take_fault(method, chat_id)
            if method in SENDS and chat_id is not None:
                self._check_group_flood(chat_id)
            if unparsed:
                raise _bad(f"can't parse {unparsed[0]} JSON object")
            if sum(len(data) for _, data in uploads.values()) > self.upload_limit_bytes:
                raise ApiError(413, "Request Entity Too Large")
            self.me["id"] = int(token.split(":")[0])  # the bot's id is its token's prefix
            if method == "getUpdates":
                if self.webhook_url:
                    raise ApiError(409, WEBHOOK_CONFLICT)
                result = await self._get_updates(params)
            else:
                result = self._handlers[method](_Request(params, uploads, method))
            if method in SENDS and chat_id is not None:
                self.sent_at.setdefault(chat_id, []).append(time.monotonic())
            await self._answer_late(method)
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False, "error_code": error.code, "description": error.description,
            }  # fmt: skip
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return _reply(body, error.code)
        return _reply({"ok": True, "result": result})

    def _check_group_flood(self, chat_id: int) -> None:
        """A group (negative ids are groups and channels) past its messages a minute gets a
        429 naming when the oldest of them leaves the minute."""
        if chat_id >= 0:
            return
        now = time.monotonic()
        recent = [t for t in self.sent_at.get(chat_id, []) if now - t < 60.0]
        if len(recent) >= GROUP_MESSAGES_PER_MINUTE:
            wait = max(1, math.ceil(recent[-GROUP_MESSAGES_PER_MINUTE] + 60.0 - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    async def _answer_late(self, method: str) -> None:
        if method not in self._late:
            return
        times, release = self._late[method]
        if times <= 1:
            del self._late[method]
        else:
            self._late[method] = (times - 1, release)
        await release.wait()

    def _take_fault(self, method: str, chat_id: int | None) -> None:
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.left -= 1
                if fault.left <= 0:
                    self._faults.remove(fault)
                if fault.fault == "429":
                    description = f"Too Many Requests: retry after {fault.retry_after}"
                    raise ApiError(429, description, fault.retry_after)
                raise ApiError(*FAULTS[fault.fault])

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        found = next((f for f in self.files.values() if f.path == path), None)
        if found is None or found.data is None:
            return await self._unexpected(request)
        return web.Response(body=found.data, content_type="video/mp4")

    # -- state ----------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any], key: str = "chat_id") -> int:
        chat_id = _int(params.get(key))
        if chat_id is None:  # "@channel" names and missing ids alike
            raise _bad("chat not found")
        return chat_id

    def _find(self, chat_id: int, message_id: Any, action: str) -> StoredMessage:
        found = self.messages.get(chat_id, {}).get(_int(message_id) or 0)
        if found is None or found.deleted:
            raise _bad(f"message to {action} not found")
        return found

    def _target(self, r: _Request) -> StoredMessage:
        if "inline_message_id" in r.params:
            raise _bad("inline messages are not supported by FakeTelegramAPI")
        found = self._find(self._chat(r.params), r.params.get("message_id"), "edit")
        if found.sender is not None:
            raise _bad("message can't be edited")
        return found

    def _add(self, chat_id: int, r: _Request, kind: Kind, **fields: Any) -> StoredMessage:
        p = r.params
        reply = p.get("reply_parameters") or {}
        reply_to = _int(str(reply.get("message_id", p.get("reply_to_message_id", ""))))
        replied = self.messages.get(chat_id, {}).get(reply_to or 0)
        # A reply to a message that is gone (never sent, or deleted: groups that remove
        # commands at once) fails unless allow_sending_without_reply (Bot API,
        # ReplyParameters).
        if reply_to is not None and (replied is None or replied.deleted):
            if not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
            reply_to = None
        thread_id = self._thread(chat_id, _int(str(p.get("message_thread_id", ""))), replied)
        message_id = self._last_id[chat_id] = self._last_id.get(chat_id, 0) + 1
        message = StoredMessage(
            chat_id, message_id, kind, reply_markup=p.get("reply_markup"), reply_to=reply_to,
            thread_id=thread_id, **fields,
        )  # fmt: skip
        self.messages.setdefault(chat_id, {})[message_id] = message
        return message

    def _thread(
        self, chat_id: int, thread_id: int | None, replied: StoredMessage | None
    ) -> int | None:
        """The forum topic a new message lands in. message_thread_id is "for forum
        supergroups only" and must name a topic; a reply goes to its message's topic, and a
        message naming none to General (Bot API, sendMessage and ForumTopic)."""
        topics = self.topics.get(chat_id)
        if topics is None:
            return None
        if thread_id is not None and thread_id not in topics:
            raise _bad("message thread not found")
        if thread_id is None and replied is not None and replied.thread_id is not None:
            return replied.thread_id
        return thread_id if thread_id not in (None, GENERAL_TOPIC) else None

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        return self.chats.get(chat_id) or tg.chat_json(chat_id)

    def _message_json(self, m: StoredMessage, nested: bool = True) -> dict[str, Any]:
        chat = self._chat_json(m.chat_id)
        out: dict[str, Any] = {
            "message_id": m.message_id, "date": m.date, "chat": chat, "from": m.sender or self.me,
        }  # fmt: skip
        if m.thread_id is not None:
            out["message_thread_id"] = m.thread_id
            if m.chat_id in self.topics:
                out["is_topic_message"] = True
        replied = self.messages.get(m.chat_id, {}).get(m.reply_to or 0)
        if nested and replied is not None:  # Telegram does not nest replies further
            out["reply_to_message"] = self._message_json(replied, nested=False)
        text = tg.plain_text(m.text or "", m.parse_mode) or None
        if m.kind == "text":
            out["text"] = text
        else:
            out[m.kind] = self.files[m.file_id or ""].json()
            if text:
                out["caption"] = text
        if m.reply_markup:
            out["reply_markup"] = m.reply_markup
        if m.edit_date:
            out["edit_date"] = m.edit_date
        return out

    @staticmethod
    def _check_text(text: str | None, parse_mode: str | None, caption: bool = False) -> None:
        if problem := tg.text_problem(text or "", parse_mode, caption):
            raise _bad(problem)

    def _file(self, r: _Request, ref: Any, kind: str, meta: dict[str, Any]) -> StoredFile:
        """A new file for an attach:// upload or a URL; the stored one for a file_id."""
        if not isinstance(ref, str) or not ref:
            raise _bad(f"there is no {kind} in the request")
        if not ref.startswith(("attach://", "http://", "https://")):
            if ref not in self.files:
                raise _bad("wrong file identifier/HTTP URL specified")
            if self.files[ref].kind != kind:
                raise _bad(f"can't use file of type {self.files[ref].kind} as {kind}")
            return self.files[ref]
        data = None
        if ref.startswith("attach://"):
            if ref[9:] not in r.uploads:
                raise _bad("wrong HTTP URL specified")
            data = r.uploads[ref[9:]][1]
            if not data:
                raise _bad("file must be non-empty")
            self.uploads.append((r.method, len(data)))
        number = len(self.files) + 1
        width, height, duration = (
            _int(str(meta.get(k))) or 0 for k in ("width", "height", "duration")
        )
        file_id = f"{'vid' if kind == 'video' else 'anim'}-{number}"
        stored = StoredFile(file_id, kind, len(data or b""), data, width, height, duration)
        self.files[file_id] = stored
        return stored

    # -- methods --------------------------------------------------------------------------

    def _send_message(self, r: _Request) -> dict[str, Any]:
        chat_id, text, mode = self._chat(r.params), r.params.get("text"), r.params.get("parse_mode")
        self._check_text(text, mode)
        return self._message_json(self._add(chat_id, r, "text", text=text, parse_mode=mode))

    def _send_media(self, r: _Request) -> dict[str, Any]:
        kind: Kind = "video" if r.method == "sendVideo" else "animation"
        p, chat_id = r.params, self._chat(r.params)
        self._check_text(p.get("caption"), p.get("parse_mode"), caption=True)
        file = self._file(r, p.get(kind), kind, p)  # last: a refused call records no upload
        fields = {"text": p.get("caption"), "parse_mode": p.get("parse_mode")}
        return self._message_json(self._add(chat_id, r, kind, file_id=file.file_id, **fields))

    def _edited(
        self, m: StoredMessage, new: tuple[Any, ...], kind: Kind | None = None
    ) -> dict[str, Any]:
        """Applies (text, parse_mode, file_id, reply_markup) unless it is what is there."""
        if new == (m.text, m.parse_mode, m.file_id, m.reply_markup):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        m.kind = kind or m.kind
        m.text, m.parse_mode, m.file_id, m.reply_markup = new
        m.edit_date = int(time.time())
        return self._message_json(m)

    def _edit_text(self, r: _Request) -> dict[str, Any]:
        m, text, mode = self._target(r), r.params.get("text"), r.params.get("parse_mode")
        if m.kind != "text":
            raise _bad("there is no text in the message to edit")
        self._check_text(text, mode)
        # Leaving reply_markup out of an edit removes the keyboard, as on Telegram.
        return self._edited(m, (text, mode, None, r.params.get("reply_markup")))

    def _edit_caption(self, r: _Request) -> dict[str, Any]:
        m, caption, mode = self._target(r), r.params.get("caption"), r.params.get("parse_mode")
        if m.kind == "text":
            raise _bad("there is no caption in the message to edit")
        self._check_text(caption, mode, caption=True)
        return self._edited(m, (caption, mode, m.file_id, r.params.get("reply_markup")))

    def _edit_media(self, r: _Request) -> dict[str, Any]:
        media, m = r.params.get("media"), self._target(r)
        kind = media.get("type") if isinstance(media, dict) else None
        if not isinstance(media, dict) or kind not in ("video", "animation"):
            self.unexpected.append(f"editMessageMedia type {kind}")
            raise _bad(f"media type {kind!r} is not supported by FakeTelegramAPI")
        caption, mode, ref = media.get("caption"), media.get("parse_mode"), media.get("media")
        self._check_text(caption, mode, caption=True)
        # A file_id resolves to the stored file, so resending the current one is "not modified".
        file = self._file(r, ref, kind, media)
        return self._edited(m, (caption, mode, file.file_id, r.params.get("reply_markup")), kind)

    def _edit_markup(self, r: _Request) -> dict[str, Any]:
        m = self._target(r)
        return self._edited(m, (m.text, m.parse_mode, m.file_id, r.params.get("reply_markup")))

    def _delete(self, r: _Request) -> bool:
        self._find(self._chat(r.params), r.params.get("message_id"), "delete").deleted = True
        return True

    def _answer_callback(self, r: _Request) -> bool:
        query = str(r.params.get("callback_query_id", ""))
        if query not in self._queries:
            raise _bad(QUERY_INVALID)
        if len(str(r.params.get("text", ""))) > CALLBACK_TEXT_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
        self._queries.discard(query)
        self.callback_answers[query] = r.params
        return True

    def _answer_inline(self, r: _Request) -> bool:
        """answerInlineQuery (Bot API): one answer per query, at most 50 results, each with
        a unique id of 1-64 bytes; a cached video names a stored video's file_id and has a
        title (InlineQueryResultCachedVideo)."""
        query = str(r.params.get("inline_query_id", ""))
        if query not in self._inline_queries:
            raise _bad(QUERY_INVALID)
        results = r.params.get("results")
        if not isinstance(results, list):
            raise _bad("results must be an array of InlineQueryResult")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise _bad("RESULTS_TOO_MUCH")
        ids = [str(result.get("id", "")) for result in results]
        if any(not 1 <= len(rid.encode()) <= INLINE_ID_BYTES for rid in ids):
            raise _bad("RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise _bad("RESULT_ID_DUPLICATE")
        for result in results:
            if result.get("type") != "video" or "video_file_id" not in result:
                self.unexpected.append(f"inline result {result.get('type')}")
                raise _bad("only cached videos are supported by FakeTelegramAPI")
            if not result.get("title"):
                raise _bad("RESULT_TITLE_EMPTY")
            stored = self.files.get(str(result["video_file_id"]))
            if stored is None or stored.kind != "video":
                raise _bad("wrong file identifier/HTTP URL specified")
        self._inline_queries.discard(query)
        self.inline_answers[query] = r.params
        return True

    def _create_topic(self, r: _Request) -> dict[str, Any]:
        """createForumTopic: in a forum supergroup only; name "1-128 characters"."""
        chat_id = self._chat(r.params)
        if chat_id not in self.topics:
            raise _bad("the chat is not a forum")
        name = str(r.params.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        thread_id = self._last_id[chat_id] = self._last_id.get(chat_id, 0) + 1
        self.topics[chat_id][thread_id] = name
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def _chat_action(self, r: _Request) -> bool:
        self._chat(r.params)
        if r.params.get("action") not in ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _copy(self, r: _Request) -> dict[str, Any]:
        chat_id = self._chat(r.params)
        source = self._find(
            self._chat(r.params, "from_chat_id"), r.params.get("message_id"), "copy"
        )
        text, mode = source.text, source.parse_mode
        if source.kind != "text" and "caption" in r.params:  # a new caption; text is kept
            text, mode = r.params["caption"], r.params.get("parse_mode")
            self._check_text(text, mode, caption=True)
        fields = {"text": text, "parse_mode": mode, "file_id": source.file_id}
        return {"message_id": self._add(chat_id, r, source.kind, **fields).message_id}

    def _get_file(self, r: _Request) -> dict[str, Any]:
        found = self.files.get(r.params.get("file_id", ""))
        if found is None:
            raise _bad("invalid file_id")
        if found.size > DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        found.path = found.path or f"videos/file_{found.file_id}.mp4"
        return {"file_id": found.file_id, "file_unique_id": "u" + found.file_id,
                "file_size": found.size, "file_path": found.path}  # fmt: skip
