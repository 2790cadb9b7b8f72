"""A person's own things on Discord: /settings, /dream's options, Edit, /mydreams."""

from __future__ import annotations

from typing import Any

from engine import EngineConfig
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe
from engine.models import Aspect, Look
from engine.providers.local.script import LocalScriptWriter
from engine.providers.local.voice import LocalVoice
from tests.bot.test_discord import CHANNEL, GUILD, OTHER, OWNER, STORY, Build, Harness, discord_bot
from tests.fakes.discord_api import SIGNED_FOR_S, deliver
from tests.fakes.providers import FakeMedia, FakeProviders

__all__ = ["discord_bot"]  # the fixture, shared with the other Discord tests


async def command(t: Harness, user: int, name: str, **options: Any) -> dict[str, Any]:
    payload = t.fake.command_payload(
        name, options, user_id=user, guild_id=GUILD, channel_id=CHANNEL
    )
    await deliver(t.app.client, payload)
    return payload


def answer(t: Harness) -> dict[str, Any]:
    """The data of the last interaction response (type 4)."""
    callback = t.fake.calls_to("callback")[-1]
    assert callback.body["type"] == 4
    return dict(callback.body["data"])


def offline_voices(media: FakeMedia) -> FakeProviders:
    providers = FakeProviders(media)
    providers.choices = LocalVoice.choices
    return providers


async def looks(t: Harness) -> list[Look]:
    rows = await t.storage.db.fetch("SELECT look FROM jobs ORDER BY created_at")
    return [Look.from_json(row[0]) for row in rows]


async def test_settings_are_shown_changed_and_applied_to_new_dreams(
    discord_bot: Build, media: FakeMedia, config: EngineConfig, ffmpeg: FFmpeg
) -> None:
    t = await discord_bot(providers=offline_voices(media))
    await command(t, OWNER, "settings")
    shown = answer(t)
    assert shown["flags"] & 64  # only they see it
    assert "Shape: 16:9 wide" in shown["content"] and "Voice: standard" in shown["content"]

    await command(t, OWNER, "settings", shape="1:1", voice="linda", captions=False)
    saved = answer(t)["content"]
    assert saved.startswith("Saved.")
    assert "Shape: 1:1 square" in saved and "Voice: Linda" in saved and "Captions: off" in saved

    # A voice this bot's provider does not have is refused, with the ones it has.
    await command(t, OWNER, "settings", voice="nova")
    assert "standard, Linda, Anika, Michel" in answer(t)["content"]

    await t.dream(OWNER)
    await t.jobs.drain()
    assert await looks(t) == [Look(Aspect.SQUARE, "linda", captions=False)]
    job = await t.job_id()
    final = (await probe(ffmpeg, config.work_dir / job / "final.mp4")).video
    assert final is not None and final.width == final.height
    assert set(t.providers.voices_used) == {"linda"}


async def test_dream_options_apply_to_that_dream_only(discord_bot: Build, media: FakeMedia) -> None:
    t = await discord_bot(providers=offline_voices(media))
    await command(t, OWNER, "dream", story=STORY, shape="9:16", voice="anika", language="de")
    await t.jobs.drain()
    await t.dream(OWNER)
    await t.jobs.drain()
    assert await looks(t) == [Look(Aspect.TALL, "anika"), Look()]
    languages = await t.storage.db.fetch("SELECT language FROM jobs ORDER BY created_at")
    assert languages == [("de",), ("en",)]


async def test_settings_and_dream_options_sync_with_their_choices(discord_bot: Build) -> None:
    t = await discord_bot(sync_commands=True, guild_ids=(GUILD,))
    synced = {c["name"]: c for c in t.fake.commands[GUILD]}
    assert {"settings", "mydreams"} <= set(synced)
    dream_options = {o["name"]: o for o in synced["dream"]["options"]}
    assert [c["value"] for c in dream_options["shape"]["choices"]] == ["16:9", "9:16", "1:1"]
    spanish = dream_options["shape"]["choices"][1]["name_localizations"]["es-ES"]
    assert spanish != "9:16 tall"  # translated from the catalog


