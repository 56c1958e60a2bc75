"""A local stand-in for the Telegram Bot API, with simulated users, for end-to-end tests."""

from __future__ import annotations

from sandbox.errors import ApiError
from sandbox.faults import FaultInjector, Faults
from sandbox.files import FileIdSend, UploadedPart, UploadRecord
from sandbox.models import ApiCall, BotMessage, CallbackAnswer, InvalidCall
from sandbox.ratelimit import RateLimit
from sandbox.server import SandboxServer
from sandbox.users import SandboxUser

__all__ = [
    "ApiCall",
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "FaultInjector",
    "Faults",
    "FileIdSend",
    "InvalidCall",
    "RateLimit",
    "SandboxServer",
    "SandboxUser",
    "UploadRecord",
    "UploadedPart",
]
