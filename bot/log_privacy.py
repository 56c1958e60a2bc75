"""Logs never carry a whole IBAN: every log record's text is masked where it is made.

python-telegram-bot logs each update it processes at DEBUG level, message text included, so a
worker's ``/payoutdetails`` answer would reach the logs whole. ``install()`` wraps the logging
record factory once per process: any IBAN-shaped run of characters in a record's message becomes
``FR76 •••• 0189`` before any handler (file, console, a test's capture) sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Two letters, two check digits, then letters and digits, contiguous or in space-separated groups
# however the writer cut them. A group after a space holds a digit, or is letters with such a group
# next (a bank code, ``GB29 NWBK 6016...``; Malta's ``... 2345 MTLC AST0 01S``), so the words of a
# sentence end the run: in "error DD83E1 on update 1234" it stops at "on", too short to be an
# account number.
_GROUP = r"[ ](?:(?=[A-Z]*[0-9])[A-Z0-9]+|[A-Z]+(?=[ ][A-Z]*[0-9]))"
_IBAN = re.compile(rf"\b([A-Z]{{2}}[0-9]{{2}})([A-Z0-9]*(?:{_GROUP})*)\b", re.IGNORECASE)
_SHORTEST_REST = 11  # Norway's 15-character IBAN, less its first four
_installed = False


def mask_ibans(text: str) -> str:
    """``text`` with every IBAN-shaped sequence masked to its country, check digits, last four."""

    def masked(match: re.Match[str]) -> str:
        rest = match.group(2).replace(" ", "")
        if len(rest) < _SHORTEST_REST or not any(c.isdigit() for c in rest):
            return match.group(0)  # too short, or a word: not an account number
        return f"{match.group(1).upper()} •••• {rest[-4:].upper()}"

    return _IBAN.sub(masked, text)


def install() -> None:
    """Mask IBANs in every log record made from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it for logging to report
            return record
        cleaned = mask_ibans(text)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
