"""The web chat: a Telegram-like page on the sandbox where a person plays any simulated user.

The page (``sandbox/web/``: static HTML, JavaScript and CSS, no build step, nothing fetched from
the internet) talks to the JSON endpoints below; every action goes through the same
``SandboxUser`` the tests drive, so the bot sees exactly the updates a test would send.
Live updates come as server-sent events: ``changed`` names the chats to fetch again.

    GET  /                              the page
    GET  /chat/api/users                the simulated users, with a revision per chat
    POST /chat/api/users                add a user {"first_name": ...}
    GET  /chat/api/chats/{id}           one chat: messages, keyboards, the user's command menu
    POST /chat/api/chats/{id}/messages  send {"text": ..., "reply_to": message_id?}
    POST /chat/api/chats/{id}/press     press {"message_id": ..., "data": ...}: the bot's answer
    POST /chat/api/chats/{id}/files     upload (multipart: file, as=document|voice|photo|audio)
    GET  /chat/api/files/{file_id}      a file's bytes (photos, voice clips, documents)
    GET  /chat/api/events               server-sent events
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.files import StoredFile, ogg_duration
from sandbox.models import JSON, CallbackAnswer
from sandbox.state import ChatState

if TYPE_CHECKING:
    from sandbox.server import SandboxServer
    from sandbox.users import SandboxUser

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "web"
PRESS_TIMEOUT = 10.0
"""How long a press waits for the bot's answerCallbackQuery (Telegram's clients wait ~15 s)."""
HEARTBEAT = 15.0
FIRST_ADDED_ID = 50_001
UPLOAD_KINDS = ("document", "voice", "photo", "audio")


@dataclass
class Profile:
    """How the page lists a user: a role to show beside the name, and the order."""

    label: str
    position: int


class WebChat:
    """The web chat of one SandboxServer: its routes and the profiles of its users."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.state = server.state
        self.profiles: dict[int, Profile] = {}
        self._closing = asyncio.Event()

    # -- users ----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        label: str = "",
        *,
        language_code: str = "en",
        username: str | None = None,
    ) -> SandboxUser:
        """A simulated user listed on the page (created if new) with a role label."""
        user = self.server.user(user_id, first_name, username=username, language_code=language_code)
        if user_id not in self.profiles:
            self.profiles[user_id] = Profile(label, len(self.profiles))
        else:
            self.profiles[user_id].label = label or self.profiles[user_id].label
        self.state.touch(user_id)
        return user

    def _new_user_id(self) -> int:
        user_id = FIRST_ADDED_ID
        while user_id in self.state.chats:
            user_id += 1
        return user_id

    def _user(self, request: web.Request) -> SandboxUser:
        raw = request.match_info["user_id"]
        if not raw.isdigit() or int(raw) not in self.state.chats:
            raise web.HTTPNotFound(text="no such user")
        return self.server.user(int(raw))

    def close(self) -> None:
        """Release every event stream (the server is stopping)."""
        self._closing.set()
        self.state.changes.fire()

    # -- routes ---------------------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        """Add the page and the endpoints to the sandbox's aiohttp application."""
        app.router.add_get("/", self._index)
        app.router.add_static("/web/", STATIC, append_version=False)
        app.router.add_get("/chat/api/users", self._users)
        app.router.add_post("/chat/api/users", self._add_user)
        app.router.add_get("/chat/api/chats/{user_id}", self._chat)
        app.router.add_post("/chat/api/chats/{user_id}/messages", self._send)
        app.router.add_post("/chat/api/chats/{user_id}/press", self._press)
        app.router.add_post("/chat/api/chats/{user_id}/pay", self._pay)
        app.router.add_post("/chat/api/chats/{user_id}/files", self._upload)
        app.router.add_get("/chat/api/files/{file_id}", self._file)
        app.router.add_get("/chat/api/events", self._events)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _users(self, request: web.Request) -> web.Response:
        bot = self.state.bot_user
        return web.json_response(
            {
                "bot": {"first_name": bot["first_name"], "username": bot.get("username")},
                "revision": self.state.revision,
                "users": [self.user_view(user) for user in self.listed_users()],
            }
        )

    def listed_users(self) -> list[SandboxUser]:
        """Users with a profile first (in the order given), then every other simulated user."""
        users = self.server.users
        ranked = {uid: p.position for uid, p in self.profiles.items()}
        return sorted(users, key=lambda u: (ranked.get(u.id, len(ranked)), u.id))

    def user_view(self, user: SandboxUser) -> JSON:
        """One line of the user list."""
        chat = self.state.chats[user.id]
        profile = self.profiles.get(user.id)
        last = _last_message(chat)
        return {
            "id": user.id,
            "first_name": user.first_name,
            "label": profile.label if profile else "",
            "revision": self.state.chat_revisions.get(user.id, 0),
            "preview": _preview(last) if last else "",
        }

    async def _add_user(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        name = str(body.get("first_name") or "").strip()[:64] or "Guest"
        label = str(body.get("label") or "").strip()[:32]
        user = self.add_user(self._new_user_id(), name, label)
        return web.json_response(self.user_view(user))

    async def _chat(self, request: web.Request) -> web.Response:
        user = self._user(request)
        return web.json_response(self.chat_view(user))

    def chat_view(self, user: SandboxUser) -> JSON:
        """Everything the page shows of one chat."""
        chat = self.state.chats[user.id]
        messages = [
            self.message_view(chat, message_id)
            for message_id in sorted(chat.messages)
            if message_id not in chat.deleted
        ]
        return {
            "user": self.user_view(user),
            "messages": messages,
            "reply_keyboard": _reply_keyboard(chat.reply_keyboard),
            "force_reply": _force_reply(chat),
            "commands": self.state.commands_for(user.id, user.language_code),
            "blocked": chat.blocked,
        }

    def message_view(self, chat: ChatState, message_id: int) -> JSON:
        """A message as the page draws it (either side)."""
        raw = chat.messages[message_id]
        from_bot = message_id in chat.bot_message_ids
        view: JSON = {
            "id": message_id,
            "from": "bot" if from_bot else "user",
            "date": raw.get("date"),
            "edited": "edit_date" in raw,
            "text": raw.get("text", raw.get("caption")),
            "entities": raw.get("entities") or raw.get("caption_entities") or [],
        }
        view.update(self._media_view(raw))
        reply = raw.get("reply_to_message")
        if reply:
            view["reply_to"] = {"id": reply.get("message_id"), "preview": _preview(reply)}
        markup = chat.markups.get(message_id) if from_bot else None
        inline = (markup or {}).get("inline_keyboard")
        if inline:
            view["inline_keyboard"] = [
                [_inline_button(button) for button in row if isinstance(button, dict)]
                for row in inline
                if isinstance(row, list)
            ]
        return view

    def _media_view(self, raw: JSON) -> JSON:
        invoice = raw.get("invoice")
        if invoice:  # drawn with a Pay button (a test card: no money moves)
            return {"kind": "invoice", "invoice": invoice}
        payment = raw.get("successful_payment")
        if payment:
            return {"kind": "payment", "payment": payment}
        if raw.get("photo"):
            largest = raw["photo"][-1]
            return {
                "kind": "photo",
                "file_id": largest["file_id"],
                "width": largest.get("width"),
                "height": largest.get("height"),
            }
        for kind in ("voice", "audio", "document"):
            media = raw.get(kind)
            if media:
                return {
                    "kind": kind,
                    "file_id": media["file_id"],
                    "file_name": media.get("file_name"),
                    "mime_type": media.get("mime_type"),
                    "duration": media.get("duration"),
                    "file_size": media.get("file_size"),
                }
        return {"kind": "text"}

    async def _send(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await _json_body(request)
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="empty message")
        reply_to = _reply_to(body.get("reply_to"))
        try:
            if text.startswith("/"):
                sent = await user.send_command(text[:4096], reply_to=reply_to)
            else:
                sent = await user.send_text(text[:4096], reply_to=reply_to)
        except LookupError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        return web.json_response({"message_id": sent["message_id"]})

    async def _press(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await _json_body(request)
        message_id = body.get("message_id")
        data = body.get("data")
        if not isinstance(message_id, int) or not isinstance(data, str):
            raise web.HTTPBadRequest(text="message_id and data are required")
        answer: CallbackAnswer | None
        try:
            answer = await user.press_data(data, message_id, timeout=PRESS_TIMEOUT)
        except LookupError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        except TimeoutError:
            answer = None
        if answer is None:
            return web.json_response({"answer": None})
        return web.json_response(
            {"answer": {"text": answer.text, "show_alert": answer.show_alert, "url": answer.url}}
        )

    async def _pay(self, request: web.Request) -> web.Response:
        """Pay an invoice with the sandbox's test card: pre-checkout, then the payment."""
        user = self._user(request)
        body = await _json_body(request)
        message_id = body.get("message_id")
        if not isinstance(message_id, int):
            raise web.HTTPBadRequest(text="message_id is required")
        try:
            outcome = await user.pay(message_id)
        except LookupError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        return web.json_response({"paid": outcome.paid, "error_message": outcome.error_message})

    async def _upload(self, request: web.Request) -> web.Response:
        user = self._user(request)
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            raise web.HTTPBadRequest(text="a file part named 'file' is required")
        kind = str(form.get("as") or "document")
        if kind not in UPLOAD_KINDS:
            raise web.HTTPBadRequest(text=f"'as' must be one of {', '.join(UPLOAD_KINDS)}")
        data = part.file.read()
        if not data:
            raise web.HTTPBadRequest(text="the file is empty")
        caption = str(form.get("caption") or "").strip() or None
        reply_to = _reply_to(form.get("reply_to"))
        name = part.filename or "file"
        mime = part.content_type or "application/octet-stream"
        try:
            if kind == "voice":
                ogg = data if _is_ogg(data) else await asyncio.to_thread(to_ogg_opus, data)
                sent = await user.send_voice(ogg, caption=caption, reply_to=reply_to)
            elif kind == "photo":
                sent = await user.send_photo(data, caption, reply_to=reply_to)
            elif kind == "audio":
                sent = await user.send_audio(
                    data, 3, name, mime, caption=caption, reply_to=reply_to
                )
            else:
                sent = await user.send_document(data, name, mime, caption, reply_to=reply_to)
        except (LookupError, ValueError, OSError, subprocess.SubprocessError) as error:
            raise web.HTTPBadRequest(text=f"cannot send this file: {error}") from None
        return web.json_response({"message_id": sent["message_id"]})

    async def _file(self, request: web.Request) -> web.Response:
        stored: StoredFile | None = self.state.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound(text="no such file")
        headers = {"Cache-Control": "private, max-age=3600"}
        if stored.kind == "document":
            name = (stored.file_name or "file").replace('"', "")
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type or _default_mime(stored),
            headers=headers,
        )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: ``changed`` with the chats whose revision moved."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        seen = self.state.revision
        await _event(response, "hello", {"revision": seen})
        loop = asyncio.get_running_loop()
        beat = loop.time()
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while not self._closing.is_set():
                await self._wait_for_change(seen)
                state = self.state
                if self._closing.is_set():
                    break
                if state.revision > seen:
                    chats = sorted(c for c, r in state.chat_revisions.items() if r > seen)
                    seen = state.revision
                    await _event(response, "changed", {"revision": seen, "chats": chats})
                    beat = loop.time()
                elif loop.time() - beat >= HEARTBEAT:
                    await response.write(b": keep-alive\n\n")
                    beat = loop.time()
        return response

    async def _wait_for_change(self, seen: int) -> None:
        state = self.state
        await state.changes.wait_until(
            lambda: state.revision > seen or self._closing.is_set(), HEARTBEAT
        )


# -- helpers --------------------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="a JSON object is expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="a JSON object is expected")
    return body


async def _event(response: web.StreamResponse, name: str, data: JSON) -> None:
    await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())


