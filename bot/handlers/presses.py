"""Handler room of presses nobody else takes: every button press gets an answer.

A button of a finished conversation, of a message from before a restart whose step is over, or
of a keyboard that no longer applies matches no handler; without an answer the user's client
spins. This catch-all, registered after every other button, says nothing changed.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer a press no handler took: nothing changed, and why."""
    query = update.callback_query
    if query is None:
        return
    actor = await context.actor(update)
    await query.answer(actor.t("press.stale"))
