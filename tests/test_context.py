"""Roles on the server side: an actor without the role, or an admin outside a private chat."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.context import Actor
from bot.errors import PermissionDenied
from bot.i18n import Catalogue, Translator
from storage.users import User

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _actor(roles: frozenset[str], *, private: bool) -> Actor:
    user = User(1, "Ada", None, "en", False, None, NOW, None, None, None, NOW)
    t = Translator(Catalogue.load(), "en", ZoneInfo("Europe/Paris"))
    return Actor(user=user, roles=roles, t=t, private_chat=private)  # type: ignore[arg-type]


def test_a_missing_role_is_refused_with_the_role_named() -> None:
    with pytest.raises(PermissionDenied) as caught:
        _actor(frozenset({"worker"}), private=True).require("admin")
    assert caught.value.message_key == "error.role_required"
    assert caught.value.params == {"role": "admins"}


def test_admin_actions_only_in_private_chats() -> None:
    _actor(frozenset({"admin"}), private=True).require("admin")
    with pytest.raises(PermissionDenied) as caught:
        _actor(frozenset({"admin"}), private=False).require("admin")
    assert caught.value.message_key == "error.admin_private_only"
