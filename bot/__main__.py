"""``python -m bot``: read the configuration, set up logging, and poll Telegram until stopped."""

from __future__ import annotations

import logging
import sys

from telegram import Update

from bot.app import build_application
from bot.config import load_settings, read_environment
from bot.errors import ConfigError


class RedactingFormatter(logging.Formatter):
    """A formatter that removes a secret (the bot token, which appears in request URLs)."""

    def __init__(self, secret: str, fmt: str) -> None:
        super().__init__(fmt)
        self._secret = secret

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(self._secret, "<token>")


def configure_logging(level: str, token: str) -> None:
    """Log to stderr with the token redacted from every line, tracebacks included."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(token, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep it quieter unless debugging.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    logging.getLogger("httpx").setLevel(quiet)
    # The dispatcher runs every few seconds; APScheduler would log each run at INFO.
    logging.getLogger("apscheduler").setLevel(quiet)


def main() -> int:
    """Start the bot; a bad setting prints one line naming the variable and returns 2."""
    try:
        settings = load_settings(read_environment())
    except ConfigError as exc:
        print(f"configuration error: {exc.variable} {exc.problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.telegram_bot_token)
    application = build_application(settings)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
