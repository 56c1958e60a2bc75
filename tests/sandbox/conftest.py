"""Fixtures for the sandbox tests: a running SandboxServer and a PTB Bot pointed at it."""

from __future__ import annotations

import os

os.environ["PTB_TIMEDELTA"] = "true"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from sandbox import SandboxServer

TOKEN = "123456:TEST-token"


def ptb_request() -> HTTPXRequest:
    """A PTB request object that ignores proxy settings."""
    return HTTPXRequest(httpx_kwargs={"trust_env": False})


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(token=TOKEN, bot_username="petitesmains_bot") as running:
        yield running


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    ptb = Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=ptb_request(),
        get_updates_request=ptb_request(),
    )
    async with ptb:
        yield ptb


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{server.url}/bot{server.token}", trust_env=False, timeout=30
    ) as client:
        yield client
