"""How many SQL statements one button answer costs: the user row read once, the month summed once.

The real bot answers a label task pressed in the sandbox; every statement either connection runs
from the press until the next task is shown is recorded through ``Database.set_trace``.
"""

from __future__ import annotations

import re

from bot.app import BotApplication
from bot.clock import ShiftedClock
from sandbox import SandboxServer
from tests.e2e.harness import WAIT, db_of, next_task, publish, sign_up

USER_ROW = re.compile(r"\bFROM users WHERE id\b", re.IGNORECASE)
MONTH_EARNINGS = re.compile(
    r"\bsum\(amount\), 0\) FROM transfers WHERE credit_account = \S+ AND month = ", re.IGNORECASE
)


def listing(statements: list[str]) -> str:
    return "\n".join(f"{n:3} {' '.join(sql.split())[:160]}" for n, sql in enumerate(statements, 1))


async def test_one_button_answer_reads_the_user_once_and_sums_the_month_once(
    sandbox: SandboxServer, app: BotApplication, shifted: ShiftedClock
) -> None:
    ana = await sign_up(sandbox, 1051, "Ana")
    await publish(app, shifted, items=3, answers_per_item=1, reward=4, time_limit=20)
    await ana.send_command("/ready")
    await ana.next_message()
    task = await next_task(ana)

    statements: list[str] = []
    recording = True

    def record(sql: str) -> None:
        if recording:
            statements.append(sql)

    await db_of(app).set_trace(record)
    confirmation = await ana.press("car", message=task)
    following = await ana.next_message(timeout=WAIT)
    recording = False

    assert "credited" in (confirmation.text or "")
    assert following.is_edit
    assert "Street scenes" in (following.text or "")
    user_reads = [sql for sql in statements if USER_ROW.search(sql)]
    month_sums = [sql for sql in statements if MONTH_EARNINGS.search(sql)]
    assert (len(user_reads), len(month_sums)) == (1, 1), (
        f"{len(user_reads)} reads of the user row and {len(month_sums)} sums of the month's"
        f" earnings in one answer ({len(statements)} statements):\n{listing(statements)}"
    )
