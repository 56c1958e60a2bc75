"""Engine room, runtime state: the in-memory helpers of one running application (no Telegram).

One ``TaskRuntime`` lives on ``Services.runtime`` (bot/context.py): locks, cached views of task
messages, timers last refreshed, the workers whose own action is being handled, the armed
deadline jobs and whether a dispatcher pass is queued.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class TaskRuntime:
    """In-memory helpers of one running application: locks, file ids, what each message shows."""

    dispatch_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dispatch_again: bool = False
    upload_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )
    message_locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )
    # What a task message shows: its caption and its keyboard (compared by value).
    views: dict[tuple[int, int], tuple[str, object]] = field(default_factory=dict)
    text_messages: set[tuple[int, int]] = field(default_factory=set)  # tasks sent as text
    refreshed: dict[int, datetime] = field(default_factory=dict)
    busy: set[int] = field(default_factory=set)  # workers whose answer is being handled
    # The removal of each armed deadline job, by assignment (found without scanning every job).
    deadlines: dict[int, Callable[[], object]] = field(default_factory=dict)
    dispatch_queued: bool = False  # a pass is queued to run at once (one is enough)

    def upload_lock(self, sha256: str) -> asyncio.Lock:
        lock = self.upload_locks.get(sha256)
        if lock is None:
            lock = self.upload_locks[sha256] = asyncio.Lock()
        return lock

    def message_lock(self, chat_id: int, message_id: int) -> asyncio.Lock:
        """Every edit of a task message happens under its lock, after re-reading the state."""
        lock = self.message_locks.get((chat_id, message_id))
        if lock is None:
            lock = self.message_locks[(chat_id, message_id)] = asyncio.Lock()
        return lock

    @contextmanager
    def handling(self, worker_id: int) -> Iterator[None]:
        """Mark a worker busy while their own action is handled (the dispatcher leaves them be)."""
        self.busy.add(worker_id)
        try:
            yield
        finally:
            self.busy.discard(worker_id)
