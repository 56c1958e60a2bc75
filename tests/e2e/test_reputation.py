"""Requesters' reputation and muting end to end (issue 14, item 5): every task says what its
requester's batches paid (the median effective hourly rate), how many workers they paid and the
reports upheld; a worker mutes a requester from a task (given back without penalty) and is
never offered their batches again, until ``/unmute``; ``/stats`` lists the muted."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotApplication
from bot.clock import ShiftedClock
from bot.reputation import MAX_AGE
from sandbox import SandboxServer
from storage.assignments import assignments_of_worker
from tests.builders import OTHER_REQUESTER
from tests.conftest import REQUESTER_ID
from tests.e2e.harness import WAIT, db_of, next_task, publish, sign_up


async def test_reputation_is_on_every_task_and_a_muted_requester_is_never_offered(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    for requester_id, name in ((REQUESTER_ID, "Rita"), (OTHER_REQUESTER, "Otto")):
        requester = sandbox.user(requester_id, first_name=name, language_code="en")
        await requester.send_command("/start")
        await requester.next_message()

    # Rita's first batch: Ana answers its one task in 20 s (and a few ms), 4 cents: €7.20 an hour.
    await publish(app, shifted, items=1, answers_per_item=1, reward=4, time_limit=60)
    ana = await sign_up(sandbox, 1701, "Ana")
    await ana.send_command("/ready")
    await ana.next_message()
    first = await next_task(ana)
    assert "👤 Rita: new requester, no worker paid yet; 0 report(s) upheld." in (first.text or "")
    shifted.offset += timedelta(seconds=20)
    await ana.press("car", message=first)
    await ana.next_message(timeout=WAIT)  # her message says no task follows
    await ana.send_command("/pause")  # Ana is done: the tasks below are Bob's
    await ana.next_message()

    # Past the cache's age, the figures are computed again for the next task shown.
    shifted.offset += MAX_AGE + timedelta(minutes=1)
    rita_batch = await publish(
        app, shifted, items=2, answers_per_item=1, time_limit=60, title="Rita's scenes"
    )
    await publish(
        app,
        shifted,
        items=2,
        answers_per_item=1,
        time_limit=60,
        title="Otto's scenes",
        requester_id=OTHER_REQUESTER,
    )
    bob = await sign_up(sandbox, 1702, "Bob")
    await bob.send_command("/ready")
    await bob.next_message()
    task = await next_task(bob)
    text = task.text or ""
    assert "Rita's scenes" in text
    (answered,) = await db.run_read(assignments_of_worker, 1701)
    assert answered.duration_ms is not None
    assert answered.duration_ms >= 20_000
    rate = round(4 * 3_600_000 / answered.duration_ms)  # cents an hour: €7.20 at exactly 20 s
    assert 710 <= rate <= 720
    line = f"👤 Rita: median pay €{rate / 100:.2f} an hour, 1 worker(s) paid, 0 report(s) upheld."
    assert text.endswith("\n" + line)

    # Bob mutes Rita: the task is given back, Otto's task follows, Rita's never come again.
    confirmation = await bob.press("🔇 Mute requester", message=task)
    assert confirmation.text == "Rita muted."
    otto = await next_task(bob)
    assert (otto.text or "").startswith("🔇 Requester muted.")
    assert "Otto's scenes" in (otto.text or "")
    assert "👤 Otto: new requester" in (otto.text or "")
    await bob.press("car", message=otto)
    otto = await next_task(bob)
    await bob.press("car", message=otto)
    await bob.next_message(timeout=WAIT)  # the last task's message says why none follows
    await bob.send_command("/task")
    assert "No task is available" in ((await bob.next_message()).text or "")
    offered = await db.run_read(assignments_of_worker, 1702)
    assert [a.batch_id == rita_batch for a in offered] == [True, False, False]
    assert offered[0].state == "released"  # no penalty: not expired, not counted as missed

    await bob.send_command("/stats")
    assert "Muted requesters: Rita (/unmute to undo)." in (
        (await bob.next_message(timeout=WAIT)).text or ""
    )
    await bob.send_command("/unmute")
    listing = await bob.next_message()
    assert [text for row in listing.buttons for text in row] == ["🔊 Unmute Rita"]
    await bob.press("🔊 Unmute Rita", message=listing)
    assert "Rita unmuted" in ((await bob.next_message()).text or "")
    again = await next_task(bob)  # pushed: Bob is still available
    assert "Rita's scenes" in (again.text or "")
