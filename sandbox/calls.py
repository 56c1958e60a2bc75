"""Sandbox room, the shape of a Bot API call: the decoded call, its limits and shared checks."""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import ApiError, bad_request
from sandbox.files import UploadedPart
from sandbox.formatting import format_text
from sandbox.models import JSON

MAX_TEXT = 4096
MAX_CAPTION = 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MEDIA_KEYS = ("photo", "voice", "audio", "document", "text", "entities")
CAPTION_KEYS = ("caption", "caption_entities")
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
ACCEPTED = (
    "close",
    "logOut",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)


@dataclass(slots=True)
class Call:
    """One decoded Bot API call: parameters plus multipart file parts by part name."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedPart] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Any]]


def blocked_error() -> ApiError:
    """The 403 Telegram returns for a user who blocked the bot (not a bot bug)."""
    return ApiError(403, "Forbidden: bot was blocked by the user", record=False)


def check_text(text: str) -> None:
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")


def caption_of(caption: Any, parse_mode: Any, entities: Any) -> tuple[str | None, list[JSON]]:
    if caption is None or caption == "":
        return None, []
    text, found = format_text(str(caption), parse_mode, entities)
    if len(text) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return text or None, found


def markup_of(params: JSON) -> tuple[JSON | None, JSON | None]:
    """(markup as sent, inline keyboard echoed in the Message) for a reply_markup parameter."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return None, None
    if "inline_keyboard" in markup:
        if not markup["inline_keyboard"]:
            return None, None
        return markup, copy.deepcopy(markup)
    return markup, None
