"""Injected Bot API failures for fault runs (``make faultrun``); off unless a ``Faults`` is given.

Each call the bot makes (but the start-up and polling calls in ``SPARED``) draws at most one
fault, as the real API shows them: a 429 with ``retry_after`` or a 500 before the call does
anything; a slow answer (the call is served after a delay); a timeout, where the call takes
effect but its answer comes back only after ``hang_seconds``, longer than the client waits, so
the bot cannot know whether it happened.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.errors import ApiError

Fault = Literal["429", "500", "slow", "timeout"]
SPARED = frozenset({"getMe", "getUpdates", "deleteWebhook", "setWebhook", "close", "logOut"})


@dataclass(frozen=True, slots=True)
class Faults:
    """Shares of calls (0 to 1) that fail each way; their sum is at most 1."""

    too_many: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    timeout: float = 0.0
    slow_seconds: float = 1.5
    hang_seconds: float = 8.0
    retry_after: int = 1

    def __post_init__(self) -> None:
        shares = (self.too_many, self.server_error, self.slow, self.timeout)
        if any(share < 0 for share in shares) or sum(shares) > 1:
            raise ValueError("fault shares must be non-negative and add up to at most 1")


class FaultInjector:
    """Draws the fault of each call and counts what it injected."""

    def __init__(self, faults: Faults, seed: int | None = None) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self.injected: Counter[Fault] = Counter()
        self.refused: list[dict[str, Any]] = []  # the params of calls answered 429 or 500

    def draw(self, method: str, params: dict[str, Any]) -> Fault | None:
        """The fault for one call of ``method``, or None."""
        if method in SPARED:
            return None
        f, roll = self.faults, self._rng.random()
        for fault, share in (
            ("429", f.too_many),
            ("500", f.server_error),
            ("slow", f.slow),
            ("timeout", f.timeout),
        ):
            if roll < share:
                self.injected[fault] += 1  # type: ignore[index]
                if fault in ("429", "500"):
                    self.refused.append(params)
                return fault  # type: ignore[return-value]
            roll -= share
        return None

    async def before(self, fault: Fault | None) -> None:
        """What happens before the call is served: a refusal raised, or a delay."""
        if fault == "429":
            raise ApiError(
                429,
                f"Too Many Requests: retry after {self.faults.retry_after}",
                parameters={"retry_after": self.faults.retry_after},
                record=False,
            )
        if fault == "500":
            raise ApiError(500, "Internal Server Error", record=False)
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_seconds)

    async def after(self, fault: Fault | None) -> None:
        """A timeout: the call took effect, its answer arrives too late."""
        if fault == "timeout":
            await asyncio.sleep(self.faults.hang_seconds)
