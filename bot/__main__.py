"""``python -m bot``: read the configuration, set up logging, and poll Telegram until stopped
(or, with ``TELEGRAM_WEBHOOK_URL``, serve PTB's webhook server: one of several processes).

With no token (and ``TRY_IT_MODE`` not ``off``) it runs in try-it mode instead: the local sandbox
with a web chat and the bot in one process (``bot/tryit.py``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from telegram import Update

from bot.app import BotApplication, build_application
from bot.config import Settings, TryIt, load_settings, read_environment, try_it_mode
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
    environ = read_environment()
    try:
        tryit = try_it_mode(environ)
        if tryit is not None:
            return run_try_it(environ, tryit)
        settings = load_settings(environ)
    except ConfigError as exc:
        print(f"configuration error: {exc.variable} {exc.problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.telegram_bot_token)
    serve(build_application(settings), settings)
    return 0


def serve(application: BotApplication, settings: Settings) -> None:
    """Poll Telegram, or with a webhook set, serve PTB's webhook server, until stopped."""
    webhook = settings.webhook
    if webhook is None:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
        return
    # Webhook mode: several processes may sit behind one endpoint (they share the database).
    application.run_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=urlsplit(webhook.url).path.lstrip("/"),
        webhook_url=webhook.url,
        secret_token=webhook.secret,
        allowed_updates=Update.ALL_TYPES,
    )


def run_try_it(environ: Mapping[str, str], tryit: TryIt) -> int:
    """Try-it mode until Ctrl+C: one line on stdout says where the page is."""
    from bot import tryit as tryit_mode  # the sandbox is imported only in try-it mode

    configure_logging(
        load_settings({**environ, "TELEGRAM_BOT_TOKEN": tryit_mode.SANDBOX_TOKEN}).log_level,
        tryit_mode.SANDBOX_TOKEN,
    )

    def announce(run: tryit_mode.TryItRun) -> None:
        print(
            f"Try-it mode (no TELEGRAM_BOT_TOKEN): open {run.url} to chat with the bot as demo"
            " users; Ctrl+C stops (TRY_IT_MODE=off turns this mode off).",
            flush=True,
        )

    try:
        asyncio.run(tryit_mode.serve(environ, tryit, announce))
    except OSError as exc:
        print(f"try-it mode: cannot listen on {tryit.host}:{tryit.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
