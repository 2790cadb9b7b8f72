"""A loopback fake of Discord's REST API and Gateway v10 that the real discord.py 2.7 talks to.

REST lives under `api_base`; the gateway is a websocket at `gateway_url` (/gateway). A
`discord.Client` started with `client.start(token)` connects to it over the network: the fake
sends HELLO, ACKs every HEARTBEAT, checks the token of IDENTIFY (4004 if `token` is set and
differs) and answers READY (no guilds), then `dispatch()` / `send_interaction()` push events to
every identified connection with per-session sequence numbers. RESUME of a known session gets
RESUMED, of an unknown one INVALID_SESSION (d=false); `request_reconnect()` sends RECONNECT.
Frames are plain JSON text, whatever `compress` the client asked for (discord.py decompresses
binary frames only). `install()` points discord.py's REST base and its default gateway (which a
non-sharded Client uses instead of asking GET /gateway/bot) at the fake.

    async with FakeDiscordAPI(heartbeat_interval_ms=50) as fake:
        fake.install(monkeypatch)              # Route.BASE and DiscordWebSocket.DEFAULT_GATEWAY
        client = discord.Client(intents=discord.Intents.none(), guild_ready_timeout=0.05)
        task = asyncio.create_task(client.start("fake-token"))
        await fake.wait_connected()            # IDENTIFY accepted, READY sent
        await fake.send_interaction(fake.command_payload("dream", {"story": "a cat"}))
        await fake.wait_until(lambda: bool(fake.calls_to("callback")))
        await client.close()
        await task

discord.py fires `on_ready` only after `guild_ready_timeout` (2 s by default) passes without a
GUILD_CREATE, even with no guilds and no intents; pass a small value to the Client for speed.
It also sleeps 5 s in `Client.before_identify_hook` before every IDENTIFY but the first (after
an invalid session, say), and its `close()` reaches the gateway as close code 4000, not 1000:
its own poll loop closes the socket first.

Without a gateway, interactions can also be fed to a logged-in client with `deliver()`, which
runs the client's own INTERACTION_CREATE parser (the one its gateway would call), so the real
`CommandTree`, persistent views and dynamic items dispatch them; it then awaits the tasks that
dispatch spawned.

    async with FakeDiscordAPI() as fake:
        fake.install(monkeypatch)
        client = discord.Client(intents=discord.Intents.none())
        await client.login("fake-token")       # GET /users/@me, GET /oauth2/applications/@me
        await deliver(client, fake.command_payload("dream", {"story": "a cat"}))
        await client.close()
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import json
import logging
import math
import mimetypes
import re
import secrets
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, get_args

import pytest
import regex
import yarl
from aiohttp import BodyPartReader, WSMsgType, web

from tests.fakes import discord_payloads as dp
from tests.fakes import discord_rules as rules

with warnings.catch_warnings():
    # discord.voice_client imports audioop, deprecated on 3.11; filterwarnings=error would turn
    # the first import of discord into a failure.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord as discord  # re-exported: tests import discord from here
    import discord.gateway
    import discord.http

Kind = Literal[
    "users_me", "application", "gateway", "commands", "callback", "original", "followup",
    "channel_message", "edit_channel_message", "member", "roles", "channel", "user",
]  # fmt: skip
Fault = Literal["429", "500", "401_expired", "403", "404"]
API = "/api/v10"
CONTENT_LIMIT = 2000
ATTACHMENTS_LIMIT = 10
DELIVERY_TIMEOUT_S = 10.0
FLAG_SUPPRESS_EMBEDS, FLAG_EPHEMERAL, FLAG_LOADING = 4, 64, 128
CREATE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | 4096 | 32768  # + suppress notif., v2
MESSAGE_DEFAULT, MESSAGE_CHAT_INPUT = 0, 20
CALLBACK_MESSAGE, CALLBACK_DEFERRED, CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE = 4, 5, 6, 7
CALLBACK_MODAL = 9
EDITING_CALLBACKS = frozenset({CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE})

# (status, code, message) of Discord's JSON errors
UNAUTHORIZED = (401, 0, "401: Unauthorized")
NOT_FOUND = (404, 0, "404: Not Found")
METHOD_NOT_ALLOWED = (405, 0, "405: Method Not Allowed")
SERVER_ERROR = (500, 0, "500: Internal Server Error")
# discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
UNKNOWN_GUILD = (404, 10004, "Unknown Guild")
UNKNOWN_MEMBER = (404, 10007, "Unknown Member")
UNKNOWN_USER = (404, 10013, "Unknown User")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")
INVALID_WEBHOOK_TOKEN = (401, 50027, "Invalid Webhook Token")
MISSING_ACCESS = (403, 50001, "Missing Access")
EMPTY_MESSAGE = (400, 50006, "Cannot send an empty message")
TOO_LARGE = (413, 40005, "Request entity too large")
INVALID_JSON = (400, 50109, "The request body contains invalid JSON.")
FAULTS = {
    "500": SERVER_ERROR, "401_expired": INVALID_WEBHOOK_TOKEN, "403": MISSING_ACCESS,
    "404": UNKNOWN_MESSAGE,
}  # fmt: skip
FILE_PART = re.compile(r"files\[(\d+)\]")

# Gateway v10: opcodes and the close codes Discord uses
GATEWAY_VERSION = "10"
HEARTBEAT_INTERVAL_MS = 41250
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_GUILD_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11
IGNORED_OPS = frozenset({OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE, OP_REQUEST_GUILD_MEMBERS})
UNKNOWN_OPCODE = (4001, "Unknown opcode.")
DECODE_ERROR = (4002, "Error while decoding payload.")
NOT_AUTHENTICATED = (4003, "Not authenticated.")
AUTHENTICATION_FAILED = (4004, "Authentication failed.")
ALREADY_AUTHENTICATED = (4005, "Already authenticated.")
INVALID_API_VERSION = (4012, "Invalid API version.")
INVALID_SHARD = (4010, "Invalid shard.")
SHARDING_REQUIRED = (4011, "Sharding required.")
GOING_AWAY = (1001, "Going away.")
WAIT_TIMEOUT_S = 5.0
# docs.discord.com/developers/interactions/receiving-and-responding#responding-to-an-interaction:
# "you must send an initial response within 3 seconds of receiving the event. If the 3 second
# deadline is exceeded, the token will be invalidated"; "Interaction tokens are valid for 15
# minutes" (#followup-messages), after which the webhook answers 401 Invalid Webhook Token.
FIRST_RESPONSE_S = 3.0
SIGNED_FOR_S = 24 * 3600.0  # how long a signed attachment URL lasts
TOKEN_LIFETIME_S = 15 * 60.0
_ROUTES: list[tuple[str, str, Kind]] = [
    ("GET", r"/users/@me", "users_me"),
    ("GET", r"/oauth2/applications/@me", "application"),
    ("GET", r"/gateway(?:/bot)?", "gateway"),
    ("GET PUT", r"/applications/(?P<app>\d+)(?:/guilds/(?P<guild>\d+))?/commands", "commands"),
    ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", "callback"),
    ("GET PATCH DELETE", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/@original",
     "original"),
    ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", "followup"),
    ("GET PATCH DELETE", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>\d+)",
     "followup"),
    ("POST", r"/channels/(?P<cid>\d+)/messages", "channel_message"),
    ("GET DELETE", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", "channel_message"),
    ("PATCH", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", "edit_channel_message"),
    ("GET", r"/guilds/(?P<guild>\d+)/members/(?P<uid>\d+)", "member"),
    ("GET", r"/guilds/(?P<guild>\d+)/roles", "roles"),
    ("GET", r"/channels/(?P<cid>\d+)", "channel"),
    ("GET", r"/users/(?P<uid>\d+)", "user"),
]  # fmt: skip
ROUTES = [(methods, re.compile(path), kind) for methods, path, kind in _ROUTES]
BOT_KINDS = frozenset(
    {"users_me", "application", "gateway", "commands", "channel_message", "edit_channel_message",
     "member", "roles", "channel", "user"}
)  # fmt: skip


@dataclass(frozen=True)
class FileInfo:
    """A file part as received: its form field, file name and size."""

    field: str
    filename: str
    size: int


@dataclass
class Call:
    """One request as received, refused ones included (rate limits count attempts).

    `body` is the JSON body, or the decoded `payload_json` part of a multipart request.
    `message_id` is the message the call targets, when the fake could tell before answering.
    """

    method: str
    path: str  # after /api/v10, as discord.py built it
    kind: Kind | None
    query: dict[str, str]
    body: Any
    files: tuple[FileInfo, ...]
    multipart: bool
    at: float
    message_id: int | None = None
    status: int = 0


@dataclass(frozen=True)
class Upload:
    kind: Kind
    filename: str
    size: int
    message_id: int


@dataclass
class StoredAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None
    description: str | None = None
    created: float = 0.0  # on the fake's clock: when its URLs are signed from

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class StoredMessage:
    """A message as Discord keeps it; `allowed_mentions` is the last one sent for it, as sent."""

    id: int
    channel_id: int
    content: str = ""
    attachments: list[StoredAttachment] = field(default_factory=list)
    embeds: list[Any] = field(default_factory=list)
    components: list[Any] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    flags: int = 0
    type: int = MESSAGE_DEFAULT
    interaction_id: int | None = None  # set on interaction responses and followups
    created: float = field(default_factory=time.time)
    edited: float | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)


@dataclass
class InteractionState:
    """What the fake knows of an interaction it built a payload for."""

    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    upload_limit: int
    payload: dict[str, Any]
    component_message_id: int | None = None
    response_type: int | None = None
    original_id: int | None = None
    expired: bool = False
    created: float = 0.0  # on the fake's clock, when Discord sent the event
    message_ids: set[int] = field(default_factory=set)  # original and followups
    modal: dict[str, Any] | None = None  # the modal this interaction was answered with


@dataclass(eq=False)
class GatewayConnection:
    """One websocket on /gateway: its query, what the client sent and what the fake sent back.

    `identify` is the IDENTIFY payload's `d` (token, intents, properties...), `ready` is set once
    the fake answered READY or RESUMED; `close_code` is the code of the first close frame and
    `closed_by` who sent it ("client" or "fake").
    """

    query: dict[str, str]
    ws: web.WebSocketResponse = field(repr=False)
    received: list[dict[str, Any]] = field(default_factory=list, repr=False)
    sent: list[dict[str, Any]] = field(default_factory=list, repr=False)
    heartbeats: int = 0
    identify: dict[str, Any] | None = None
    resumed: bool = False
    session_id: str | None = None
    ready: bool = False  # stays True once the connection closes
    close_code: int | None = None
    closed_by: Literal["client", "fake"] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def open(self) -> bool:
        return self.close_code is None and not self.ws.closed

    @property
    def shard(self) -> tuple[int, int]:
        """[shard_id, num_shards] from IDENTIFY; a connection without one is [0, 1]."""
        shard = (self.identify or {}).get("shard") or [0, 1]
        return int(shard[0]), int(shard[1])

    def receives(self, guild_id: int | None) -> bool:
        """Whether this connection's shard gets events of ``guild_id``.

        docs.discord.com/developers/events/gateway#sharding: "shard_id = (guild_id >> 22) %
        num_shards"; "DMs will only be sent to shard 0".
        """
        shard_id, num_shards = self.shard
        return shard_id == (0 if guild_id is None else (guild_id >> 22) % num_shards)

    @property
    def events(self) -> list[str]:
        """The dispatched event names sent on this connection, in order."""
        return [frame["t"] for frame in self.sent if frame["op"] == OP_DISPATCH]


@dataclass
class _Fault:
    kind: Kind
    fault: Fault
    left: int
    retry_after: float


class ApiError(Exception):
    def __init__(
        self,
        error: tuple[int, int, str],
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        status, code, message = error
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = body or {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def _form_error(path: list[str], code: str, message: str) -> ApiError:
    """400 Invalid Form Body with Discord's nested `errors` object."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return ApiError((400, 50035, "Invalid Form Body"), errors)


