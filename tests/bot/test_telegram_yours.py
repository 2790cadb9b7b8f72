"""A person's own things on Telegram: /settings, /mydreams, inline mode, redo by reply."""

from __future__ import annotations

from typing import Any

from bot.telegram_app.keyboards import JobButton
from bot.telegram_app.settings_menu import SettingsButton
from engine import EngineConfig
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe
from engine.models import Aspect, Look
from engine.providers.local.script import LocalScriptWriter
from tests.bot.test_telegram import OTHER, OWNER, STORY, Build, Harness, telegram

__all__ = ["telegram"]  # the fixture, shared with the other Telegram tests


def buttons(call: Any) -> list[tuple[str, str]]:
    """(text, callback data) of every button a call sent."""
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


def button(call: Any, text: str) -> str:
    """The callback data of the button whose text contains ``text``."""
    return next(data for label, data in buttons(call) if text in label)


async def open_settings(t: Harness, user: int) -> tuple[int, Any]:
    """/settings; the id of the settings message and the call that sent it."""
    await t.say(user, "/settings")
    sent = t.calls(user, "sendMessage")[-1]
    return max(t.fake.messages[user]), sent


def settings_text(t: Harness, user: int, message_id: int) -> str:
    return t.fake.messages[user][message_id].text or ""


async def test_settings_are_shown_changed_by_their_owner_only_and_applied(
    telegram: Build, config: EngineConfig, ffmpeg: FFmpeg
) -> None:
    t = await telegram()
    settings, sent = await open_settings(t, OWNER)
    assert "Shape: 16:9 wide" in sent.params["text"]
    assert "Voice: Fake-a" in sent.params["text"]

    # Someone else cannot change them, even by pressing the owner's buttons.
    await t.press_data(OTHER, OWNER, settings, button(sent, "Shape"))
    assert "someone else's" in t.fake.calls_of("answerCallbackQuery")[-1].params["text"]

    await t.press_data(OWNER, OWNER, settings, button(sent, "Shape"))
    choices = t.calls(OWNER, "editMessageText")[-1]
    assert [label for label, _ in buttons(choices)][:3] == [
        "✓ 16:9 wide",
        "9:16 tall",
        "1:1 square",
    ]
    await t.press_data(OWNER, OWNER, settings, button(choices, "9:16"))
    assert t.fake.calls_of("answerCallbackQuery")[-1].params["text"] == "Saved."
    assert "Shape: 9:16 tall" in settings_text(t, OWNER, settings)

    overview = t.calls(OWNER, "editMessageText")[-1]
    await t.press_data(OWNER, OWNER, settings, button(overview, "Voice"))
    await t.press_data(OWNER, OWNER, settings, button(t.calls(OWNER)[-1], "Fake-b"))
    await t.press_data(OWNER, OWNER, settings, button(t.calls(OWNER)[-1], "Captions: on"))
    assert "Captions: off" in settings_text(t, OWNER, settings)
    assert "Voice: Fake-b" in settings_text(t, OWNER, settings)

    await t.say(OWNER, STORY)
    await t.jobs.drain()
    (job,) = [row[0] for row in await t.storage.db.fetch("SELECT id FROM jobs")]
    looks = await t.storage.db.fetch("SELECT look FROM jobs")
    assert Look.from_json(looks[0][0]) == Look(Aspect.TALL, "fake-b", captions=False)
    final = (await probe(ffmpeg, config.work_dir / job / "final.mp4")).video
    assert final is not None and final.width < final.height
    assert set(t.providers.voices_used) == {"fake-b"}
    assert not list((config.work_dir / job).rglob("cue_*.png"))

    # Someone else's dreams keep the defaults.
    await t.say(OTHER, STORY)
    await t.jobs.drain()
    looks = await t.storage.db.fetch(
        "SELECT look FROM jobs WHERE user_key = ?", (f"telegram:{OTHER}",)
    )
    assert Look.from_json(looks[0][0]) == Look()


async def test_settings_buttons_fit_telegrams_callback_data() -> None:
    # Bot API, InlineKeyboardButton: callback_data is 1-64 bytes.
    longest = SettingsButton(owner=-(10**15), field=None, value="pt-BR").pack()
    assert len(longest.encode()) <= 64


