"""Dispatch: who gets what next, on a real SQLite file (its builders live in ``tests.builders``).

The push policy: one active assignment per worker, never the same item twice, never beyond
``answers_per_item``, least recently served first, a reward that fits under the cap, and only
inside the worker's time rules (``/task`` aside).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.dispatch import PassTally, Policy, dispatch_pass, next_for, offer_on_request, refresh_spans
from bot.errors import CapExceeded, InvalidInput, NotFound, PermissionDenied
from bot.ledger import credit_reward
from storage.assignments import (
    assignments_of_batch,
    claim_next,
)
from storage.availability import (
    forget_spans,
    pause_type,
    record_served,
    set_paused,
    set_quiet,
    set_windows,
)
from storage.db import Database
from storage.users import mark_unreachable, set_timezone
from tests.builders import (
    NOW,
    PARIS,
    POLICY,
    make_ready,
    publish_batch,
    register_worker,
    workers,
)
from tests.conftest import sql_rows

# -- slots ----------------------------------------------------------------------------------


async def test_an_item_goes_to_at_most_answers_per_item_workers(
    db: Database, tmp_path: Path
) -> None:
    batch_id = await publish_batch(db, tmp_path, items=1, answers_per_item=2)
    await workers(db, [101, 102, 103])
    offers = await dispatch_pass(db, POLICY, NOW)
    assert [offer.worker_id for offer in offers] == [101, 102]
    assert {offer.item.batch_id for offer in offers} == {batch_id}
    assert await dispatch_pass(db, POLICY, NOW) == []  # full; 103 waits


async def test_concurrent_claims_from_two_connections_never_overshoot(
    db: Database, tmp_path: Path
) -> None:
    """Two connections (as two processes would) race for 6 slots with 20 workers each."""
    batch_id = await publish_batch(db, tmp_path, items=3, answers_per_item=2)
    ids = list(range(201, 221))
    await workers(db, ids)
    other = await Database.open(db.source)
    try:
        claims = await asyncio.gather(
            *(
                conn.run_write(claim_next, worker_id=worker_id, now=NOW, max_reward=10_000)
                for worker_id in ids
                for conn in (db, other)
            )
        )
    finally:
        await other.close()
    made = [claim for claim in claims if claim is not None]
    assert len(made) == 6
    rows = await db.run_read(assignments_of_batch, batch_id)
    per_item: dict[int, int] = {}
    for row in rows:
        per_item[row.item_id] = per_item.get(row.item_id, 0) + 1
    assert sorted(per_item.values()) == [2, 2, 2]
    assert len({row.worker_id for row in rows}) == 6  # one active assignment per worker


async def test_a_worker_never_sees_the_same_item_twice(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=3)
    await workers(db, [301])
    seen: list[int] = []
    for _ in range(3):
        offer = await next_for(db, POLICY, 301, NOW)
        if offer is None:
            break
        seen.append(offer.item.id)
        async with db.write() as conn:  # the worker skips it
            await conn.execute(
                "UPDATE assignments SET state = 'skipped' WHERE id = ?", (offer.assignment.id,)
            )
    assert len(seen) == 2
    assert len(set(seen)) == 2


async def test_one_active_assignment_per_worker(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1)
    await workers(db, [351])
    assert await db.run_write(claim_next, worker_id=351, now=NOW, max_reward=100) is not None
    assert await db.run_write(claim_next, worker_id=351, now=NOW, max_reward=100) is None
    assert await dispatch_pass(db, POLICY, NOW) == []


# -- order ----------------------------------------------------------------------------------


async def test_the_least_recently_served_worker_goes_first(db: Database, tmp_path: Path) -> None:
    await workers(db, [401, 402, 403])
    async with db.write() as conn:
        await record_served(conn, 401, NOW - timedelta(minutes=10))
        await record_served(conn, 402, NOW - timedelta(minutes=5))
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    offers = await dispatch_pass(db, POLICY, NOW)
    assert [offer.worker_id for offer in offers] == [403]  # never served

    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    offers = await dispatch_pass(db, POLICY, NOW)
    assert [offer.worker_id for offer in offers] == [401]  # served longest ago


async def test_busy_workers_are_left_to_their_own_flow(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=1)
    await workers(db, [451, 452])
    offers = await dispatch_pass(db, POLICY, NOW, busy={451})
    assert [offer.worker_id for offer in offers] == [452]


# -- the cap ----------------------------------------------------------------------------------


async def test_a_reward_that_does_not_fit_under_the_cap_is_not_offered(
    db: Database, tmp_path: Path
) -> None:
    policy = Policy(monthly_cap=10, zone=PARIS)
    earlier = await publish_batch(db, tmp_path, items=1, answers_per_item=1, reward=8)
    await register_worker(db, 501)
    await db.run_write(
        credit_reward,
        batch_id=earlier,
        worker_id=501,
        assignment_id=999_001,
        amount=8,
        at=NOW,
        tz=PARIS,
        cap=10,
    )
    await make_ready(db, 501)
    await publish_batch(db, tmp_path, items=1, answers_per_item=1, reward=4)
    assert await dispatch_pass(db, policy, NOW) == []
    with pytest.raises(CapExceeded) as refused:
        await offer_on_request(db, policy, 501, NOW)
    assert refused.value.message_key == "tasks.refused.cap"
    assert refused.value.params["reset"].isoformat() == "2026-02-01"

    cheap = await publish_batch(db, tmp_path, items=1, answers_per_item=1, reward=2)
    offers = await dispatch_pass(db, policy, NOW)
    assert [offer.batch.id for offer in offers] == [cheap]


async def test_the_cap_resets_with_the_month_in_timezone(db: Database, tmp_path: Path) -> None:
    policy = Policy(monthly_cap=8, zone=PARIS)
    january = datetime(2026, 1, 31, 22, 59, tzinfo=UTC)  # 23:59 on 31 January in Paris
    earlier = await publish_batch(db, tmp_path, january, items=1, answers_per_item=1, reward=8)
    await register_worker(db, 551, january)
    await db.run_write(
        credit_reward,
        batch_id=earlier,
        worker_id=551,
        assignment_id=999_002,
        amount=8,
        at=january,
        tz=PARIS,
        cap=8,
    )
    await publish_batch(db, tmp_path, january, items=1, answers_per_item=1, reward=4)
    await db.run_write(set_quiet, 551, "", january)
    await make_ready(db, 551, january, minutes=120)
    assert await dispatch_pass(db, policy, january) == []
    february = datetime(2026, 1, 31, 23, 0, 1, tzinfo=UTC)  # 00:00:01 on 1 February in Paris
    assert len(await dispatch_pass(db, policy, february)) == 1


# -- time rules -----------------------------------------------------------------------------


async def test_quiet_hours_stop_pushes_even_when_ready(db: Database, tmp_path: Path) -> None:
    late = datetime(2026, 1, 15, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    await publish_batch(db, tmp_path, late, items=1, answers_per_item=1)
    await register_worker(db, 601, late)
    await make_ready(db, 601, late, minutes=600)
    assert await dispatch_pass(db, POLICY, late) == []
    assert await dispatch_pass(db, POLICY, late + timedelta(hours=8)) == []  # 07:30 still quiet
    assert len(await dispatch_pass(db, POLICY, late + timedelta(hours=9))) == 1  # 08:30


async def test_a_closing_window_stops_pushes(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1)
    await register_worker(db, 611)
    await db.run_write(set_windows, 611, "thu 12:30-13:30", NOW)  # NOW is Thursday 13:00 in Paris
    assert len(await dispatch_pass(db, POLICY, NOW)) == 1
    async with db.write() as conn:
        await conn.execute("UPDATE assignments SET state = 'skipped' WHERE worker_id = 611")
    after = NOW + timedelta(minutes=31)  # 13:31: the window closed
    assert await dispatch_pass(db, POLICY, after) == []
    assert await next_for(db, POLICY, 611, after) is None
    assert await next_for(db, POLICY, 611, NOW + timedelta(minutes=29)) is not None


async def test_windows_follow_the_workers_own_time_zone(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=2)
    await register_worker(db, 621, timezone="America/Montreal")  # 07:00 there at NOW
    await register_worker(db, 622)
    for worker_id in (621, 622):
        await db.run_write(set_windows, worker_id, "thu 12:30-13:30", NOW)
    offers = await dispatch_pass(db, POLICY, NOW)
    assert [offer.worker_id for offer in offers] == [622]


async def test_pause_stops_pushes_and_resume_brings_them_back(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await workers(db, [631])
    assert await db.run_write(set_paused, 631, "worker", NOW)
    assert await dispatch_pass(db, POLICY, NOW) == []
    with pytest.raises(PermissionDenied) as refused:
        await offer_on_request(db, POLICY, 631, NOW)
    assert refused.value.message_key == "tasks.refused.paused"
    assert await db.run_write(set_paused, 631, None, NOW)
    assert len(await dispatch_pass(db, POLICY, NOW)) == 1


async def test_a_ready_period_ends(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    await register_worker(db, 641)
    await make_ready(db, 641, minutes=30)
    assert await dispatch_pass(db, POLICY, NOW + timedelta(minutes=30)) == []
    assert len(await dispatch_pass(db, POLICY, NOW + timedelta(minutes=29))) == 1


# -- who is available when, stored (migration 0017) -------------------------------------------


async def _spans(db: Database) -> dict[int, tuple[int, str]]:
    rows = await sql_rows(db, "SELECT worker_id, push_open, push_until FROM worker_availability")
    return {int(row[0]): (int(row[1]), str(row[2])) for row in rows}


async def test_a_pass_reads_only_who_is_available_and_works_out_ended_spans_first(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=3, answers_per_item=1)
    for worker_id, windows in ((651, "thu 12:30-13:30"), (652, "thu 12:30-14:00"), (653, "")):
        await register_worker(db, worker_id)
        await db.run_write(set_windows, worker_id, windows, NOW)  # NOW: Thursday 13:00 in Paris
    assert await refresh_spans(db, POLICY, NOW) == 3
    assert await _spans(db) == {
        651: (1, "2026-01-15T12:30:00.000000Z"),
        652: (1, "2026-01-15T13:00:00.000000Z"),
        653: (0, "2026-01-23T12:00:00.000000Z"),  # nothing turns: looked at again in 8 days
    }
    # 13:45: the first window closed since its span was stored (between two passes, or while
    # a pass ran): worked out again before the pass reads; only the open one is read.
    tally = PassTally()
    offers = await dispatch_pass(db, POLICY, NOW + timedelta(minutes=45), tally=tally)
    assert [offer.worker_id for offer in offers] == [652]
    assert (tally.spans, tally.read, tally.available) == (1, 1, 1)
    assert (await _spans(db))[651] == (0, "2026-01-22T11:30:00.000000Z")  # next Thursday 12:30
    # At start every span is worked out again (TIMEZONE or the zone rules may have changed).
    assert await db.run_write(forget_spans) == 3
    tally = PassTally()
    assert await dispatch_pass(db, POLICY, NOW + timedelta(minutes=46), tally=tally) == []
    assert (tally.spans, tally.read) == (3, 0)  # 652 has a task now


async def test_a_new_zone_or_window_is_worked_out_again(db: Database, tmp_path: Path) -> None:
    await publish_batch(db, tmp_path, items=2, answers_per_item=1)
    await register_worker(db, 661)
    await db.run_write(set_quiet, 661, "", NOW)
    await db.run_write(set_windows, 661, "thu 06:30-07:30", NOW)  # 07:00 in Montreal at NOW
    assert await dispatch_pass(db, POLICY, NOW) == []
    assert (await _spans(db))[661][0] == 0
    await db.run_write(set_timezone, 661, "America/Montreal", NOW)
    offers = await dispatch_pass(db, POLICY, NOW)
    assert [offer.worker_id for offer in offers] == [661]
    assert (await _spans(db))[661] == (1, "2026-01-15T12:30:00.000000Z")  # 07:30 in Montreal


async def test_a_stored_span_turns_at_the_daylight_saving_jump(
    db: Database, tmp_path: Path
) -> None:
    saturday = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # Paris: 02:00 becomes 03:00 on Sunday
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    await publish_batch(db, tmp_path, saturday, items=1, answers_per_item=1)
    await register_worker(db, 671, saturday)
    await db.run_write(set_quiet, 671, "", saturday)
    await db.run_write(set_windows, 671, "sun 02:30-04:00", saturday)  # 02:30 never happens
    assert await dispatch_pass(db, POLICY, saturday) == []
    assert (await _spans(db))[671] == (0, "2026-03-29T01:00:00.000000Z")
    assert await dispatch_pass(db, POLICY, jump - timedelta(seconds=1)) == []
    assert [offer.worker_id for offer in await dispatch_pass(db, POLICY, jump)] == [671]
    assert (await _spans(db))[671] == (1, "2026-03-29T02:00:00.000000Z")  # 04:00 summer time


# -- /task and who may work -------------------------------------------------------------------


async def test_task_on_request_works_outside_windows_and_quiet_hours(
    db: Database, tmp_path: Path
) -> None:
    night = datetime(2026, 1, 15, 1, 0, tzinfo=UTC)  # 02:00 in Paris
    await publish_batch(db, tmp_path, night, items=1, answers_per_item=1)
    await register_worker(db, 701, night)
    offer = await offer_on_request(db, POLICY, 701, night)
    assert offer.assignment.forced
    with pytest.raises(InvalidInput) as busy:
        await offer_on_request(db, POLICY, 701, night)
    assert busy.value.message_key == "tasks.refused.already_active"


async def test_task_on_request_refusals_say_why(db: Database, tmp_path: Path) -> None:
    await register_worker(db, 711)
    with pytest.raises(NotFound) as nothing:
        await offer_on_request(db, POLICY, 711, NOW)
    assert nothing.value.message_key == "tasks.none_available"
    with pytest.raises(PermissionDenied) as stranger:
        await offer_on_request(db, POLICY, 719, NOW)
    assert stranger.value.message_key == "tasks.refused.not_registered"
    async with db.write() as conn:
        await conn.execute(
            "UPDATE users SET blocked_at = ? WHERE id = 711", ("2026-01-01T00:00:00.000000Z",)
        )
    with pytest.raises(PermissionDenied) as blocked:
        await offer_on_request(db, POLICY, 711, NOW)
    assert blocked.value.message_key == "tasks.refused.blocked"


async def test_own_batches_paused_types_and_unreachable_workers_get_nothing(
    db: Database, tmp_path: Path
) -> None:
    await publish_batch(db, tmp_path, items=1, answers_per_item=3, requester_id=801)
    await workers(db, [801, 802, 803])
    await db.run_write(pause_type, 802, "image_tag", "accuracy", NOW)
    await db.run_write(mark_unreachable, 803, NOW)
    assert await dispatch_pass(db, POLICY, NOW) == []
