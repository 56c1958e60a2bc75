"""The fake Telegram world: users and their private chats, messages, updates, callback queries."""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.files import FileIdSend, FileStore, UploadRecord
from sandbox.models import JSON, ApiCall, BotMessage, CallbackAnswer, InvalidCall
from sandbox.payments import PaymentBook

if TYPE_CHECKING:
    from sandbox.webhook import WebhookDelivery
from sandbox.ratelimit import RateLimit, RateLimiter

# Update types Telegram leaves out unless allowed_updates names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def now() -> int:
    """Unix time in whole seconds, as in Telegram's `date` fields."""
    return int(time.time())


class Signal:
    """Wakes every coroutine waiting for some state to change."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def fire(self) -> None:
        """Wake all current waiters."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait until `predicate()` holds (True) or `seconds` pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)
        return True


@dataclass(slots=True)
class _Queued:
    update: JSON
    pinned: bool = False  # a redelivered copy that survives the offset until delivered once


class UpdateQueue:
    """Pending updates with Telegram's getUpdates semantics (offset confirms, long polling)."""

    def __init__(self) -> None:
        self._pending: list[_Queued] = []
        self._ids = itertools.count(1)
        self.history: dict[int, JSON] = {}
        self.allowed_updates: frozenset[str] | None = None
        self.signal = Signal()
        self.closed = False

    @property
    def pending(self) -> list[JSON]:
        """Updates not yet confirmed by an offset."""
        return [q.update for q in self._pending]

    def push(self, update: JSON) -> JSON:
        """Queue a raw update, giving it the next update_id unless it has one."""
        if "update_id" not in update:
            update = {"update_id": next(self._ids), **update}
        else:
            update = dict(update)
            highest = max(int(update["update_id"]), max(self.history, default=0))
            self._ids = itertools.count(highest + 1)
        self.history[int(update["update_id"])] = update
        self._insert(_Queued(update))
        return update

    def push_payload(self, kind: str, payload: JSON) -> JSON | None:
        """Queue `{kind: payload}` unless the bot's allowed_updates filter it out."""
        allowed = self.allowed_updates
        if (allowed and kind not in allowed) or (not allowed and kind in _OPT_IN_UPDATES):
            return None
        return self.push({kind: payload})

    def duplicate(self, update_id: int) -> JSON:
        """Deliver an identical copy (same update_id) again on the next getUpdates."""
        original = self.history.get(update_id)
        if original is None:
            raise KeyError(f"no update with update_id {update_id}")
        copied = copy.deepcopy(original)
        self._insert(_Queued(copied, pinned=True))
        return copied

    def redeliver_last(self, n: int = 1) -> list[JSON]:
        """Queue copies of the last `n` updates under fresh update_ids."""
        ids = sorted(self.history)[-n:] if n > 0 else []
        copies = []
        for update_id in ids:
            body = {k: copy.deepcopy(v) for k, v in self.history[update_id].items()}
            del body["update_id"]
            copies.append(self.push(body))
        return copies

    def _insert(self, item: _Queued) -> None:
        update_id = int(item.update["update_id"])
        index = len(self._pending)
        while index > 0 and int(self._pending[index - 1].update["update_id"]) > update_id:
            index -= 1
        self._pending.insert(index, item)
        self.signal.fire()

    def confirm(self, offset: int | None) -> None:
        """Forget updates an offset confirms (negative: keep only the last -offset)."""
        if not offset:
            return
        if offset > 0:
            self._pending = [
                q for q in self._pending if q.pinned or int(q.update["update_id"]) >= offset
            ]
        else:
            keep = self._pending[offset:]
            self._pending = [q for q in self._pending if q.pinned or q in keep]

    def clear(self) -> None:
        """Drop every pending update (deleteWebhook with drop_pending_updates)."""
        self._pending.clear()

    async def get(self, offset: int | None, limit: int, wait: float) -> list[JSON]:
        """getUpdates: confirm by offset, then wait up to `wait` seconds for updates."""
        self.confirm(offset)
        if not self._pending and wait > 0 and not self.closed:
            await self.signal.wait_until(lambda: bool(self._pending) or self.closed, wait)
        batch = self._pending[: max(1, min(limit, 100))]
        for item in batch:
            item.pinned = False
        return [item.update for item in batch]

    async def peek(self, wait: float) -> list[JSON]:
        """Every pending update, waiting up to ``wait`` seconds for one (webhook delivery)."""
        if not self._pending and wait > 0 and not self.closed:
            await self.signal.wait_until(lambda: bool(self._pending) or self.closed, wait)
        return [item.update for item in self._pending]

    def remove(self, update: JSON) -> None:
        """Forget one delivered update (this very copy: a duplicate stays queued)."""
        self._pending = [q for q in self._pending if q.update is not update]

    def close(self) -> None:
        """Release every long poll (server shutting down)."""
        self.closed = True
        self.signal.fire()


