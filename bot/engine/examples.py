"""Engine room, examples and training (issue 14): a batch's worked examples sent once, before
a worker's first task of it, and the words a training task and its feedback show."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import TelegramError

from bot.dispatch import Offer
from bot.engine.delivery import BotApplication, services_of
from bot.i18n import Translator
from bot.tasks import task_type
from bot.training import Feedback
from storage.training import mark_examples_seen

log = logging.getLogger(__name__)


async def show_examples(application: BotApplication, t: Translator, offer: Offer) -> None:
    """Send the batch's examples (each its media, right answer and why) unless the worker was
    already shown them; recorded first, so that they are shown once even if a send fails."""
    services = services_of(application)
    batch, chat_id = offer.batch, offer.worker_id
    now = services.clock.now()
    if not await services.db.run_write(mark_examples_seen, chat_id, batch.id, now):
        return
    kind = task_type(batch.type)
    bot = application.bot
    try:
        await bot.send_message(
            chat_id, t("training.examples_intro", title=batch.title, count=len(batch.examples))
        )
        for number, example in enumerate(batch.examples, start=1):
            caption = t(
                "training.example",
                number=number,
                answer=kind.gold_text(batch, example.answer),
                why=example.why,
            )
            path = services.settings.data_dir / example.media_path
            data = await asyncio.to_thread(path.read_bytes)
            if example.media_kind == "image":
                await bot.send_photo(chat_id, data, caption=caption)
            else:
                await bot.send_voice(chat_id, data, caption=caption)
    except (TelegramError, OSError) as exc:  # the task itself still follows
        log.warning("could not show the examples of batch %s to %s: %s", batch.id, chat_id, exc)


def training_header(t: Translator, header: str | None) -> str:
    """The header of a training task (after the header of what came before, if any)."""
    training = t("training.header")
    return training if not header else f"{header}\n{training}"


def feedback_text(t: Translator, feedback: Feedback) -> str:
    """What a training task's message says once answered: how it went, the answer, why."""
    lines = [
        t(f"training.feedback.{feedback.verdict}", number=feedback.number, of=feedback.of),
        t("training.feedback.expected", answer=feedback.expected),
    ]
    if feedback.why:
        lines.append(t("training.feedback.why", why=feedback.why))
    if feedback.number >= feedback.of:
        lines.append(t("training.feedback.done"))
    return "\n".join(lines)
