"""Plain records the sandbox hands to tests: bot messages, callback answers, logged calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

JSON = dict[str, Any]
MessageKind = Literal["text", "photo", "voice", "audio", "document", "invoice"]


class ApiCall(NamedTuple):
    """One call the bot made: `(method, params)`; file parts appear as UploadedPart."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InvalidCall:
    """A call the sandbox refused because the bot got something wrong."""

    method: str
    params: dict[str, Any]
    description: str
    error_code: int


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """What the bot passed to answerCallbackQuery."""

    text: str | None
    show_alert: bool
    url: str | None = None


def _button_rows(markup: Mapping[str, Any] | None) -> list[list[str]]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [
        [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
        for row in rows
        if isinstance(row, list)
    ]


@dataclass(frozen=True, slots=True)
class BotMessage:
    """A snapshot of one message the bot sent (or edited) in a private chat.

    `reply_markup` is the markup the bot sent, whatever its kind (inline keyboard, reply
    keyboard, force reply); `raw` is the Message object as Telegram returned it to the bot.
    """

    message_id: int
    chat_id: int
    text: str | None
    kind: MessageKind
    reply_markup: JSON | None
    buttons: list[list[str]]
    file_id: str | None
    file_bytes: bytes | None = field(repr=False)
    file_name: str | None
    is_edit: bool
    deleted: bool
    force_reply: bool
    raw: JSON = field(repr=False)

    @classmethod
    def from_raw(
        cls,
        raw: JSON,
        *,
        markup: JSON | None,
        resolve: Callable[[str], bytes | None],
        is_edit: bool = False,
        deleted: bool = False,
    ) -> BotMessage:
        """Build a snapshot; `resolve` maps a file_id to its bytes."""
        kind: MessageKind = "text"
        file_id: str | None = None
        file_name: str | None = None
        if raw.get("photo"):
            kind, file_id = "photo", raw["photo"][-1]["file_id"]
        elif raw.get("invoice"):
            kind = "invoice"
        else:
            for candidate in ("voice", "audio", "document"):
                media = raw.get(candidate)
                if media:
                    kind = candidate
                    file_id = media["file_id"]
                    file_name = media.get("file_name")
                    break
        text = raw.get("text", raw.get("caption"))
        return cls(
            message_id=int(raw["message_id"]),
            chat_id=int(raw["chat"]["id"]),
            text=text,
            kind=kind,
            reply_markup=markup,
            buttons=_button_rows(markup),
            file_id=file_id,
            file_bytes=resolve(file_id) if file_id else None,
            file_name=file_name,
            is_edit=is_edit,
            deleted=deleted,
            force_reply=bool(markup and markup.get("force_reply")),
            raw=raw,
        )

    @property
    def entities(self) -> list[JSON]:
        """The text or caption entities Telegram computed."""
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    def inline_buttons(self) -> list[JSON]:
        """Every inline keyboard button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row if isinstance(b, dict)]

    def button_data(self, text: str) -> str:
        """The callback_data of the inline button labelled `text` (KeyError if none)."""
        for button in self.inline_buttons():
            if button.get("text") == text and "callback_data" in button:
                return str(button["callback_data"])
        raise KeyError(f"no inline button {text!r} with callback data; buttons: {self.buttons}")
