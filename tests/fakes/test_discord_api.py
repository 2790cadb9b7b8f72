"""The fake Discord API speaks the protocol the real discord.py 2.7 client expects.

A real `discord.Client` logs in against the fake; interactions reach its real CommandTree and
ViewStore through the client's own INTERACTION_CREATE parser (`deliver`), or over the fake's
gateway websocket from a client started with `client.start(token)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from tests.fakes import discord_payloads as dp
from tests.fakes.discord_api import (
    DeliveryError,
    FakeDiscordAPI,
    FileInfo,
    Upload,
    deliver,
    deliver_event,
    discord,
)

app_commands = discord.app_commands
Tree = app_commands.CommandTree[discord.Client]
LIMIT = 25 * 1024 * 1024  # a boosted guild's attachment_size_limit, unlike the default
TOKEN = "fake-token"  # noqa: S105 - a fake bot token


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordAPI]:
    async with FakeDiscordAPI() as fake:
        fake.install(monkeypatch)
        yield fake


@pytest.fixture
async def client(fake: FakeDiscordAPI) -> AsyncIterator[discord.Client]:
    client = discord.Client(intents=discord.Intents.none())
    await client.login("fake-token")
    yield client
    await client.close()


@pytest.fixture
def tree(client: discord.Client) -> app_commands.CommandTree[discord.Client]:
    return app_commands.CommandTree(client)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "dream.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return path


class Seen:
    """What a command callback saw, for assertions after delivery."""

    interaction: discord.Interaction[Any]
    deferred: discord.InteractionCallbackResponse[Any] | None
    edited: discord.InteractionMessage


def add_dream(
    tree: app_commands.CommandTree[discord.Client], clip: Path, seen: Seen, **edit: Any
) -> None:
    @tree.command(name="dream", description="Turn a story into a video")
    async def dream(interaction: discord.Interaction, story: str) -> None:
        seen.interaction = interaction
        seen.deferred = await interaction.response.defer(thinking=True)
        seen.edited = await interaction.edit_original_response(
            content=f"Dreaming: {story}", attachments=[discord.File(clip)], **edit
        )


async def test_login_reads_the_bot_user_and_application(
    fake: FakeDiscordAPI, client: discord.Client
) -> None:
    assert client.user is not None and client.user.id == fake.application_id
    assert client.application_id == fake.application_id and client.user.bot
    assert [(c.method, c.path, c.kind, c.status) for c in fake.calls] == [
        ("GET", "/users/@me", "users_me", 200),
        ("GET", "/oauth2/applications/@me", "application", 200),
    ]
    assert fake.unexpected == []


async def test_a_wrong_token_fails_login(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscordAPI(token="right-token") as fake:  # noqa: S106 - a fake token
        fake.install(monkeypatch)
        client = discord.Client(intents=discord.Intents.none())
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong-token")
        await client.close()
    assert [c.status for c in fake.calls] == [401]


async def test_dream_defers_thinking_then_edits_the_original_with_a_file(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree, clip: Path
) -> None:
    seen = Seen()
    add_dream(tree, clip, seen)
    payload = fake.command_payload("dream", {"story": "a cat"}, attachment_size_limit=LIMIT)
    delivery = await deliver(client, payload)

    interaction = seen.interaction
    assert delivery.interaction is interaction and interaction.command is not None
    assert interaction.filesize_limit == LIMIT
    assert interaction.expires_at == interaction.created_at + timedelta(minutes=15)
    assert abs(interaction.expires_at.timestamp() - (time.time() + 900)) < 60
    callback, edit = fake.calls_to("callback"), fake.calls_to("original")
    # defer(thinking=True) on a slash command: type 5, no data, and always ?with_response=1
    assert [(c.method, c.body, c.query, c.status) for c in callback] == [
        ("POST", {"type": 5}, {"with_response": "1"}, 200)
    ]
    original = fake.original(payload)
    assert seen.deferred is not None and seen.deferred.is_thinking()
    assert seen.deferred.message_id == original.id and seen.deferred.resource is None
    # edit_original_response with a file: multipart, payload_json plus files[0]
    assert [(c.method, c.multipart, c.files) for c in edit] == [
        ("PATCH", True, (FileInfo("files[0]", "dream.mp4", clip.stat().st_size),))
    ]
    attachments = [{"id": 0, "filename": "dream.mp4"}]  # File.to_dict(index)
    assert edit[0].body == {"content": "Dreaming: a cat", "tts": False, "attachments": attachments}
    assert edit[0].message_id == original.id and edit[0].path.endswith("/messages/@original")
    assert not original.loading and original.content == "Dreaming: a cat"
    assert [(a.filename, a.size, a.content_type) for a in original.attachments] == [
        ("dream.mp4", clip.stat().st_size, "video/mp4")
    ]
    assert fake.uploads == [Upload("original", "dream.mp4", clip.stat().st_size, original.id)]
    # discord.py parses the answer, and the attachment URL serves the bytes
    assert (
        seen.edited.id == original.id and seen.edited.type == discord.MessageType.chat_input_command
    )
    assert await seen.edited.attachments[0].read() == clip.read_bytes()
    assert fake.downloads == [original.attachments[0].id]
    assert original.allowed_mentions is None  # nothing was sent: the client has no default


async def test_allowed_mentions_are_recorded_as_sent(fake: FakeDiscordAPI, clip: Path) -> None:
    client = discord.Client(
        intents=discord.Intents.none(), allowed_mentions=discord.AllowedMentions(everyone=False)
    )
    await client.login("fake-token")
    try:
        tree = app_commands.CommandTree(client)
        seen = Seen()
        users = discord.AllowedMentions(users=[discord.Object(42)])
        add_dream(tree, clip, seen, allowed_mentions=users)
        payload = fake.command_payload("dream", {"story": "<@42> and @everyone"})
        await deliver(client, payload)
        # the client's default is merged with the call's (replied_user defaults to True);
        # ids are ints
        expected = {"users": [42], "replied_user": True, "parse": ["roles"]}
        assert fake.calls_to("original")[0].body["allowed_mentions"] == expected
        assert fake.original(payload).allowed_mentions == expected
        await client.get_partial_messageable(dp.CHANNEL_ID).send("hi")
        assert fake.calls_to("channel_message")[0].body["allowed_mentions"] == {
            "replied_user": True,
            "parse": ["users", "roles"],
        }
    finally:
        await client.close()


async def test_edit_keeps_listed_attachments_and_adds_new_ones(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree, clip: Path, tmp_path: Path
) -> None:
    seen = Seen()
    add_dream(tree, clip, seen)
    payload = fake.command_payload("dream", {"story": "a cat"})
    await deliver(client, payload)
    first = seen.edited.attachments[0]
    other = tmp_path / "final.mp4"
    other.write_bytes(b"final" * 100)

    edited = await seen.interaction.edit_original_response(attachments=[first, discord.File(other)])
    body = fake.calls_to("original")[-1].body
    # kept: the Attachment's own dict with its snowflake id; new: {"id": n} for files[n]
    assert body["attachments"][0]["id"] == first.id and body["attachments"][0]["url"] == first.url
    assert body["attachments"][1] == {"id": 0, "filename": "final.mp4"}
    assert "content" not in body
    assert [a.filename for a in edited.attachments] == ["dream.mp4", "final.mp4"]
    assert edited.attachments[0].id == first.id and edited.content == "Dreaming: a cat"

    cleared = await seen.interaction.edit_original_response(content="gone", attachments=[])
    assert fake.calls_to("original")[-1].body["attachments"] == []
    assert cleared.attachments == [] and fake.original(payload).attachments == []


async def test_persistent_view_button_gets_the_press(
    fake: FakeDiscordAPI, client: discord.Client
) -> None:
    pressed: list[discord.Interaction[Any]] = []

    class Jobs(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="Cancel", custom_id="dream:cancel:7")
        async def cancel(
            self, interaction: discord.Interaction, button: discord.ui.Button[Any]
        ) -> None:
            pressed.append(interaction)
            await interaction.response.edit_message(content="Cancelled", view=None)

    client.add_view(Jobs())
    sent = await client.get_partial_messageable(dp.CHANNEL_ID).send("Working", view=Jobs())
    stored = fake.messages[sent.id]
    assert stored.components[0]["components"][0]["custom_id"] == "dream:cancel:7"

    payload = fake.button_payload("dream:cancel:7", message_id=sent.id)
    await deliver(client, payload)
    assert len(pressed) == 1 and pressed[0].message is not None and pressed[0].message.id == sent.id
    assert pressed[0].data == {"custom_id": "dream:cancel:7", "component_type": 2}
    [callback] = fake.calls_to("callback")
    assert callback.body == {
        "type": 7,
        "data": {"tts": False, "content": "Cancelled", "components": []},
    }
    assert (stored.content, stored.components, callback.message_id) == ("Cancelled", [], sent.id)
    assert fake.edits_per_second_max(sent.id) == 1


async def test_dynamic_item_button_matches_its_pattern(
    fake: FakeDiscordAPI, client: discord.Client
) -> None:
    jobs: list[str] = []

    class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"job:(?P<id>\w+)"):
        def __init__(self, job: str) -> None:
            super().__init__(discord.ui.Button(label="Go", custom_id=f"job:{job}"))
            self.job = job

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction,
            item: discord.ui.Item[Any],
            match: re.Match[str],
            /,
        ) -> JobButton:
            return cls(match["id"])

        async def callback(self, interaction: discord.Interaction) -> None:
            jobs.append(self.job)
            await interaction.response.defer()

    client.add_dynamic_items(JobButton)
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("abc"))
    sent = await client.get_partial_messageable(dp.CHANNEL_ID).send("Job", view=view)
    payload = fake.button_payload("job:abc", message_id=sent.id)
    await deliver(client, payload)
    assert jobs == ["abc"]
    # defer() on a component: type 6, the message the button is on is the "original"
    assert fake.calls_to("callback")[0].body == {"type": 6}
    message = await discord.Interaction(
        data=cast(Any, payload), state=client._connection
    ).original_response()
    assert message.id == sent.id


async def test_first_followup_replaces_the_thinking_message(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("3 left")
        await interaction.followup.send("and more", ephemeral=True)

    payload = fake.command_payload("quota", {})
    await deliver(client, payload)
    first, second = fake.calls_to("followup")
    assert first.query == {"wait": "1", "with_components": "0"}  # wait is forced
    original = fake.original(payload)
    assert (original.content, original.loading, first.status) == ("3 left", False, 200)
    assert second.body["flags"] == 64
    others = [m for m in fake.messages.values() if m.interaction_id == int(payload["id"])]
    assert [m.content for m in others] == ["3 left", "and more"] and others[1].ephemeral


async def test_send_message_callback_returns_the_message(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction) -> None:
        response = await interaction.response.send_message("Only you", ephemeral=True)
        assert isinstance(response.resource, discord.InteractionMessage)
        assert response.resource.flags.ephemeral and response.resource.content == "Only you"

    payload = fake.command_payload("quota", guild_id=None)  # a DM with the bot
    delivery = await deliver(client, payload)
    assert delivery.interaction.guild_id is None and delivery.interaction.user.id == dp.USER_ID
    assert fake.calls_to("callback")[0].body["type"] == 4
    original = fake.original(payload)
    with pytest.raises(discord.NotFound):  # ephemeral: not in the channel for the bot token
        await client.get_partial_messageable(original.channel_id).fetch_message(original.id)


async def test_expired_token_raises_http_exception_50027_not_not_found(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)

    payload = fake.command_payload("quota")
    interaction = (await deliver(client, payload)).interaction
    fake.expire_token(payload)
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.edit_original_response(content="late")
    assert type(caught.value) is discord.HTTPException
    assert (caught.value.status, caught.value.code, caught.value.text) == (
        401, 50027, "Invalid Webhook Token",
    )  # fmt: skip
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.followup.send("late")
    assert caught.value.code == 50027
    fresh = discord.Interaction(data=cast(Any, payload), state=client._connection)
    with pytest.raises(discord.NotFound) as missing:
        await fresh.response.defer()
    assert missing.value.code == 10062
    assert fake.original(payload).loading  # nothing changed


async def test_429_is_retried_transparently(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree, clip: Path
) -> None:
    seen = Seen()
    add_dream(tree, clip, seen)
    fake.fail("original", "429", retry_after=0.05)
    fake.fail("channel_message", "429", retry_after=0.05)
    payload = fake.command_payload("dream", {"story": "a cat"})
    await deliver(client, payload)
    sent = await client.get_partial_messageable(dp.CHANNEL_ID).send("hi")
    for kind in ("original", "channel_message"):
        calls = fake.calls_to(kind)
        assert [c.status for c in calls] == [429, 200]
        assert calls[1].at - calls[0].at >= 0.05  # it waited retry_after
        assert calls[1].files == calls[0].files  # and sent the file again
    assert fake.original(payload).content == "Dreaming: a cat" and sent.content == "hi"
    assert len(fake.uploads) == 1
    assert fake.edits_per_second_max(fake.original(payload).id) == 2  # attempts count


async def test_500_is_retried_after_a_second(fake: FakeDiscordAPI, client: discord.Client) -> None:
    fake.fail("channel_message", "500")
    sent = await client.get_partial_messageable(dp.CHANNEL_ID).send("hi")
    calls = fake.calls_to("channel_message")
    assert [c.status for c in calls] == [500, 200] and calls[1].at - calls[0].at >= 1.0
    assert fake.messages[sent.id].content == "hi"


async def test_faults_403_404_and_401(fake: FakeDiscordAPI, client: discord.Client) -> None:
    channel = client.get_partial_messageable(dp.CHANNEL_ID)
    fake.fail("channel_message", "403")
    with pytest.raises(discord.Forbidden):
        await channel.send("hi")
    sent = await channel.send("hi")
    fake.fail("edit_channel_message", "404")
    with pytest.raises(discord.NotFound):
        await channel.get_partial_message(sent.id).edit(content="x")
    fake.fail("edit_channel_message", "401_expired")
    with pytest.raises(discord.HTTPException) as caught:
        await channel.get_partial_message(sent.id).edit(content="x")
    assert caught.value.code == 50027 and fake.messages[sent.id].content == "hi"
    fake.delete_message(sent.id)
    with pytest.raises(discord.NotFound) as gone:
        await channel.get_partial_message(sent.id).edit(content="x")
    assert gone.value.code == 10008


async def test_discord_limits_refuse_long_content_big_uploads_and_empty_messages(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree, clip: Path
) -> None:
    channel = client.get_partial_messageable(dp.CHANNEL_ID)
    with pytest.raises(discord.HTTPException) as long:
        await channel.send("x" * 2001)
    assert (long.value.status, long.value.code) == (400, 50035)
    assert "content" in long.value.text and "2000 or fewer" in long.value.text
    with pytest.raises(discord.HTTPException) as empty:
        await channel.send("")
    assert empty.value.code == 50006

    seen = Seen()
    add_dream(tree, clip, seen)
    small = clip.stat().st_size - 1
    payload = fake.command_payload("dream", {"story": "a cat"}, attachment_size_limit=small)
    with pytest.raises(DeliveryError) as failed:
        await deliver(client, payload)
    error = failed.value.records[0].exc_info[1].__cause__  # type: ignore[index,union-attr]
    assert isinstance(error, discord.HTTPException) and (error.status, error.code) == (413, 40005)
    assert fake.original(payload).loading and fake.uploads == []
    assert [m.content for m in fake.messages.values()] == [""]  # only the thinking message


async def test_edits_per_second_counts_edits_of_one_message(
    fake: FakeDiscordAPI, client: discord.Client
) -> None:
    channel = client.get_partial_messageable(dp.CHANNEL_ID)
    sent = await channel.send("0")
    for n in range(1, 4):
        await channel.get_partial_message(sent.id).edit(content=str(n))
    other = await channel.send("other")
    assert fake.edits_per_second_max(sent.id) == 3 and fake.edits_per_second_max(other.id) == 0
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "3" and fetched.edited_at is not None


async def test_an_unknown_command_fails_the_delivery(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    with pytest.raises(DeliveryError, match="command tree"):
        await deliver(client, fake.command_payload("nope"))
    assert fake.calls_to("callback") == []


async def test_a_failing_command_fails_the_delivery(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="boom", description="b")
    async def boom(interaction: discord.Interaction) -> None:
        raise RuntimeError("kaput")

    with pytest.raises(DeliveryError, match="kaput"):
        await deliver(client, fake.command_payload("boom"))
    delivery = await deliver(client, fake.command_payload("boom"), raise_errors=False)
    assert len(delivery.errors) == 1


async def test_synced_commands_and_a_seeded_guild_resolve_channel_options(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    chosen: list[discord.TextChannel] = []

    @tree.command(name="gallery", description="g")
    async def gallery(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        chosen.append(channel)
        await interaction.response.send_message(f"Gallery: {channel.mention}", ephemeral=True)

    guild = discord.Object(dp.GUILD_ID)
    tree.copy_global_to(guild=guild)
    synced = await tree.sync(guild=guild)
    assert [c.name for c in synced] == ["gallery"] and synced[0].guild_id == dp.GUILD_ID
    assert fake.calls_to("commands")[0].path.endswith(f"/guilds/{dp.GUILD_ID}/commands")

    gallery_id = dp.CHANNEL_ID + 1
    channels = [dp.channel_json(dp.CHANNEL_ID, dp.GUILD_ID),
                dp.channel_json(gallery_id, dp.GUILD_ID, name="gallery")]  # fmt: skip
    await deliver_event(client, "GUILD_CREATE", dp.guild_json(channels=channels))
    option = dp.ChannelOption(gallery_id, name="gallery")
    await deliver(client, fake.command_payload("gallery", {"channel": option}))
    assert [(c.id, c.name) for c in chosen] == [(gallery_id, "gallery")]


class _Names(app_commands.Translator):
    """Command names as given per locale; None elsewhere."""

    def __init__(self, names: dict[discord.Locale, str]) -> None:
        self.names = names

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if context.location is app_commands.TranslationContextLocation.command_name:
            return self.names.get(locale)
        return None


@pytest.mark.parametrize(
    ("name", "valid"),
    [("夢", True), ("सपना", True), ("сон", True), ("Сон", False), ("two words", False)],
)
async def test_command_sync_checks_localized_names_as_discord_does(
    fake: FakeDiscordAPI, tree: Tree, name: str, valid: bool
) -> None:
    @tree.command(name="dream", description="d")
    async def dream(interaction: discord.Interaction) -> None: ...

    await tree.set_translator(_Names({discord.Locale.japanese: name}))
    if valid:
        synced = await tree.sync()
        assert fake.commands[None][0]["name_localizations"] == {"ja": name}
        assert synced[0].name == "dream"
        return
    with pytest.raises(discord.HTTPException) as refused:
        await tree.sync()
    assert refused.value.code == 50035 and "name_localizations" in str(refused.value)


async def test_unimplemented_routes_are_recorded(
    fake: FakeDiscordAPI, client: discord.Client
) -> None:
    with pytest.raises(discord.NotFound):
        await client.fetch_guild(dp.GUILD_ID)
    assert fake.unexpected == [f"GET /guilds/{dp.GUILD_ID}"]


async def test_members_roles_channels_and_users_are_looked_up_as_discord_answers(
    fake: FakeDiscordAPI, client: discord.Client
) -> None:
    member_id, role_id, channel_id = dp.snowflake(), dp.snowflake(), dp.snowflake()
    fake.add_member(dp.GUILD_ID, member_id, "keeper", nick="The Keeper", global_name="Keeper K")
    fake.add_role(dp.GUILD_ID, role_id, "Night Watch")
    fake.add_channel(channel_id, dp.GUILD_ID, "deck")
    member = await _guild(client, dp.GUILD_ID).fetch_member(member_id)
    assert (member.nick, member.global_name, member.name) == ("The Keeper", "Keeper K", "keeper")
    roles = await _guild(client, dp.GUILD_ID).fetch_roles()
    assert [r.name for r in roles] == ["@everyone", "Night Watch"] and roles[0].is_default()
    channel = await client.fetch_channel(channel_id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "deck"
    assert (await client.fetch_user(member_id)).display_name == "Keeper K"


@pytest.mark.parametrize(
    ("lookup", "code"),
    [
        ("member", 10007),  # Unknown Member
        ("foreign member", 10004),  # Unknown Guild: the bot is not in it
        ("roles", 10004),
        ("channel", 10003),  # Unknown Channel
        ("user", 10013),  # Unknown User
    ],
)
async def test_lookups_of_what_does_not_exist_are_404s_with_discords_codes(
    fake: FakeDiscordAPI, client: discord.Client, lookup: str, code: int
) -> None:
    fake.add_role(dp.GUILD_ID, dp.snowflake(), "known")  # the bot is in GUILD_ID
    guild = _guild(client, dp.GUILD_ID if lookup == "member" else dp.GUILD_ID + 1)
    calls = {
        "member": lambda: guild.fetch_member(dp.USER_ID),
        "foreign member": lambda: guild.fetch_member(dp.USER_ID),
        "roles": guild.fetch_roles,
        "channel": lambda: client.fetch_channel(dp.CHANNEL_ID),
        "user": lambda: client.fetch_user(dp.USER_ID),
    }
    with pytest.raises(discord.NotFound) as refused:
        await calls[lookup]()
    assert refused.value.code == code


def _guild(client: discord.Client, guild_id: int) -> discord.Guild:
    """A guild known only by id, as an interaction's fallback guild is."""
    data = cast(Any, {"id": str(guild_id)})
    return discord.Guild(data=data, state=client._connection)


