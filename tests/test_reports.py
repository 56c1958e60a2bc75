"""Reports, reviews, mutes, levels and reputation as plain rules on a real SQLite file (issue 14):
a report releases the task without penalty and counts distinct workers; an admin's Resume
dismisses the reports and opens the batch again; a decided review cannot be decided twice; a
muted requester's batches and a gated batch are not claimed; the reputation's median, read as
cached by a claim and refreshed by the job."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.dispatch import dispatch_pass, offer_on_request
from bot.errors import InvalidInput, PermissionDenied
from bot.mutes import mute_from_task, muted, unmute_requester
from bot.reports import decide_review, reason_named, report_task
from bot.reputation import MAX_AGE, Figures, median_rate, refresh_due
from storage.assignments import Assignment, claim_next, get_assignment
from storage.availability import get_availability
from storage.batches import get_batch
from storage.db import Database
from storage.levels import store_level
from storage.reputation import cached_figures, store_figures
from tests.builders import NOW, OTHER_REQUESTER, POLICY, publish_batch, shown, workers
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_rows


async def offered(db: Database, worker_id: int) -> Assignment | None:
    claim = await db.run_write(claim_next, worker_id=worker_id, now=NOW, max_reward=10_000)
    return None if claim is None else await shown(db, claim, NOW)


async def test_reports_of_distinct_workers_pause_and_resume_dismisses_them(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await publish_batch(db, tmp_path, items=2, answers_per_item=3)
    await workers(db, [101, 102])
    later = NOW + timedelta(seconds=1)
    first = await offered(db, 101)
    assert first is not None
    taken = await report_task(db, first.id, 101, "unclear", threshold=2, now=later)
    assert (taken.reporters, taken.paused, taken.assignment.state) == (1, False, "released")
    assert (await db.run_read(get_availability, 101)).missed_in_a_row == 0
    with pytest.raises(InvalidInput):  # the same task twice: refused, nothing changes
        await report_task(db, first.id, 101, "unclear", threshold=2, now=later)
    with pytest.raises(InvalidInput):  # nothing to decide yet
        await decide_review(db, batch_id, ADMIN_ID, resume=True, now=later)

    second = await offered(db, 102)
    assert second is not None
    taken = await report_task(db, second.id, 102, "broken_media", threshold=2, now=later)
    assert (taken.reporters, taken.paused) == (2, True)
    assert taken.reasons == {"broken_media": 1, "unclear": 1}
    assert await offered(db, 101) is None  # a paused batch is offered to nobody

    decision = await decide_review(db, batch_id, ADMIN_ID, resume=True, now=later)
    assert (decision.resumed, decision.batch.state) == (True, "open")
    states = await sql_rows(db, "SELECT state FROM task_reports ORDER BY id")
    assert [row[0] for row in states] == ["dismissed", "dismissed"]
    with pytest.raises(InvalidInput):
        await decide_review(db, batch_id, ADMIN_ID, resume=False, now=later)
    batch = await db.run_read(get_batch, batch_id)
    assert batch is not None
    assert batch.state == "open"


async def test_another_workers_task_cannot_be_reported_or_muted(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=2)
    await workers(db, [101, 102])
    task = await offered(db, 101)
    assert task is not None
    with pytest.raises(PermissionDenied):
        await report_task(db, task.id, 102, "offensive", threshold=1, now=NOW)
    with pytest.raises(PermissionDenied):
        await mute_from_task(db, task.id, 102, NOW)
    stored = await db.run_read(get_assignment, task.id)
    assert stored is not None
    assert stored.state == "active"


def test_a_forged_reason_is_refused() -> None:
    assert reason_named(3) == "fake_engagement"
    for forged in (-1, 4):
        with pytest.raises(InvalidInput):
            reason_named(forged)


async def test_a_muted_requester_is_never_claimed_until_unmuted(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=1)
    other = await publish_batch(
        db, tmp_path, items=1, answers_per_item=1, requester_id=OTHER_REQUESTER
    )
    await workers(db, [101])
    task = await offered(db, 101)
    assert task is not None
    muting = await mute_from_task(db, task.id, 101, NOW)
    assert muting.released is not None
    assert muting.released.end_reason == "muted"
    assert [m.requester_id for m in await muted(db, 101)] == [muting.requester_id]
    following = await offered(db, 101)
    assert following is not None
    assert following.batch_id == other
    await db.run_write(
        lambda tx: tx.execute(
            "UPDATE assignments SET state = 'submitted' WHERE id = ?", (following.id,)
        )
    )
    assert await offered(db, 101) is None
    await unmute_requester(db, 101, muting.requester_id)
    again = await offered(db, 101)
    assert again is not None
    assert again.batch_id == task.batch_id
    with pytest.raises(InvalidInput):
        await unmute_requester(db, 101, muting.requester_id)


async def test_a_gated_batch_is_claimed_from_its_level_up(db: Database, tmp_path: Path) -> None:
    gated = await publish_batch(db, tmp_path, items=1, answers_per_item=3, min_level="confirmed")
    await workers(db, [101, 102, 103])
    await db.run_write(store_level, 102, "confirmed", NOW)
    await db.run_write(store_level, 103, "expert", NOW)
    assert await offered(db, 101) is None
    for worker in (102, 103):
        task = await offered(db, worker)
        assert task is not None
        assert task.batch_id == gated


def test_the_reputation_is_the_median_of_the_batches_rates() -> None:
    assert median_rate([]) is None
    # 4 cents in 20 s (720/h), 10 in 10 s (3600/h), 1 in an hour (1/h): the median is 720.
    assert median_rate([(4, 20_000), (10, 10_000), (1, 3_600_000)]) == 720
    assert median_rate([(4, 20_000), (10, 10_000)]) == 2160


async def test_a_claim_reads_the_reputation_as_cached_and_the_job_refreshes_it(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1)  # publishing computed it
    await publish_batch(db, tmp_path, items=1, answers_per_item=1, requester_id=OTHER_REQUESTER)
    await db.run_write(store_figures, replace(await figures_of(db), name="Stale"))
    async with db.write() as tx:  # Otto's line is not there yet: his task shows none
        await tx.execute("DELETE FROM requester_reputation WHERE requester_id = ?",
                         (OTHER_REQUESTER,))  # fmt: skip
    await workers(db, [101, 102])
    later = NOW + MAX_AGE + timedelta(minutes=1)
    first = await offer_on_request(db, POLICY, 101, later)
    assert first.reputation is not None
    assert (first.reputation.name, first.reputation.updated_at) == ("Stale", NOW)  # not computed
    assert await refresh_due(db, later) == 2  # the old line and the missing one
    assert (await figures_of(db)).updated_at == later
    assert await refresh_due(db, later) == 0
    [offer] = await dispatch_pass(db, POLICY, later)
    assert offer.reputation is not None
    assert offer.reputation.updated_at == later


async def figures_of(db: Database) -> Figures:
    found = await db.run_read(cached_figures, REQUESTER_ID)
    assert found is not None
    return found
