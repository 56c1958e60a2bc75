"""The error type every Bot API handler raises to produce a Telegram error envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refused call: becomes `{"ok": false, "error_code": status, "description": ...}`.

    `record` says whether the call counts as an invalid call (a bug in the bot under test);
    deliberate refusals such as 429 flood control or 403 for a blocked user do not.
    """

    def __init__(
        self,
        status: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
        record: bool = True,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.record = record


def bad_request(detail: str) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")
