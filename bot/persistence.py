"""Wiring room, persistence: conversations survive restarts because python-telegram-bot's
conversation states and ``user_data``/``chat_data`` live in the database, as JSON.

Any ``ConversationHandler`` declared ``persistent=True`` (with a ``name``) gets it: its state per
key and the data its steps keep in ``context.user_data``/``context.chat_data``, which must
therefore be JSON values (dicts, lists, strings, numbers, booleans, None). The application
writes them after every update (``PerUserProcessor.after_update``), not only every
``update_interval``, so a process killed between two messages resumes at the step it was at.
One round of ``Application.update_persistence`` is one write transaction
(``PersistentApplication``): PTB hands the round's states and data over concurrently, and a
kill between two separate writes had left a conversation at its next step without the answer
that step stored in the draft (seen as a ``/newbatch`` that lost its title after a crash).
``bot_data`` is the live ``Services`` object and is never stored; nor is callback data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application, BasePersistence, PersistenceInput

from bot.context import Services
from storage.conversations import (
    Scope,
    conversation_data,
    conversation_states,
    save_conversation_data,
    save_conversation_state,
    to_json,
)
from storage.db import WriteTx

JsonDict = dict[Any, Any]
ConversationKey = tuple[int | str, ...]
ConversationDict = MutableMapping[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]  # PTB's, never used

BACKSTOP_INTERVAL = 5.0
"""Seconds between PTB's own flushes: they catch what a non-blocking step ends after its update
(``/newbatch``'s Done), since the flush after each update saw it still running."""


@dataclass(frozen=True)
class _StateChange:
    name: str
    key: ConversationKey
    state: object | None


@dataclass(frozen=True)
class _DataChange:
    scope: Scope
    owner_id: int
    data: str | None


Change = _StateChange | _DataChange


async def _write_all(tx: WriteTx, changes: list[Change], now: datetime) -> None:
    """A round's changes in one transaction: the data first, then the states that need it."""
    for change in changes:
        if isinstance(change, _DataChange):
            await save_conversation_data(tx, change.scope, change.owner_id, change.data, now)
    for change in changes:
        if isinstance(change, _StateChange):
            await save_conversation_state(tx, change.name, change.key, change.state, now)


class DatabasePersistence(BasePersistence[JsonDict, JsonDict, Services]):
    """``BasePersistence`` over ``storage.conversations``; writes only what changed."""

    def __init__(self) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            update_interval=BACKSTOP_INTERVAL,
        )
        self._services: Services | None = None
        # The JSON last stored per (scope, id): an unchanged dict is not written again.
        self._stored: dict[tuple[Scope, int], str] = {}
        self._round = asyncio.Lock()  # one round of update_persistence at a time, in order
        self._pending: list[Change] | None = None  # the round's changes, while one runs

    @contextlib.asynccontextmanager
    async def one_transaction(self) -> AsyncIterator[None]:
        """Collect what one round of ``update_persistence`` writes, then write it all in one
        transaction (rounds in the order they began)."""
        async with self._round:
            self._pending = []
            try:
                yield
            finally:
                pending, self._pending = self._pending, None
            if pending:
                await self.services.db.run_write(_write_all, pending, self.services.clock.now())

    async def _write(self, change: Change) -> None:
        """Into the round under way, else alone."""
        if self._pending is not None:
            self._pending.append(change)
        else:
            await self.services.db.run_write(_write_all, [change], self.services.clock.now())

    def attach(self, services: Services) -> None:
        """Bind to the application's services (they own the database)."""
        self._services = services

    @property
    def services(self) -> Services:
        assert self._services is not None, "DatabasePersistence.attach() was not called"
        return self._services

    # -- loading at start -------------------------------------------------------------------

    async def _load(self, scope: Scope) -> dict[int, JsonDict]:
        db = await self.services.open_database()
        found = await db.run_read(conversation_data, scope)
        for owner_id, data in found.items():
            self._stored[(scope, owner_id)] = to_json(data)
        return found

    async def get_user_data(self) -> dict[int, JsonDict]:
        return await self._load("user")

    async def get_chat_data(self) -> dict[int, JsonDict]:
        return await self._load("chat")

    async def get_bot_data(self) -> Services:
        return self.services  # never stored (store_data.bot_data is False)

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        db = await self.services.open_database()
        return await db.run_read(conversation_states, name)

    # -- writing after updates --------------------------------------------------------------

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        if new_state is not None:
            json.dumps(new_state)  # a state JSON cannot hold fails here, before any write
        await self._write(_StateChange(name, key, new_state))

    async def _save(self, scope: Scope, owner_id: int, data: JsonDict | None) -> None:
        encoded = None if data is None else to_json(data)
        if encoded is None or encoded == "{}":
            if self._stored.pop((scope, owner_id), None) is None:
                return
        elif self._stored.get((scope, owner_id)) == encoded:
            return
        else:
            self._stored[(scope, owner_id)] = encoded
        await self._write(_DataChange(scope, owner_id, encoded))

    async def update_user_data(self, user_id: int, data: JsonDict) -> None:
        await self._save("user", user_id, data)

    async def update_chat_data(self, chat_id: int, data: JsonDict) -> None:
        await self._save("chat", chat_id, data)

    async def drop_user_data(self, user_id: int) -> None:
        await self._save("user", user_id, None)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._save("chat", chat_id, None)

    def forget(self, user_id: int) -> None:
        """The person's rows were erased in storage: forget what was last written for them."""
        self._stored.pop(("user", user_id), None)
        self._stored.pop(("chat", user_id), None)

    async def update_bot_data(self, data: Services) -> None:
        """Never called: bot_data is the live services, not stored."""

    async def update_callback_data(self, data: CDCData) -> None:
        """Never called: callback data is not stored."""

    async def refresh_user_data(self, user_id: int, user_data: JsonDict) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def refresh_chat_data(self, chat_id: int, chat_data: JsonDict) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def refresh_bot_data(self, bot_data: Services) -> None:
        """Nothing to refresh: bot_data is not stored."""

    async def flush(self) -> None:
        """Nothing buffered: every update was written when it was handled."""


class PersistentApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's ``Application`` whose every persistence round (after each update, and PTB's own
    every ``BACKSTOP_INTERVAL``) is one write transaction of ``DatabasePersistence``."""

    async def update_persistence(self) -> None:
        persistence = self.persistence
        if not isinstance(persistence, DatabasePersistence):
            await super().update_persistence()
            return
        async with persistence.one_transaction():
            await super().update_persistence()
