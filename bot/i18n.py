"""The message catalogue: every text a user sees, in French and English, with locale formatting."""

from __future__ import annotations

import datetime as dt
import functools
import string
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
_BABEL_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
# Parameter names that always hold an amount in cents (see ``Translator.render``).
MONEY_PARAMS = frozenset(
    {"amount", "balance", "cap", "cost", "earned", "held", "remaining", "reward", "shortfall"}
)


def language_for(language_code: str | None) -> str:
    """French for a Telegram ``language_code`` starting with ``fr``, English otherwise."""
    return "fr" if (language_code or "").lower().startswith("fr") else DEFAULT_LANGUAGE


class Catalogue:
    """Messages by language and key, read from the gettext ``.po`` files in ``bot/locales``."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self._messages = messages

    @classmethod
    def load(cls) -> Catalogue:
        """Read every ``.po`` file of every language shipped in ``bot/locales/LANG/LC_MESSAGES``.

        Each feature keeps its messages in a file of its own (``messages.po``, ``ledger.po``, ...);
        a key defined twice within a language is an error.
        """
        root = resources.files("bot") / "locales"
        messages: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            merged: dict[str, str] = {}
            folder = root / language / "LC_MESSAGES"
            for po in sorted(folder.iterdir(), key=lambda entry: entry.name):
                if not po.name.endswith(".po"):
                    continue
                with po.open("rb") as handle:
                    catalog = read_po(handle, locale=language)
                for message in catalog:
                    if not message.id or not message.string or message.fuzzy:
                        continue
                    key = str(message.id)
                    if key in merged:
                        raise ValueError(f"message {key!r} defined twice in {language} ({po.name})")
                    merged[key] = str(message.string)
            messages[language] = merged
        return cls(messages)

    def keys(self, language: str) -> set[str]:
        """The message keys translated in ``language``."""
        return set(self._messages[language])

    def template(self, language: str, key: str) -> str:
        """The raw template of ``key``, falling back to English; KeyError when unknown."""
        found = self._messages.get(language, {}).get(key)
        if found is None:
            found = self._messages[DEFAULT_LANGUAGE][key]
        return found

    def text(self, language: str, key: str, **params: Any) -> str:
        """The message ``key`` in ``language`` with its ``{placeholders}`` filled."""
        return self.template(language, key).format(**params)


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Translator:
    """The catalogue bound to one user's language, time zone and the platform's currency."""

    catalogue: Catalogue
    language: str
    timezone: ZoneInfo
    currency: str = "EUR"

    def __call__(self, key: str, **params: Any) -> str:
        return self.catalogue.text(self.language, key, **params)

    def render(self, key: str, params: dict[str, Any]) -> str:
        """``key`` with raw values made readable: money in cents, dates and datetimes, lists.

        Errors carry raw values (``cap=25000``, ``resets_at=date(...)``); money parameters are
        the names in ``MONEY_PARAMS`` or ending in ``_cents``.
        """
        return self(key, **{name: self._readable(name, value) for name, value in params.items()})

    def _readable(self, name: str, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and (name in MONEY_PARAMS or name.endswith("_cents")):
            return self.money(value)
        if isinstance(value, dt.datetime):
            return self.datetime(value)
        if isinstance(value, dt.date):
            return self.date(value)
        if isinstance(value, list | tuple | frozenset | set):
            return ", ".join(str(part) for part in value)
        return value

    @property
    def locale(self) -> str:
        return _BABEL_LOCALES[self.language]

    def money(self, cents: int) -> str:
        """An amount of cents in the user's locale: ``12,40 €`` in French, ``€12.40`` in English."""
        return _money(cents, self.currency, self.locale)

    def datetime(self, moment: dt.datetime) -> str:
        """A moment in the user's time zone, short form."""
        return format_datetime(moment, "short", tzinfo=self.timezone, locale=self.locale)

    def time(self, moment: dt.datetime) -> str:
        """The time of day of a moment in the user's time zone, e.g. ``14:05``."""
        return format_time(moment, "HH:mm", tzinfo=self.timezone, locale=self.locale)

    def month(self, month: str) -> str:
        """A ledger month ``YYYY-MM`` as words, e.g. ``mars 2026``."""
        year, number = (int(part) for part in month.split("-"))
        return format_date(dt.date(year, number, 1), "LLLL yyyy", locale=self.locale)

    def date(self, day: dt.date) -> str:
        """A calendar date in long form, e.g. ``2 mars 2026``; French writes the first ``1er``."""
        if self.language == "fr" and day.day == 1:
            return format_date(day, "d'er' MMMM y", locale=self.locale)
        return format_date(day, "long", locale=self.locale)


@functools.lru_cache(maxsize=4096)
def _money(cents: int, currency: str, locale: str) -> str:
    """Babel's formatting, kept: a reward is shown after every answer (2% of the bot's CPU)."""
    return format_currency(Decimal(cents) / 100, currency, locale=locale)
