"""Storage room of conversations that survive restarts: each conversation's state and the
per-user and per-chat data its steps keep (a ``/newbatch`` draft, a pending admin prompt), as
JSON. Rows are written after every update by ``bot.persistence``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from storage.db import Tx, WriteTx, to_db_time

Scope = Literal["user", "chat"]
ConversationKey = tuple[int | str, ...]


def _encode(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


async def conversation_states(tx: Tx, name: str) -> dict[ConversationKey, object]:
    """Every stored state of the conversation ``name``, by its key."""
    rows = await tx.fetch_all(
        "SELECT conversation_key, state FROM conversation_states WHERE name = ?", (name,)
    )
    return {tuple(json.loads(row[0])): json.loads(row[1]) for row in rows}


async def save_conversation_state(
    tx: WriteTx, name: str, key: ConversationKey, state: object | None, now: datetime
) -> None:
    """Store the state a conversation waits in; None ends it (its row goes)."""
    encoded_key = _encode(list(key))
    if state is None:
        await tx.execute(
            "DELETE FROM conversation_states WHERE name = ? AND conversation_key = ?",
            (name, encoded_key),
        )
        return
    await tx.execute(
        "INSERT INTO conversation_states (name, conversation_key, state, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (name, conversation_key)"
        " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        (name, encoded_key, _encode(state), to_db_time(now)),
    )


async def conversation_data(tx: Tx, scope: Scope) -> dict[int, dict[Any, Any]]:
    """Every stored user's (or chat's) data, by id."""
    rows = await tx.fetch_all(
        "SELECT owner_id, data FROM conversation_data WHERE scope = ?", (scope,)
    )
    return {int(row[0]): json.loads(row[1]) for row in rows}


async def save_conversation_data(
    tx: WriteTx, scope: Scope, owner_id: int, data: str | None, now: datetime
) -> None:
    """Store one user's (or chat's) data, already JSON; None or an empty object drops it."""
    if data is None or data == "{}":
        await tx.execute(
            "DELETE FROM conversation_data WHERE scope = ? AND owner_id = ?", (scope, owner_id)
        )
        return
    await tx.execute(
        "INSERT INTO conversation_data (scope, owner_id, data, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (scope, owner_id)"
        " DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        (scope, owner_id, data, to_db_time(now)),
    )


async def forget_person(tx: WriteTx, user_id: int) -> None:
    """Drop everything a person's conversations kept (their data and every state keyed by them)."""
    await tx.execute(
        "DELETE FROM conversation_data WHERE owner_id = ? AND scope IN ('user', 'chat')",
        (user_id,),
    )
    rows = await tx.fetch_all("SELECT name, conversation_key FROM conversation_states")
    for name, key in rows:
        if user_id in json.loads(key):
            await tx.execute(
                "DELETE FROM conversation_states WHERE name = ? AND conversation_key = ?",
                (name, key),
            )


def to_json(value: object) -> str:
    """The JSON stored for a user's or chat's data; a value JSON cannot hold is a bug."""
    return _encode(value)
