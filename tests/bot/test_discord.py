"""The Discord bot through discord.py against a fake Discord API on loopback, call by call."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot.actions import NOT_YOURS
from bot.chat_jobs import ChatJobs
from bot.discord_app import DiscordApp, DiscordOptions
from bot.discord_app.render import title_of
from bot.discord_app.surface import Place
from bot.i18n import words
from engine import Engine, EngineConfig, Providers
from engine.books import Books
from engine.media.ffmpeg import FFmpeg
from engine.ports import Moderator, ScriptWriter
from engine.providers.openai import OpenAIModerator, openai_client
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.bot.spoken import raw_left, spoken_and_shown
from tests.fakes import discord_payloads as dp
from tests.fakes.discord_api import FakeDiscordAPI, deliver, deliver_event
from tests.fakes.openai_server import OpenAIFake
from tests.fakes.providers import FakeMedia, FakeProviders

OWNER, OTHER, ADMIN = 7001, 7002, 7009
GUILD, CHANNEL, GALLERY = dp.GUILD_ID, dp.CHANNEL_ID, dp.CHANNEL_ID + 1
STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."
NONE_ALLOWED = {"parse": []}


@dataclass
class Harness:
    fake: FakeDiscordAPI
    app: DiscordApp
    jobs: ChatJobs
    providers: FakeProviders
    storage: Storage

    async def dream(self, user: int, story: str = STORY, **kwargs: Any) -> dict[str, Any]:
        payload = self.fake.command_payload(
            "dream", {"story": story}, user_id=user, guild_id=GUILD, channel_id=CHANNEL, **kwargs
        )
        await deliver(self.app.client, payload)
        return payload

    async def press(self, user: int, action: str, job: str, message_id: int, **kwargs: Any) -> None:
        payload = self.fake.button_payload(
            f"dream:{action}:{job}",
            message_id=message_id,
            user_id=user,
            guild_id=GUILD,
            channel_id=CHANNEL,
            **kwargs,
        )
        await deliver(self.app.client, payload)

    async def job_id(self) -> str:
        return str((await self.storage.db.fetch("SELECT id FROM jobs ORDER BY created_at"))[-1][0])


Build = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def discord_bot(
    config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia, tmp_path, monkeypatch
) -> AsyncIterator[Build]:
    apps: list[tuple[DiscordApp, ChatJobs]] = []
    async with FakeDiscordAPI() as fake:
        fake.install(monkeypatch)
        storage = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=5))

        async def build(
            *,
            providers: FakeProviders | None = None,
            lossless: bool = False,
            moderation: Moderator | None = None,
            script: ScriptWriter | None = None,
            **options: Any,
        ) -> Harness:
            fakes = providers or FakeProviders(media)
            render = replace(config.render, crf=0) if lossless else config.render
            engine = Engine(
                replace(config, render=render),
                Providers(script or fakes, fakes, fakes, fakes, fakes, moderation=moderation),
                ffmpeg,
                books=Books(storage),
                use_cache=True,
            )
            settings = DiscordOptions(frozenset({f"discord:{ADMIN}"}), sync_commands=False)
            jobs = ChatJobs(engine)
            app = DiscordApp(jobs, ffmpeg, replace(settings, **options))
            await app.client.login("fake-discord-token")
            apps.append((app, jobs))
            return Harness(fake, app, jobs, fakes, storage)

        yield build
        for app, jobs in apps:
            await jobs.close()
            await app.close()
        await storage.close()


async def test_dream_defers_shows_progress_and_preview_then_replaces_it(
    discord_bot: Build,
) -> None:
    t = await discord_bot()
    payload = await t.dream(OWNER)
    await t.jobs.drain()

    callback = t.fake.calls_to("callback")[0]
    assert callback.body["type"] == 5  # deferred "thinking…" within the 3 s window
    edits = t.fake.calls_to("original")
    original = t.fake.original(payload)
    with_files = [c for c in edits if c.files]
    assert [f.filename for c in with_files for f in c.files] == ["preview.mp4", "dream.mp4"]
    assert edits.index(with_files[0]) > 0  # progress came first, then the preview
    assert with_files[-1] is edits[-1]
    assert [a.filename for a in original.attachments] == ["dream.mp4"]  # preview replaced
    assert "3 scenes" in original.content
    assert all(c.body.get("allowed_mentions") == NONE_ALLOWED for c in edits)
    labels = [b["label"] for row in original.components for b in row["components"]]
    assert labels == ["🔁 Regenerate", "✏️ Edit"]
    assert t.fake.edits_per_second_max(original.id) <= 1


async def test_mentions_in_a_story_ping_nobody(discord_bot: Build) -> None:
    t = await discord_bot()
    payload = await t.dream(OWNER, "@everyone look, <@&42> and <@7002>: a storm sings tonight.")
    await t.jobs.drain()

    for call in t.fake.calls_to("original"):
        assert call.body["allowed_mentions"] == NONE_ALLOWED
    assert "@everyone" not in t.fake.original(payload).content  # escaped as well


def snowflakes(*tails: int) -> list[int]:
    return [1_300_000_000_000_007_000 + tail for tail in tails]


async def test_what_is_spoken_and_shown_is_the_story_not_its_markup(
    discord_bot: Build, config: EngineConfig
) -> None:
    t = await discord_bot()
    mia, sam, bob, ghost, watch, deck, harbour, nowhere, owl, dance = snowflakes(*range(10))
    t.fake.add_member(GUILD, sam, "sam", global_name="Sam Rivers")
    t.fake.add_member(GUILD, bob, "bob_the_keeper")
    t.fake.add_role(GUILD, watch, "Night Watch")
    t.fake.add_channel(deck, GUILD, "lighthouse-deck")
    mentioned = {  # what Discord resolved itself: no lookup for these
        "users": {str(mia): dp.user_json(mia, "mia")},
        "members": {str(mia): dp.member_json(mia, with_user=False) | {"nick": "Captain Mia"}},
        "channels": {str(harbour): dp.channel_json(harbour, GUILD, name="harbour")},
    }
    story = (
        f"👨‍👩‍👧 **<@{mia}>** met <@!{sam}>, <@{bob}> and <@{ghost}> of <@&{watch}> "
        f"(and <@&{GUILD}>) on <#{deck}> by <#{harbour}> <#{nowhere}> <:owl:{owl}> "
        f"<a:dance:{dance}> <b>&amp;</b> https://x.org/y 🇯🇵 ~~old~~ ||secret|| `hush` "
        "@everyone. The storm sang all night. They slept."
    )
    payload = await t.dream(OWNER, story, mentioned=mentioned)
    await t.jobs.drain()

    admitted, *script = await spoken_and_shown(t.storage, config.work_dir)
    assert admitted == (
        "👨‍👩‍👧 Captain Mia met Sam Rivers, bob_the_keeper and of Night Watch (and everyone) on "
        "lighthouse-deck by harbour owl dance & 🇯🇵 old secret hush everyone. "
        "The storm sang all night. They slept."
    )
    shown = title_of(t.fake.original(payload).content)  # the bot's own bold is its markup
    assert shown is not None and raw_left([admitted, *script, shown]) == []
    assert script[0].startswith("👨‍👩‍👧 Captain Mia")  # the title: emoji whole, names in
    looked_up = sorted(c.path for c in t.fake.calls if c.kind in ("member", "roles", "channel"))
    assert looked_up == sorted(
        [f"/guilds/{GUILD}/members/{who}" for who in (sam, bob, ghost)]
        + [f"/guilds/{GUILD}/roles", f"/channels/{deck}", f"/channels/{nowhere}"]
    )
    assert all(c.body["allowed_mentions"] == NONE_ALLOWED for c in t.fake.calls_to("original"))


async def test_a_mention_lookup_that_does_not_answer_in_time_is_dropped(
    discord_bot: Build, config: EngineConfig
) -> None:
    t = await discord_bot()
    (slow,) = snowflakes(20)
    t.fake.add_member(GUILD, slow, "slowpoke")
    t.fake.fail("member", "429", retry_after=30.0)  # discord.py would wait 30 s for it
    await t.dream(OWNER, f"<@{slow}> walked to the sea. The sea sang. The end.")
    await t.jobs.drain()

    admitted, *_ = await spoken_and_shown(t.storage, config.work_dir)
    assert admitted == "walked to the sea. The sea sang. The end."
    assert len(t.fake.calls_to("member")) == 1
    # The interaction was deferred before the lookup, inside Discord's 3 s window.
    kinds = [call.kind for call in t.fake.calls]
    assert kinds.index("callback") < kinds.index("member")


def refused_at_once(fake: FakeDiscordAPI) -> str:
    """The refusal, as the interaction's only answer: an ephemeral initial response (type 4,
    flags 64), with no defer before it and no webhook call after it."""
    callbacks = fake.calls_to("callback")
    assert [(c.body["type"], c.body["data"]["flags"] & 64) for c in callbacks] == [(4, 64)]
    assert fake.calls_to("original") == [] and fake.calls_to("followup") == []
    assert callbacks[0].body["data"]["allowed_mentions"] == NONE_ALLOWED
    return str(callbacks[0].body["data"]["content"])


async def test_a_too_short_story_is_refused_at_once_ephemerally(discord_bot: Build) -> None:
    t = await discord_bot()
    await t.dream(OWNER, "hi")

    assert "at least 3 words" in refused_at_once(t.fake)
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


async def test_a_spent_quota_is_refused_at_once_ephemerally(discord_bot: Build) -> None:
    t = await discord_bot()
    await t.jobs.engine.books.grant(f"discord:{OWNER}", -5)
    await t.dream(OWNER)

    assert "You have used all" in refused_at_once(t.fake)
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


async def test_a_banned_user_is_refused_at_once_ephemerally(discord_bot: Build) -> None:
    t = await discord_bot()
    await t.jobs.engine.books.set_banned(f"discord:{OWNER}", True)
    await t.dream(OWNER)

    assert "cannot make dreams here" in refused_at_once(t.fake)
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


async def test_buttons_answer_only_the_requester(discord_bot: Build, media: FakeMedia) -> None:
    clips_waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await release.wait()

    t = await discord_bot(providers=FakeProviders(media, hook=hold))
    payload = await t.dream(OWNER)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    job, message_id = await t.job_id(), t.fake.original(payload).id

    await t.press(OTHER, "cancel", job, message_id)
    note = t.fake.calls_to("callback")[-1].body
    assert note["data"]["content"] == NOT_YOURS and note["data"]["flags"] & 64
    assert t.jobs.engine.is_running(job)

    await t.press(OWNER, "cancel", job, message_id)
    answer = t.fake.calls_to("callback")[-1].body
    assert answer["type"] == 6  # DEFERRED_UPDATE_MESSAGE: answered within Discord's 3 s
    said = t.fake.calls_to("followup")[-1].body
    assert said["content"] == "Cancelling…" and said["flags"] & 64
    release.set()
    await t.jobs.drain()
    assert "Cancelled" in t.fake.original(payload).content
    assert t.fake.original(payload).attachments == []  # the preview went with it
    rows = await t.storage.db.fetch("SELECT state, charge FROM jobs")
    assert rows == [("cancelled", "refunded")]


async def shareable(t: Harness) -> tuple[str, int]:
    """A server with a gallery and a finished job in it: the job and its message."""
    channels = [dp.channel_json(CHANNEL, GUILD), dp.channel_json(GALLERY, GUILD)]
    await deliver_event(t.app.client, "GUILD_CREATE", dp.guild_json(GUILD, channels=channels))
    await deliver(
        t.app.client,
        t.fake.command_payload(
            "gallery", {"channel": dp.ChannelOption(GALLERY, "gallery")},
            user_id=ADMIN, guild_id=GUILD, channel_id=CHANNEL,
        ),
    )  # fmt: skip
    payload = await t.dream(OWNER)
    await t.jobs.drain()
    return await t.job_id(), t.fake.original(payload).id


def gallery_posts(fake: FakeDiscordAPI) -> list[Any]:
    return [c for c in fake.calls_to("channel_message") if str(GALLERY) in c.path]


async def test_share_posts_the_clip_url_to_the_gallery(discord_bot: Build) -> None:
    t = await discord_bot()
    job, message_id = await shareable(t)
    original = t.fake.messages[message_id]
    labels = [b["label"] for row in original.components for b in row["components"]]
    assert labels == ["🔁 Regenerate", "✏️ Edit", "📣 Share"]
    uploads = len(t.fake.uploads)

    await t.press(OWNER, "share", job, message_id)
    posts = gallery_posts(t.fake)
    assert len(posts) == 1
    assert t.fake.attachment_url(original.attachments[0]) in posts[0].body["content"]
    assert posts[0].files == () and len(t.fake.uploads) == uploads  # the URL, not a re-upload
    assert posts[0].body["allowed_mentions"] == NONE_ALLOWED


def share_answer(fake: FakeDiscordAPI) -> str:
    """The press was deferred ephemerally first, then answered by an ephemeral note."""
    callback = fake.calls_to("callback")[-1]
    assert (callback.status, callback.body["type"], callback.body["data"]["flags"]) == (200, 5, 64)
    note = fake.calls_to("followup")[-1]
    assert note.status == 200 and note.body["flags"] & 64
    assert note.at > callback.at
    return str(note.body["content"])


async def test_share_answers_first_when_the_gallery_refuses(discord_bot: Build) -> None:
    t = await discord_bot()
    job, message_id = await shareable(t)
    t.fake.fail("channel_message", "403")

    await t.press(OWNER, "share", job, message_id)
    assert "Could not post to the gallery" in share_answer(t.fake)
    assert [c.status for c in gallery_posts(t.fake)] == [403]
    rows = await t.storage.db.fetch("SELECT state, charge FROM jobs")
    assert rows == [("delivered", "committed")]  # the job is unaffected

    await t.press(OWNER, "share", job, message_id)  # a failed post can be tried again
    assert share_answer(t.fake) == "Shared to the gallery."
    assert [c.status for c in gallery_posts(t.fake)] == [403, 200]


async def test_share_answers_within_the_deadline_when_the_gallery_is_slow(
    discord_bot: Build,
) -> None:
    t = await discord_bot()
    job, message_id = await shareable(t)
    t.fake.slow("channel_message", 5.0)  # past Discord's 3 s for a first answer

    await t.press(OWNER, "share", job, message_id)
    assert share_answer(t.fake) == "Shared to the gallery."
    assert len(gallery_posts(t.fake)) == 1


async def test_two_presses_of_share_make_one_gallery_post(discord_bot: Build) -> None:
    t = await discord_bot()
    job, message_id = await shareable(t)

    presses = [
        t.fake.button_payload(
            f"dream:share:{job}", message_id=message_id, user_id=OWNER, guild_id=GUILD,
            channel_id=CHANNEL,
        )
        for _ in range(2)
    ]  # fmt: skip
    await asyncio.gather(*(deliver(t.app.client, p) for p in presses))
    notes = sorted(c.body["content"] for c in t.fake.calls_to("followup"))
    assert notes == ["Shared to the gallery.", "This dream is already in the gallery."]
    assert len(gallery_posts(t.fake)) == 1

    await t.press(OWNER, "share", job, message_id)  # later, too
    assert share_answer(t.fake) == "This dream is already in the gallery."
    assert len(gallery_posts(t.fake)) == 1


def as_markdown_shows(content: str) -> str:
    """The text a Discord user reads: Markdown drops one backslash before each escaped mark."""
    return re.sub(r"\\(.)", r"\1", content).replace("**", "")


async def test_share_shows_the_title_escaped_exactly_once(discord_bot: Build) -> None:
    t = await discord_bot()
    channels = [dp.channel_json(CHANNEL, GUILD), dp.channel_json(GALLERY, GUILD)]
    await deliver_event(t.app.client, "GUILD_CREATE", dp.guild_json(GUILD, channels=channels))
    await deliver(
        t.app.client,
        t.fake.command_payload(
            "gallery", {"channel": dp.ChannelOption(GALLERY, "gallery")},
            user_id=ADMIN, guild_id=GUILD, channel_id=CHANNEL,
        ),
    )  # fmt: skip
    payload = await t.dream(OWNER, "fish_and_chips by the cold sea. Gulls watch. All eat.")
    await t.jobs.drain()

    await t.press(OWNER, "share", await t.job_id(), t.fake.original(payload).id)
    posts = [c for c in t.fake.calls_to("channel_message") if str(GALLERY) in c.path]
    assert len(posts) == 1
    assert as_markdown_shows(posts[0].body["content"]).startswith(
        "🌙 fish_and_chips by the cold sea. by "
    )


async def test_an_expired_token_hands_over_to_a_channel_message(
    discord_bot: Build, media: FakeMedia
) -> None:
    clips_waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await release.wait()

    t = await discord_bot(providers=FakeProviders(media, hook=hold))
    payload = await t.dream(OWNER)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    t.fake.expire_token(payload)  # 15 minutes have passed
    release.set()
    await t.jobs.drain()

    posted = [c for c in t.fake.calls_to("channel_message") if str(CHANNEL) in c.path]
    assert len(posted) == 1  # the job moved to an ordinary channel message...
    moved = posted[0]
    finals = t.fake.calls_to("edit_channel_message")
    assert finals and [f.filename for f in finals[-1].files] == ["dream.mp4"]  # ...and ended there
    assert {c.message_id for c in finals} == {moved.message_id} or all(
        str(CHANNEL) in c.path for c in finals
    )
    assert await t.storage.db.fetch("SELECT state FROM jobs") == [("delivered",)]


async def test_a_preview_refused_for_an_expired_token_moves_with_its_clip(
    discord_bot: Build, media: FakeMedia
) -> None:
    preview_waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "preview":
            preview_waiting.set()
            await release.wait()

    t = await discord_bot(providers=FakeProviders(media, hook=hold))
    payload = await t.dream(OWNER)
    await asyncio.wait_for(preview_waiting.wait(), timeout=30)
    t.fake.expire_token(payload)  # the preview's edit is the first to meet it
    release.set()
    await t.jobs.drain()

    posted = [c for c in t.fake.calls_to("channel_message") if str(CHANNEL) in c.path]
    assert [[f.filename for f in c.files] for c in posted] == [["preview.mp4"]]
    assert await t.storage.db.fetch("SELECT state FROM jobs") == [("delivered",)]


async def test_a_long_job_moves_before_the_token_expires(discord_bot: Build) -> None:
    t = await discord_bot(handover_after_s=0.0)
    payload = await t.dream(OWNER)
    await t.jobs.drain()

    assert "continues in a new message" in t.fake.original(payload).content
    assert t.fake.calls_to("channel_message")
    assert await t.storage.db.fetch("SELECT state FROM jobs") == [("delivered",)]


async def test_the_final_is_shrunk_to_the_interactions_upload_limit(discord_bot: Build) -> None:
    t = await discord_bot(lossless=True)
    payload = await t.dream(OWNER, attachment_size_limit=150_000)
    await t.jobs.drain()

    original = t.fake.original(payload)
    assert "compressed to fit" in original.content
    assert original.attachments[0].size <= 150_000


async def test_commands_sync_to_the_development_guilds(discord_bot: Build) -> None:
    t = await discord_bot(sync_commands=True, guild_ids=(GUILD,))
    synced = [c for c in t.fake.calls if c.method == "PUT" and "commands" in c.path]
    assert len(synced) == 1 and f"guilds/{GUILD}" in synced[0].path
    names = {command["name"] for command in synced[0].body}
    assert {"dream", "quota", "gallery", "grant", "reset", "ban", "unban", "stats"} <= names


async def test_quota_and_admin_commands_are_ephemeral_and_checked(discord_bot: Build) -> None:
    t = await discord_bot()

    async def command(user: int, name: str, options: dict[str, Any]) -> dict[str, Any]:
        payload = t.fake.command_payload(
            name, options, user_id=user, guild_id=GUILD, channel_id=CHANNEL
        )
        await deliver(t.app.client, payload)
        return dict(t.fake.calls_to("callback")[-1].body["data"])

    quota = await command(OWNER, "quota", {})
    assert "5 of 5 dreams left" in quota["content"] and quota["flags"] & 64
    refused = await command(OTHER, "grant", {"user": dp.UserOption(OWNER), "dreams": 2})
    assert "for the bot's admins" in refused["content"]
    granted = await command(ADMIN, "grant", {"user": dp.UserOption(OWNER), "dreams": 2})
    assert f"discord:{OWNER}: 0 of 7 dreams" in granted["content"]


async def test_buttons_still_work_after_a_restart(discord_bot: Build) -> None:
    first = await discord_bot()
    payload = await first.dream(OWNER)
    await first.jobs.drain()
    job, message_id = await first.job_id(), first.fake.original(payload).id

    restarted = await discord_bot()  # a new client: nothing of the old views in memory
    await restarted.press(OTHER, "regenerate", job, message_id)
    assert restarted.fake.calls_to("callback")[-1].body["data"]["content"] == NOT_YOURS
    await restarted.press(OWNER, "regenerate", job, message_id)
    await restarted.jobs.drain()
    assert restarted.fake.calls_to("callback")[-1].body["type"] == 5  # a new job, deferred
    rows = await restarted.storage.db.fetch("SELECT state FROM jobs ORDER BY created_at")
    assert rows == [("delivered",), ("delivered",)]


async def test_a_restart_mid_job_continues_in_a_channel_message(
    discord_bot: Build, media: FakeMedia
) -> None:
    clips_waiting = asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await asyncio.Event().wait()

    first = await discord_bot(providers=FakeProviders(media, hook=hold))
    payload = await first.dream(OWNER)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    await first.jobs.close()  # the process goes away; the job stays unfinished
    defers = len(first.fake.calls_to("callback"))

    second = await discord_bot()
    assert await second.jobs.resume([second.app.surfaces]) == 1  # what `dreambot run` does
    await second.jobs.drain()

    posted = [c for c in second.fake.calls_to("channel_message") if str(CHANNEL) in c.path]
    assert len(posted) == 1  # the old interaction token is not trusted: a channel message
    finals = second.fake.calls_to("edit_channel_message")
    assert finals and [f.filename for f in finals[-1].files] == ["dream.mp4"]
    assert "3 scenes" in (finals[-1].body or {}).get("content", "")
    assert len(second.fake.calls_to("callback")) == defers  # nothing was deferred again
    assert "3 scenes" not in second.fake.original(payload).content
    assert await second.storage.db.fetch("SELECT state FROM jobs") == [("delivered",)]


async def test_commands_sync_with_their_names_and_descriptions_in_every_language(
    discord_bot: Build,
) -> None:
    t = await discord_bot(sync_commands=True, guild_ids=(GUILD,))
    synced = {c["name"]: c for c in t.fake.commands[GUILD]}  # the fake checked Discord's rules
    dream = synced["dream"]
    assert dream["name_localizations"]["ja"] == "夢"
    assert dream["name_localizations"]["ru"] == "сон"
    assert dream["name_localizations"]["es-ES"] == dream["name_localizations"]["es-419"]
    assert dream["name_localizations"]["pt-BR"] == words("pt_BR").pgettext("command name", "dream")
    assert "en-US" not in dream["name_localizations"]  # English is the default itself
    assert "zh-CN" not in dream["name_localizations"]  # no catalog: Discord shows English
    japanese = words("ja")
    assert dream["description_localizations"]["ja"] == japanese._(
        "Turn a short story into a narrated video"
    )
    story = dream["options"][0]
    assert story["name"] == "story" and story["name_localizations"]["ja"] == "お話"
    assert story["description_localizations"]["hi"] == words("hi")._("Your story: a few sentences")
    for command in synced.values():  # every command (a name spelt as in English is left out)
        assert {"ja", "ru", "hi"} <= set(command["name_localizations"])


async def test_a_japanese_client_gets_japanese_replies(
    discord_bot: Build, media: FakeMedia
) -> None:
    japanese = words("ja")
    t = await discord_bot()
    quota = t.fake.command_payload(
        "quota", {}, user_id=OWNER, guild_id=GUILD, channel_id=CHANNEL, locale="ja"
    )
    await deliver(t.app.client, quota)
    assert (
        t.fake.calls_to("callback")[-1]
        .body["data"]["content"]
        .startswith("今日の残りは 5 本中 5 本です。")
    )

    await t.dream(OWNER, "hi", locale="ja")
    too_short = japanese.ngettext(
        "That is too short to film: please write at least {count} word.",
        "That is too short to film: please write at least {count} words.",
        3,
    )
    assert t.fake.calls_to("callback")[-1].body["data"]["content"] == too_short

    payload = await t.dream(OWNER, locale="ja")
    await t.jobs.drain()
    original = t.fake.original(payload)
    assert "3 シーン" in original.content
    labels = [b["label"] for row in original.components for b in row["components"]]
    assert labels == [japanese._("🔁 Regenerate"), japanese._("✏️ Edit")]
    first_edit = next(c for c in t.fake.calls_to("original") if c.method == "PATCH")
    assert japanese._("⏳ starting…") in first_edit.body["content"]
    stored = await t.storage.db.fetch("SELECT surface FROM jobs")
    place = Place.from_ref(stored[-1][0])
    assert place is not None and place.locale == "ja"

    await t.press(OTHER, "regenerate", await t.job_id(), original.id, locale="ru")
    note = t.fake.calls_to("callback")[-1].body["data"]["content"]
    assert note == words("ru")._(NOT_YOURS) != NOT_YOURS


async def test_a_client_language_without_a_catalog_gets_english(discord_bot: Build) -> None:
    t = await discord_bot()
    quota = t.fake.command_payload(
        "quota", {}, user_id=OWNER, guild_id=GUILD, channel_id=CHANNEL, locale="zh-CN"
    )
    await deliver(t.app.client, quota)
    assert "5 of 5 dreams left today" in t.fake.calls_to("callback")[-1].body["data"]["content"]


async def test_a_moderation_that_cannot_run_gets_a_clear_reply(discord_bot: Build) -> None:
    async with OpenAIFake() as server:
        server.fail("moderation", "400")
        client = openai_client("sk-test-0123456789abcdef", server.base_url, timeout_s=5.0)
        t = await discord_bot(moderation=OpenAIModerator(client, "omni-moderation-latest"))
        payload = await t.dream(OWNER)
        await client.close()

    assert [c.body["type"] for c in t.fake.calls_to("callback")] == [5]  # deferred first
    refusal = refused_after_defer(t.fake, payload)
    assert "content check is unavailable" in refusal
    assert "nothing was charged" in refusal
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


def refused_after_defer(fake: FakeDiscordAPI, payload: dict[str, Any]) -> str:
    """A refusal decided after the defer: the deferred response edited into it, in the
    documented way (PATCH @original), never deleted, no followup."""
    assert [c.method for c in fake.calls_to("original")] == ["PATCH"]
    assert fake.calls_to("followup") == []
    original = fake.original(payload)
    assert not original.deleted and not original.loading
    assert fake.calls_to("original")[0].body["allowed_mentions"] == NONE_ALLOWED
    return original.content


async def test_a_database_that_refuses_admission_gets_a_clear_reply(discord_bot: Build) -> None:
    t = await discord_bot()
    await t.storage.db.fetch("PRAGMA query_only = 1")  # every write fails: SQLITE_READONLY
    payload = await t.dream(OWNER)
    await t.storage.db.fetch("PRAGMA query_only = 0")

    assert "cannot take dreams right now" in refused_after_defer(t.fake, payload)
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]