async def test_a_body_that_is_not_json_is_refused(fake: FakeDiscordAPI) -> None:
    url = f"{fake.api_base}/channels/{dp.CHANNEL_ID}/messages"
    headers = {"Authorization": "Bot fake-token", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data="{not json", headers=headers) as response,
    ):
        assert response.status == 400 and response.headers["Content-Type"] == "application/json"
        assert (await response.json())["code"] == 50109
    assert fake.calls[0].body == "{not json" and fake.messages == {}


# -- the gateway ---------------------------------------------------------------------------


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordAPI]:
    async with FakeDiscordAPI(heartbeat_interval_ms=50) as fake:
        fake.install(monkeypatch)
        yield fake


def typing() -> dict[str, Any]:
    return {"channel_id": str(dp.CHANNEL_ID), "user_id": str(dp.USER_ID), "timestamp": 0}


class GatewayClient(discord.Client):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """The default sleeps 5 s before every IDENTIFY but the first (e.g. after an invalid
        session), to respect Discord's identify rate limit."""


def gateway_client() -> discord.Client:
    # on_ready waits guild_ready_timeout (2 s by default) for GUILD_CREATEs, even with no guilds
    return GatewayClient(intents=discord.Intents.none(), guild_ready_timeout=0.05)


@contextlib.asynccontextmanager
async def started(client: discord.Client, token: str = TOKEN) -> AsyncIterator[asyncio.Task[None]]:
    """`client.start(token)` in a task; on the way out the client is closed and start() must
    return (or raise) within 5 s."""
    task = asyncio.create_task(client.start(token))
    try:
        yield task
    finally:
        await client.close()
        async with asyncio.timeout(5):
            await task