EDITABLE = (
    "The keeper lit the lamp in the tower. The keeper watched the grey sea below. "
    "The keeper sang a song to the gulls."
)
EDITED = EDITABLE.replace("a song", "a ballad")


async def test_edit_opens_the_story_in_a_modal_and_remakes_only_what_changed(
    discord_bot: Build, media: FakeMedia
) -> None:
    t = await discord_bot(script=LocalScriptWriter())
    payload = await t.dream(OWNER, EDITABLE)
    await t.jobs.drain()
    job, message_id = await t.job_id(), t.fake.original(payload).id
    labels = [
        b["label"] for row in t.fake.messages[message_id].components for b in row["components"]
    ]
    assert labels == ["🔁 Regenerate", "✏️ Edit"]
    before = {role: len(t.providers.calls_of(role)) for role in ("images", "voice", "clips")}

    pressed = t.fake.button_payload(
        f"dream:edit:{job}", message_id=message_id, user_id=OWNER, guild_id=GUILD
    )
    await deliver(t.app.client, pressed)
    modal = t.fake.calls_to("callback")[-1].body
    assert modal["type"] == 9
    (text_input,) = modal["data"]["components"][0]["components"]
    assert text_input["value"] == EDITABLE

    submitted = t.fake.modal_submit_payload(pressed, {"story": EDITED})
    await deliver(t.app.client, submitted)
    await t.jobs.drain()

    made = {role: len(t.providers.calls_of(role)) - before[role] for role in before}
    assert made == {"images": 1, "voice": 1, "clips": 1}  # the changed scene only
    rows = await t.storage.db.fetch("SELECT story, state FROM jobs ORDER BY created_at")
    assert rows == [(EDITABLE, "delivered"), (EDITED, "delivered")]
    assert "dream.mp4" in [a.filename for a in t.fake.original(submitted).attachments]


async def test_edit_is_for_the_person_who_asked(discord_bot: Build) -> None:
    t = await discord_bot()
    payload = await t.dream(OWNER)
    await t.jobs.drain()
    await t.press(OTHER, "edit", await t.job_id(), t.fake.original(payload).id)
    assert t.fake.calls_to("callback")[-1].body["type"] == 4  # a note, not the modal


async def test_my_dreams_posts_a_past_video_by_a_freshly_signed_url(discord_bot: Build) -> None:
    t = await discord_bot()
    await command(t, OWNER, "mydreams")
    assert "no dreams yet" in answer(t)["content"]

    first = await t.dream(OWNER)
    await t.jobs.drain()
    await t.dream(OWNER, "The fox crossed the frozen river at dawn and found a lantern.")
    await t.jobs.drain()
    stored = t.fake.original(first).attachments[0]
    old_url = t.fake.attachment_url(stored)
    t.fake.advance(SIGNED_FOR_S + 60)  # the URL kept at delivery has expired

    listing_call = await command(t, OWNER, "mydreams")
    listing = answer(t)
    assert listing["flags"] & 64
    lines = listing["content"].splitlines()
    assert lines[1].startswith("1. The fox crossed") and lines[2].startswith("2. A lighthouse")
    buttons = [b for row in listing["components"] for b in row["components"]]
    assert [b["label"] for b in buttons] == ["▶ 1", "▶ 2"]

    uploads = len(t.fake.uploads)
    listing_id = t.fake.original(listing_call).id
    pressed = t.fake.button_payload(
        buttons[1]["custom_id"], message_id=listing_id, user_id=OWNER, guild_id=GUILD
    )
    await deliver(t.app.client, pressed)
    posted = answer(t)
    fresh = t.fake.attachment_url(stored)
    assert fresh != old_url and fresh in posted["content"]
    assert not posted.get("flags", 0) & 64  # in the channel, for everyone
    assert len(t.fake.uploads) == uploads  # the URL, not a re-upload
    assert len(t.providers.calls_of("script")) == 2  # nothing made again
