"""The catalogs: complete, in step with the source, and chosen by the reader's language tag."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import regex
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import (
    COMMAND_NAME,
    DOMAIN,
    EXTRA_KEYWORDS,
    LOCALES_DIR,
    OPTION_NAME,
    catalogs,
    negotiate,
    process_locale,
    words,
)
from engine import Notice

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"es", "pt_BR", "fr", "de", "ru", "ar", "hi", "id", "ja"}  # English is the msgids
# https://docs.discord.com/developers/interactions/application-commands#application-command-naming
DISCORD_NAME = regex.compile(r"^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")

Key = tuple[str | None, str, str | None]  # context, message, plural


def _key(message_id: str | tuple[str, ...], context: str | None) -> Key:
    if isinstance(message_id, tuple):
        return context, message_id[0], message_id[1]
    return context, message_id, None


def _source_messages() -> set[Key]:
    """Every message the code marks, read as `pybabel extract -F babel.cfg` would."""
    method_map = [("bot/**.py", "python"), ("engine/**.py", "python")]
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, keywords=keywords
    ):
        found.add(_key(message, context))
    return found


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _po_files() -> dict[str, Path]:
    return {po.parent.parent.name: po for po in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}


def _fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_the_template_is_up_to_date_with_the_source() -> None:
    template = _read(LOCALES_DIR / f"{DOMAIN}.pot")
    in_template = {_key(m.id, m.context) for m in template if m.id}
    in_source = _source_messages()
    assert in_source - in_template == set(), "run the extract command in docs/configuration.md"
    assert in_template - in_source == set(), "the template has messages the code no longer uses"


def test_the_required_languages_have_catalogs() -> None:
    assert set(_po_files()) >= REQUIRED
    assert set(catalogs()) == set(_po_files())


@pytest.mark.parametrize("locale", sorted(_po_files()))
def test_every_catalog_translates_every_message_with_its_placeholders(locale: str) -> None:
    catalog = _read(_po_files()[locale], locale)
    translated = {_key(m.id, m.context): m for m in catalog if m.id}
    missing = _source_messages() - set(translated)
    assert not missing, f"{locale} lacks {sorted(str(k) for k in missing)}"
    for key, message in translated.items():
        context, singular, plural = key
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{locale}: no translation for {singular!r}"
        assert not message.fuzzy, f"{locale}: {singular!r} is fuzzy"
        if plural is not None:
            assert len(forms) == catalog.num_plurals, f"{locale}: plural forms of {singular!r}"
        for form in forms:
            assert _fields(form) == _fields(singular), f"{locale}: placeholders of {singular!r}"
        if context in {COMMAND_NAME, OPTION_NAME}:
            assert DISCORD_NAME.match(forms[0]) and forms[0] == forms[0].lower(), (locale, forms)


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("ru", "ru"),
        ("pt-br", "pt_BR"),  # Telegram's language_code
        ("pt-BR", "pt_BR"),  # Discord's locale
        ("pt-PT", "pt_BR"),  # the only Portuguese there is
        ("es-419", "es"),
        ("es-ES", "es"),
        ("en-US", "en"),
        ("de-AT", "de"),
        ("zh-CN", "en"),  # no catalog: English
        ("xx", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_language_tag_is_matched_exactly_then_by_base_language_else_english(
    tag: str | None, locale: str
) -> None:
    assert negotiate(tag) == locale
    assert words(tag).locale == locale


def test_words_translate_messages_plurals_and_nested_notices() -> None:
    russian = words("ru")
    assert russian._("✖ Cancel") == "✖ Отменить"
    scenes = ("{seconds} s · {count} scene", "{seconds} s · {count} scenes")
    assert russian.ngettext(*scenes, 5, seconds=9) == "9 с · 5 сцен"
    assert russian.ngettext(*scenes, 3, seconds=9) == "9 с · 3 сцены"
    inner = Notice("nothing to assemble")
    outer = Notice("no scene could be assembled: {reason}", {"reason": inner})
    assert russian.notice(outer) == "не удалось собрать ни одной сцены: нечего собирать"
    assert (
        words("en").notice(outer)
        == str(outer)
        == "no scene could be assembled: nothing to assemble"
    )


@pytest.mark.parametrize(
    ("environ", "locale"),
    [
        ({"LANGUAGE": "ja:en", "LANG": "de_DE.UTF-8"}, "ja"),
        ({"LC_ALL": "fr_FR.UTF-8", "LANG": "de_DE.UTF-8"}, "fr"),
        ({"LANG": "pt_BR.UTF-8"}, "pt_BR"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_terminal_speaks_the_process_locale(environ: dict[str, str], locale: str) -> None:
    assert process_locale(environ) == locale