async def dream_twice(t: Harness) -> list[str]:
    await t.say(OWNER, STORY)
    await t.jobs.drain()
    await t.say(OWNER, "The fox crossed the frozen river at dawn and found a lantern.")
    await t.jobs.drain()
    return t.job_ids()


async def test_my_dreams_sends_a_past_video_again_by_file_id(telegram: Build) -> None:
    t = await telegram()
    await t.say(OWNER, "/mydreams")
    assert "no dreams yet" in t.calls(OWNER, "sendMessage")[-1].params["text"]

    first, second = await dream_twice(t)
    await t.say(OWNER, "/mydreams")
    listing = t.calls(OWNER, "sendMessage")[-1]
    lines = listing.params["text"].splitlines()
    assert lines[1].startswith("1. The fox crossed") and lines[2].startswith("2. A lighthouse")
    resends = [JobButton.unpack(data) for _, data in buttons(listing)]
    assert [b.job for b in resends] == [second, first]

    uploads = len(t.fake.uploads)
    await t.press_data(OWNER, OWNER, max(t.fake.messages[OWNER]), button(listing, "▶ 2"))
    sent = t.calls(OWNER, "sendVideo")[-1]
    delivered = [m for m in t.fake.messages[OWNER].values() if m.kind == "video"]
    assert sent.params["video"] == delivered[0].file_id  # the first dream's own file
    assert len(t.fake.uploads) == uploads  # nothing uploaded again
    assert len(t.providers.calls_of("script")) == 2  # nothing made again

    # A list someone else pressed sends nothing of the owner's.
    await t.press_data(OTHER, OWNER, max(t.fake.messages[OWNER]), button(listing, "▶ 1"))
    assert len(t.calls(OWNER, "sendVideo")) == 1


async def test_inline_mode_offers_only_the_persons_own_dreams(telegram: Build) -> None:
    t = await telegram()
    t.fake.inline_mode = True
    first, second = await dream_twice(t)
    await t.say(OTHER, "Someone else's storm over the sea, at night.")
    await t.jobs.drain()

    async def ask(user: int, query: str) -> dict[str, Any]:
        update = t.fake.inline_update(next(t.update_ids), user, query)
        await t.feed(update)
        return t.fake.inline_answers[update["inline_query"]["id"]]

    everything = await ask(OWNER, "")
    assert [r["id"] for r in everything["results"]] == [second, first]
    assert everything["is_personal"] == "true"  # form-encoded, as aiogram sends it
    videos = {m.file_id for m in t.fake.messages[OWNER].values() if m.kind == "video"}
    assert {r["video_file_id"] for r in everything["results"]} == videos

    storm = await ask(OWNER, "STORM lighthouse")
    assert [r["id"] for r in storm["results"]] == [first]
    assert (await ask(OTHER, "lighthouse"))["results"] == []
    assert [len(r["id"]) for r in (await ask(OTHER, "storm"))["results"]] == [12]


EDITABLE = (
    "The keeper lit the lamp in the tower. The keeper watched the grey sea below. "
    "The keeper sang a song to the gulls."
)
EDITED = (
    "The keeper lit the lamp in the tower. The keeper watched the grey sea below. "
    "The keeper sang a ballad to the gulls."
)


async def test_a_reply_to_a_video_remakes_it_reusing_its_unchanged_scenes(
    telegram: Build,
) -> None:
    t = await telegram(script=LocalScriptWriter())
    await t.say(OWNER, EDITABLE)
    await t.jobs.drain()
    video = next(m for m in t.fake.messages[OWNER].values() if m.kind == "video")
    before = {role: len(t.providers.calls_of(role)) for role in ("images", "voice", "clips")}

    await t.say(OWNER, EDITED, reply_to=video.message_id)
    await t.jobs.drain()

    made = {role: len(t.providers.calls_of(role)) - before[role] for role in before}
    assert made == {"images": 1, "voice": 1, "clips": 1}  # the changed scene only
    seeds = await t.storage.db.fetch("SELECT story, seed FROM jobs ORDER BY created_at")
    assert [story for story, _ in seeds] == [EDITABLE, EDITED]
    assert seeds[1][1] is not None  # the first job's seed, kept
