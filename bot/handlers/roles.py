"""Handler room of roles, admin commands about people: /grant a role."""

from __future__ import annotations

import logging
from typing import cast

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot import people
from bot.callback_data import parse_id
from bot.context import BotContext
from bot.errors import InvalidInput
from bot.people import Role, find_user
from bot.telegram_ui import message_of, publish_chat_menu

log = logging.getLogger(__name__)
GRANTABLE: tuple[Role, ...] = ("requester", "admin")


async def grant(update: Update, context: BotContext) -> None:
    """``/grant USER_ID requester|admin``: give a role (admins only, in a private chat)."""
    actor = await context.actor(update)
    actor.require("admin")
    args = context.args or []
    if len(args) != 2 or args[1].lower() not in GRANTABLE:
        raise InvalidInput("grant.usage")
    user_id, role = parse_id(args[0], "grant.usage"), cast(Role, args[1].lower())
    services = context.services
    added = await people.grant(services.db, user_id, role, actor.user.id, services.clock.now())
    role_name = actor.t(f"role.{role}")
    key = "grant.done" if added else "grant.already"
    await message_of(update).reply_text(actor.t(key, user_id=user_id, role=role_name))
    if added:
        await _tell_grantee(context, user_id, role)


async def _tell_grantee(context: BotContext, user_id: int, role: Role) -> None:
    """Tell the new role holder and refresh their command menu, if they ever wrote to the bot."""
    services = context.services
    user = await find_user(services.db, user_id)
    if user is None:
        return
    t = services.translator(user.language, user.timezone)
    try:
        await context.bot.send_message(user_id, t("grant.you_were_granted", role=t(f"role.{role}")))
        await publish_chat_menu(context.bot, services, user_id)
    except (Forbidden, BadRequest) as exc:
        log.info("could not tell user %s about their new role: %s", user_id, exc)