async def test_a_started_client_identifies_gets_ready_and_heartbeats(
    gateway: FakeDiscordAPI,
) -> None:
    client = gateway_client()
    ready = asyncio.Event()

    @client.event
    async def on_ready() -> None:
        ready.set()

    async with started(client):
        conn = await gateway.wait_connected()
        async with asyncio.timeout(2):
            await client.wait_until_ready()
            await ready.wait()  # on_ready runs in a task of its own
        assert conn.query.pop("compress") in ("zlib-stream", "zstd-stream")  # zstd if installed
        assert conn.query == {"v": "10", "encoding": "json"}
        assert gateway.identifies == [conn.identify] and conn.identify is not None
        assert conn.identify["token"] == TOKEN
        assert conn.identify["intents"] == discord.Intents.none().value == 0
        assert conn.identify["properties"]["browser"] == "discord.py"
        assert [(f["op"], f["t"], f["s"]) for f in conn.sent[:3]] == [
            (10, None, None), (11, None, None), (0, "READY", 1),
        ]  # fmt: skip
        assert conn.sent[0]["d"] == {"heartbeat_interval": 50}
        assert [f["op"] for f in conn.received[:2]] == [1, 2]  # a beat right after HELLO
        assert client.is_ready() and conn.events == ["READY"]
        assert client.user is not None and client.user.id == gateway.application_id
        assert client.ws is not None and client.ws.session_id == conn.session_id
        # the keep-alive thread beats every 50 ms; every beat is ACKed
        await gateway.wait_until(lambda: gateway.heartbeats >= 3)
        assert math.isfinite(client.latency) and client.latency < 1
        assert [f["op"] for f in conn.sent].count(11) >= 3
    assert gateway.gateway_connections == 1 and gateway.unexpected == []


