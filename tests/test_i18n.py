"""The catalogue: both languages complete and consistent, locale formatting, language choice."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, Catalogue, Translator, language_for, placeholders

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_every_language_has_every_key_with_the_same_placeholders(catalogue: Catalogue) -> None:
    english = catalogue.keys("en")
    for language in LANGUAGES:
        assert catalogue.keys(language) == english, language
        for key in english:
            assert placeholders(catalogue.template(language, key)) == placeholders(
                catalogue.template("en", key)
            ), (language, key)


def test_every_key_used_in_the_code_exists(catalogue: Catalogue) -> None:
    """Keys passed as literals to a translator or an error are all in the catalogue."""
    pattern = re.compile(
        r"""(?:\bt|\.t|Translator\(.*?\)|InvalidInput|PermissionDenied|NotFound|UserError|"""
        r"""LedgerError|message_key\s*=)\(?\s*["']([a-z_]+(?:\.[a-z_]+)+)["']"""
    )
    used: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        used |= set(pattern.findall(path.read_text("utf-8")))
    assert used, "the scan found no keys; the pattern is broken"
    missing = {key for key in used if key not in catalogue.keys("en")}
    assert missing == set()


def test_language_follows_telegram_language_code() -> None:
    assert language_for("fr") == "fr"
    assert language_for("fr-CA") == "fr"
    assert language_for("en") == "en"
    assert language_for("de") == "en"
    assert language_for(None) == "en"


def test_amounts_and_dates_follow_the_locale(catalogue: Catalogue) -> None:
    paris = ZoneInfo("Europe/Paris")
    french = Translator(catalogue, "fr", paris, "EUR")
    english = Translator(catalogue, "en", paris, "EUR")
    assert french.money(1240) == "12,40\xa0€"
    assert english.money(1240) == "€12.40"
    moment = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Paris
    assert french.time(moment) == "00:30"
    assert french.date(date(2026, 4, 1)) == "1er avril 2026"
    assert french.date(date(2026, 4, 2)) == "2 avril 2026"
    assert english.date(date(2026, 4, 1)) == "1 April 2026"
    assert french("language.set") == "Langue réglée sur le français."


def test_each_feature_file_has_the_same_keys_and_placeholders_in_both_languages() -> None:
    """Per ``.po`` file, so a message added to one language's file is added to the other's."""
    folders = {lang: ROOT / "bot" / "locales" / lang / "LC_MESSAGES" for lang in LANGUAGES}
    names = {lang: sorted(p.name for p in folder.glob("*.po")) for lang, folder in folders.items()}
    assert names["fr"] == names["en"]
    for name in names["en"]:
        read = {}
        for lang, folder in folders.items():
            with (folder / name).open("rb") as handle:
                read[lang] = {str(m.id): str(m.string) for m in read_po(handle) if m.id}
        assert read["fr"].keys() == read["en"].keys(), name
        for key, english in read["en"].items():
            assert placeholders(read["fr"][key]) == placeholders(english), (name, key)