def _reply_to(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _inline_button(button: JSON) -> JSON:
    view: JSON = {"text": str(button.get("text", ""))}
    for key in ("callback_data", "url"):
        if key in button:
            view[key] = button[key]
    return view


def _reply_keyboard(markup: JSON | None) -> JSON | None:
    if not markup or "keyboard" not in markup:
        return None
    rows = [
        [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
        for row in markup["keyboard"]
        if isinstance(row, list)
    ]
    return {"rows": rows, "placeholder": markup.get("input_field_placeholder")}


def _force_reply(chat: ChatState) -> JSON | None:
    """The bot's latest message when it asks for a reply (the client then replies to it)."""
    for message_id in reversed(sorted(chat.messages)):
        if message_id in chat.deleted:
            continue
        if message_id not in chat.bot_message_ids:
            return None  # the user spoke after it
        markup = chat.markups.get(message_id) or {}
        if markup.get("force_reply"):
            return {"message_id": message_id, "placeholder": markup.get("input_field_placeholder")}
        return None
    return None


def _last_message(chat: ChatState) -> JSON | None:
    for message_id in reversed(sorted(chat.messages)):
        if message_id not in chat.deleted:
            return chat.messages[message_id]
    return None


def _preview(raw: JSON) -> str:
    text = raw.get("text") or raw.get("caption")
    if text:
        return str(text).replace("\n", " ")[:80]
    for kind, shown in (
        ("photo", "Photo"),
        ("voice", "Voice message"),
        ("audio", "Audio"),
        ("document", "File"),
    ):
        if raw.get(kind):
            return shown
    return ""


def _is_ogg(data: bytes) -> bool:
    return data[:4] == b"OggS" and ogg_duration(data) is not None


def _default_mime(stored: StoredFile) -> str:
    return {"photo": "image/jpeg", "voice": "audio/ogg", "audio": "audio/mpeg"}.get(
        stored.kind, "application/octet-stream"
    )


def to_ogg_opus(data: bytes, timeout: float = 60.0) -> bytes:
    """A browser recording (WebM/Opus, MP4/AAC...) as the OGG/Opus of a Telegram voice note."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", "pipe:0"]
    command += ["-vn", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg", "pipe:1"]
    result = subprocess.run(  # noqa: S603 - a fixed command; the recording comes on stdin
        command,
        input=data,
        capture_output=True,
        timeout=timeout,
        check=True,
    )
    return result.stdout
