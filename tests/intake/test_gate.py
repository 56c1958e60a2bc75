"""The intake gate (bot/intake/gate.py): uploads checked per requester and overall, in line."""

from __future__ import annotations

import asyncio

from bot.intake.gate import IntakeGate


async def test_one_upload_per_requester_and_two_in_all_the_others_wait_in_line() -> None:
    gate = IntakeGate(overall=2, per_user=1)
    running: set[str] = set()
    most = 0
    order: list[str] = []
    release = asyncio.Event()

    async def upload(user: int, name: str) -> None:
        nonlocal most
        async with gate.turn(user):
            running.add(name)
            order.append(name)
            most = max(most, len(running))
            await release.wait()
            running.discard(name)

    assert gate.ahead(1) == 0
    tasks = [
        asyncio.create_task(upload(1, "rosa 1")),
        asyncio.create_task(upload(1, "rosa 2")),
        asyncio.create_task(upload(2, "sam 1")),
        asyncio.create_task(upload(3, "tom 1")),
    ]
    await asyncio.sleep(0.05)
    assert running == {"rosa 1", "sam 1"}  # Rosa's second waits for her first; Tom for a place
    assert gate.ahead(1) > 0
    assert gate.ahead(4) > 0
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2
    assert gate.admitted == 4
    assert gate.waiting == 0
    assert order.index("rosa 1") < order.index("rosa 2")
    assert gate.ahead(1) == 0
