"""The Bot API methods the sandbox implements, acting on SandboxState like Telegram would."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.account import AccountMethods
from sandbox.calls import (
    ACCEPTED,
    CAPTION_KEYS,
    CHAT_ACTIONS,
    MEDIA_KEYS,
    NOT_MODIFIED,
    Call,
    Handler,
    blocked_error,
    caption_of,
    check_text,
    markup_of,
)
from sandbox.errors import ApiError, bad_request
from sandbox.files import (
    MAX_DOWNLOAD_BYTES,
    MAX_PHOTO_BYTES,
    FileIdSend,
    FileKind,
    StoredFile,
    UploadedPart,
    UploadRecord,
    guess_mime_type,
    ogg_duration,
)
from sandbox.formatting import format_text
from sandbox.models import JSON, CallbackAnswer
from sandbox.payments import PaymentMethods
from sandbox.state import ChatState, SandboxState, now


class BotApi(AccountMethods, PaymentMethods):
    """Dispatches a Call to its handler; handlers raise ApiError for refused calls."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getChat": self.get_chat,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendVoice": self.send_voice,
            "sendAudio": self.send_audio,
            "sendDocument": self.send_document,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageMedia": self.edit_message_media,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "sendChatAction": self.send_chat_action,
            "getFile": self.get_file,
            "sendInvoice": self.send_invoice,
            "answerPreCheckoutQuery": self.answer_pre_checkout_query,
        }
        for name in ACCEPTED:
            self._handlers[name] = self._accept

    @property
    def implemented(self) -> frozenset[str]:
        """Names of the methods with a handler."""
        return frozenset(self._handlers)

    async def dispatch(self, call: Call) -> Any:
        """Run the handler for `call.method`."""
        handler = self._handlers.get(call.method)
        if handler is None:
            raise bad_request(f"method {call.method} is not implemented by the sandbox")
        return await handler(call)

    # -- shared steps ---------------------------------------------------------------------

    def _sending_chat(self, params: JSON) -> ChatState:
        chat = self._chat(params)
        if chat.blocked:
            raise blocked_error()
        return chat

    def _throttle(self, chat: ChatState) -> None:
        limiter = self.state.limiter
        if limiter is None:
            return
        retry_after = limiter.acquire(chat.id)
        if retry_after is not None:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                parameters={"retry_after": retry_after},
                record=False,
            )

    def _reply_to(self, chat: ChatState, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict) and params.get("reply_to_message_id") is not None:
            reply = {"message_id": params["reply_to_message_id"]}
        if not isinstance(reply, dict):
            return None
        target = chat.live_message(int(reply["message_id"]))
        if target is None:
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _send(self, call: Call, content: JSON, chat: ChatState) -> JSON:
        """Common tail of every send*: reply, markup, flood control, then store and return."""
        reply = self._reply_to(chat, call.params)
        markup, inline = markup_of(call.params)
        self._throttle(chat)
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": dict(self.state.bot_user),
            "chat": dict(chat.chat),
            "date": now(),
        }
        if reply is not None:
            message["reply_to_message"] = reply
        message.update(content)
        if inline is not None:
            message["reply_markup"] = inline
        self.state.record_bot_message(chat, message, markup)
        return copy.deepcopy(message)

    def _edit_target(self, call: Call) -> tuple[ChatState, JSON]:
        params = call.params
        if params.get("inline_message_id"):
            raise bad_request("the sandbox does not support inline messages")
        if params.get("chat_id") is None:
            raise bad_request("chat_id is required")
        if params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        chat = self._chat(params)
        message = chat.live_message(int(params["message_id"]))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.state.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, message

    def _finish_edit(
        self, chat: ChatState, old: JSON, new: JSON, markup: JSON | None, inline: JSON | None
    ) -> JSON:
        new.pop("reply_markup", None)
        new.pop("edit_date", None)
        if inline is not None:
            new["reply_markup"] = inline
        unchanged = {k: v for k, v in old.items() if k != "edit_date"}
        if new == unchanged:
            raise bad_request(NOT_MODIFIED)
        self._throttle(chat)
        new["edit_date"] = now()
        self.state.record_edit(chat, new, markup)
        return copy.deepcopy(new)

    def _resolve_file(self, call: Call, value: Any, kind: FileKind, chat: ChatState) -> StoredFile:
        """The stored file a media parameter names: an upload, attach://name, or a file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            part = call.files.get(value.removeprefix("attach://"))
            if part is None:
                raise bad_request(f'can\'t find attached file "{value}"')
            value = part
        if isinstance(value, UploadedPart):
            return self._upload(call, value, kind, chat)
        file_id = str(value)
        stored = self.state.files.get(file_id)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _upload(
        self, call: Call, part: UploadedPart, kind: FileKind, chat: ChatState
    ) -> StoredFile:
        params = call.params
        if not part.data:
            raise bad_request("file must be non-empty")
        if kind == "photo" and len(part.data) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_INVALID_DIMENSIONS: photo is too big")
        duration = params.get("duration")
        if kind == "voice":
            return self.state.files.add(
                "voice",
                part.data,
                mime_type="audio/ogg",
                duration=int(duration or ogg_duration(part.data) or 0),
            )
        if kind == "audio":
            return self.state.files.add(
                "audio",
                part.data,
                file_name=part.filename,
                mime_type=guess_mime_type(part.filename, part.content_type),
                duration=int(duration or ogg_duration(part.data) or 0),
                performer=params.get("performer"),
                title=params.get("title"),
            )
        if kind == "document":
            return self.state.files.add(
                "document",
                part.data,
                file_name=part.filename,
                mime_type=guess_mime_type(part.filename, part.content_type),
            )
        return self.state.files.add("photo", part.data)

    def _count_file_use(self, call: Call, value: Any, stored: StoredFile, chat: ChatState) -> None:
        if isinstance(value, str) and not value.startswith("attach://"):
            self.state.sends_by_file_id.append(
                FileIdSend(call.method, chat.id, stored.file_id, stored.file_unique_id)
            )
            return
        self.state.uploads.append(
            UploadRecord(
                call.method,
                value.removeprefix("attach://") if isinstance(value, str) else value.name,
                stored.file_id,
                stored.file_unique_id,
                stored.file_name,
                stored.file_size,
            )
        )

    def _media_content(self, stored: StoredFile) -> JSON:
        if stored.kind == "photo":
            return {"photo": self.state.files.photo_sizes(stored)}
        return {stored.kind: stored.as_media()}

    # -- sending ------------------------------------------------------------------------

    async def send_message(self, call: Call) -> JSON:
        """sendMessage."""
        params = call.params
        chat = self._sending_chat(params)
        text, entities = format_text(
            str(params.get("text", "")), params.get("parse_mode"), params.get("entities")
        )
        check_text(text)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._send(call, content, chat)

    async def _send_media(self, call: Call, kind: FileKind) -> JSON:
        params = call.params
        chat = self._sending_chat(params)
        caption, entities = caption_of(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        value = params[kind]
        stored = self._resolve_file(call, value, kind, chat)
        content = self._media_content(stored)
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self._send(call, content, chat)
        self._count_file_use(call, value, stored, chat)
        return message

    async def send_photo(self, call: Call) -> JSON:
        """sendPhoto."""
        return await self._send_media(call, "photo")

    async def send_voice(self, call: Call) -> JSON:
        """sendVoice."""
        return await self._send_media(call, "voice")

    async def send_audio(self, call: Call) -> JSON:
        """sendAudio."""
        return await self._send_media(call, "audio")

    async def send_document(self, call: Call) -> JSON:
        """sendDocument."""
        return await self._send_media(call, "document")

    async def send_chat_action(self, call: Call) -> bool:
        """sendChatAction: remembered per chat."""
        chat = self._sending_chat(call.params)
        action = str(call.params.get("action", ""))
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.chat_actions.append(action)
        return True

    # -- editing ------------------------------------------------------------------------

    async def edit_message_text(self, call: Call) -> JSON:
        """editMessageText."""
        params = call.params
        chat, old = self._edit_target(call)
        if "text" not in old:
            raise bad_request("there is no text in the message to edit")
        text, entities = format_text(
            str(params.get("text", "")), params.get("parse_mode"), params.get("entities")
        )
        check_text(text)
        new = {k: v for k, v in old.items() if k not in ("text", "entities")}
        new["text"] = text
        if entities:
            new["entities"] = entities
        markup, inline = markup_of(params)
        return self._finish_edit(chat, old, new, markup, inline)

    async def edit_message_caption(self, call: Call) -> JSON:
        """editMessageCaption."""
        params = call.params
        chat, old = self._edit_target(call)
        if not any(k in old for k in ("photo", "voice", "audio", "document")):
            raise bad_request("there is no caption in the message to edit")
        caption, entities = caption_of(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        new = {k: v for k, v in old.items() if k not in CAPTION_KEYS}
        if caption:
            new["caption"] = caption
            if entities:
                new["caption_entities"] = entities
        markup, inline = markup_of(params)
        return self._finish_edit(chat, old, new, markup, inline)

    async def edit_message_reply_markup(self, call: Call) -> JSON:
        """editMessageReplyMarkup."""
        chat, old = self._edit_target(call)
        markup, inline = markup_of(call.params)
        return self._finish_edit(chat, old, dict(old), markup, inline)

    async def edit_message_media(self, call: Call) -> JSON:
        """editMessageMedia: photo, audio or document; voice notes cannot be edited."""
        params = call.params
        chat, old = self._edit_target(call)
        media: JSON = params["media"]
        kind = media.get("type")
        if "voice" in old:
            raise bad_request("a voice message can't be edited into other media")
        if kind not in ("photo", "audio", "document"):
            raise bad_request(f"the sandbox can't edit a message into media of type {kind!r}")
        caption, entities = caption_of(
            media.get("caption"), media.get("parse_mode"), media.get("caption_entities")
        )
        edit_call = Call(call.method, {**params, **media}, call.files)
        value = media.get("media")
        stored = self._resolve_file(edit_call, value, kind, chat)
        new = {k: v for k, v in old.items() if k not in MEDIA_KEYS + CAPTION_KEYS}
        new.update(self._media_content(stored))
        if caption:
            new["caption"] = caption
            if entities:
                new["caption_entities"] = entities
        markup, inline = markup_of(params)
        result = self._finish_edit(chat, old, new, markup, inline)
        self._count_file_use(edit_call, value, stored, chat)
        return result

    async def delete_message(self, call: Call) -> bool:
        """deleteMessage (bot messages and, in private chats, the user's too)."""
        chat = self._chat(call.params)
        message_id = int(call.params["message_id"])
        if chat.live_message(message_id) is None:
            raise bad_request("message to delete not found")
        chat.deleted.add(message_id)
        self.state.touch(chat.id)
        return True

    # -- callbacks and files ----------------------------------------------------------------

    async def answer_callback_query(self, call: Call) -> bool:
        """answerCallbackQuery: wakes the user waiting in `press`."""
        params = call.params
        text = params.get("text")
        answer = CallbackAnswer(
            text=str(text) if text else None,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
        )
        if not self.state.answer_callback_query(str(params["callback_query_id"]), answer):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    async def get_file(self, call: Call) -> JSON:
        """getFile."""
        stored = self.state.files.get(str(call.params["file_id"]))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return stored.as_file()
