"""The HTTP layer: an aiohttp server on 127.0.0.1 that answers like the Telegram Bot API."""

from __future__ import annotations

import logging
import socket
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.calls import Call
from sandbox.errors import ApiError
from sandbox.faults import FaultInjector
from sandbox.files import MAX_UPLOAD_BYTES, FileIdSend, UploadedPart, UploadRecord
from sandbox.methods import BotApi
from sandbox.models import JSON, ApiCall, InvalidCall
from sandbox.ratelimit import RateLimit
from sandbox.spec import ApiSpec, default_spec
from sandbox.state import SandboxState
from sandbox.users import SandboxUser, set_blocked
from sandbox.webchat import WebChat

log = logging.getLogger(__name__)


def _envelope_error(error: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedPart]]:
    """Query string plus body (form, multipart or JSON) as raw values and file parts."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedPart] = {}
    if request.method != "POST" or not request.can_read_body:
        return raw, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: the JSON request body must be an object")
        raw.update(body)
        return raw, files
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "Request Entity Too Large") from None
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = UploadedPart(name, value.filename, value.content_type, value.file.read())
        elif isinstance(value, str):
            raw[name] = value
        else:
            raw[name] = bytes(value).decode("utf-8", "replace")
    return raw, files


class SandboxServer:
    """A stand-in for the Telegram Bot API, for tests that run the real bot over HTTP.

    Use `url` as the API root: `ApplicationBuilder().base_url(f"{url}/bot")
    .base_file_url(f"{url}/file/bot")`.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",  # noqa: S107 - a fake token for a fake server
        bot_username: str = "petitesmains_bot",
        rate_limit: RateLimit | None = None,
        *,
        bot_name: str = "Petites Mains",
        host: str = "127.0.0.1",
        port: int = 0,
        spec: ApiSpec | None = None,
        web_chat: bool = False,
        callback_timeout: float | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.state = SandboxState(token, bot_username, bot_name)
        self.state.callback_timeout = callback_timeout
        self.state.set_rate_limit(rate_limit)
        self._rate_limit = rate_limit
        self.api = BotApi(self.state)
        self.spec = spec or default_spec()
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._users: dict[int, SandboxUser] = {}
        self.faults = faults  # injected failures (sandbox/faults.py); None: none
        # The page where a person plays the simulated users (sandbox/webchat.py), when asked for.
        self.web: WebChat | None = WebChat(self) if web_chat else None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError("the sandbox server is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        if self.web is not None:
            self.web.install(app)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            self._port = int(sock.getsockname()[1])
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.state.updates.closed = False
        self._runner = runner

    async def stop(self) -> None:
        """Release long polls and close the server."""
        runner, self._runner = self._runner, None
        webhook, self.state.webhook = self.state.webhook, None
        if webhook is not None:
            await webhook.stop()
        self.state.updates.close()
        if self.web is not None:
            self.web.close()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("the sandbox server is not started")
        return self._port

    @property
    def url(self) -> str:
        """The API root, e.g. "http://127.0.0.1:PORT" (TELEGRAM_API_URL)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to `ApplicationBuilder.base_url`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to `ApplicationBuilder.base_file_url`."""
        return f"{self.url}/file/bot"

    # -- what the bot did -----------------------------------------------------------------

    @property
    def token(self) -> str:
        """The only token the server accepts."""
        return self.state.token

    @property
    def bot_user(self) -> JSON:
        """The bot's User object (getMe without the capability flags)."""
        return dict(self.state.bot_user)

    @property
    def calls(self) -> list[ApiCall]:
        """Every call, in order, as `(method, params)`."""
        return self.state.calls

    @property
    def invalid_calls(self) -> list[InvalidCall]:
        """Refused calls that reveal a bot bug (4xx except 429 and 403 for a blocked user)."""
        return self.state.invalid_calls

    @property
    def rate_limited_calls(self) -> list[ApiCall]:
        """Calls refused with 429."""
        return self.state.rate_limited_calls

    @property
    def blocked_calls(self) -> list[ApiCall]:
        """Calls refused with 403 because the user blocked the bot."""
        return self.state.blocked_calls

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The params of every call to one method."""
        return [params for name, params in self.state.calls if name == method]

    def assert_no_invalid_calls(self) -> None:
        """Raise AssertionError listing the refused calls, if any."""
        if self.state.invalid_calls:
            lines = "\n".join(
                f"  {c.method}: {c.error_code} {c.description} {c.params}"
                for c in self.state.invalid_calls
            )
            raise AssertionError(f"the bot made invalid calls:\n{lines}")

    @property
    def uploads(self) -> list[UploadRecord]:
        """Multipart uploads by the bot (UploadRecord), in order."""
        return self.state.uploads

    def upload_count(self, file_unique_id: str | None = None) -> int:
        """How many times the bot uploaded this content (all uploads when None)."""
        return sum(
            1
            for u in self.state.uploads
            if file_unique_id is None or u.file_unique_id == file_unique_id
        )

    @property
    def sends_by_file_id(self) -> list[FileIdSend]:
        """Bot sends that reused an existing file_id (FileIdSend), in order."""
        return self.state.sends_by_file_id

    def file_bytes(self, file_id: str) -> bytes:
        """The content stored under a file_id."""
        stored = self.state.files.get(file_id)
        if stored is None:
            raise KeyError(f"no file {file_id!r}")
        return stored.data

    def commands_for(
        self, chat_id: int | None = None, language_code: str | None = None
    ) -> list[JSON]:
        """The command menu a chat sees (default scope when chat_id is None)."""
        return self.state.commands_for(chat_id, language_code)

    @property
    def rate_limit(self) -> RateLimit | None:
        """Flood control settings; assign to change them (None turns it off)."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | None) -> None:
        self._rate_limit = value
        self.state.set_rate_limit(value)

    # -- users and updates ----------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SandboxUser:
        """Get or create a simulated user (the other arguments only matter on creation)."""
        found = self._users.get(user_id)
        if found is None:
            chat = self.state.ensure_chat(
                user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
            found = self._users[user_id] = SandboxUser(self.state, chat)
        return found

    @property
    def users(self) -> list[SandboxUser]:
        """Every simulated user, in creation order."""
        return list(self._users.values())

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends to them get 403 (and a my_chat_member update)."""
        self.user(user_id)
        set_blocked(self.state, self.state.chats[user_id], blocked=True, notify=notify)

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        """The user unblocks the bot."""
        self.user(user_id)
        set_blocked(self.state, self.state.chats[user_id], blocked=False, notify=notify)

    def delete_chat(self, user_id: int) -> None:
        """The user deletes the chat: every message in it is gone (edits find nothing)."""
        self.user(user_id)
        chat = self.state.chats[user_id]
        chat.deleted.update(chat.messages)

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update (an update_id is assigned when missing)."""
        return self.state.updates.push(update)

    def duplicate_update(self, update_id: int) -> JSON:
        """Deliver an identical copy (same update_id) again, as after an unclean stop."""
        return self.state.updates.duplicate(update_id)

    def redeliver_last(self, n: int = 1) -> list[JSON]:
        """Queue copies of the last n updates under fresh update_ids."""
        return self.state.updates.redeliver_last(n)

    @property
    def last_update_id(self) -> int:
        """The update_id of the most recent update queued so far (0 before the first)."""
        return max(self.state.updates.history, default=0)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates the bot has not confirmed yet."""
        return list(self.state.updates.pending)

    # -- HTTP handlers --------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        name = request.match_info["method"]
        method_spec = self.spec.method(name)
        method = method_spec.name if method_spec else name
        params: dict[str, Any] = {}
        logged = False
        try:
            raw, files = await _read_params(request)
            params = {**raw, **files}
            if token != self.state.token:
                raise ApiError(401, "Unauthorized")
            if method_spec is None:
                raise ApiError(404, "Not Found")
            params = self.spec.decode(method_spec, raw)
            for part_name, part in files.items():
                field = method_spec.fields.get(part_name)
                if field is not None and field.accepts_file and part_name not in params:
                    params[part_name] = part
            self.spec.validate(method_spec, params)
            self.state.calls.append(ApiCall(method, params))
            logged = True
            fault = self.faults.draw(method, params) if self.faults else None
            if self.faults is not None:
                await self.faults.before(fault)
            result = await self.api.dispatch(Call(method, params, files))
            if self.faults is not None:
                await self.faults.after(fault)
        except ApiError as error:
            if not logged:
                self.state.calls.append(ApiCall(method, params))
            self._record_refusal(method, params, error)
            return _envelope_error(error)
        except Exception as exc:
            if not logged:
                self.state.calls.append(ApiCall(method, params))
            log.exception("sandbox bug while handling %s", method)
            bug = ApiError(500, f"Internal Server Error: sandbox bug: {exc!r}")
            self.state.invalid_calls.append(InvalidCall(method, params, bug.description, 500))
            return _envelope_error(bug)
        return web.json_response({"ok": True, "result": result})

    def _record_refusal(self, method: str, params: dict[str, Any], error: ApiError) -> None:
        call = ApiCall(method, params)
        if error.status == 429:
            self.state.rate_limited_calls.append(call)
        elif error.status == 403 and not error.record:
            self.state.blocked_calls.append(call)
        elif error.record:
            self.state.invalid_calls.append(
                InvalidCall(method, params, error.description, error.status)
            )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        stored = self.state.files.by_path(request.match_info["file_path"])
        if request.match_info["token"] != self.state.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