@dataclass
class ChatState:
    """A private chat between the bot and one simulated user."""

    user: JSON
    chat: JSON
    chat_instance: str
    messages: dict[int, JSON] = field(default_factory=dict)
    bot_message_ids: list[int] = field(default_factory=list)
    markups: dict[int, JSON | None] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    events: list[BotMessage] = field(default_factory=list)
    signal: Signal = field(default_factory=Signal)
    chat_actions: list[str] = field(default_factory=list)
    reply_keyboard: JSON | None = None
    blocked: bool = False
    consumed: int = 0  # events already returned by next_message
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def id(self) -> int:
        """Chat id (the user id, as for every private chat)."""
        return int(self.chat["id"])

    def next_message_id(self) -> int:
        """Message ids are per chat and shared by both sides."""
        return next(self._ids)

    def live_message(self, message_id: int) -> JSON | None:
        """A message that exists and was not deleted."""
        if message_id in self.deleted:
            return None
        return self.messages.get(message_id)


@dataclass
class CallbackQueryState:
    """A button press waiting for answerCallbackQuery."""

    chat_id: int
    message_id: int
    data: str | None
    answer: CallbackAnswer | None = None
    pressed_at: float = field(default_factory=time.monotonic)


class SandboxState:
    """Everything the fake server knows; shared by the HTTP layer, the methods and the users."""

    def __init__(self, token: str, bot_username: str, bot_name: str) -> None:
        self.token = token
        self.webhook: WebhookDelivery | None = None  # set by setWebhook
        head = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(head) if head.isdigit() else 1,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.chats: dict[int, ChatState] = {}
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.callback_signal = Signal()
        self._callback_ids = itertools.count(4_242_000_000_000_000_001)
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.calls: list[ApiCall] = []
        self.invalid_calls: list[InvalidCall] = []
        self.rate_limited_calls: list[ApiCall] = []
        self.blocked_calls: list[ApiCall] = []
        self.uploads: list[UploadRecord] = []
        self.sends_by_file_id: list[FileIdSend] = []
        self.payments = PaymentBook()
        self.limiter: RateLimiter | None = None
        # Every change a person watching the chats would see (the web chat follows these).
        self.revision = 0
        self.chat_revisions: dict[int, int] = {}
        self.changes = Signal()

    def touch(self, chat_id: int | None = None) -> None:
        """Note a visible change in one chat (None: in every chat, e.g. a new command menu)."""
        self.revision += 1
        for known in self.chats if chat_id is None else [chat_id]:
            self.chat_revisions[known] = self.revision
        self.changes.fire()
        # Telegram refuses an answer to a press older than about 15 s (None: never too old).
        self.callback_timeout: float | None = None

    # -- users and chats ---------------------------------------------------------------------

    def ensure_chat(
        self,
        user_id: int,
        *,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> ChatState:
        """Get or create the private chat with a user."""
        existing = self.chats.get(user_id)
        if existing is not None:
            return existing
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value:
                user[key] = value
                chat[key] = value
        if language_code:
            user["language_code"] = language_code
        instance = str((user_id * 2_654_435_761) % 9_000_000_000_000_000_000 + 10**18)
        state = ChatState(user=user, chat=chat, chat_instance=instance)
        self.chats[user_id] = state
        return state

    def chat_for(self, chat_id: Any) -> ChatState | None:
        """The chat a `chat_id` parameter names (private chats only; no @usernames)."""
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            return None
        return self.chats.get(chat_id)

    def resolve_bytes(self, file_id: str) -> bytes | None:
        """The content of a stored file."""
        stored = self.files.get(file_id)
        return stored.data if stored else None

    def snapshot(self, chat: ChatState, message_id: int, *, is_edit: bool = False) -> BotMessage:
        """A BotMessage for the current version of a message."""
        return BotMessage.from_raw(
            chat.messages[message_id],
            markup=chat.markups.get(message_id),
            resolve=self.resolve_bytes,
            is_edit=is_edit,
            deleted=message_id in chat.deleted,
        )

    def record_bot_message(self, chat: ChatState, message: JSON, markup: JSON | None) -> None:
        """Store a new bot message and queue it for `next_message`."""
        message_id = int(message["message_id"])
        chat.messages[message_id] = message
        chat.bot_message_ids.append(message_id)
        chat.markups[message_id] = markup
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        self._emit(chat, message_id, is_edit=False)

    def record_edit(self, chat: ChatState, message: JSON, markup: JSON | None) -> None:
        """Store the new version of an edited bot message and queue the edit event."""
        message_id = int(message["message_id"])
        chat.messages[message_id] = message
        chat.markups[message_id] = markup
        self._emit(chat, message_id, is_edit=True)

    def _emit(self, chat: ChatState, message_id: int, *, is_edit: bool) -> None:
        chat.events.append(self.snapshot(chat, message_id, is_edit=is_edit))
        chat.signal.fire()
        self.touch(chat.id)

    # -- callback queries --------------------------------------------------------------------

    def new_callback_query(self, chat: ChatState, message_id: int, data: str | None) -> str:
        """Register a press and return its query id."""
        query_id = str(next(self._callback_ids))
        self.callback_queries[query_id] = CallbackQueryState(chat.id, message_id, data)
        return query_id

    def answer_callback_query(self, query_id: str, answer: CallbackAnswer) -> bool:
        """Store the bot's answer; False when the query is unknown or already answered."""
        query = self.callback_queries.get(query_id)
        if query is None or query.answer is not None:
            return False
        timeout = self.callback_timeout
        if timeout is not None and time.monotonic() - query.pressed_at > timeout:
            return False
        query.answer = answer
        self.callback_signal.fire()
        self.touch(query.chat_id)
        return True

    # -- commands -----------------------------------------------------------------------------

    @staticmethod
    def scope_key(scope: JSON | None) -> str:
        """A key for a BotCommandScope."""
        if not scope or scope.get("type", "default") == "default":
            return "default"
        kind = str(scope["type"])
        if "chat_id" in scope:
            kind += f":{scope['chat_id']}"
        if "user_id" in scope:
            kind += f":{scope['user_id']}"
        return kind

    def commands_for(self, chat_id: int | None, language_code: str | None) -> list[JSON]:
        """The command list a user sees, resolved as Telegram does (narrowest scope first)."""
        scopes = ["default"]
        if chat_id is not None:
            scopes = [f"chat:{chat_id}", "all_private_chats", "default"]
            chat = self.chats.get(chat_id)
            if language_code is None and chat is not None:
                language_code = chat.user.get("language_code")
        for scope in scopes:
            for language in ([language_code] if language_code else []) + [""]:
                commands = self.commands.get((scope, language))
                if commands:
                    return [dict(c) for c in commands]
        return []

    def set_rate_limit(self, limit: RateLimit | None) -> None:
        """Turn flood control on (fresh buckets) or off."""
        self.limiter = RateLimiter(limit) if limit else None
