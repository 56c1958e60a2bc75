"""Simulated Telegram users: what a test does as a person talking to the bot."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from sandbox.files import FileKind, StoredFile, ogg_duration
from sandbox.formatting import utf16_len
from sandbox.models import JSON, BotMessage, CallbackAnswer
from sandbox.payments import PRE_CHECKOUT_SECONDS, PaymentOutcome, pay, repeat_payment
from sandbox.state import ChatState, SandboxState, now

MessageRef = BotMessage | Mapping[str, Any] | int

_ENTITY_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?!\w)")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"']+")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}\b")),
)


def detect_entities(text: str) -> list[JSON]:
    """The entities Telegram adds to a user's text: bot commands, URLs, @mentions."""
    found: list[JSON] = []
    for kind, pattern in _ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            found.append({"offset": start, "length": utf16_len(match.group(0)), "type": kind})
    return sorted(found, key=lambda e: e["offset"])


def _message_id(ref: MessageRef) -> int:
    if isinstance(ref, BotMessage):
        return ref.message_id
    if isinstance(ref, int):
        return ref
    return int(ref["message_id"])


class SandboxUser:
    """One simulated user in a private chat with the bot (chat id = user id)."""

    def __init__(self, state: SandboxState, chat: ChatState) -> None:
        self._state = state
        self._chat = chat

    def __repr__(self) -> str:
        return f"SandboxUser(id={self.id}, first_name={self.first_name!r})"

    # -- identity -------------------------------------------------------------------------

    @property
    def id(self) -> int:
        """The user id (also the private chat id)."""
        return int(self._chat.user["id"])

    @property
    def chat_id(self) -> int:
        """The private chat id."""
        return self._chat.id

    @property
    def first_name(self) -> str:
        """First name."""
        return str(self._chat.user["first_name"])

    @property
    def username(self) -> str | None:
        """Username, if any."""
        value = self._chat.user.get("username")
        return str(value) if value else None

    @property
    def language_code(self) -> str | None:
        """IETF language tag the client reports."""
        value = self._chat.user.get("language_code")
        return str(value) if value else None

    @property
    def as_user(self) -> JSON:
        """The Telegram User object."""
        return dict(self._chat.user)

    @property
    def blocked(self) -> bool:
        """Whether this user has blocked the bot."""
        return self._chat.blocked

    # -- what the bot did in this chat ----------------------------------------------------

    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages in this chat, latest version of each, deleted ones left out."""
        chat = self._chat
        return [
            self._state.snapshot(chat, mid)
            for mid in chat.bot_message_ids
            if mid not in chat.deleted
        ]

    @property
    def history(self) -> list[BotMessage]:
        """Every send and edit of the bot in this chat, in order, whether consumed or not."""
        return list(self._chat.events)

    @property
    def last_message(self) -> BotMessage | None:
        """The bot's most recent message still in the chat."""
        messages = self.messages
        return messages[-1] if messages else None

    def message(self, message_id: int) -> BotMessage:
        """The current version of one bot message (deleted ones too, with `deleted=True`)."""
        if message_id not in self._chat.bot_message_ids:
            raise KeyError(f"the bot sent no message {message_id} in chat {self.chat_id}")
        return self._state.snapshot(self._chat, message_id)

    @property
    def chat_actions(self) -> list[str]:
        """Every sendChatAction action for this chat, in order."""
        return list(self._chat.chat_actions)

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the client currently shows, if any."""
        return self._chat.reply_keyboard

    @property
    def pending(self) -> int:
        """Bot sends and edits not yet consumed by `next_message`."""
        return len(self._chat.events) - self._chat.consumed

    async def next_message(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """Wait for the bot's next new message or edit in this chat not consumed yet."""
        chat = self._chat
        arrived = await chat.signal.wait_until(lambda: chat.consumed < len(chat.events), timeout)
        if not arrived:
            last = chat.events[-1] if chat.events else None
            raise TimeoutError(
                f"{self!r}: no new bot message within {timeout}s "
                f"(last seen: {last.text if last else None!r})"
            )
        event = chat.events[chat.consumed]
        chat.consumed += 1
        return event

    async def expect_no_message(self, within: float = 0.5) -> None:
        """Assert that the bot sends or edits nothing new in this chat for `within` seconds."""
        chat = self._chat
        if await chat.signal.wait_until(lambda: chat.consumed < len(chat.events), within):
            event = chat.events[chat.consumed]
            kind = "edit" if event.is_edit else "message"
            raise AssertionError(f"{self!r}: unexpected bot {kind}: {event.text!r} ({event.kind})")

    def drain(self) -> list[BotMessage]:
        """Consume and return every pending event."""
        events = self._chat.events[self._chat.consumed :]
        self._chat.consumed = len(self._chat.events)
        return events

    # -- sending --------------------------------------------------------------------------

    def _post(self, content: JSON, reply_to: MessageRef | None) -> JSON:
        chat = self._chat
        if chat.blocked:
            # Writing to a bot you blocked means pressing "Restart", which unblocks it.
            self._state_unblock()
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": dict(chat.user),
            "chat": dict(chat.chat),
            "date": now(),
        }
        if reply_to is not None:
            target = chat.live_message(_message_id(reply_to))
            if target is None:
                raise LookupError(f"cannot reply to message {_message_id(reply_to)}: not in chat")
            message["reply_to_message"] = {
                k: copy.deepcopy(v) for k, v in target.items() if k != "reply_to_message"
            }
        message.update(content)
        chat.messages[int(message["message_id"])] = message
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None  # the client hides a one-time keyboard once used
        self._state.updates.push_payload("message", copy.deepcopy(message))
        self._state.touch(chat.id)
        return copy.deepcopy(message)

    def _state_unblock(self) -> None:
        set_blocked(self._state, self._chat, blocked=False, notify=True)

    @staticmethod
    def _text_content(key: str, text: str, entities: list[JSON] | None) -> JSON:
        content: JSON = {key: text}
        found = entities if entities is not None else detect_entities(text)
        if found:
            content["entities" if key == "text" else "caption_entities"] = found
        return content

    async def send_text(
        self,
        text: str,
        *,
        reply_to: MessageRef | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """Send a text message (entities detected as Telegram does unless given)."""
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        return self._post(self._text_content("text", text, entities), reply_to)

    async def send_command(self, command: str, *, reply_to: MessageRef | None = None) -> JSON:
        """Send "/command args": a bot_command entity covers the command at offset 0."""
        if not command.startswith("/"):
            raise ValueError("a command starts with '/'")
        head = command.split(maxsplit=1)[0]
        entities = [e for e in detect_entities(command) if e["offset"] != 0]
        entities.insert(0, {"offset": 0, "length": utf16_len(head), "type": "bot_command"})
        return self._post({"text": command, "entities": entities}, reply_to)

    def _media(
        self,
        kind: FileKind,
        stored: StoredFile,
        caption: str | None,
        reply_to: MessageRef | None,
    ) -> JSON:
        if kind == "photo":
            content: JSON = {"photo": self._state.files.photo_sizes(stored)}
        else:
            content = {kind: stored.as_media()}
        if caption:
            content.update(self._text_content("caption", caption, None))
        return self._post(content, reply_to)

    async def send_document(
        self,
        data: bytes,
        file_name: str = "document.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        *,
        reply_to: MessageRef | None = None,
    ) -> JSON:
        """Send a file as a document."""
        stored = self._state.files.add("document", data, file_name=file_name, mime_type=mime_type)
        return self._media("document", stored, caption, reply_to)

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, reply_to: MessageRef | None = None
    ) -> JSON:
        """Send a photo (PhotoSize list: a thumbnail when the image is large, then the photo)."""
        stored = self._state.files.add("photo", data)
        return self._media("photo", stored, caption, reply_to)

    async def send_voice(
        self,
        data: bytes,
        duration: int | None = None,
        *,
        caption: str | None = None,
        reply_to: MessageRef | None = None,
    ) -> JSON:
        """Send a voice note (OGG/Opus); duration defaults to the Ogg stream's, else 1."""
        seconds = duration if duration is not None else (ogg_duration(data) or 1)
        stored = self._state.files.add("voice", data, mime_type="audio/ogg", duration=seconds)
        return self._media("voice", stored, caption, reply_to)

    async def send_audio(
        self,
        data: bytes,
        duration: int = 3,
        file_name: str = "audio.mp3",
        mime_type: str = "audio/mpeg",
        *,
        title: str | None = None,
        performer: str | None = None,
        caption: str | None = None,
        reply_to: MessageRef | None = None,
    ) -> JSON:
        """Send a music file."""
        stored = self._state.files.add(
            "audio",
            data,
            file_name=file_name,
            mime_type=mime_type,
            duration=duration,
            title=title,
            performer=performer,
        )
        return self._media("audio", stored, caption, reply_to)

    async def edit_text(self, message: MessageRef, text: str) -> JSON:
        """Edit one of this user's own text messages (an `edited_message` update)."""
        chat = self._chat
        message_id = _message_id(message)
        current = chat.live_message(message_id)
        if current is None or current.get("from", {}).get("id") != self.id:
            raise LookupError(f"message {message_id} is not a message of {self!r}")
        edited = {k: v for k, v in current.items() if k != "entities"}
        edited.update(self._text_content("text", text, None))
        edited["edit_date"] = now()
        chat.messages[message_id] = edited
        self._state.updates.push_payload("edited_message", copy.deepcopy(edited))
        self._state.touch(chat.id)
        return copy.deepcopy(edited)

    # -- payments -------------------------------------------------------------------------

    async def pay(
        self, invoice: MessageRef, *, wait: float = PRE_CHECKOUT_SECONDS
    ) -> PaymentOutcome:
        """Pay an invoice the bot sent with a test card (``sandbox/payments.py``)."""
        return await pay(
            self._state, self._chat, _message_id(invoice), post=self._post_content, wait=wait
        )

    def repeat_payment(self, outcome: PaymentOutcome) -> JSON:
        """Telegram delivering the same ``successful_payment`` again, as a new message."""
        return repeat_payment(outcome, post=self._post_content)

    def _post_content(self, content: JSON) -> JSON:
        return self._post(content, None)

    # -- buttons --------------------------------------------------------------------------

    def _live_bot_message(self, ref: MessageRef) -> JSON:
        message_id = _message_id(ref)
        raw = self._chat.live_message(message_id)
        if raw is None or message_id not in self._chat.bot_message_ids:
            raise LookupError(f"bot message {message_id} is not in chat {self.chat_id}")
        return raw

    def _find_button(self, text: str, message: MessageRef | None) -> tuple[JSON, JSON]:
        if message is not None:
            candidates = [self._live_bot_message(message)]
        else:
            chat = self._chat
            candidates = [
                chat.messages[mid]
                for mid in reversed(chat.bot_message_ids)
                if mid not in chat.deleted
            ]
        seen: list[str] = []
        for raw in candidates:
            rows = (raw.get("reply_markup") or {}).get("inline_keyboard") or []
            buttons = [b for row in rows for b in row]
            seen.extend(str(b.get("text")) for b in buttons)
            exact = [b for b in buttons if b.get("text") == text]
            if exact:
                return raw, exact[0]
            partial = [b for b in buttons if text in str(b.get("text", ""))]
            if len(partial) > 1:
                names = [b.get("text") for b in partial]
                raise LookupError(f"{text!r} is ambiguous on message {raw['message_id']}: {names}")
            if partial:
                return raw, partial[0]
        raise LookupError(f"no inline button {text!r}; buttons seen: {seen}")

    async def press(
        self,
        text: str,
        message: MessageRef | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Press an inline button by label and wait for the bot's answerCallbackQuery."""
        raw, button = self._find_button(text, message)
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback data: {button}")
        return await self._press(raw, str(button["callback_data"]), timeout)

    async def press_data(
        self,
        data: str,
        message: MessageRef | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Send arbitrary callback data, as a modified client could, and wait for the answer."""
        if message is not None:
            raw = self._live_bot_message(message)
        else:
            last = self.last_message
            if last is None:
                raise LookupError(f"the bot has no message in chat {self.chat_id}")
            raw = self._chat.messages[last.message_id]
        return await self._press(raw, data, timeout)

    async def _press(self, raw: JSON, data: str, wait: float) -> CallbackAnswer:
        state = self._state
        message_id = int(raw["message_id"])
        query_id = state.new_callback_query(self._chat, message_id, data)
        state.updates.push_payload(
            "callback_query",
            {
                "id": query_id,
                "from": dict(self._chat.user),
                "message": copy.deepcopy(raw),
                "chat_instance": self._chat.chat_instance,
                "data": data,
            },
        )
        query = state.callback_queries[query_id]
        if not await state.callback_signal.wait_until(lambda: query.answer is not None, wait):
            raise TimeoutError(
                f"{self!r}: the bot did not answer callback query {data!r} within {wait}s"
            )
        assert query.answer is not None
        return query.answer


def set_blocked(state: SandboxState, chat: ChatState, *, blocked: bool, notify: bool) -> None:
    """Block or unblock the bot for a user; Telegram tells the bot with `my_chat_member`."""
    if chat.blocked == blocked:
        return
    chat.blocked = blocked
    if not notify:
        return
    bot = dict(state.bot_user)
    member: JSON = {"status": "member", "user": bot}
    kicked: JSON = {"status": "kicked", "user": bot, "until_date": 0}
    state.updates.push_payload(
        "my_chat_member",
        {
            "chat": dict(chat.chat),
            "from": dict(chat.user),
            "date": now(),
            "old_chat_member": member if blocked else kicked,
            "new_chat_member": kicked if blocked else member,
        },
    )
