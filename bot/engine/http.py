"""Engine room, the wire: PTB's ``BaseRequest`` on aiohttp, one pooled session per request object.

PTB's default ``HTTPXRequest`` cost the bot most of its CPU per answer under load (issue 11's
profile: building the request and running httpx, httpcore, h11 and anyio took 5 to 8 ms a call);
aiohttp parses HTTP in C. The contract is ``HTTPXRequest``'s, as the application builder makes it:

- the same defaults (a pool of 256 connections for the bot's calls, 1 for ``getUpdates``; read,
  write and connect 5 s, pool 1 s, uploads 20 s to write) and per-call timeouts, where a
  ``DefaultValue`` means the default and ``None`` means no limit;
- a body as PTB sends it: the parameters URL-encoded, or with files a multipart form whose
  fields are the parameters and whose files keep their name and MIME type;
- any status and payload handed back as they came (PTB turns 4xx/5xx into its errors);
- every timeout (pool, connect, read, write) raised as ``telegram.error.TimedOut`` (the pool's
  with HTTPXRequest's message: the call was not sent), every other transport failure as
  ``telegram.error.NetworkError`` naming the aiohttp exception;
- proxies from the environment (``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY``), as httpx reads
  them (aiohttp does not read ``ALL_PROXY``): looked up once per scheme and host, on a thread,
  the way httpx reads them once per client. aiohttp's own ``trust_env`` looked them up (and
  ``~/.netrc``, which httpx does not read) on a thread at every call: two thread hops a call,
  about 4% of the bot's CPU under load (issue 11's profile).

aiohttp has no timeout per socket write: a JSON body (a few kB) goes to the kernel at once, and
an upload, which could stall, is bounded as a whole by its connect, write and read timeouts.
The pool timeout is ours (a semaphore of the pool's size in front of aiohttp's connector), so a
call that finds no connection fails as HTTPXRequest's does instead of queueing unseen.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)
FORM = "application/x-www-form-urlencoded"


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` on one ``aiohttp.ClientSession``, opened by ``initialize``."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_shut",
        "_trust_env",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        *,
        trust_env: bool = True,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._pool: asyncio.Semaphore | None = None
        self._shut = False
        # (scheme, host) -> the proxy and its credentials from the environment, None for none
        self._proxies: dict[tuple[str, str], tuple[URL, aiohttp.BasicAuth | None] | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to a long poll's own)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session and its pool (again after a ``shutdown``)."""
        self._shut = False
        if self._session is None or self._session.closed:
            self._open()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=5.0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # proxies: self._proxy, once per host, not on a thread per call
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": self.USER_AGENT},
        )
        self._pool = asyncio.Semaphore(self._pool_size)
        self._proxies.clear()  # the environment is read again by a new session
        return self._session

    async def _proxy(self, url: str) -> tuple[URL, aiohttp.BasicAuth | None] | None:
        """The proxy for ``url`` from the environment (None: none, or not trusted)."""
        if not self._trust_env:
            return None
        target = URL(url)
        key = (target.scheme, target.host or "")
        if key not in self._proxies:
            self._proxies[key] = await asyncio.to_thread(_env_proxy, target)
        return self._proxies[key]

    async def shutdown(self) -> None:
        """Close the session and every pooled connection."""
        self._shut = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One call: its status and payload, or ``TimedOut``/``NetworkError``."""
        if self._shut:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        session = self._session
        if session is None or session.closed:  # a Bot used before its initialize
            session = self._open()
        pool = self._pool
        assert pool is not None
        files = request_data.multipart_data if request_data else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if files else self._write_timeout
        else:
            write = write_timeout
        body: Any = None
        headers: dict[str, str] | None = None
        total: float | None = None
        if files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
            if connect is not None and write is not None and read is not None:
                total = connect + write + read  # aiohttp cannot time the writes one by one
        elif request_data is not None:
            parameters = request_data.json_parameters
            if parameters or method == "POST":
                body = urlencode(parameters).encode("ascii")
                headers = {"Content-Type": FORM}
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)

        if pool.locked():
            wait = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
            try:
                async with asyncio.timeout(wait):
                    await pool.acquire()
            except TimeoutError as err:
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from err
        else:
            await pool.acquire()
        try:
            proxy, proxy_auth = await self._proxy(url) or (None, None)
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's socket and total timeouts are TimeoutErrors
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            pool.release()


def _env_proxy(url: URL) -> tuple[URL, aiohttp.BasicAuth | None] | None:
    """What aiohttp's ``trust_env`` finds for ``url`` (it reads files: run on a thread)."""
    try:
        return get_env_proxy_for_url(url)
    except LookupError:  # no proxy for this scheme, or the host is in NO_PROXY
        return None