# https://docs.discord.com/developers/reference#locales
LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko",
})  # fmt: skip
# https://docs.discord.com/developers/interactions/application-commands#application-command-naming
# CHAT_INPUT command and option names match this regex (unicode flag) and must use the
# lowercase variant of any letter that has one.
COMMAND_NAME = regex.compile(r"^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
# https://docs.discord.com/developers/interactions/application-commands#application-command-object
# descriptions are 1-100 characters; localizations follow the same rules as the field.
DESCRIPTION_MAX = 100


def _command_problem(item: dict[str, Any], path: list[str]) -> ApiError | None:
    """The form error Discord gives a command (or option) with a bad name or localization."""
    names = {"name": item.get("name")} | {
        f"name_localizations.{k}": v for k, v in (item.get("name_localizations") or {}).items()
    }
    descriptions = {"description": item.get("description")} | {
        f"description_localizations.{k}": v
        for k, v in (item.get("description_localizations") or {}).items()
    }
    for field_name in ("name_localizations", "description_localizations"):
        for locale in item.get(field_name) or {}:
            if locale not in LOCALES:
                return _form_error([*path, field_name, locale], "LOCALE_INVALID", "Invalid locale")
    for where, name in names.items():
        if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
            return _form_error(
                [*path, *where.split(".")], "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"
            )
    for where, text in descriptions.items():
        if not isinstance(text, str) or not 1 <= len(text) <= DESCRIPTION_MAX:
            return _form_error([*path, *where.split(".")], "BASE_TYPE_BAD_LENGTH", "Bad length")
    for n, option in enumerate(item.get("options") or []):
        if (problem := _command_problem(option, [*path, "options", str(n)])) is not None:
            return problem
    return _choices_problem(item.get("choices") or [], [*path, "choices"])


# Application command option choice structure: at most 25 choices; a name (and each of its
# localizations) of 1-100 characters; a string value of at most 100 characters.
CHOICES_MAX, CHOICE_MAX = 25, 100


def _choices_problem(choices: list[dict[str, Any]], path: list[str]) -> ApiError | None:
    if len(choices) > CHOICES_MAX:
        return _form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for n, choice in enumerate(choices):
        names = [choice.get("name"), *(choice.get("name_localizations") or {}).values()]
        for locale in choice.get("name_localizations") or {}:
            if locale not in LOCALES:
                return _form_error([*path, str(n), "name_localizations", locale],
                                   "LOCALE_INVALID", "Invalid locale")  # fmt: skip
        value = choice.get("value")
        if any(not isinstance(name, str) or not 1 <= len(name) <= CHOICE_MAX for name in names) or (
            isinstance(value, str) and len(value) > CHOICE_MAX
        ):
            return _form_error([*path, str(n)], "BASE_TYPE_BAD_LENGTH", "Bad length")
    return None


# docs.discord.com/developers/interactions/receiving-and-responding#interaction-response-
# object-modal and .../components/reference#text-input: a title and custom id, 1-5 action
# rows each holding one text input; a text input's label is at most 45 characters, its
# lengths 0-4000 (min) and 1-4000 (max), its style 1 (short) or 2 (paragraph), and a
# prefilled value no longer than 4000 characters or its own max_length.
MODAL_TITLE_MAX, CUSTOM_ID_MAX, TEXT_INPUT_MAX = 45, 100, 4000


def _modal_problem(data: dict[str, Any]) -> ApiError | None:
    """The form error Discord gives a modal it would not show."""
    title, custom_id = data.get("title"), data.get("custom_id")
    if not isinstance(title, str) or not 1 <= len(title) <= MODAL_TITLE_MAX:
        return _form_error(["data", "title"], "BASE_TYPE_BAD_LENGTH", "Bad length")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= CUSTOM_ID_MAX:
        return _form_error(["data", "custom_id"], "BASE_TYPE_BAD_LENGTH", "Bad length")
    rows = data.get("components")
    if not isinstance(rows, list) or not 1 <= len(rows) <= 5:
        return _form_error(["data", "components"], "BASE_TYPE_BAD_LENGTH", "Bad length")
    for n, row in enumerate(rows):
        where = ["data", "components", str(n)]
        inputs = row.get("components") if row.get("type") == 1 else None
        if not isinstance(inputs, list) or len(inputs) != 1 or inputs[0].get("type") != 4:
            return _form_error(where, "UNION_TYPE_CHOICES", "Value of field must be one of")
        text = inputs[0]
        low, high = text.get("min_length", 0), text.get("max_length", TEXT_INPUT_MAX)
        label, value = text.get("label", ""), text.get("value", "")
        if (
            text.get("style") not in (1, 2)
            or not 1 <= len(label) <= MODAL_TITLE_MAX
            or not 1 <= len(str(text.get("custom_id", ""))) <= CUSTOM_ID_MAX
            or not 0 <= low <= TEXT_INPUT_MAX
            or not 1 <= high <= TEXT_INPUT_MAX
            or len(value) > min(high, TEXT_INPUT_MAX)
        ):
            return _form_error([*where, "components", "0"], "BASE_TYPE_BAD_LENGTH", "Bad length")
    return None


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """discord.py decodes a body only when Content-Type is exactly `application/json`."""
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _id(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() else None


class FakeDiscordAPI:
    """Discord REST on 127.0.0.1 with message state, Discord's checks and fault injection.

    Records: `calls` (every request), `unexpected`, `messages` (by id), `uploads` (accepted
    files), `interactions` (by token), `commands` (synced, by guild id or None), `downloads`;
    the directory the bot may look up: `members` (by guild, then user id), `roles` (by guild),
    `channels` and `users` (by id), filled by `add_member()`, `add_role()`, `add_channel()`;
    on the gateway `connections` (every websocket) and `identifies` (every IDENTIFY's `d`).
    Faults are consumed by the first calls of their kind and replace the answer, so those
    calls have no effect.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        application_id: int = dp.APPLICATION_ID,
        username: str = "Dreambot",
        upload_limit_bytes: int = dp.UPLOAD_LIMIT,
        heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS,
        shards: int = 1,
    ) -> None:
        self.token = token  # None: any bot token is accepted, on REST and the gateway
        # GET /gateway/bot's recommended count; more than 1 makes an unsharded IDENTIFY
        # fail with 4011, as Discord does once a bot needs sharding.
        self.shards = shards
        self.heartbeat_interval_ms = heartbeat_interval_ms  # sent in HELLO
        self.application_id = application_id
        self.upload_limit_bytes = upload_limit_bytes  # for channel messages (bot token)
        self.me = dp.user_json(application_id, username, bot=True)
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        self.messages: dict[int, StoredMessage] = {}
        self.uploads: list[Upload] = []
        self.interactions: dict[str, InteractionState] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.downloads: list[int] = []
        self.members: dict[int, dict[int, dict[str, Any]]] = {}
        self.roles: dict[int, list[dict[str, Any]]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.connections: list[GatewayConnection] = []
        self.identifies: list[dict[str, Any]] = []
        self._sessions: dict[str, int] = {}  # session id -> last sequence number sent
        self._changed = asyncio.Event()
        self._attachments: dict[int, StoredAttachment] = {}
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._port = 0
        self._skew = 0.0  # seconds the fake's clock is ahead of the monotonic clock
        self._slow: dict[Kind, list[float]] = {}
        self._handlers: dict[Kind, Callable[..., Any]] = {
            "users_me": lambda r: self._bot_user(),
            "application": lambda r: self._application(),
            "gateway": self._gateway,
            "commands": self._commands,
            "callback": self._callback,
            "original": self._original,
            "followup": self._followup,
            "channel_message": self._channel_message,
            "edit_channel_message": self._channel_message,
            "member": self._member,
            "roles": self._roles,
            "channel": self._channel,
            "user": self._user,
        }

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("FakeDiscordAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """The value for `discord.http.Route.BASE`."""
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        """The gateway websocket, without the query (`?v=10&encoding=json&compress=...`)."""
        return self.base_url.replace("http://", "ws://", 1) + "/gateway"

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point discord.py's REST, interaction webhook calls and gateway here for this test.

        A non-sharded Client connects to `DiscordWebSocket.DEFAULT_GATEWAY` without asking
        GET /gateway/bot, so that is patched too."""
        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url)
        )

    async def start(self) -> None:
        self._closing = False
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", API + "/{tail:.*}", self._api)
        app.router.add_get("/attachments/{id}/{filename}", self._download)
        app.router.add_get("/gateway", self._gateway_socket)
        app.router.add_route("*", "/{tail:.*}", self._not_api)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening, close open gateway connections (1001 Going away: discord.py tries to
        resume, and is refused), then stop the server, which would otherwise wait its shutdown
        timeout for the websockets."""
        if self._runner is not None:
            self._closing = True
            for site in list(self._runner.sites):
                await site.stop()
            await asyncio.gather(*(self._close_socket(c, GOING_AWAY) for c in self.connections))
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- scripting ------------------------------------------------------------------------

    def fail(self, kind: Kind, fault: Fault, times: int = 1, *, retry_after: float = 0.05) -> None:
        """The next `times` calls of `kind` get `fault` instead of their answer."""
        if kind not in get_args(Kind) or fault not in get_args(Fault):
            raise ValueError(f"unknown route kind or fault: {kind!r}, {fault!r}")
        self._faults.append(_Fault(kind, fault, times, retry_after))

    def now(self) -> float:
        """The fake's clock (monotonic, plus every `advance`), for Discord's deadlines."""
        return time.monotonic() + self._skew

    def advance(self, seconds: float) -> None:
        """Time passes for Discord's deadlines (3 s first response, 15 min token), at once."""
        self._skew += seconds

    def slow(self, kind: Kind, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `kind` take `seconds`: the fake's clock moves on by that
        much while each is answered, so deadlines pass without the test waiting for them."""
        if kind not in get_args(Kind):
            raise ValueError(f"unknown route kind: {kind!r}")
        self._slow.setdefault(kind, []).extend([seconds] * times)

    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Learn an interaction payload's token, so its callback and webhook calls succeed."""
        message = payload.get("message")
        state = InteractionState(
            id=int(payload["id"]),
            token=payload["token"],
            type=payload["type"],
            channel_id=int(payload["channel_id"]),
            guild_id=_id(payload.get("guild_id")),
            upload_limit=int(payload["attachment_size_limit"]),
            payload=payload,
            component_message_id=int(message["id"]) if message else None,
            created=self.now(),
        )
        self.interactions[state.token] = state
        if message and state.component_message_id not in self.messages:
            self.messages[int(message["id"])] = StoredMessage(
                int(message["id"]), int(message["channel_id"]), message.get("content", ""),
                components=message.get("components", []), flags=message.get("flags", 0),
            )  # fmt: skip
        return payload

    def command_payload(
        self, name: str, options: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """`discord_payloads.command_payload` for this application, registered here."""
        kwargs.setdefault("application_id", self.application_id)
        return self.register(dp.command_payload(name, options, **kwargs))

    def button_payload(
        self, custom_id: str, *, message_id: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A button press on a stored message (`message_id`) or on a given `message` dict."""
        kwargs.setdefault("application_id", self.application_id)
        if message_id is not None:
            kwargs["message"] = self.message_json(self.messages[message_id])
        return self.register(dp.button_payload(custom_id, **kwargs))

    def modal_submit_payload(
        self,
        opened_by: dict[str, Any],
        values: dict[str, str],
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The modal that answered the interaction ``opened_by``, submitted with ``values``
        (its text inputs by custom id), as the same user in the same place."""
        state = self.interactions[opened_by["token"]]
        if state.modal is None:
            raise AssertionError("that interaction was not answered with a modal")
        asked = {row["components"][0]["custom_id"] for row in state.modal["components"]}
        if set(values) != asked:
            raise AssertionError(f"the modal has the inputs {sorted(asked)}")
        user = opened_by.get("member", {}).get("user") or opened_by["user"]
        kwargs.setdefault("application_id", self.application_id)
        message = opened_by.get("message")
        return self.register(
            dp.modal_submit_payload(
                state.modal["custom_id"],
                values,
                message=message,
                user_id=int(user["id"]),
                guild_id=_id(opened_by.get("guild_id")),
                channel_id=state.channel_id,
                **kwargs,
            )
        )

    def expire_token(self, token: str | dict[str, Any]) -> None:
        """15 minutes have passed: webhook calls get 401 Invalid Webhook Token (50027) and the
        callback 404 Unknown interaction (10062)."""
        key = token["token"] if isinstance(token, dict) else token
        self.interactions[key].expired = True

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        username: str,
        *,
        nick: str | None = None,
        global_name: str | None = None,
    ) -> dict[str, Any]:
        """A member of a guild the bot is in (and the user, for GET /users/{id})."""
        member = dp.member_json(user_id, username) | {"nick": nick}
        del member["permissions"]  # only interactions carry the member's channel permissions
        member["user"]["global_name"] = global_name
        self.users[user_id] = member["user"]
        self.members.setdefault(guild_id, {})[user_id] = member
        self.roles.setdefault(guild_id, [dp.role_json(guild_id, guild_id, "@everyone")])
        return member

    def add_role(self, guild_id: int, role_id: int, name: str) -> dict[str, Any]:
        """A role of a guild the bot is in; the guild's @everyone role comes with the first."""
        roles = self.roles.setdefault(guild_id, [dp.role_json(guild_id, guild_id, "@everyone")])
        roles.append(dp.role_json(role_id, guild_id, name, position=len(roles)))
        return roles[-1]

    def add_channel(self, channel_id: int, guild_id: int, name: str) -> dict[str, Any]:
        """A text channel the bot can see."""
        channel = dp.channel_json(channel_id, guild_id, name=name)
        del channel["permissions"]  # only interactions carry the bot's permissions in it
        self.channels[channel_id] = channel
        return channel

    def delete_message(self, message_id: int) -> None:
        """Someone deleted the message: later edits get 404 Unknown Message (10008)."""
        self.messages[message_id].deleted = True

    # -- gateway --------------------------------------------------------------------------

    @property
    def gateway_connections(self) -> int:
        """How many websockets connected to /gateway, closed ones included."""
        return len(self.connections)

    @property
    def heartbeats(self) -> int:
        """HEARTBEATs received on all connections (each was ACKed)."""
        return sum(c.heartbeats for c in self.connections)

    @property
    def ready_connections(self) -> list[GatewayConnection]:
        """Open connections that were answered READY or RESUMED: where events go."""
        return [c for c in self.connections if c.ready and c.open]

    # The waits take a timeout with a default (ASYNC109), so a forgotten one cannot hang a test.

    async def wait_until(
        self,
        predicate: Callable[[], object],
        timeout: float = WAIT_TIMEOUT_S,  # noqa: ASYNC109
    ) -> None:
        """Wait until `predicate()` is true. It is checked now and again after every REST call
        and every gateway frame or connection change, so it should test what the fake sees
        (client-side state is only looked at when traffic comes); TimeoutError after
        `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                if predicate():
                    return
                await changed.wait()

    async def wait_connected(
        self,
        timeout: float = WAIT_TIMEOUT_S,  # noqa: ASYNC109
        *,
        count: int = 1,
    ) -> GatewayConnection:
        """Wait until a client has IDENTIFIED (or RESUMED) and been sent READY (or RESUMED) on
        `count` connections in all (2: after one reconnect) and one of them is still open;
        return the newest open one."""

        def connected() -> bool:
            return sum(c.ready for c in self.connections) >= count and bool(self.ready_connections)

        await self.wait_until(connected, timeout)
        return self.ready_connections[-1]

    async def wait_disconnected(self, timeout: float = WAIT_TIMEOUT_S) -> None:  # noqa: ASYNC109
        """Wait until every gateway connection has closed (and there was at least one)."""
        await self.wait_until(
            lambda: self.connections and all(c.close_code is not None for c in self.connections),
            timeout,
        )

    async def dispatch(self, event: str, data: Any) -> None:
        """Send `{"op": 0, "t": event, "s": <next of the session>, "d": data}` to every open,
        identified connection whose shard has the event's guild (`data["guild_id"]`, none for
        a DM: shard 0); RuntimeError if there is none."""
        guild_id = _id(data.get("guild_id")) if isinstance(data, dict) else None
        targets = [c for c in self.ready_connections if c.receives(guild_id)]
        sent = [await self._send_dispatch(c, event, data) for c in targets]
        if not any(sent):
            raise RuntimeError(f"no gateway connection is ready for {event}")

    async def send_interaction(self, payload: dict[str, Any]) -> None:
        """INTERACTION_CREATE over the gateway; `payload` from `command_payload()` or
        `button_payload()` (a payload the fake does not know yet is registered first)."""
        if payload["token"] not in self.interactions:
            self.register(payload)
        await self.dispatch("INTERACTION_CREATE", payload)

    async def request_reconnect(self, *, resumable: bool = True) -> None:
        """Send RECONNECT (op 7) to every open connection: discord.py closes it (4000) and
        RESUMEs on `resume_gateway_url`. Unless `resumable`, the sessions are forgotten first,
        so the RESUME gets INVALID_SESSION (d=false) and the client IDENTIFIES again.
        Events sent while a client is away are not replayed."""
        targets = [c for c in self.connections if c.open]
        if not targets:
            raise RuntimeError("no gateway connection is open")
        if not resumable:
            self._sessions.clear()
        for conn in targets:
            await self._send(conn, OP_RECONNECT, None)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _gateway_socket(self, request: web.Request) -> web.StreamResponse:
        if self._closing:  # accepted just before close() stopped listening
            return web.Response(status=503)
        ws = web.WebSocketResponse(timeout=2.0)  # the wait for the client's close frame
        await ws.prepare(request)
        conn = GatewayConnection(dict(request.query), ws)
        self.connections.append(conn)
        self._notify()
        try:
            if conn.query.get("v") != GATEWAY_VERSION:
                await self._close_socket(conn, INVALID_API_VERSION)
            elif conn.query.get("encoding", "json") != "json":  # etf is not spoken here
                await self._close_socket(conn, DECODE_ERROR)
            else:
                await self._send(conn, OP_HELLO, {"heartbeat_interval": self.heartbeat_interval_ms})
                async for message in ws:
                    await self._gateway_frame(conn, message)
                    self._notify()
        finally:
            if conn.close_code is None:  # the client closed, or the connection was lost
                conn.close_code, conn.closed_by = ws.close_code or 1006, "client"
            self._notify()
        return ws

    async def _gateway_frame(self, conn: GatewayConnection, message: Any) -> None:
        if message.type is WSMsgType.ERROR:
            return
        try:
            frame = json.loads(message.data) if message.type is WSMsgType.TEXT else None
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("op"), int):
            await self._close_socket(conn, DECODE_ERROR)
            return
        conn.received.append(frame)
        op, data = frame["op"], frame.get("d")
        data = data if isinstance(data, dict) else {}
        if op == OP_HEARTBEAT:  # allowed before IDENTIFY: discord.py beats right after HELLO
            conn.heartbeats += 1
            await self._send(conn, OP_HEARTBEAT_ACK, None)
        elif op in (OP_IDENTIFY, OP_RESUME):
            if conn.identify is not None or conn.resumed:
                await self._close_socket(conn, ALREADY_AUTHENTICATED)
            elif op == OP_IDENTIFY:
                await self._identify(conn, data)
            else:
                await self._resume(conn, data)
        elif op not in IGNORED_OPS:
            await self._close_socket(conn, UNKNOWN_OPCODE)
        elif not conn.ready:
            await self._close_socket(conn, NOT_AUTHENTICATED)

    def _token_ok(self, token: Any) -> bool:
        return isinstance(token, str) and bool(token) and self.token in (None, token)

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        conn.identify = data
        if not self._token_ok(data.get("token")):
            await self._close_socket(conn, AUTHENTICATION_FAILED)
            return
        # docs.discord.com/developers/events/gateway#sharding: IDENTIFY's "shard" is
        # [shard_id, num_shards], shard_id below num_shards (else close 4010); a bot that
        # needs sharding and connects without it is closed with 4011.
        shard = data.get("shard")
        if shard is not None and not (
            isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]
        ):
            await self._close_socket(conn, INVALID_SHARD)
            return
        if self.shards > 1 and (shard is None or shard[1] == 1):
            await self._close_socket(conn, SHARDING_REQUIRED)
            return
        conn.session_id = secrets.token_hex(16)
        self._sessions[conn.session_id] = 0
        ready: dict[str, Any] = {
            "v": int(GATEWAY_VERSION), "user": self._bot_user(), "guilds": [],
            "session_id": conn.session_id, "session_type": "normal",
            "resume_gateway_url": self.gateway_url, "private_channels": [], "presences": [],
            "relationships": [], "user_settings": {}, "guild_join_requests": [],
            "geo_ordered_rtc_regions": [], "auth": {},
            "application": {"id": str(self.application_id), "flags": 0},
            "_trace": ['["fake-discord-gateway",{"micros":0}]'],
        }  # fmt: skip
        if "shard" in data:
            ready["shard"] = data["shard"]
        if await self._send_dispatch(conn, "READY", ready):
            conn.ready = True

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if not self._token_ok(data.get("token")):
            await self._close_socket(conn, AUTHENTICATION_FAILED)
        elif data.get("session_id") not in self._sessions:
            await self._send(conn, OP_INVALID_SESSION, False)  # the client closes, IDENTIFIES
        else:
            conn.session_id, conn.resumed = data["session_id"], True
            if await self._send_dispatch(conn, "RESUMED", {"_trace": ["fake-discord-gateway"]}):
                conn.ready = True

    async def _send_dispatch(self, conn: GatewayConnection, event: str, data: Any) -> bool:
        assert conn.session_id is not None
        seq = self._sessions[conn.session_id] = self._sessions.get(conn.session_id, 0) + 1
        return await self._send(conn, OP_DISPATCH, data, event=event, seq=seq)

    async def _send(
        self,
        conn: GatewayConnection,
        op: int,
        data: Any,
        *,
        event: str | None = None,
        seq: int | None = None,
    ) -> bool:
        """Send one frame as JSON text; False if the connection is already closing."""
        frame = {"op": op, "d": data, "s": seq, "t": event}
        async with conn.lock:
            if not conn.open:
                return False
            await conn.ws.send_str(json.dumps(frame))
            conn.sent.append(frame)
        return True

    async def _close_socket(self, conn: GatewayConnection, close: tuple[int, str]) -> None:
        if not conn.open:
            return
        conn.close_code, conn.closed_by = close[0], "fake"
        self._notify()
        await conn.ws.close(code=close[0], message=close[1].encode())

    # -- records --------------------------------------------------------------------------

    def calls_to(self, kind: Kind) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    def original(self, token: str | dict[str, Any]) -> StoredMessage:
        """The interaction's original response message."""
        key = token["token"] if isinstance(token, dict) else token
        original_id = self.interactions[key].original_id
        if original_id is None:
            raise LookupError("the interaction has no original response yet")
        return self.messages[original_id]

    def attachment_url(self, attachment: StoredAttachment) -> str:
        """The URL a message shows now. Discord's attachment URLs are signed and expire: the
        CDN answers 404 past ``ex`` (hex seconds), and a message read again carries one
        signed afresh (discord.com/developers/docs/reference#signed-attachment-cdn-urls)."""
        lived = max(0.0, self.now() - attachment.created)
        issued = attachment.created + lived // SIGNED_FOR_S * SIGNED_FOR_S
        expires = issued + SIGNED_FOR_S
        mac = hashlib.sha256(f"{attachment.id}:{expires}".encode()).hexdigest()[:32]
        return (
            f"{self.base_url}/attachments/{attachment.id}/{attachment.filename}"
            f"?ex={int(expires):x}&is={int(issued):x}&hm={mac}&"
        )

    def edits_per_second_max(self, message_id: int) -> float:
        """Most edit attempts of the message inside any 1-second window [t, t + 1)."""
        times = sorted(c.at for c in self.calls if c.message_id == message_id and self._edits(c))
        return float(
            max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
        )

    @staticmethod
    def _edits(call: Call) -> bool:
        if call.kind == "callback":
            return isinstance(call.body, dict) and call.body.get("type") in EDITING_CALLBACKS
        return call.method == "PATCH"

    def message_json(self, m: StoredMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(m.id), "channel_id": str(m.channel_id), "type": m.type,
            "content": m.content, "author": self.me, "attachments": [
                self._attachment_json(a) for a in m.attachments
            ], "embeds": m.embeds, "components": m.components, "mentions": [],
            "mention_roles": [], "mention_everyone": False, "pinned": False, "tts": False,
            "timestamp": dp.iso(m.created), "edited_timestamp": m.edited and dp.iso(m.edited),
            "flags": m.flags,
        }  # fmt: skip
        state = next((s for s in self.interactions.values() if s.id == m.interaction_id), None)
        if state is not None:
            payload = state.payload
            metadata = {
                "id": str(state.id), "type": state.type,
                "user": payload.get("member", {}).get("user") or payload.get("user"),
                "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
            }  # fmt: skip
            out["webhook_id"] = out["application_id"] = str(self.application_id)
            out["interaction_metadata"] = metadata
        return out

    def _attachment_json(self, a: StoredAttachment) -> dict[str, Any]:
        url = self.attachment_url(a)
        out: dict[str, Any] = {
            "id": str(a.id), "filename": a.filename, "size": a.size, "url": url,
            "proxy_url": url, "content_type": a.content_type,
        }  # fmt: skip
        if a.description is not None:
            out["description"] = a.description
        return out

    # -- protocol -------------------------------------------------------------------------

    async def _not_api(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    async def _download(self, request: web.Request) -> web.Response:
        found = self._attachments.get(_id(request.match_info["id"]) or 0)
        if found is None or found.filename != request.match_info["filename"]:
            return await self._not_api(request)
        expiry = request.query.get("ex")
        if expiry is not None and int(expiry, 16) < self.now():
            return web.Response(status=404, text="This content is no longer available.")
        self.downloads.append(found.id)
        return web.Response(
            body=found.data, content_type=found.content_type or "application/octet-stream"
        )

    @staticmethod
    async def _read(request: web.Request) -> tuple[Any, dict[str, tuple[str, bytes]], bool]:
        """The JSON body (or payload_json) and the file parts by field name."""
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type.startswith("multipart/"):
            body: Any = None
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = (part.filename, bytes(await part.read()))
                elif part.name == "payload_json":
                    body = json.loads(await part.text())
            return body, files, True
        raw = await request.read()
        try:
            return (json.loads(raw) if raw else None), files, False
        except ValueError:
            return _Unparsed(raw.decode(errors="replace")), files, False

    async def _api(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix(API)
        body, files, multipart = await self._read(request)
        matched = [(m, k, found) for m, p, k in ROUTES if (found := p.fullmatch(path))]
        route = next(((k, f) for m, k, f in matched if request.method in m.split()), None)
        call = Call(
            request.method, path, route[0] if route else None, dict(request.query), body,
            tuple(FileInfo(name, n, len(d)) for name, (n, d) in files.items()), multipart,
            time.monotonic(),
        )  # fmt: skip
        self.calls.append(call)
        try:
            if route is None:
                self.unexpected.append(f"{request.method} {path}")
                raise ApiError(METHOD_NOT_ALLOWED if matched else NOT_FOUND)
            kind, found = route
            if isinstance(body, _Unparsed):
                raise ApiError(INVALID_JSON)
            if kind in BOT_KINDS:
                self._authorize(request.headers.get("Authorization", ""))
            call.message_id = self._target(kind, found.groupdict(), body)
            if delays := self._slow.get(kind):
                self.advance(delays.pop(0))
            self._take_fault(kind)
            parsed = _Request(request.method, found.groupdict(), call.query, body, files, kind)
            result = self._handlers[kind](parsed)
            response = result if isinstance(result, web.Response) else json_response(result)
            response.headers.update(self._ratelimit_headers(kind, remaining=4))
        except ApiError as error:
            response = json_response(error.body, error.status, error.headers)
        call.status = response.status
        self._notify()
        return response

    def _authorize(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme != "Bot" or not token or (self.token is not None and token != self.token):
            raise ApiError(UNAUTHORIZED)

    @staticmethod
    def _ratelimit_headers(
        kind: str, *, remaining: int, reset_after: float = 1.0
    ) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"fake-{kind}",
        }  # fmt: skip

    def _take_fault(self, kind: Kind) -> None:
        fault = next((f for f in self._faults if f.kind == kind), None)
        if fault is None:
            return
        fault.left -= 1
        if fault.left <= 0:
            self._faults.remove(fault)
        if fault.fault != "429":
            raise ApiError(FAULTS[fault.fault])
        # discord.py retries a 429 only when it carries `Via` (from Discord's proxies); without
        # it, the 429 is taken for a Cloudflare ban and raised as HTTPException.
        headers = self._ratelimit_headers(kind, remaining=0, reset_after=fault.retry_after)
        headers |= {"Retry-After": str(math.ceil(fault.retry_after)), "Via": "1.1 google",
                    "X-RateLimit-Scope": "user"}  # fmt: skip
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after,
                "global": False}  # fmt: skip
        raise ApiError((429, 0, ""), headers=headers, body=body)

    def _target(self, kind: Kind, groups: dict[str, str], body: Any) -> int | None:
        """The message a call addresses, as far as can be told before handling it."""
        if "mid" in groups:
            return int(groups["mid"])
        state = self.interactions.get(groups.get("token", ""))
        if state is None:
            return None
        if kind == "callback" and isinstance(body, dict) and body.get("type") in EDITING_CALLBACKS:
            return state.component_message_id
        if kind == "original":
            return state.original_id or state.component_message_id
        return None

    # -- login and commands ---------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        """The bot user as GET /users/@me and READY show it to the bot itself."""
        return self.me | {"verified": True, "mfa_enabled": False, "flags": 0}

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id), "name": self.me["username"], "icon": None,
            "description": "", "summary": "", "type": None, "bot_public": True,
            "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
            "owner": dp.user_json(dp.USER_ID, "owner"), "team": None, "bot": self.me,
            "redirect_uris": [], "interactions_endpoint_url": None, "tags": [],
            "install_params": None, "approximate_guild_count": 1,
        }  # fmt: skip

    def _gateway(self, r: _Request) -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {"url": f"ws://127.0.0.1:{self._port}/gateway", "shards": self.shards,
                "session_start_limit": limit}  # fmt: skip

    def _commands(self, r: _Request) -> list[dict[str, Any]]:
        if int(r.groups["app"]) != self.application_id:
            raise ApiError(MISSING_ACCESS)
        guild_id = _id(r.groups.get("guild"))
        if r.method == "PUT":
            for n, command in enumerate(r.body or []):
                if (problem := _command_problem(command, [str(n)])) is not None:
                    raise problem
            synced = []
            for command in r.body or []:
                extra = {"guild_id": str(guild_id)} if guild_id else {}
                synced.append(
                    {"type": 1, "description": "", "options": [], "nsfw": False,
                     "default_member_permissions": None} | command | extra
                    | {"id": str(dp.snowflake()), "application_id": str(self.application_id),
                       "version": str(dp.snowflake())}
                )  # fmt: skip
            self.commands[guild_id] = synced
        return self.commands.get(guild_id, [])

    # -- interactions ---------------------------------------------------------------------

    def _interaction(self, r: _Request, *, callback: bool = False) -> InteractionState:
        state = self.interactions.get(r.groups["token"])
        age = self.now() - state.created if state is not None else 0.0
        if callback:
            if state is None or state.id != int(r.groups["iid"]) or state.expired:
                raise ApiError(UNKNOWN_INTERACTION)
            if state.response_type is None and age > FIRST_RESPONSE_S:
                raise ApiError(UNKNOWN_INTERACTION)  # too late: the token was invalidated
            return state
        if state is None or int(r.groups["app"]) != self.application_id:
            raise ApiError(UNKNOWN_WEBHOOK)
        if state.expired or age > TOKEN_LIFETIME_S:
            raise ApiError(INVALID_WEBHOOK_TOKEN)
        if state.response_type is None:  # the webhook exists once the interaction is answered
            raise ApiError(UNKNOWN_WEBHOOK)
        return state

    def _callback(self, r: _Request) -> web.Response | dict[str, Any]:
        state = self._interaction(r, callback=True)
        body = r.body if isinstance(r.body, dict) else {}
        kind, data = body.get("type"), body.get("data") or {}
        if state.response_type is not None:
            raise ApiError(ALREADY_ACKNOWLEDGED)
        # Updates edit the message of a component, or of the component a modal came from;
        # a modal answers a command or a component, never another modal (callback types).
        component = state.type == dp.INTERACTION_COMPONENT or (
            state.type == dp.INTERACTION_MODAL_SUBMIT and state.component_message_id is not None
        )
        if kind == CALLBACK_MODAL and state.type != dp.INTERACTION_MODAL_SUBMIT:
            if (problem := _modal_problem(data)) is not None:
                raise problem
            state.response_type, state.modal = kind, data
            if not _truthy(r.query.get("with_response")):
                return web.Response(status=204)
            # No message: the modal is shown to the user alone, until they submit it.
            return {
                "interaction": {"id": str(state.id), "type": state.type},
                "resource": {"type": kind},
            }
        if kind not in (CALLBACK_MESSAGE, CALLBACK_DEFERRED) and not (
            component and kind in EDITING_CALLBACKS
        ):
            raise _form_error(["type"], "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid type")
        message: StoredMessage | None = None
        if kind == CALLBACK_MESSAGE:
            message = self._create(r, state.channel_id, data, state)
        elif kind == CALLBACK_DEFERRED:
            flags = FLAG_LOADING | (data.get("flags", 0) & FLAG_EPHEMERAL)
            message = self._new_message(state.channel_id, {"flags": flags}, state)
        else:
            message = self._component_message(state)
            if kind == CALLBACK_UPDATE:
                self._edit(r, message, data, state.upload_limit)
        state.response_type = kind
        if kind in (CALLBACK_MESSAGE, CALLBACK_DEFERRED):
            state.original_id = message.id
        if not _truthy(r.query.get("with_response")):
            return web.Response(status=204)
        interaction: dict[str, Any] = {"id": str(state.id), "type": state.type}
        if kind in (CALLBACK_MESSAGE, CALLBACK_DEFERRED):
            interaction |= {
                "response_message_id": str(message.id),
                "response_message_loading": kind == CALLBACK_DEFERRED,
                "response_message_ephemeral": message.ephemeral,
            }
        resource: dict[str, Any] = {"type": kind}
        if kind in (CALLBACK_MESSAGE, CALLBACK_UPDATE):  # only these carry the message
            resource["message"] = self.message_json(message)
        return {"interaction": interaction, "resource": resource}

    def _component_message(self, state: InteractionState) -> StoredMessage:
        message = self.messages.get(state.component_message_id or 0)
        if message is None or message.deleted:
            raise ApiError(UNKNOWN_MESSAGE)
        return message

    def _original(self, r: _Request) -> web.Response | dict[str, Any]:
        state = self._interaction(r)
        if state.original_id is None:  # deferred update of a component: its message
            message = self._component_message(state)
        else:
            message = self._live(state.original_id)
        return self._message_call(r, message, state.upload_limit)

    def _followup(self, r: _Request) -> web.Response | dict[str, Any]:
        state = self._interaction(r)
        if r.method != "POST":
            message_id = int(r.groups["mid"])
            if message_id not in state.message_ids and message_id != state.component_message_id:
                raise ApiError(UNKNOWN_MESSAGE)
            return self._message_call(r, self._live(message_id), state.upload_limit)
        data = r.body if isinstance(r.body, dict) else {}
        original = self.messages.get(state.original_id or 0)
        if original is not None and original.loading and not original.deleted:
            # The first followup after a "thinking" defer replaces the loading message.
            message = self._edit(r, original, data, state.upload_limit, creating=True)
        else:
            message = self._create(r, state.channel_id, data, state)
        if not _truthy(r.query.get("wait")):
            return web.Response(status=204)
        return self.message_json(message)

    # -- the directory: members, roles, channels, users ---------------------------------------

    def _guild_roles(self, r: _Request) -> list[dict[str, Any]]:
        # A guild the bot is not in is an Unknown Guild to it (json-error-codes, 10004).
        roles = self.roles.get(int(r.groups["guild"]))
        if roles is None:
            raise ApiError(UNKNOWN_GUILD)
        return roles

    def _member(self, r: _Request) -> dict[str, Any]:
        # discord.com/developers/docs/resources/guild#get-guild-member: "Returns a guild member
        # object for the specified user" (with its `user`); no privileged intent is needed.
        self._guild_roles(r)
        member = self.members.get(int(r.groups["guild"]), {}).get(int(r.groups["uid"]))
        if member is None:
            raise ApiError(UNKNOWN_MEMBER)
        return member

    def _roles(self, r: _Request) -> list[dict[str, Any]]:
        # discord.com/developers/docs/resources/guild#get-guild-roles: "Returns a list of role
        # objects for the guild", @everyone (whose id is the guild's) among them.
        return self._guild_roles(r)

    def _channel(self, r: _Request) -> dict[str, Any]:
        # discord.com/developers/docs/resources/channel#get-channel: "Get a channel by ID.
        # Returns a channel object"; a channel the bot cannot see is Unknown Channel (10003).
        channel = self.channels.get(int(r.groups["cid"]))
        if channel is None:
            raise ApiError(UNKNOWN_CHANNEL)
        return channel

    def _user(self, r: _Request) -> dict[str, Any]:
        # discord.com/developers/docs/resources/user#get-user: "Returns a user object for a
        # given user ID"; Unknown User (10013) otherwise.
        user = self.users.get(int(r.groups["uid"]))
        if user is None:
            raise ApiError(UNKNOWN_USER)
        return user

    # -- channel messages -----------------------------------------------------------------

    def _channel_message(self, r: _Request) -> web.Response | dict[str, Any]:
        channel_id = int(r.groups["cid"])
        if r.method == "POST":
            data = r.body if isinstance(r.body, dict) else {}
            return self.message_json(self._create(r, channel_id, data, None))
        message = self._live(int(r.groups["mid"]))
        if message.channel_id != channel_id or message.ephemeral:
            raise ApiError(UNKNOWN_MESSAGE)
        return self._message_call(r, message, self.upload_limit_bytes)

    def _message_call(
        self, r: _Request, message: StoredMessage, limit: int
    ) -> web.Response | dict[str, Any]:
        if r.method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        if r.method == "PATCH":
            data = r.body if isinstance(r.body, dict) else {}
            self._edit(r, message, data, limit)
        return self.message_json(message)

    def _live(self, message_id: int) -> StoredMessage:
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError(UNKNOWN_MESSAGE)
        return message

    # -- message state --------------------------------------------------------------------

    def _new_message(
        self, channel_id: int, data: dict[str, Any], state: InteractionState | None
    ) -> StoredMessage:
        message = StoredMessage(dp.snowflake(), channel_id, flags=data.get("flags", 0))
        if state is not None:
            message.interaction_id = state.id
            first = state.original_id is None and state.type == dp.INTERACTION_COMMAND
            message.type = MESSAGE_CHAT_INPUT if first else MESSAGE_DEFAULT
            state.message_ids.add(message.id)
        self.messages[message.id] = message
        return message

    def _create(
        self, r: _Request, channel_id: int, data: dict[str, Any], state: InteractionState | None
    ) -> StoredMessage:
        limit = state.upload_limit if state else self.upload_limit_bytes
        flags = int(data.get("flags") or 0)
        if flags & ~CREATE_FLAGS:
            raise _form_error(["flags"], "MESSAGE_FLAGS_INVALID", "Invalid flags")
        if flags & FLAG_EPHEMERAL and state is None:
            flags &= ~FLAG_EPHEMERAL  # only interaction responses can be ephemeral
        draft = StoredMessage(0, channel_id)
        self._apply(r, draft, data, limit, creating=True)  # checks first: a refusal stores nothing
        message = self._new_message(channel_id, {"flags": flags}, state)
        self._apply(r, message, data, limit, creating=True)
        message.flags = flags
        return message

    def _edit(
        self,
        r: _Request,
        message: StoredMessage,
        data: dict[str, Any],
        limit: int,
        *,
        creating: bool = False,
    ) -> StoredMessage:
        self._apply(r, StoredMessage(0, message.channel_id, **self._copy(message)), data, limit,
                    creating=creating)  # fmt: skip
        self._apply(r, message, data, limit, creating=creating)
        message.flags &= ~FLAG_LOADING
        if "flags" in data and data["flags"] is not None:  # only suppress_embeds can change
            changed = int(data["flags"]) & FLAG_SUPPRESS_EMBEDS
            message.flags = (message.flags & ~FLAG_SUPPRESS_EMBEDS) | changed
        if not creating:
            message.edited = time.time()
        return message

    @staticmethod
    def _copy(m: StoredMessage) -> dict[str, Any]:
        return {
            "content": m.content, "attachments": list(m.attachments), "embeds": m.embeds,
            "components": m.components, "flags": m.flags,
        }  # fmt: skip

    def _apply(
        self, r: _Request, m: StoredMessage, data: dict[str, Any], limit: int, *, creating: bool
    ) -> None:
        """Discord's checks and the change itself; run on a draft first, so refusals are clean."""
        content = data.get("content", m.content) or ""
        if len(content) > CONTENT_LIMIT:
            raise _form_error(
                ["content"], "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        uploads = {int(found.group(1)): (name, blob) for key, (name, blob) in r.files.items()
                   if (found := FILE_PART.fullmatch(key))}  # fmt: skip
        if sum(len(blob) for _, blob in uploads.values()) > limit:
            raise ApiError(TOO_LARGE)
        attachments = self._attachments_after(m, data, uploads, creating=creating)
        if len(attachments) > ATTACHMENTS_LIMIT:
            raise _form_error(
                ["attachments"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."
            )
        embeds = data.get("embeds", m.embeds) or []
        components = data.get("components", m.components) or []
        problem = (
            rules.embeds_problem(embeds)
            or ("components" in data and rules.components_problem(components))
            or rules.allowed_mentions_problem(data.get("allowed_mentions"))
        )
        if problem:
            raise _form_error(*problem)
        has_poll_or_sticker = data.get("poll") or data.get("sticker_ids")
        if not (content or embeds or attachments or components or has_poll_or_sticker):
            raise ApiError(EMPTY_MESSAGE)
        if m.id == 0:  # the draft: checks only
            return
        fresh = [a for a in attachments if a.id not in self._attachments]
        m.content, m.embeds, m.components, m.attachments = content, embeds, components, attachments
        if "allowed_mentions" in data:
            m.allowed_mentions = data["allowed_mentions"]
        for attachment in fresh:
            attachment.created = self.now()
            self._attachments[attachment.id] = attachment
            self.uploads.append(Upload(r.kind, attachment.filename, attachment.size, m.id))

    @staticmethod
    def _attachments_after(
        m: StoredMessage,
        data: dict[str, Any],
        uploads: dict[int, tuple[str, bytes]],
        *,
        creating: bool,
    ) -> list[StoredAttachment]:
        """v10: `attachments` lists what the message keeps (by id) and the new files (by the
        index n of their `files[n]` part); without it an edit keeps the old ones and adds."""

        def new(index: int, entry: dict[str, Any]) -> StoredAttachment:
            name, blob = uploads[index]
            filename = entry.get("filename") or name
            content_type = mimetypes.guess_type(filename)[0]
            return StoredAttachment(dp.snowflake(), filename, blob, content_type,
                                    entry.get("description"))  # fmt: skip

        if "attachments" not in data or data["attachments"] is None:
            kept = [] if creating else list(m.attachments)
            return kept + [new(i, {}) for i in sorted(uploads)]
        result: list[StoredAttachment] = []
        used: set[int] = set()
        for position, entry in enumerate(data["attachments"]):
            wanted = _id(entry.get("id"))
            old = next((a for a in m.attachments if a.id == wanted), None)
            if old is not None:
                result.append(old)
            elif wanted is not None and wanted in uploads and wanted not in used:
                used.add(wanted)
                result.append(new(wanted, entry))
            else:
                raise _form_error(["attachments", str(position), "id"], "ATTACHMENT_NOT_FOUND",
                                  "Unknown attachment")  # fmt: skip
        if creating:  # files sent without an attachments entry are still attached
            result += [new(i, {}) for i in sorted(uploads) if i not in used]
        return result


class _Unparsed(str):
    """A request body that is not JSON, kept as text in the call record."""


@dataclass(frozen=True)
class _Request:
    method: str
    groups: dict[str, str]
    query: dict[str, str]
    body: Any
    files: dict[str, tuple[str, bytes]]
    kind: Kind


# -- delivering gateway events -------------------------------------------------------------


class DeliveryError(AssertionError):
    """discord.py logged an exception while dispatching: a command, view or event failed."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        first = records[0]
        super().__init__(f"{first.getMessage()}: {first.exc_info[1] if first.exc_info else ''}")
        self.records = records


@dataclass
class Delivery:
    """What dispatching one gateway event did: the events the client dispatched (name and
    arguments, e.g. ("interaction", (interaction,))), the tasks it spawned, logged errors."""

    events: list[tuple[str, tuple[Any, ...]]]
    tasks: list[asyncio.Task[Any]]
    errors: list[logging.LogRecord]

    @property
    def interaction(self) -> discord.Interaction:
        return next(args[0] for name, args in self.events if name == "interaction")


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def deliver_event(
    client: discord.Client,
    event: str,
    data: dict[str, Any],
    *,
    raise_errors: bool = True,
) -> Delivery:
    """Hand a gateway event (e.g. "INTERACTION_CREATE", "GUILD_CREATE") to the client's own
    parser, exactly as its gateway would, then await the tasks that dispatch created.

    The command tree, views and dynamic items run their callbacks in such tasks and log, rather
    than raise, what fails; with `raise_errors` those logged errors raise DeliveryError.
    Tasks the callbacks start themselves are not awaited; a dispatch that is still running
    after DELIVERY_TIMEOUT_S is cancelled (wrap the call in `asyncio.timeout` for less).
    """
    state = client._connection
    events: list[tuple[str, tuple[Any, ...]]] = []
    dispatch = state.dispatch

    def recording(name: str, *args: Any, **kwargs: Any) -> None:
        events.append((name, args))
        dispatch(name, *args, **kwargs)

    errors = _Errors()
    logger = logging.getLogger("discord")
    logger.addHandler(errors)
    try:
        before = asyncio.all_tasks()
        state.dispatch = recording
        try:
            state.parsers[event](data)
        finally:
            state.dispatch = dispatch
        spawned = list(asyncio.all_tasks() - before)
        results: list[Any] = []
        if spawned:
            async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                results = await asyncio.gather(*spawned, return_exceptions=True)
    finally:
        logger.removeHandler(errors)
    if raise_errors:
        if errors.records:
            raise DeliveryError(errors.records)
        if failed := next((r for r in results if isinstance(r, BaseException)), None):
            raise failed
    return Delivery(events, spawned, errors.records)


async def deliver(
    client: discord.Client,
    payload: dict[str, Any],
    *,
    raise_errors: bool = True,
) -> Delivery:
    """An INTERACTION_CREATE: slash commands go to the CommandTree (`_from_interaction`),
    components to the ViewStore (persistent views by custom_id, dynamic items by pattern)."""
    return await deliver_event(client, "INTERACTION_CREATE", payload, raise_errors=raise_errors)
