"""Configuration: every setting of the design, from the environment and .env, checked at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import is_currency
from dotenv import dotenv_values

from bot.callback_data import ascii_digits
from bot.errors import ConfigError, InvalidInput
from bot.gold import QualityRules
from bot.intake.archive import ZipLimits
from bot.intake.audio import AudioLimits
from bot.intake.images import PIXELS_CEILING
from bot.intake.prepare import IntakeLimits
from bot.money import parse_amount
from bot.payout_details import parse_bic, parse_iban
from bot.quality import QualityPolicy, SpeedPolicy

_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{5,}$")


@dataclass(frozen=True)
class Settings:
    """The validated configuration; amounts in cents, times zone-aware."""

    telegram_bot_token: str
    telegram_api_url: str = "https://api.telegram.org"
    database_path: Path | str = Path("data/petitesmains.db")  # a SQLite file or a PostgreSQL URL
    data_dir: Path = Path("data")
    admin_ids: frozenset[int] = frozenset()
    requester_ids: frozenset[int] = frozenset()
    monthly_cap: int = 25_000
    currency: str = "EUR"
    min_hourly_rate: int = 1_000
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    log_level: str = "INFO"
    # Telegram Payments (/fund): empty means admins top budgets up by hand.
    payment_provider_token: str = ""
    # The platform's account a SEPA payment file is debited from (/exportpayouts); None: no file.
    sepa_debtor: SepaDebtor | None = None
    messages_per_second: float = 30.0  # the outbox's overall budget (bot/engine/outbox.py)
    # Distinct workers whose reports pause a batch for an admin's review (issue 14).
    reports_to_pause: int = 3
    webhook: Webhook | None = None  # None: long polling
    # What an upload may hold (ZIP size and files, audio length, pixels, chunk length).
    intake: IntakeLimits = field(default_factory=IntakeLimits)
    # Gold share, pause, speed and early-stopping thresholds of the worker loop.
    quality: QualityRules = field(default_factory=QualityRules)

    @property
    def bot_id(self) -> int:
        """The bot's Telegram id: the number before ':' in its token (what is kept per bot)."""
        return int(self.telegram_bot_token.split(":", 1)[0])

    def __repr__(self) -> str:
        database = re.sub(r":[^:@/]*@", ":***@", str(self.database_path))
        return f"Settings(api={self.telegram_api_url!r}, database={database!r})"


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: Telegram POSTs updates to ``url``; this process listens on ``listen:port``
    (behind a reverse proxy that may spread updates over several processes)."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret: str | None = None  # TELEGRAM_WEBHOOK_SECRET: Telegram sends it in a header


@dataclass(frozen=True)
class SepaDebtor:
    """The platform's bank account, debtor of the SEPA payment files; IBAN checked at start."""

    name: str
    iban: str
    bic: str | None = None

    def __repr__(self) -> str:
        return f"SepaDebtor(name={self.name!r}, iban=<masked>)"


TRY_IT_MODES = ("auto", "on", "off")
TRY_IT_PORT = 8080


@dataclass(frozen=True)
class TryIt:
    """Try-it mode: the sandbox Bot API, its web chat and the bot in one process, demo data seeded.

    It has its own data folder and database under ``DATA_DIR/tryit``, never the production ones.
    """

    host: str = "127.0.0.1"
    port: int = TRY_IT_PORT
    data_dir: Path = Path("data/tryit")

    @property
    def database_path(self) -> Path:
        """The try-it database (SQLite), beside the try-it media."""
        return self.data_dir / "petitesmains-tryit.db"


def try_it_mode(environ: Mapping[str, str]) -> TryIt | None:
    """Try-it mode when ``TRY_IT_MODE`` is ``on``, or ``auto`` (the default) with no token set.

    None means the bot runs against Telegram (``load_settings`` then requires the token).
    """
    mode = environ.get("TRY_IT_MODE", "auto").strip().lower() or "auto"
    if mode not in TRY_IT_MODES:
        raise ConfigError("TRY_IT_MODE", f"must be auto, on or off, not {mode!r}")
    has_token = bool(environ.get("TELEGRAM_BOT_TOKEN", "").strip())
    if mode == "off" or (mode == "auto" and has_token):
        return None
    port_text = environ.get("TRY_IT_PORT", str(TRY_IT_PORT)).strip()
    if not ascii_digits(port_text) or int(port_text) > 65_535:
        problem = f"must be a port number (0 picks a free one), not {port_text!r}"
        raise ConfigError("TRY_IT_PORT", problem)
    host = environ.get("TRY_IT_HOST", "127.0.0.1").strip() or "127.0.0.1"
    data_dir = Path(environ.get("DATA_DIR", "data").strip() or "data")
    return TryIt(host=host, port=int(port_text), data_dir=data_dir / "tryit")


