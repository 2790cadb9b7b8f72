"""The Telegram bot through aiogram against a fake Bot API on loopback, call by call."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Update

from bot.chat_jobs import ChatJobs
from bot.i18n import words
from bot.telegram_app import TelegramApp, TelegramOptions, render
from bot.telegram_app.delivery import DeliveryPolicy
from bot.telegram_app.keyboards import JobButton
from bot.telegram_app.surface import Place
from engine import Engine, EngineConfig, Providers
from engine.books import Books
from engine.media.ffmpeg import FFmpeg
from engine.ports import Moderator, ScriptWriter
from engine.providers.openai import OpenAIModerator, openai_client
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.bot.spoken import raw_left, spoken_and_shown
from tests.fakes import telegram_updates as tg
from tests.fakes.openai_server import OpenAIFake
from tests.fakes.providers import FakeMedia, FakeProviders
from tests.fakes.telegram_api import FakeTelegramAPI

OWNER, OTHER, ADMIN = 501, 502, 900
GALLERY = -1009
STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."
# Short pauses between retries, so an outage in a test lasts milliseconds.
FAST_RETRIES = DeliveryPolicy(first_backoff_s=0.02, max_backoff_s=0.1, patience_s=120)
EDITS = ("editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup")


@dataclass
class Harness:
    fake: FakeTelegramAPI
    bot: Bot
    app: TelegramApp
    jobs: ChatJobs
    providers: FakeProviders
    storage: Storage
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def say(
        self,
        user: int,
        text: str,
        *,
        chat: int | None = None,
        group: bool = False,
        language: str | None = None,
        thread: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        update = self.fake.message_update(
            next(self.update_ids), chat or user, user, text,
            chat_type="supergroup" if group else "private", username=f"user{user}",
            thread_id=thread, reply_to=reply_to,
        )  # fmt: skip
        if language is not None:  # what a Telegram client reports of its user's language
            update["message"]["from"]["language_code"] = language
        await self.feed(update)
        return int(update["message"]["message_id"])

    async def press(self, user: int, chat: int, message_id: int, action: str, job: str) -> None:
        data = JobButton(action=action, job=job).pack()
        await self.feed(
            self.fake.callback_update(next(self.update_ids), chat, user, message_id, data)
        )

    async def press_data(self, user: int, chat: int, message_id: int, data: str) -> None:
        await self.feed(
            self.fake.callback_update(next(self.update_ids), chat, user, message_id, data)
        )

    async def feed(self, update: dict[str, Any]) -> None:
        await self.app.dispatcher.feed_update(
            self.bot, Update.model_validate(update, context={"bot": self.bot})
        )

    def calls(self, chat: int, *methods: str) -> list[Any]:
        return [c for c in self.fake.chat_calls(chat) if not methods or c.method in methods]

    def job_ids(self) -> list[str]:
        """Jobs named by the buttons the bot sent, in order."""
        found: list[str] = []
        for call in self.fake.calls:
            markup = call.params.get("reply_markup")
            for row in (markup or {}).get("inline_keyboard", []):
                for button in row:
                    job = JobButton.unpack(button["callback_data"]).job
                    if job not in found:
                        found.append(job)
        return found


Build = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def telegram(
    config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia, tmp_path
) -> AsyncIterator[Build]:
    opened: list[tuple[TelegramApp, ChatJobs, Storage]] = []
    async with FakeTelegramAPI() as fake:

        async def build(
            *,
            providers: FakeProviders | None = None,
            storage: Storage | None = None,
            upload_limit: int = 50 * 2**20,
            quota: int = 5,
            chat_cap: int | None = None,
            lossless: bool = False,
            moderation: Moderator | None = None,
            delivery: DeliveryPolicy = FAST_RETRIES,
            script: ScriptWriter | None = None,
        ) -> Harness:
            fakes = providers or FakeProviders(media)
            store = storage or await Storage.open(
                tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=quota, chat_daily_cap=chat_cap)
            )
            engine = Engine(
                replace(config, render=replace(config.render, crf=0)) if lossless else config,
                Providers(script or fakes, fakes, fakes, fakes, fakes, moderation=moderation),
                ffmpeg,
                books=Books(store),
                use_cache=True,
            )
            bot = fake.bot()
            options = TelegramOptions(
                frozenset({f"telegram:{ADMIN}"}), GALLERY, upload_limit, delivery
            )
            jobs = ChatJobs(engine)
            app = TelegramApp(bot, jobs, ffmpeg, options)
            opened.append((app, jobs, store))
            return Harness(fake, bot, app, jobs, fakes, store)

        yield build
        closed: set[int] = set()
        for app, jobs, store in opened:
            await jobs.close()
            await app.surfaces.close()
            await app.bot.session.close()
            if id(store) not in closed:
                closed.add(id(store))
                await store.close()


async def test_a_private_story_flows_call_by_call(telegram: Build) -> None:
    t = await telegram()
    asked = await t.say(OWNER, STORY)
    await t.jobs.drain()

    calls = t.calls(OWNER)
    ack = calls[0]
    assert ack.method == "sendMessage"
    assert int(ack.params["reply_parameters"]["message_id"]) == asked
    assert "parse_mode" not in ack.params
    message_id = t.fake.messages[OWNER][asked + 1].message_id
    media = [c for c in calls if c.method == "editMessageMedia"]
    assert len(media) == 2  # the preview, then the final, in the same message
    preview, final = media
    assert calls.index(preview) < calls.index(final) == len(calls) - 1
    assert {int(c.params["message_id"]) for c in calls[1:]} == {message_id}
    assert "⏳" in preview.params["media"]["caption"] or "✅" in preview.params["media"]["caption"]
    assert "3 scenes" in final.params["media"]["caption"]
    buttons = [b["text"] for b in final.params["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["🔁 Regenerate", "📣 Share"]
    stored = t.fake.messages[OWNER][message_id]
    assert stored.kind == "video" and stored.file_id is not None
    assert t.fake.edits_per_second_max(OWNER) <= 1


async def test_a_group_story_with_the_bots_name_is_threaded_and_stays(telegram: Build) -> None:
    t = await telegram()
    group = -100500
    await t.say(OWNER, "just chatting about storms", chat=group, group=True)
    asked = await t.say(OWNER, f"/dream@dreambot_test_bot {STORY}", chat=group, group=True)
    await t.say(OTHER, "/dream@some_other_bot a story for another bot", chat=group, group=True)
    await t.jobs.drain()

    calls = t.calls(group)
    assert calls[0].method == "sendMessage"
    assert int(calls[0].params["reply_parameters"]["message_id"]) == asked
    assert calls[-1].method == "editMessageMedia"
    assert len([c for c in calls if c.method == "sendMessage"]) == 1  # nothing else answered
    assert all(c.method != "deleteMessage" for c in calls)
    job = await t.storage.db.fetch("SELECT chat_key, user_key, state FROM jobs")
    assert job == [(f"telegram:{group}", f"telegram:{OWNER}", "delivered")]


async def test_a_flood_of_stories_gets_one_job_one_refusal_and_no_edit_storm(
    telegram: Build,
) -> None:
    t = await telegram()
    for n in range(20):
        await t.say(OWNER, f"{STORY} Version {n}.")
    await t.jobs.drain()

    # The job's own message, and one "already running" answer, in either order: the job
    # acknowledges once its folder is ready, while the next story is refused at once.
    texts = sorted(c.params["text"] for c in t.calls(OWNER, "sendMessage"))
    assert len(texts) == 2
    assert sum("already have a dream running" in text for text in texts) == 1
    assert sum(text.startswith("🌙") for text in texts) == 1
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(1,)]
    assert t.fake.edits_per_second_max(OWNER) <= 1


async def test_a_429_in_the_middle_is_honoured_and_the_final_still_lands(
    telegram: Build, media: FakeMedia
) -> None:
    t = await telegram(providers=FakeProviders(media, latency={"clips": 4.0}))
    t.fake.fail("editMessageCaption", "429", retry_after=2)
    await t.say(OWNER, STORY)
    await t.jobs.drain()

    calls = t.calls(OWNER)
    limited = next(c for c in calls if c.method == "editMessageCaption")
    later_edits = [c for c in calls if c.method in EDITS and c.at > limited.at]
    assert later_edits and min(c.at for c in later_edits) - limited.at >= 2
    assert calls[-1].method == "editMessageMedia"
    assert "scenes" in calls[-1].params["media"]["caption"]


async def test_buttons_answer_only_the_person_who_asked(telegram: Build, media: FakeMedia) -> None:
    release = asyncio.Event()
    clips_waiting = asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await release.wait()

    t = await telegram(providers=FakeProviders(media, hook=hold))
    await t.say(OWNER, STORY)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    job = t.job_ids()[0]
    message_id = t.calls(OWNER, "sendMessage")[0].params  # the job's message
    progress = next(iter(t.fake.messages[OWNER].values()))
    job_message = max(t.fake.messages[OWNER])
    del message_id, progress

    await t.press(OTHER, OWNER, job_message, "cancel", job)
    answer = t.fake.calls_of("answerCallbackQuery")[-1]
    assert "Only the person who asked" in answer.params["text"]
    assert t.jobs.engine.is_running(job)

    await t.press(OWNER, OWNER, job_message, "cancel", job)
    release.set()
    await t.jobs.drain()
    assert t.fake.calls_of("answerCallbackQuery")[-1].params["text"] == "Cancelling…"
    assert "Cancelled" in (t.fake.messages[OWNER][job_message].text or "")
    assert await t.storage.db.fetch("SELECT state, charge FROM jobs") == [("cancelled", "refunded")]


async def test_regenerate_and_share_by_file_id(telegram: Build) -> None:
    t = await telegram()
    await t.say(OWNER, STORY)
    await t.jobs.drain()
    job = t.job_ids()[0]
    message_id = max(t.fake.messages[OWNER])
    uploads_before = len(t.fake.uploads)

    await t.press(OWNER, OWNER, message_id, "share", job)
    await t.press(OWNER, OWNER, message_id, "share", job)  # a second press posts nothing
    shared = t.calls(GALLERY, "sendVideo")
    assert len(shared) == 1 and len(t.fake.messages[GALLERY]) == 1
    answers = [c.params["text"] for c in t.fake.calls_of("answerCallbackQuery")]
    assert answers == ["Shared to the gallery.", "It is already in the gallery."]
    assert shared[0].params["video"] == t.fake.messages[OWNER][message_id].file_id
    assert f"by User{OWNER}" in shared[0].params["caption"]
    assert len(t.fake.uploads) == uploads_before  # by file_id: nothing uploaded again

    await t.press(OTHER, OWNER, message_id, "regenerate", job)
    assert len(t.job_ids()) == 1  # someone else cannot regenerate it
    voice_calls = len(t.providers.calls_of("voice"))
    await t.press(OWNER, OWNER, message_id, "regenerate", job)
    await t.jobs.drain()
    assert len(t.job_ids()) == 2
    assert len(t.providers.calls_of("voice")) == voice_calls  # narration came from the cache
    rows = await t.storage.db.fetch("SELECT state FROM jobs ORDER BY created_at")
    assert rows == [("delivered",), ("delivered",)]


async def test_markup_heavy_stories_cannot_break_a_message(telegram: Build) -> None:
    t = await telegram()
    story = "<b>@everyone</b> *bold* _it_ [link](http://x) `code` & <i>unclosed. More words here."
    await t.say(OWNER, story)
    await t.jobs.drain()

    calls = t.calls(OWNER)
    assert calls[-1].method == "editMessageMedia"
    assert all("parse_mode" not in c.params for c in calls)
    assert "“everyone bold it link code & unclosed. More words here.”" in calls[0].params["text"]


async def test_what_is_spoken_and_shown_is_the_story_not_its_markup(
    telegram: Build, config: EngineConfig
) -> None:
    t = await telegram()
    text = (
        "👨‍👩‍👧 🇯🇵 Bob and @sam_rivers met **Mia** <b>&amp;</b> <@&223456789012345678> in "
        "<#323456789012345678> <:owl:423456789012345678> at https://example.com/x?y=1 near "
        "the pier 👍🏽, `hush` ~~never~~ ||ever||. The storm sang all night @everyone. /help"
    )
    entities = [
        tg.entity("bold", text, "👨‍👩‍👧 🇯🇵 Bob"),
        tg.entity("text_mention", text, "Bob", user=tg.user_json(77) | {"first_name": "Roberto"}),
        tg.entity("mention", text, "@sam_rivers"),
        tg.entity("url", text, "https://example.com/x?y=1"),
        tg.entity("text_link", text, "the pier", url="https://pier.example/"),
        tg.entity("custom_emoji", text, "👍🏽", custom_emoji_id="5368324170671202286"),
        tg.entity("bot_command", text, "/help"),
    ]
    update = t.fake.message_update(1, OWNER, OWNER, text, username="owner", entities=entities)
    await t.feed(update)
    await t.jobs.drain()

    story, *script = await spoken_and_shown(t.storage, config.work_dir)
    assert story.startswith("👨‍👩‍👧 🇯🇵 Roberto and sam_rivers met Mia & in at near the pier 👍🏽")
    assert story.endswith("hush never ever. The storm sang all night everyone. help")
    final = t.calls(OWNER, "editMessageMedia")[-1].params["media"]["caption"]
    assert raw_left([story, *script, final]) == []
    assert "Roberto" in script[0] and "👨‍👩‍👧" in script[0]  # emoji stay whole in captions


async def test_a_dream_command_in_a_group_drops_the_command_and_keeps_the_story(
    telegram: Build, config: EngineConfig
) -> None:
    t = await telegram()
    story = "/dream@dreambot_test_bot 🌊 A **wave** met https://x.org a whale. It sang."
    await t.say(OWNER, story, chat=-100500, group=True)
    await t.jobs.drain()

    story, *_ = await spoken_and_shown(t.storage, config.work_dir)
    assert story == "🌊 A wave met a whale. It sang."


async def test_a_video_over_the_upload_limit_is_shrunk_to_fit(telegram: Build) -> None:
    t = await telegram(upload_limit=150_000, lossless=True)
    await t.say(OWNER, STORY)
    await t.jobs.drain()

    final = t.calls(OWNER)[-1]
    assert final.method == "editMessageMedia"
    assert "compressed to fit" in final.params["media"]["caption"]
    assert t.fake.uploads[-1][1] <= 150_000


async def test_a_restart_mid_job_keeps_editing_the_original_message(
    telegram: Build, media: FakeMedia, config: EngineConfig
) -> None:
    clips_waiting = asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await asyncio.Event().wait()

    first = await telegram(providers=FakeProviders(media, hook=hold))
    asked = await first.say(OWNER, STORY)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    job_message = asked + 1
    await first.jobs.close()  # the process goes away; the job stays unfinished
    cutoff = first.calls(OWNER)[-1].at

    second = await telegram(storage=first.storage)
    await second.jobs.resume([second.app.surfaces])  # what `dreambot run` does at start
    await second.jobs.drain()

    after = [c for c in second.calls(OWNER) if c.at > cutoff]
    assert after and all(int(c.params.get("message_id", 0)) == job_message for c in after)
    assert after[-1].method == "editMessageMedia"
    assert t_sends(second) == 1  # no second acknowledgement
    assert await second.storage.db.fetch("SELECT state FROM jobs") == [("delivered",)]


def t_sends(t: Harness) -> int:
    return len(t.calls(OWNER, "sendMessage"))


async def test_admin_commands_are_for_admins(telegram: Build) -> None:
    t = await telegram()
    await t.say(OTHER, "/grant telegram:501 2")
    assert "for the bot's admins" in t.calls(OTHER, "sendMessage")[-1].params["text"]
    await t.say(ADMIN, "/grant telegram:501 2")
    assert "0 of 7 dreams used today" in t.calls(ADMIN, "sendMessage")[-1].params["text"]
    await t.say(ADMIN, "/ban telegram:501")
    await t.say(OWNER, STORY)
    assert "cannot make dreams" in t.calls(OWNER, "sendMessage")[-1].params["text"]
    await t.say(ADMIN, "/stats")
    assert "jobs:" in t.calls(ADMIN, "sendMessage")[-1].params["text"]


async def test_help_quota_and_an_empty_dream(telegram: Build) -> None:
    t = await telegram(quota=3)
    await t.say(OWNER, "/start")
    assert "turn it into a narrated video" in t.calls(OWNER, "sendMessage")[-1].params["text"]
    await t.say(OWNER, "/quota")
    assert "3 of 3 dreams left" in t.calls(OWNER, "sendMessage")[-1].params["text"]
    await t.say(OWNER, "/dream")
    assert "Write your story after the command" in t.calls(OWNER, "sendMessage")[-1].params["text"]
    await t.say(OWNER, "hi")
    assert "at least 3 words" in t.calls(OWNER, "sendMessage")[-1].params["text"]


async def test_a_deleted_message_gets_the_final_as_a_new_reply(
    telegram: Build, media: FakeMedia
) -> None:
    clips_waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await release.wait()

    t = await telegram(providers=FakeProviders(media, hook=hold))
    asked = await t.say(OWNER, STORY)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    t.fake.delete_message(OWNER, asked + 1)
    release.set()
    await t.jobs.drain()

    final = t.calls(OWNER)[-1]
    assert final.method == "sendVideo"
    assert int(final.params["reply_parameters"]["message_id"]) == asked
    assert await t.storage.db.fetch("SELECT state, charge FROM jobs") == [
        ("delivered", "committed")
    ]


async def test_a_blocked_bot_ends_the_updates_and_refunds(
    telegram: Build, media: FakeMedia
) -> None:
    t = await telegram(providers=FakeProviders(media, latency={"clips": 2.0}))
    t.fake.fail("editMessageMedia", "blocked", chat_id=OWNER)
    await t.say(OWNER, STORY)
    await t.jobs.drain()

    blocked = next(c for c in t.calls(OWNER) if c.method == "editMessageMedia")
    assert [c for c in t.calls(OWNER) if c.at > blocked.at] == []  # nothing more was tried
    assert await t.storage.db.fetch("SELECT state, charge FROM jobs") == [("failed", "refunded")]


def last_text(t: Harness, chat: int) -> str:
    return str(t.calls(chat, "sendMessage")[-1].params["text"])


async def test_a_russian_user_is_answered_in_russian(telegram: Build) -> None:
    t = await telegram(quota=3)
    russian = words("ru")
    await t.say(OWNER, "/help", language="ru")
    assert last_text(t, OWNER) == f"{russian._(render.HELP)}\n{russian._(render.HELP_YOURS)}"
    assert last_text(t, OWNER).startswith("Пришлите мне короткую историю")
    await t.say(OWNER, "/quota", language="ru")
    assert last_text(t, OWNER).startswith("Сегодня у вас осталось снов: 3 из 3")
    await t.say(OWNER, "hi", language="ru")
    assert last_text(t, OWNER) == "Слишком коротко для фильма: напишите хотя бы 3 слова."
    await t.say(OTHER, "/stats", language="ru")
    assert last_text(t, OTHER) == russian._("That command is for the bot's admins.")


async def test_a_russian_job_speaks_russian_to_the_end_and_keeps_its_language(
    telegram: Build,
) -> None:
    t = await telegram()
    russian = words("ru")
    await t.say(OWNER, STORY, language="pt-br")  # each job in its own asker's language
    await t.say(OTHER, STORY, language="ru")
    await t.jobs.drain()

    ack, *_ = t.calls(OTHER, "sendMessage")
    assert ack.params["text"].endswith(russian._("⏳ starting…"))
    assert ack.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✖ Отменить"
    final = t.calls(OTHER, "editMessageMedia")[-1].params
    assert "3 сцены" in final["media"]["caption"]
    buttons = [b["text"] for b in final["reply_markup"]["inline_keyboard"][0]]
    assert buttons == [russian._("🔁 Regenerate"), russian._("📣 Share")]
    query = "SELECT surface FROM jobs WHERE user_key = ?"
    stored = await t.storage.db.fetch(query, (f"telegram:{OTHER}",))
    place = Place.from_ref(stored[0][0])
    assert place is not None and place.locale == "ru"  # a resumed job still speaks Russian
    older = Place.from_ref('telegram:{"chat_id": 1, "is_group": false, "reply_to": null}')
    assert older is not None and older.locale == "en"  # stored before locales: English
    portuguese = t.calls(OWNER, "sendMessage")[0].params["text"]
    assert portuguese.endswith(words("pt_BR")._("⏳ starting…"))


async def test_an_unknown_or_missing_language_gets_english(telegram: Build) -> None:
    t = await telegram()
    await t.say(OWNER, "/help", language="zh-hans")
    assert last_text(t, OWNER) == f"{render.HELP}\n{render.HELP_YOURS}"
    await t.say(OWNER, "/help")
    assert last_text(t, OWNER) == f"{render.HELP}\n{render.HELP_YOURS}"


async def test_a_moderation_that_cannot_run_gets_a_clear_reply(telegram: Build) -> None:
    async with OpenAIFake() as server:
        server.fail("moderation", "400")
        client = openai_client("sk-test-0123456789abcdef", server.base_url, timeout_s=5.0)
        t = await telegram(moderation=OpenAIModerator(client, "omni-moderation-latest"))
        await t.say(OWNER, STORY)
        await client.close()

    reply = t.calls(OWNER, "sendMessage")[-1].params["text"]
    assert "content check is unavailable" in reply and "nothing was charged" in reply
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


async def test_a_database_that_refuses_admission_gets_a_clear_reply(telegram: Build) -> None:
    t = await telegram()
    await t.storage.db.fetch("PRAGMA query_only = 1")  # every write fails: SQLITE_READONLY
    await t.say(OWNER, STORY)
    await t.storage.db.fetch("PRAGMA query_only = 0")

    reply = t.calls(OWNER, "sendMessage")[-1].params["text"]
    assert "cannot take dreams right now" in reply and "nothing was charged" in reply
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


async def test_replies_land_where_the_command_was_deleted_at_once(telegram: Build) -> None:
    t = await telegram()
    for text in ("/help", "/quota", "hi"):  # help, quota and a refusal
        update = t.fake.message_update(next(t.update_ids), OWNER, OWNER, text, username="u")
        t.fake.delete_message(OWNER, update["message"]["message_id"])  # a group's cleaner bot
        await t.feed(update)

    replies = t.calls(OWNER, "sendMessage")
    assert len(replies) == 3
    assert all(r.params["reply_parameters"]["allow_sending_without_reply"] for r in replies)
    assert [m.kind for m in t.fake.messages[OWNER].values() if m.sender is None] == ["text"] * 3


async def test_cancel_by_command_stops_the_running_dream(telegram: Build, media: FakeMedia) -> None:
    clips_waiting = asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_waiting.set()
            await asyncio.Event().wait()  # clips never come: only a cancel ends this job

    t = await telegram(providers=FakeProviders(media, hook=hold))
    await t.say(OWNER, STORY)
    await asyncio.wait_for(clips_waiting.wait(), timeout=30)
    await t.say(OWNER, "/cancel")
    await t.jobs.drain()
    await t.say(OWNER, "/cancel")

    texts = [c.params.get("text", "") for c in t.calls(OWNER, "sendMessage")]
    assert "Cancelling your dream…" in texts
    assert texts[-1] == "You have no dream running."
    assert await t.storage.db.fetch("SELECT state, charge FROM jobs") == [("cancelled", "refunded")]


async def test_media_and_unknown_commands_get_a_short_answer_in_private(telegram: Build) -> None:
    t = await telegram()
    photo = t.fake.message_update(next(t.update_ids), OWNER, OWNER, "x", username="u")
    del photo["message"]["text"]
    photo["message"]["photo"] = [
        {"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}
    ]
    await t.feed(photo)
    await t.say(OWNER, "/weather")
    await t.say(OTHER, "/weather", chat=GALLERY, group=True)  # another bot's, in a group

    replies = [c.params["text"] for c in t.calls(OWNER, "sendMessage")]
    assert "send me your story as text" in replies[0]
    assert "don't know that command" in replies[1]
    assert t.calls(GALLERY, "sendMessage") == []
    assert await t.storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]


async def test_a_gallery_that_refuses_the_share_gets_a_toast_and_the_job_stays_delivered(
    telegram: Build,
) -> None:
    t = await telegram()
    await t.say(OWNER, STORY)
    await t.jobs.drain()
    job, message_id = t.job_ids()[0], max(t.fake.messages[OWNER])
    t.fake.fail("sendVideo", "chat not found", chat_id=GALLERY)

    await t.press(OWNER, OWNER, message_id, "share", job)  # raises if the error escaped
    answer = t.fake.calls_of("answerCallbackQuery")[-1].params["text"]
    assert answer == "Could not share to the gallery."
    await t.press(OWNER, OWNER, message_id, "share", job)  # a failed share may be tried again
    await t.press(OWNER, OWNER, message_id, "share", job)
    assert len(t.fake.messages[GALLERY]) == 1
    assert await t.storage.db.fetch("SELECT state, charge FROM jobs") == [
        ("delivered", "committed")
    ]


async def test_the_preview_caption_shows_the_current_progress(
    telegram: Build, media: FakeMedia
) -> None:
    clips_waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "preview":  # the preview comes once the script and pictures are done
            await clips_waiting.wait()
        if role == "clips":
            clips_waiting.set()
            await release.wait()

    t = await telegram(providers=FakeProviders(media, hook=hold))
    await t.say(OWNER, STORY)
    await asyncio.wait_for(t.fake.wait_calls("editMessageMedia", 1), timeout=30)
    release.set()
    await t.jobs.drain()

    preview = t.calls(OWNER, "editMessageMedia")[0].params["media"]["caption"]
    assert "starting" not in preview
    assert "✅ script" in preview


async def held_at_clips(media: FakeMedia) -> tuple[FakeProviders, asyncio.Event, asyncio.Event]:
    """Providers whose clips wait for ``release``; ``waiting`` is set once they do."""
    waiting, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            waiting.set()
            await release.wait()

    return FakeProviders(media, hook=hold), waiting, release


async def down_at_delivery(
    t: Harness, waiting: asyncio.Event, release: asyncio.Event, *, refused: int
) -> None:
    """The Bot API goes down while clips are held; return once the final was refused
    ``refused`` times."""
    await asyncio.wait_for(waiting.wait(), timeout=30)
    before = len(t.calls(OWNER, "editMessageMedia"))
    t.fake.down = True
    release.set()
    await asyncio.wait_for(t.fake.wait_calls("editMessageMedia", before + refused), timeout=30)


async def assert_delivered_without_failure(t: Harness) -> None:
    texts = [str(c.params.get("text") or c.params.get("caption") or "") for c in t.calls(OWNER)]
    assert [text for text in texts if "Failed" in text] == []
    assert await t.storage.db.fetch("SELECT state, charge FROM jobs") == [
        ("delivered", "committed")
    ]


async def test_a_500_on_the_final_upload_is_retried_and_delivered(telegram: Build) -> None:
    t = await telegram()
    t.fake.fail("editMessageMedia", "500", times=2)
    await t.say(OWNER, STORY)
    await t.jobs.drain()

    finals = t.calls(OWNER, "editMessageMedia")
    assert t.fake.messages[OWNER][max(t.fake.messages[OWNER])].kind == "video"
    assert "scenes" in finals[-1].params["media"]["caption"]
    await assert_delivered_without_failure(t)


async def test_an_upload_answered_after_its_timeout_is_delivered_and_never_called_failed(
    telegram: Build, media: FakeMedia
) -> None:
    # The smallest timeout aiogram takes (whole seconds): the final's answer comes later.
    quick = replace(FAST_RETRIES, min_timeout_s=1, slack_s=0, uplink_kbps=1e9)
    providers, waiting, release = await held_at_clips(media)
    t = await telegram(providers=providers, delivery=quick)
    asked = await t.say(OWNER, STORY)
    await asyncio.wait_for(waiting.wait(), timeout=30)
    await asyncio.wait_for(t.fake.wait_calls("editMessageMedia", 1), timeout=30)  # the preview
    answered = t.fake.answer_late("editMessageMedia")  # the final's first try
    release.set()
    await t.jobs.drain()
    answered.set()

    job_message = t.fake.messages[OWNER][asked + 1]
    assert job_message.kind == "video" and "scenes" in (job_message.text or "")
    assert t.calls(OWNER, "sendVideo") == []  # the same message, edited again
    await assert_delivered_without_failure(t)


async def test_a_platform_down_at_delivery_gets_the_video_once_it_is_back(
    telegram: Build, media: FakeMedia
) -> None:
    providers, waiting, release = await held_at_clips(media)
    t = await telegram(providers=providers)
    asked = await t.say(OWNER, STORY)
    await down_at_delivery(t, waiting, release, refused=4)
    assert t.jobs.engine.is_running(t.job_ids()[0])  # still waiting, not failed
    t.fake.down = False
    await t.jobs.drain()

    assert t.fake.messages[OWNER][asked + 1].kind == "video"
    await assert_delivered_without_failure(t)


async def test_a_restart_while_the_platform_is_down_delivers_once(
    telegram: Build, media: FakeMedia
) -> None:
    providers, waiting, release = await held_at_clips(media)
    first = await telegram(providers=providers)
    asked = await first.say(OWNER, STORY)
    await down_at_delivery(first, waiting, release, refused=3)
    await first.jobs.close()  # the process goes away during the wait
    first.fake.down = False
    cutoff = first.calls(OWNER)[-1].at

    again = FakeProviders(media)
    second = await telegram(providers=again, storage=first.storage)
    await second.jobs.resume([second.app.surfaces])
    await second.jobs.drain()

    after = [c for c in second.calls(OWNER) if c.at > cutoff]
    assert [c.method for c in after if c.method in ("editMessageMedia", "sendVideo")] == [
        "editMessageMedia"
    ]
    assert second.fake.messages[OWNER][asked + 1].kind == "video"
    assert again.calls_of("clips") == []  # every scene came from the journal
    await assert_delivered_without_failure(second)


async def test_sixty_people_in_a_group_with_room_for_ten_never_flood_it(telegram: Build) -> None:
    t = await telegram(chat_cap=10, quota=1)
    group = -100600
    askers = range(1000, 1060)
    for user in askers:
        await t.say(user, f"/dream {STORY} Told by {user}.", chat=group, group=True)
    await t.jobs.drain()
    await t.app.surfaces.refusals.drain()

    states = await t.storage.db.fetch("SELECT state, count(*) FROM jobs GROUP BY state")
    assert states == [("delivered", 10)]
    # The fake refuses a group's 21st message in a minute with a 429: none was refused.
    made = [c for c in t.calls(group) if c.method in ("sendMessage", "sendVideo")]
    assert len(made) == len(t.fake.sent_at[group])
    assert t.fake.group_sends_per_minute_max(group) <= 20
    refusals = [c.params["text"] for c in made if "used all its dreams" in c.params["text"]]
    assert 1 <= len(refusals) <= 5
    named = sum(
        text.split(": ", 1)[0].count("User") + sum(map(int, re.findall(r"and (\d+) more", text)))
        for text in refusals
    )
    assert named == 50  # everyone refused was answered, in a handful of replies


async def test_a_story_asked_in_a_forum_topic_is_answered_in_that_topic(telegram: Build) -> None:
    t = await telegram()
    forum = -100700
    t.fake.forum(forum)
    topic = (await t.bot.create_forum_topic(forum, "Stories")).message_thread_id
    await t.say(OWNER, f"/dream {STORY}", chat=forum, group=True, thread=topic)
    await t.jobs.drain()

    made = t.calls(forum, "sendMessage", "sendVideo")
    assert made and all(int(c.params["message_thread_id"]) == topic for c in made)
    bots = [m for m in t.fake.messages[forum].values() if m.sender is None]
    assert [(m.thread_id, m.kind) for m in bots] == [(topic, "video")]


async def test_a_slow_final_upload_shows_sending_video(telegram: Build) -> None:
    t = await telegram()
    await t.say(OWNER, STORY)
    await t.fake.wait_calls("editMessageMedia", 1)  # the preview went through unheld
    release = t.fake.hold("editMessageMedia")
    await t.fake.wait_calls("editMessageMedia", 2)  # the final's upload, not yet answered
    await t.fake.wait_calls("sendChatAction", 1)
    release.set()
    await t.jobs.drain()

    final = t.calls(OWNER, "editMessageMedia")[-1]
    actions = t.calls(OWNER, "sendChatAction")
    assert [c.params["action"] for c in actions] == ["upload_video"] * len(actions)
    assert all(c.at > final.at for c in actions)  # while the upload was under way
    job = await t.storage.db.fetch("SELECT state FROM jobs")
    assert job == [("delivered",)]
