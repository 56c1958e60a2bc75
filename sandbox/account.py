"""Sandbox room, the bot's own account: getMe, updates, webhook, command menus and chats."""

from __future__ import annotations

import copy

from sandbox.calls import COMMAND_RE, Call
from sandbox.errors import ApiError, bad_request
from sandbox.models import JSON
from sandbox.state import ChatState, SandboxState
from sandbox.webhook import WebhookDelivery


class AccountMethods:
    """The methods about the bot itself and its chats (mixed into ``BotApi``)."""

    state: SandboxState

    def _chat(self, params: JSON) -> ChatState:
        chat = self.state.chat_for(params.get("chat_id"))
        if chat is None:
            raise bad_request("chat not found")
        return chat

    # -- updates and bot settings ---------------------------------------------------------

    async def _accept(self, call: Call) -> bool:
        return True

    async def get_me(self, call: Call) -> JSON:
        """getMe."""
        return {
            **self.state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, call: Call) -> list[JSON]:
        """getUpdates with real long polling; refused while a webhook is set."""
        if self.state.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        params = call.params
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.state.updates.allowed_updates = frozenset(map(str, allowed)) or None
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        timeout = max(0.0, float(params.get("timeout") or 0))
        updates = await self.state.updates.get(
            int(offset) if offset is not None else None, limit, timeout
        )
        return copy.deepcopy(updates)

    async def set_webhook(self, call: Call) -> bool:
        """setWebhook: from now on updates are POSTed to the URL (``sandbox/webhook.py``)."""
        url = str(call.params.get("url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: an HTTPS URL must be provided for webhook")
        allowed = call.params.get("allowed_updates")
        if isinstance(allowed, list):
            self.state.updates.allowed_updates = frozenset(map(str, allowed)) or None
        current = self.state.webhook
        if current is not None and current.url == url:
            return True  # several processes set the same webhook: nothing changes
        await self._end_webhook(bool(call.params.get("drop_pending_updates")))
        if url:
            secret = call.params.get("secret_token")
            self.state.webhook = WebhookDelivery(
                self.state.updates, url, str(secret) if secret else None
            )
            self.state.webhook.start()
        return True

    async def delete_webhook(self, call: Call) -> bool:
        """deleteWebhook: back to getUpdates; may drop pending updates."""
        await self._end_webhook(bool(call.params.get("drop_pending_updates")))
        return True

    async def _end_webhook(self, drop_pending: bool) -> None:
        webhook, self.state.webhook = self.state.webhook, None
        if webhook is not None:
            await webhook.stop()
        if drop_pending:
            self.state.updates.clear()

    async def get_webhook_info(self, call: Call) -> JSON:
        """getWebhookInfo: the URL set (empty for none) and the updates waiting."""
        webhook = self.state.webhook
        return {
            "url": "" if webhook is None else webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates.pending),
        }

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        return (
            self.state.scope_key(scope if isinstance(scope, dict) else None),
            str(params.get("language_code") or ""),
        )

    async def set_my_commands(self, call: Call) -> bool:
        """setMyCommands, stored per scope and language."""
        commands = call.params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name = str(command.get("command", ""))
            if not COMMAND_RE.fullmatch(name.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters")
        key = self._commands_key(call.params)
        if commands:
            self.state.commands[key] = [
                {"command": str(c["command"]).removeprefix("/"), "description": c["description"]}
                for c in commands
            ]
        else:
            self.state.commands.pop(key, None)
        self.state.touch()
        return True

    async def get_my_commands(self, call: Call) -> list[JSON]:
        """getMyCommands for exactly this scope and language."""
        return [dict(c) for c in self.state.commands.get(self._commands_key(call.params), [])]

    async def delete_my_commands(self, call: Call) -> bool:
        """deleteMyCommands."""
        self.state.commands.pop(self._commands_key(call.params), None)
        self.state.touch()
        return True

    async def get_chat(self, call: Call) -> JSON:
        """getChat for a private chat (ChatFullInfo)."""
        chat = self._chat(call.params)
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
