"""Engine room, runtime state: the in-memory helpers of one running application (no Telegram).

One ``TaskRuntime`` lives on ``Services.runtime`` (bot/context.py): locks, cached views of task
messages, timers last refreshed, the workers whose own action is being handled, the armed
deadlines (one job wakes for the earliest) and whether a dispatcher pass is queued.
"""

from __future__ import annotations

import asyncio
import heapq
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
    # Every armed deadline, by assignment; the one JobQueue job ``deadlines`` wakes for the
    # earliest (a job per deadline cost about 2% of the bot's CPU per answer: issue 11).
    deadlines: DeadlineWheel = field(default_factory=lambda: DeadlineWheel())
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


@dataclass
class DeadlineWheel:
    """The armed deadlines: at most one per assignment, the earliest found at once.

    A heap of (deadline, assignment) with lazy removal: an entry counts only while ``due`` holds
    the same deadline for its assignment; the heap is rebuilt when dead entries outnumber live
    ones. ``wake_at`` is when the waking job is scheduled and ``unschedule`` removes it.
    """

    due: dict[int, datetime] = field(default_factory=dict)
    heap: list[tuple[datetime, int]] = field(default_factory=list)
    wake_at: datetime | None = None
    unschedule: Callable[[], object] | None = None

    def __contains__(self, assignment_id: object) -> bool:
        return assignment_id in self.due

    def __len__(self) -> int:
        return len(self.due)

    def arm(self, assignment_id: int, deadline: datetime) -> None:
        """Arm (or move) an assignment's deadline."""
        self.due[assignment_id] = deadline
        heapq.heappush(self.heap, (deadline, assignment_id))
        if len(self.heap) > 2 * len(self.due) + 64:
            self.heap = [(when, armed) for armed, when in self.due.items()]
            heapq.heapify(self.heap)

    def cancel(self, assignment_id: int) -> bool:
        """Forget an assignment's deadline; False when none was armed."""
        return self.due.pop(assignment_id, None) is not None

    def earliest(self) -> datetime | None:
        """The earliest armed deadline (None: none)."""
        heap, due = self.heap, self.due
        while heap and due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: datetime) -> list[int]:
        """The assignments whose deadline is ``now`` or before, earliest first, disarmed."""
        fired: list[int] = []
        while (earliest := self.earliest()) is not None and earliest <= now:
            _, assignment_id = heapq.heappop(self.heap)
            del self.due[assignment_id]
            fired.append(assignment_id)
        return fired