async def test_a_slash_command_arrives_over_the_gateway(gateway: FakeDiscordAPI) -> None:
    client = gateway_client()
    tree = app_commands.CommandTree(client)
    seen: list[tuple[str, int | None]] = []

    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction, days: int) -> None:
        seen.append((interaction.user.name, interaction.guild_id))
        await interaction.response.send_message(f"{days} days left", ephemeral=True)

    async with started(client):
        conn = await gateway.wait_connected()
        payload = gateway.command_payload("quota", {"days": 3})
        await gateway.send_interaction(payload)
        await gateway.wait_until(lambda: gateway.calls_to("callback"))
        original = gateway.original(payload)
        assert (original.content, original.ephemeral) == ("3 days left", True)
        assert seen == [(payload["member"]["user"]["username"], dp.GUILD_ID)]
        await gateway.dispatch("TYPING_START", typing())
        assert [(f["t"], f["s"]) for f in conn.sent if f["op"] == 0] == [
            ("READY", 1), ("INTERACTION_CREATE", 2), ("TYPING_START", 3),
        ]  # fmt: skip
        assert conn.sent[-2]["d"] is payload


async def test_a_token_reset_after_login_closes_the_gateway_with_4004(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscordAPI(token="right-token") as fake:  # noqa: S106 - a fake token
        fake.install(monkeypatch)
        client = gateway_client()
        await client.login("right-token")
        fake.token = "reset-token"  # noqa: S105 - reset in the developer portal after login
        with pytest.raises(discord.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                await client.connect()
        assert closed.value.code == 4004 and client.is_closed()  # not retried
        [conn] = fake.connections
        assert (conn.close_code, conn.closed_by, conn.ready) == (4004, "fake", False)
        assert [i["token"] for i in fake.identifies] == ["right-token"]
        with pytest.raises(RuntimeError, match="no gateway connection"):
            await fake.dispatch("TYPING_START", {})


async def test_close_ends_start_and_the_fake_sees_the_close(gateway: FakeDiscordAPI) -> None:
    client = gateway_client()
    async with started(client) as task:
        conn = await gateway.wait_connected()
        await client.close()
        async with asyncio.timeout(2):
            await task  # returns: a close is not an error
        await gateway.wait_disconnected()
        # close() sends 1000, but the poll loop, woken by it, closes the socket first with 4000
        assert (conn.close_code, conn.closed_by, conn.open) == (4000, "client", False)
        assert gateway.ready_connections == []
        with pytest.raises(RuntimeError, match="no gateway connection"):
            await gateway.send_interaction(gateway.command_payload("quota"))
    assert gateway.gateway_connections == 1


async def test_reconnect_resumes_and_an_invalid_session_identifies_again(
    gateway: FakeDiscordAPI,
) -> None:
    client = gateway_client()
    resumed = asyncio.Event()

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    async with started(client):
        first = await gateway.wait_connected()
        await gateway.dispatch("TYPING_START", typing())
        await gateway.request_reconnect()
        second = await gateway.wait_connected(count=2)
        assert (first.close_code, first.closed_by) == (4000, "client")  # discord.py's code
        resume = next(f["d"] for f in second.received if f["op"] == 6)
        assert resume == {"seq": 2, "session_id": first.session_id, "token": TOKEN}
        assert second.resumed and second.session_id == first.session_id
        assert [(f["t"], f["s"]) for f in second.sent if f["op"] == 0] == [("RESUMED", 3)]
        async with asyncio.timeout(2):
            await resumed.wait()

        await gateway.request_reconnect(resumable=False)
        fourth = await gateway.wait_connected(count=3)
        third = gateway.connections[2]
        assert [f["op"] for f in third.sent] == [10, 11, 9] and third.sent[-1]["d"] is False
        assert (third.close_code, third.closed_by, third.ready) == (1000, "client", False)
        assert fourth is gateway.connections[3] and fourth.identify is not None
        assert fourth.session_id not in (None, first.session_id)
        assert [(f["t"], f["s"]) for f in fourth.sent if f["op"] == 0] == [("READY", 1)]
        assert len(gateway.identifies) == 2 and gateway.gateway_connections == 4


async def test_closing_the_fake_closes_its_gateway_connections_first(
    gateway: FakeDiscordAPI,
) -> None:
    client = gateway_client()
    # 1001 is resumable: discord.py reconnects at once, and without reconnect=False it would
    # go on retrying the stopped server with backoff until closed.
    task = asyncio.create_task(client.start(TOKEN, reconnect=False))
    try:
        conn = await gateway.wait_connected()
        began = time.monotonic()
        await gateway.close()  # the runner would wait its shutdown_timeout for open sockets
        assert time.monotonic() - began < 0.9  # the runner's shutdown_timeout is 1 s
        assert (conn.close_code, conn.closed_by) == (1001, "fake")
        with pytest.raises(aiohttp.ClientError):  # the RESUME's connection is refused
            async with asyncio.timeout(2):
                await task
        assert client.is_closed() and gateway.gateway_connections == 1
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("query", "frames", "code", "answers"),
    [
        ("v=9&encoding=json", [], 4012, []),  # closed before HELLO
        ("encoding=json", [], 4012, []),
        ("v=10&encoding=etf", [], 4002, []),
        ("v=10&encoding=json", ["{not json"], 4002, [10]),
        ("v=10&encoding=json", [{"op": 3, "d": {}}], 4003, [10]),  # presence before IDENTIFY
        ("v=10&encoding=json", [{"op": 42, "d": None}], 4001, [10]),
        ("v=10&encoding=json", [{"op": 2, "d": {"token": "", "intents": 0}}], 4004, [10]),
        ("v=10&encoding=json", [{"op": 6, "d": {"token": ""}}], 4004, [10]),
        ("v=10&encoding=json", [{"op": 2, "d": {"token": "t", "intents": 0}}] * 2, 4005, [10, 0]),
    ],
)
async def test_the_gateway_closes_with_discords_codes(
    gateway: FakeDiscordAPI, query: str, frames: list[Any], code: int, answers: list[int]
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{gateway.gateway_url}?{query}") as ws,
    ):
        for frame in frames:
            await ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))
        async with asyncio.timeout(2):
            ops = [json.loads(m.data)["op"] async for m in ws]  # until the close frame
        assert (ops, ws.close_code) == (answers, code)
    [conn] = gateway.connections
    assert (conn.close_code, conn.closed_by, conn.ready) == (code, "fake", 0 in answers)