def read_environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The process environment over the values of ``env_file`` (the environment wins)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build ``Settings`` from a mapping, raising ``ConfigError`` naming the first bad variable."""
    token = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN",
            "is missing; ask @BotFather for one, or drop TRY_IT_MODE=off to try the bot locally",
        )
    if not _TOKEN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN", "does not look like a bot token (digits:letters)")
    data_dir = Path(environ.get("DATA_DIR", "data").strip() or "data")
    return Settings(
        telegram_bot_token=token,
        telegram_api_url=_api_url(environ.get("TELEGRAM_API_URL", "https://api.telegram.org")),
        database_path=parse_database_url(
            environ.get("DATABASE_URL", "sqlite:///data/petitesmains.db")
        ),
        data_dir=data_dir,
        admin_ids=_id_list("ADMIN_IDS", environ.get("ADMIN_IDS", "")),
        requester_ids=_id_list("REQUESTER_IDS", environ.get("REQUESTER_IDS", "")),
        monthly_cap=_amount("MONTHLY_CAP", environ.get("MONTHLY_CAP", "250.00")),
        currency=_currency(environ.get("CURRENCY", "EUR")),
        min_hourly_rate=_amount("MIN_HOURLY_RATE", environ.get("MIN_HOURLY_RATE", "10.00")),
        timezone=_timezone(environ.get("TIMEZONE", "Europe/Paris")),
        log_level=_log_level(environ.get("LOG_LEVEL", "INFO")),
        payment_provider_token=environ.get("PAYMENT_PROVIDER_TOKEN", "").strip(),
        sepa_debtor=_sepa_debtor(environ),
        messages_per_second=_rate(environ.get("TELEGRAM_MESSAGES_PER_SECOND", "30")),
        reports_to_pause=_count("REPORTS_TO_PAUSE", environ.get("REPORTS_TO_PAUSE", "3")),
        webhook=_webhook(environ),
        intake=intake_limits(environ),
        quality=quality_rules(environ),
    )


def intake_limits(environ: Mapping[str, str]) -> IntakeLimits:
    """Upload limits from the environment; each default is the design's value."""
    defaults = IntakeLimits()
    zip_limits = ZipLimits(
        max_members=_whole(environ, "MAX_ZIP_FILES", defaults.zip.max_members, 1, 1_000_000),
        max_total_bytes=_whole(
            environ, "MAX_ZIP_BYTES", defaults.zip.max_total_bytes, 1, 10_000_000_000
        ),
        max_ratio=_whole(environ, "MAX_ZIP_RATIO", defaults.zip.max_ratio, 1, 100_000),
    )
    seconds = _whole(environ, "MAX_AUDIO_SECONDS", defaults.audio.max_seconds, 1, 86_400)
    chunk_seconds = _whole(environ, "CHUNK_SECONDS", defaults.chunk_ms // 1000, 10, 600)
    return IntakeLimits(
        zip=zip_limits,
        audio=AudioLimits(max_seconds=seconds, timeout=defaults.audio.timeout),
        max_pixels=_whole(environ, "MAX_IMAGE_PIXELS", defaults.max_pixels, 1, PIXELS_CEILING),
        chunk_ms=chunk_seconds * 1000,
    )


def quality_rules(environ: Mapping[str, str]) -> QualityRules:
    """Quality thresholds from the environment; each default is the design's value."""
    d = QualityRules()
    return QualityRules(
        pause=QualityPolicy(
            threshold=_share(environ, "QUALITY_PAUSE_BELOW", d.pause.threshold),
            min_gold=_whole(environ, "QUALITY_MIN_GOLD", d.pause.min_gold, 1, 1000),
            z=d.pause.z,
        ),
        speed=SpeedPolicy(
            max_flags=_whole(environ, "SPEED_MAX_FLAGS", d.speed.max_flags, 1, 1000),
            window=_whole(environ, "SPEED_WINDOW", d.speed.window, 1, 1000),
        ),
        gold_share=_share(environ, "GOLD_SHARE", d.gold_share),
        label_stop=_share(environ, "LABEL_STOP_CONFIDENCE", d.label_stop),
        text_stop=_share(environ, "TEXT_STOP_CONFIDENCE", d.text_stop),
        training_items=_whole(environ, "TRAINING_ITEMS", d.training_items, 0, 100),
        route_window=timedelta(
            seconds=_whole(
                environ, "ROUTE_WINDOW_SECONDS", int(d.route_window.total_seconds()), 0, 3600
            )
        ),
    )


def _whole(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number of ASCII digits from ``low`` to ``high``, or ``default`` when unset."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ConfigError(name, f"must be a whole number from {low} to {high}, not {value!r}")
    return int(value)


def _share(environ: Mapping[str, str], name: str, default: float) -> float:
    """A number between 0 and 1 (exclusive), or ``default`` when unset."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        share = float(value) if value.isascii() else -1.0
    except ValueError:
        share = -1.0
    if not 0 < share < 1:
        raise ConfigError(name, f"must be a number between 0 and 1 like 0.6, not {value!r}")
    return share


def _rate(value: str) -> float:
    """Messages a second for the outbox: a positive number (30 for Telegram's default)."""
    try:
        rate = float(value.strip())
    except ValueError:
        rate = 0.0
    if not 0 < rate <= 1_000_000:
        raise ConfigError(
            "TELEGRAM_MESSAGES_PER_SECOND", f"must be a positive number of messages, not {value!r}"
        )
    return rate


def _webhook(environ: Mapping[str, str]) -> Webhook | None:
    url = environ.get("TELEGRAM_WEBHOOK_URL", "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError("TELEGRAM_WEBHOOK_URL", f"must be an http(s) URL, not {url!r}")
    port = environ.get("WEBHOOK_PORT", "8443").strip()
    if not ascii_digits(port) or not 0 < int(port) < 65536:
        raise ConfigError("WEBHOOK_PORT", f"must be a port number, not {port!r}")
    secret = environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "must be 1-256 of A-Z, a-z, 0-9, _ and -")
    listen = environ.get("WEBHOOK_LISTEN", "127.0.0.1").strip() or "127.0.0.1"
    return Webhook(url=url, listen=listen, port=int(port), secret=secret)


def parse_database_url(url: str) -> Path | str:
    """``sqlite:///relative.db`` gives a relative path, ``sqlite:////abs.db`` an absolute one;
    ``postgresql://user@host:port/name`` is kept as the URL (PostgreSQL)."""
    url = url.strip()
    if url.startswith(("postgresql://", "postgres://")):
        if not urlsplit(url).path.strip("/"):
            raise ConfigError("DATABASE_URL", "must name a database: postgresql://host/name")
        return url
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(
            "DATABASE_URL",
            f"must look like sqlite:///file.db or postgresql://host/name, not {url!r}",
        )
    return Path(url[len(prefix) :])


def _api_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError("TELEGRAM_API_URL", f"must be an http(s) URL, not {value!r}")
    return value.strip().rstrip("/")


def _id_list(name: str, value: str) -> frozenset[int]:
    ids: set[int] = set()
    for piece in value.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if not ascii_digits(piece):
            raise ConfigError(name, f"must be comma-separated Telegram user ids, not {piece!r}")
        ids.add(int(piece))
    return frozenset(ids)


def _amount(name: str, value: str) -> int:
    try:
        return parse_amount(value)
    except InvalidInput:
        raise ConfigError(name, f"must be a positive amount like 250.00, not {value!r}") from None


def _count(name: str, value: str) -> int:
    text = value.strip()
    if not ascii_digits(text) or not 1 <= int(text) <= 1000:
        raise ConfigError(name, f"must be a whole number from 1 to 1000, not {value!r}")
    return int(text)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not is_currency(code):
        raise ConfigError("CURRENCY", f"must be an ISO 4217 code like EUR, not {value!r}")
    return code


def _timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "TIMEZONE", f"must be an IANA zone like Europe/Paris, not {value!r}"
        ) from None


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, not {value!r}")
    return level


def _sepa_debtor(environ: Mapping[str, str]) -> SepaDebtor | None:
    """``SEPA_DEBTOR_NAME``, ``SEPA_DEBTOR_IBAN`` and optional ``SEPA_DEBTOR_BIC``, or None."""
    name = environ.get("SEPA_DEBTOR_NAME", "").strip()
    iban = environ.get("SEPA_DEBTOR_IBAN", "").strip()
    bic = environ.get("SEPA_DEBTOR_BIC", "").strip() or None
    if not name and not iban:
        return None
    if not name:
        raise ConfigError("SEPA_DEBTOR_NAME", "is missing while SEPA_DEBTOR_IBAN is set")
    try:
        account = parse_iban(iban)
        checked_bic = parse_bic(bic) if bic else None
    except InvalidInput as error:
        bic_refused = error.message_key == "payoutdetails.bic_invalid"
        variable = "SEPA_DEBTOR_BIC" if bic_refused else "SEPA_DEBTOR_IBAN"
        reason = error.message_key.rsplit(".", 1)[-1]
        raise ConfigError(variable, f"is not a valid {variable[12:]} ({reason})") from None
    return SepaDebtor(name=name, iban=account, bic=checked_bic)
