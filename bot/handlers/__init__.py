"""Handler room: the handlers, one module per feature; they never import each other, so what
two of them share is here: ``/newbatch``'s questions (``newbatch``) and its last steps
(``newbatch_review``) meet through ``Flow`` and ``LastSteps``, wired by the application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Message, ReplyKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot.context import BotContext
from bot.guided_draft import Draft, Pending

Step = Callable[[Update, BotContext], Awaitable[int]]


@dataclass(frozen=True)
class Flow:
    """What the last steps (``bot/handlers/newbatch_review.py``: examples, gold, preview and
    review) use of the questions here; the application wires them (handlers never import each
    other)."""

    draft: Callable[[BotContext], Draft]
    ask: Callable[[Message, str, Any], Awaitable[None]]
    choices: Callable[[list[list[str]]], ReplyKeyboardMarkup]
    in_any_language: Callable[[BotContext, str], set[str]]
    pending_of: Callable[[Message, int], Pending]
    reask: Callable[[Update, BotContext, str], Awaitable[int]]
    """Ask a field's question again (from the review); its answer returns to the review."""
    finish: Callable[[Update, BotContext], Awaitable[int | None]]
    """Download every file, check the whole batch, make the draft and show its summary."""


@dataclass(frozen=True)
class LastSteps:
    """The last steps' handlers by state, the step after the files, and the review."""

    states: dict[object, list[BaseHandler[Update, BotContext, Any]]]
    after_files: Step
    review: Step
