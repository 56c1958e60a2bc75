"""The command menus Telegram shows: one per language for everyone, one per chat for staff."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, Forbidden

from bot.commands import commands_for
from bot.context import Services
from bot.i18n import LANGUAGES, Translator
from storage.users import get_user, roles_of, user_ids_with_role

log = logging.getLogger(__name__)


def _menu(t: Translator, roles: frozenset[str]) -> list[BotCommand]:
    return [BotCommand(c.name, t(c.description_key)) for c in commands_for(roles)]  # type: ignore[arg-type]


async def publish_menus(bot: Bot, services: Services) -> None:
    """Set the default menu (worker commands) per language and a menu per admin and requester."""
    for language in LANGUAGES:
        t = services.translator(language)
        await bot.set_my_commands(
            _menu(t, frozenset({"worker"})),
            scope=BotCommandScopeDefault(),
            language_code=None if language == "en" else language,
        )
    staff = set(await services.db.run_read(user_ids_with_role, "admin"))
    staff |= set(await services.db.run_read(user_ids_with_role, "requester"))
    for user_id in sorted(staff):
        await publish_chat_menu(bot, services, user_id)


async def publish_chat_menu(bot: Bot, services: Services, user_id: int) -> None:
    """Set the menu of one private chat from the user's roles, in their language."""
    user = await services.db.run_read(get_user, user_id)
    t = services.translator(user.language if user else "en", user.timezone if user else None)
    roles = await services.db.run_read(roles_of, user_id) | {"worker"}
    try:
        await bot.set_my_commands(_menu(t, roles), scope=BotCommandScopeChat(user_id))
    except (BadRequest, Forbidden) as exc:  # a chat that never wrote to the bot
        log.info("no command menu for chat %s: %s", user_id, exc)
