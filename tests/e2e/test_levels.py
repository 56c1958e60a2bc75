"""A level-gated batch end to end (issue 14, item 2): a batch with ``min_level = "confirmed"``
is never offered to a newcomer, whose ``/stats`` says what the next level opens; a worker at
that level gets it pushed. Levels are stored after each answer (``bot/levels.py``); here the
confirmed worker's stored level is set directly, as fifty answers would leave it."""

from __future__ import annotations

from bot.app import BotApplication
from bot.clock import ShiftedClock
from sandbox import SandboxServer
from storage.assignments import assignments_of_worker
from storage.levels import store_level
from tests.e2e.harness import WAIT, db_of, next_task, publish, sign_up


async def test_a_gated_batch_goes_to_workers_at_its_level_only(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    db = db_of(app)
    gated = await publish(
        app,
        shifted,
        items=2,
        answers_per_item=2,
        reward=20,
        title="Expert scenes",
        min_level="confirmed",
        time_limit=60,
    )
    ana = await sign_up(sandbox, 1501, "Ana")  # a newcomer
    bob = await sign_up(sandbox, 1502, "Bob")
    await db.run_write(store_level, 1502, "confirmed", shifted.now())

    await ana.send_command("/task")
    assert "No task is available for you right now" in ((await ana.next_message()).text or "")
    await ana.send_command("/stats")
    stats = (await ana.next_message(timeout=WAIT)).text or ""
    assert "Level: newcomer" in stats
    assert "The confirmed level opens 1 batch(es) open now, paying up to €0.20 an answer." in stats

    await bob.send_command("/ready")
    await bob.next_message()
    task = await next_task(bob)
    assert "Expert scenes" in (task.text or "")
    assert "€0.20" in (task.text or "")

    # An ungated batch is offered to the newcomer as before; the gated one still is not.
    await publish(app, shifted, items=1, answers_per_item=1, reward=4, title="Easy scenes")
    await ana.send_command("/task")
    easy = await next_task(ana)
    assert "Easy scenes" in (easy.text or "")
    await ana.press("car", message=easy)
    after = await ana.next_message(timeout=WAIT)
    assert "Expert scenes" not in (after.text or "")
    offered = await db.run_read(assignments_of_worker, 1501)
    assert offered
    assert all(a.batch_id != gated for a in offered)
