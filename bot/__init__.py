"""Petites Mains: paid micro-tasks pushed to phones through Telegram."""

from __future__ import annotations

import os

# python-telegram-bot 22 returns durations (voice length, retry_after) as timedelta only with this
# opt-in, and warns otherwise; opting in keeps the code ready for its next major version.
os.environ.setdefault("PTB_TIMEDELTA", "true")
