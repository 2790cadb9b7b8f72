"""The fake Telegram Bot API speaks the protocol the real aiogram 3 Bot expects."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaVideo,
    Message,
    ReplyParameters,
    Update,
)

from tests.fakes import telegram_updates as tg
from tests.fakes.telegram_api import NOT_MODIFIED, Call, FakeTelegramAPI, FileInfo

CHAT = 42
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Cancel", callback_data="cancel:1")]]
)


@pytest.fixture(scope="session")
def mp4(tmp_path_factory: pytest.TempPathFactory, ffmpeg_exe: str) -> Path:
    path = tmp_path_factory.mktemp("telegram") / "clip.mp4"
    source = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=8:duration=1"]
    subprocess.run(
        [ffmpeg_exe, "-v", "error", "-y", *source, "-pix_fmt", "yuv420p", str(path)],
        check=True,
        timeout=60,
    )
    return path


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    bot = fake.bot()
    yield bot
    await bot.session.close()


async def test_get_me_names_the_bot_by_its_token(fake: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123, True, "dreambot_test_bot")
    assert [c.method for c in fake.calls] == ["getMe"]


async def test_send_and_edit_text_then_not_modified(fake: FakeTelegramAPI, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "hello", reply_markup=KEYBOARD)
    assert (sent.message_id, sent.text, sent.chat.type) == (1, "hello", "private")
    assert isinstance(sent.reply_markup, InlineKeyboardMarkup)
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "cancel:1"
    call = fake.calls_of("sendMessage")[0]
    # Form values arrive as strings; nested objects as JSON that the fake decodes.
    assert call.chat_id == CHAT and call.params["chat_id"] == str(CHAT)
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Cancel", "callback_data": "cancel:1"}]]
    }

    edited = await bot.edit_message_text("world", chat_id=CHAT, message_id=1, reply_markup=KEYBOARD)
    assert isinstance(edited, Message) and edited.text == "world" and edited.edit_date
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text("world", chat_id=CHAT, message_id=1, reply_markup=KEYBOARD)
    assert caught.value.message == NOT_MODIFIED
    # Leaving reply_markup out removes the keyboard, which is a modification.
    bare = await bot.edit_message_text("world", chat_id=CHAT, message_id=1)
    assert isinstance(bare, Message) and bare.reply_markup is None
    assert fake.messages[CHAT][1].text == "world" and fake.messages[CHAT][1].reply_markup is None
    second = await bot.send_message(CHAT, "again")
    assert second.message_id == 2


async def test_video_upload_and_edit_media_on_video_and_text(
    fake: FakeTelegramAPI, bot: Bot, mp4: Path
) -> None:
    size = mp4.stat().st_size
    video = await bot.send_video(CHAT, FSInputFile(mp4), caption="clip", width=64, height=64)
    assert video.video is not None and video.caption == "clip"
    assert (video.video.file_id, video.video.width, video.video.file_size) == ("vid-1", 64, size)
    params = fake.calls_of("sendVideo")[0].params
    key = params["video"].removeprefix("attach://")  # aiogram sends the file part by reference
    assert params[key] == FileInfo("clip.mp4", size)
    assert fake.uploads == [("sendVideo", size)]

    media = InputMediaVideo(media=FSInputFile(mp4), caption="new cut")
    edited = await bot.edit_message_media(media, chat_id=CHAT, message_id=video.message_id)
    assert isinstance(edited, Message) and edited.video is not None
    assert (edited.video.file_id, edited.caption) == ("vid-2", "new cut")
    sent = fake.calls_of("editMessageMedia")[0].params["media"]
    assert sent["type"] == "video" and sent["media"].startswith("attach://")

    text = await bot.send_message(CHAT, "rendering…")
    media = InputMediaVideo(media=FSInputFile(mp4))
    turned = await bot.edit_message_media(media, chat_id=CHAT, message_id=text.message_id)
    assert isinstance(turned, Message) and turned.text is None and turned.video is not None
    assert fake.messages[CHAT][text.message_id].kind == "video"
    assert fake.uploads == [("sendVideo", size)] + [("editMessageMedia", size)] * 2


async def test_file_id_reuse_uploads_nothing(fake: FakeTelegramAPI, bot: Bot, mp4: Path) -> None:
    first = await bot.send_video(CHAT, FSInputFile(mp4))
    assert first.video is not None
    again = await bot.send_video(CHAT + 1, first.video.file_id, caption="same")
    assert again.video is not None and again.video.file_id == first.video.file_id
    assert len(fake.uploads) == 1

    same = InputMediaVideo(media=first.video.file_id, caption="same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_media(same, chat_id=CHAT + 1, message_id=again.message_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_video(CHAT, "vid-999")
    assert len(fake.uploads) == 1

    downloaded = await bot.download(first.video.file_id)  # getFile, then the file URL
    assert downloaded is not None and downloaded.read() == mp4.read_bytes()


async def test_length_limits_and_empty_text(fake: FakeTelegramAPI, bot: Bot, mp4: Path) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_video(CHAT, FSInputFile(mp4), caption="x" * 1025)
    assert caught.value.message == "Bad Request: message caption is too long"
    assert fake.uploads == [] and CHAT not in fake.messages
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(CHAT, "😀" * 2049)  # UTF-16 units: 4098
    await bot.send_message(CHAT, "x" * 4096)
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(CHAT, "  ")


async def test_upload_over_limit_is_entity_too_large(mp4: Path) -> None:
    async with FakeTelegramAPI(upload_limit_bytes=100) as fake:
        bot = fake.bot()
        try:
            with pytest.raises(TelegramEntityTooLarge) as caught:
                await bot.send_video(CHAT, FSInputFile(mp4))
        finally:
            await bot.session.close()
    assert caught.value.message == "Request Entity Too Large"
    assert fake.uploads == [] and len(fake.calls_of("sendVideo")) == 1


async def test_faults_429_blocked_deleted_500(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.fail("sendMessage", "429", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(CHAT, "hi")
    assert flood.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in flood.value.message
    assert CHAT not in fake.messages  # a faulted call has no effect
    sent = await bot.send_message(CHAT, "hi")  # the fault was used up

    fake.fail("sendMessage", "blocked", chat_id=CHAT + 1)
    await bot.send_message(CHAT, "other chat is unaffected")
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(CHAT + 1, "hi")

    fake.fail("editMessageText", "deleted", times=2)
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await bot.edit_message_text("x", chat_id=CHAT, message_id=sent.message_id)
    await bot.edit_message_text("x", chat_id=CHAT, message_id=sent.message_id)

    fake.fail("sendChatAction", "500")
    with pytest.raises(TelegramServerError):
        await bot.send_chat_action(CHAT, "upload_video")
    assert await bot.send_chat_action(CHAT, "upload_video") is True


async def test_user_deleted_message_cannot_be_edited(fake: FakeTelegramAPI, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "progress", reply_markup=KEYBOARD)
    fake.delete_message(CHAT, sent.message_id)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text("more", chat_id=CHAT, message_id=sent.message_id)
    assert caught.value.message == "Bad Request: message to edit not found"
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=CHAT, message_id=99)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


async def test_parse_modes_are_validated(bot: Bot) -> None:
    for bad in ("<b>open", "1 < 2", "<foo>x</foo>", "Tom & Jerry", "<b><i>x</b></i>"):
        with pytest.raises(TelegramBadRequest, match="Bad Request: can't parse entities: "):
            await bot.send_message(CHAT, bad, parse_mode="HTML")
    good = await bot.send_message(
        CHAT, '<b>x</b> &amp; <a href="https://t.me">link</a> &#33;', parse_mode="HTML"
    )
    assert good.text == "x & link !"  # Telegram answers with the text the user sees
    for bad in ("Done.", "*bold", "a_b", "[x](http://y"):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(CHAT, bad, parse_mode="MarkdownV2")
    markdown = r"*Done\.* _see_ [here](http://x.y/a\)b)"
    good = await bot.send_message(CHAT, markdown, parse_mode="MarkdownV2")
    assert good.text == "Done. see here"
    plain = await bot.send_message(CHAT, "1 < 2 & *x.")  # no parse_mode: anything goes
    assert plain.text == "1 < 2 & *x."


async def test_dispatcher_command_and_callback(fake: FakeTelegramAPI, bot: Bot) -> None:
    dp = Dispatcher()
    seen: list[str | None] = []
    pressed: list[str | None] = []

    @dp.message(Command("dream"))
    async def dream(message: Message, command: CommandObject) -> None:
        seen.append(command.args)
        await message.reply("on it", reply_markup=KEYBOARD)

    @dp.callback_query(F.data.startswith("cancel:"))
    async def cancel(query: CallbackQuery) -> None:
        pressed.append(query.data)
        await query.answer("Cancelled")

    group = -1001234567890
    update = fake.message_update(1, group, 7, "/dream@dreambot_test_bot a story", "group")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 24}]
    await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))
    other = fake.message_update(2, group, 7, "/dream@other_bot a story", "group")
    await dp.feed_update(bot, Update.model_validate(other, context={"bot": bot}))
    assert seen == ["a story"]
    assert len(fake.calls_of("getMe")) == 1  # the mention check, cached afterwards

    reply = fake.messages[group][2]
    assert (reply.kind, reply.text, reply.reply_to, reply.sender) == ("text", "on it", 1, None)
    press = fake.callback_update(3, group, 7, reply.message_id, "cancel:1")
    await dp.feed_update(bot, Update.model_validate(press, context={"bot": bot}))
    assert pressed == ["cancel:1"]
    answer = fake.calls_of("answerCallbackQuery")[0]
    assert answer.params == {"callback_query_id": "cb-3", "text": "Cancelled"}


async def test_replies_need_the_replied_message(fake: FakeTelegramAPI, bot: Bot) -> None:
    first = await bot.send_message(CHAT, "first")
    reply = await bot.send_message(CHAT, "r", reply_parameters=ReplyParameters(message_id=1))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == first.text
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        strict = ReplyParameters(message_id=50, allow_sending_without_reply=False)
        await bot.send_message(CHAT, "r", reply_parameters=strict)
    lenient = ReplyParameters(message_id=50, allow_sending_without_reply=True)
    assert (await bot.send_message(CHAT, "r", reply_parameters=lenient)).reply_to_message is None


async def test_unknown_method_is_not_found(fake: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(TelegramNotFound, match="Not Found: method not found"):
        await bot.send_photo(CHAT, "photo-1")
    assert fake.unexpected == ["sendPhoto"]


async def test_edits_per_second_max(fake: FakeTelegramAPI, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "0")
    for n in range(1, 4):
        await bot.edit_message_text(str(n), chat_id=CHAT, message_id=sent.message_id)
    real = fake.edits_per_second_max(CHAT)
    assert 1.0 <= real <= 3.0 and fake.edits_per_second_max(CHAT + 1) == 0.0

    fake.calls.clear()
    times = {0.0: CHAT, 0.5: CHAT, 0.99: CHAT, 1.0: CHAT, 1.2: CHAT, 1.3: CHAT + 1, 3.0: CHAT}
    fake.calls.extend(Call("editMessageCaption", {}, chat, at) for at, chat in times.items())
    fake.calls.append(Call("sendMessage", {}, CHAT, 0.7))  # not an edit
    assert fake.edits_per_second_max(CHAT) == 4.0  # 0.5, 0.99, 1.0 and 1.2
    assert fake.edits_per_second_max(CHAT + 1) == 1.0


async def test_a_held_method_is_recorded_at_once_and_answered_on_release(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    release = fake.hold("sendMessage")
    sending = asyncio.create_task(bot.send_message(5, "hello"))
    while not fake.calls_of("sendMessage"):
        await asyncio.sleep(0.01)
    assert not sending.done()
    assert await bot.get_me()  # other methods are answered meanwhile

    release.set()
    sent = await asyncio.wait_for(sending, timeout=5)
    assert sent.text == "hello"


def test_entities_are_measured_in_utf16_and_kept_inside_the_text() -> None:
    text = "👨‍👩‍👧 🇯🇵 @sam"
    mention = tg.entity("mention", text, "@sam")
    assert (mention["offset"], mention["length"]) == (14, 4)  # family 8 units, flag 4, 2 spaces
    update = tg.message_update(1, 5, 5, text, entities=[mention])
    assert update["message"]["entities"] == [mention]
    with pytest.raises(ValueError, match="outside"):
        tg.message_update(1, 5, 5, text, entities=[mention | {"length": 5}])
    with pytest.raises(ValueError, match="'url'"):
        tg.message_update(1, 5, 5, text, entities=[mention | {"url": "https://x.org"}])


async def test_a_reply_to_a_deleted_message_needs_allow_sending_without_reply(
    fake: FakeTelegramAPI,
) -> None:
    strict = fake.bot(default=DefaultBotProperties())
    try:
        update = fake.message_update(1, CHAT, 7, "/help")
        asked = update["message"]["message_id"]
        fake.delete_message(CHAT, asked)
        with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
            await strict.send_message(
                CHAT, "hi", reply_parameters=ReplyParameters(message_id=asked)
            )
        gone_ok = ReplyParameters(message_id=asked, allow_sending_without_reply=True)
        sent = await strict.send_message(CHAT, "hi", reply_parameters=gone_ok)
        assert sent.reply_to_message is None
    finally:
        await strict.session.close()


async def test_polling_while_a_webhook_is_set_is_a_conflict(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    with pytest.raises(TelegramBadRequest, match="unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="not allowed!")  # noqa: S106
    await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret_token-1")  # noqa: S106
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []


async def test_a_second_poller_ends_the_first_with_a_conflict(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    other = fake.bot()
    try:
        first = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_calls("getUpdates", 1)
        second = asyncio.create_task(other.get_updates(timeout=30))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            await first
        fake.push_update(fake.message_update(1, CHAT, 7, "hello"))
        assert [u.update_id for u in await second] == [1]
    finally:
        await other.session.close()


async def test_a_group_takes_twenty_messages_a_minute_and_then_says_when(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    group = -100777
    for n in range(20):
        await bot.send_message(group, f"message {n}")
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(group, "one too many")
    assert 58 <= limited.value.retry_after <= 60
    await bot.edit_message_text("edited", chat_id=group, message_id=1)  # edits are not counted
    await bot.send_message(CHAT, "a private chat has no such limit")
    assert fake.group_sends_per_minute_max(group) == 20


async def test_a_callback_query_takes_one_answer_of_at_most_200_characters(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    query = fake.callback_update(1, CHAT, 7, 1, "cancel:1")["callback_query"]["id"]
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query, text="x" * 201)
    assert await bot.answer_callback_query(query, text="x" * 200)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(query, text="again")
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("never-sent")
    assert fake.callback_answers[query]["text"] == "x" * 200


async def test_forum_topics_keep_their_messages_and_unknown_topics_are_refused(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    forum, plain_group = -100888, -100999
    fake.forum(forum)
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(plain_group, "Stories")
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_INVALID"):
        await bot.create_forum_topic(forum, "x" * 129)
    topic = await bot.create_forum_topic(forum, "Stories")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(forum, "lost", message_thread_id=topic.message_thread_id + 50)

    sent = await bot.send_message(forum, "in the topic", message_thread_id=topic.message_thread_id)
    assert (sent.message_thread_id, sent.is_topic_message) == (topic.message_thread_id, True)
    asked = fake.message_update(
        1, forum, 7, "/dream x", "supergroup", thread_id=sent.message_thread_id
    )
    reply = await bot.send_message(
        forum,
        "a reply",
        reply_parameters=ReplyParameters(message_id=asked["message"]["message_id"]),
    )
    assert reply.message_thread_id == topic.message_thread_id  # a reply stays in its topic
    general = await bot.send_message(forum, "no topic named")
    assert general.message_thread_id is None
    assert asked["message"]["chat"]["is_forum"] is True