# -- Discord's rules, each refused as Discord refuses it -----------------------------------


async def post_message(fake: FakeDiscordAPI, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST a channel message as a bot would, and Discord's answer."""
    url = f"{fake.api_base}/channels/{dp.CHANNEL_ID}/messages"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"Authorization": f"Bot {TOKEN}"}) as response,
    ):
        return response.status, await response.json()


def button(**fields: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "Go", "custom_id": "go"} | fields


def row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def numbered(n: int) -> list[dict[str, Any]]:
    return [button(custom_id=f"b{i}") for i in range(n)]


ACCEPTED: list[dict[str, Any]] = [
    {"content": "ok", "components": [row(*numbered(5))]},
    {"content": "ok", "components": [row(button(custom_id=f"r{i}")) for i in range(5)]},
    {"content": "ok", "components": [row(button(custom_id="x" * 100, label="y" * 80))]},
    {"content": "ok", "components": [row(button(style=5, custom_id=None, url="https://a.b"))]},
    {"content": "ok", "allowed_mentions": {"parse": []}},
    {"content": "ok", "allowed_mentions": {"parse": ["roles"], "users": ["1", "2"]}},
    {"content": "ok", "embeds": [{"title": str(i)} for i in range(10)]},
]
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "custom_id over 100": (
        {"components": [row(button(custom_id="x" * 101))]}, "BASE_TYPE_MAX_LENGTH"),
    "six buttons in a row": (
        {"components": [row(*numbered(6))]}, "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    "six rows": (
        {"components": [row(button(custom_id=f"r{i}")) for i in range(6)]},
        "BASE_TYPE_MAX_LENGTH"),
    "label over 80": ({"components": [row(button(label="y" * 81))]}, "BASE_TYPE_MAX_LENGTH"),
    "unknown style": ({"components": [row(button(style=7))]}, "BASE_TYPE_CHOICES"),
    "link without url": (
        {"components": [row(button(style=5, custom_id=None))]}, "BUTTON_COMPONENT_URL_REQUIRED"),
    "link with custom_id": (
        {"components": [row(button(style=5, url="https://a.b"))]},
        "BUTTON_COMPONENT_INVALID_CUSTOM_ID"),
    "button without custom_id": (
        {"components": [row(button(custom_id=None))]}, "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED"),
    "button with url": (
        {"components": [row(button(url="https://a.b"))]}, "BUTTON_COMPONENT_INVALID_URL"),
    "custom_id twice": (
        {"components": [row(button(), button())]}, "COMPONENT_CUSTOM_ID_DUPLICATED"),
    "a row that is not a row": ({"components": [button()]}, "UNION_TYPE_CHOICES"),
    "unknown parse value": ({"allowed_mentions": {"parse": ["here"]}}, "BASE_TYPE_CHOICES"),
    "parse users and a users list": (
        {"allowed_mentions": {"parse": ["users"], "users": ["1"]}},
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
    "parse roles and a roles list": (
        {"allowed_mentions": {"parse": ["roles"], "roles": ["1"]}},
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
    "users not snowflakes": (
        {"allowed_mentions": {"users": ["someone"]}}, "NUMBER_TYPE_COERCE"),
    "over 100 users": (
        {"allowed_mentions": {"users": [str(i) for i in range(101)]}}, "BASE_TYPE_MAX_LENGTH"),
    "an unknown allowed_mentions key": (
        {"allowed_mentions": {"everyone": True}}, "MODEL_TYPE_CONVERT"),
    "eleven embeds": ({"embeds": [{"title": str(i)} for i in range(11)]}, "BASE_TYPE_MAX_LENGTH"),
    "content over 2000": ({"content": "x" * 2001}, "BASE_TYPE_MAX_LENGTH"),
}  # fmt: skip


def form_codes(errors: Any) -> list[str]:
    """Every form-error code in Discord's nested `errors` object."""
    if not isinstance(errors, dict):
        return []
    found = [e["code"] for e in errors.get("_errors", [])]
    return found + [c for k, v in errors.items() if k != "_errors" for c in form_codes(v)]


@pytest.mark.parametrize("body", ACCEPTED)
async def test_messages_within_discords_rules_are_accepted(
    fake: FakeDiscordAPI, body: dict[str, Any]
) -> None:
    status, _ = await post_message(fake, body)
    assert status == 200


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_each_message_rule_refuses_a_breach(fake: FakeDiscordAPI, case: str) -> None:
    body, code = REFUSED[case]
    status, answer = await post_message(fake, {"content": "hi"} | body)
    assert (status, answer["code"]) == (400, 50035)
    assert form_codes(answer["errors"]) == [code]
    assert fake.messages == {}  # refused: nothing stored


async def test_an_interaction_answered_after_3_s_is_an_unknown_interaction(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction) -> None:
        fake.advance(3.1)  # the bot took too long before its first answer
        await interaction.response.send_message("late", ephemeral=True)

    payload = fake.command_payload("quota")
    with pytest.raises(DeliveryError) as failed:
        await deliver(client, payload)
    error = failed.value.records[0].exc_info[1].__cause__  # type: ignore[index,union-attr]
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert fake.interactions[payload["token"]].response_type is None and fake.messages == {}


async def test_a_slow_call_moves_the_clock_past_the_deadline(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction) -> None:
        await client.get_partial_messageable(dp.CHANNEL_ID).send("slow post first")
        await interaction.response.send_message("late", ephemeral=True)

    fake.slow("channel_message", 5.0)
    with pytest.raises(DeliveryError):
        await deliver(client, fake.command_payload("quota"))
    assert [c.status for c in fake.calls_to("callback")] == [404]


async def test_webhook_calls_after_15_minutes_are_an_invalid_webhook_token(
    fake: FakeDiscordAPI, client: discord.Client, tree: Tree
) -> None:
    @tree.command(name="quota", description="q")
    async def quota(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)

    interaction = (await deliver(client, fake.command_payload("quota"))).interaction
    fake.advance(14 * 60)
    await interaction.edit_original_response(content="still in time")
    fake.advance(61)
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.edit_original_response(content="late")
    assert (caught.value.status, caught.value.code) == (401, 50027)
    with pytest.raises(discord.HTTPException) as followup:
        await interaction.followup.send("late")
    assert followup.value.code == 50027
