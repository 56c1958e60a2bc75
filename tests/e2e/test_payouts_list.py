"""``/payouts`` as one paged list message, and Hold/Mark paid prompts bound to their statement
(issue 12, item 10), through the sandbox.

Every button of the list redraws that same message with fresh states before its press is
answered, so a test reads the message's current version (``SandboxUser.message``) right after
``press``. Two admins: Ada (who also earned in March: four-eyes) and Bea.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import BotApplication
from bot.config import Settings
from bot.payouts import get_statement, statements_for_month
from sandbox import BotMessage, SandboxServer, SandboxUser
from tests.conftest import ADMIN_ID
from tests.e2e.harness import db_of, march_statements, said, sign_up

SECOND_ADMIN = 9002
WORKERS = list(range(9101, 9113))  # twelve workers, and Ada: thirteen statements, two pages


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_api_url=sandbox.url, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")


def unanswered(sandbox: SandboxServer) -> list[str | None]:
    """The data of every press the bot never answered."""
    return [q.data for q in sandbox.state.callback_queries.values() if q.answer is None]


def lines(user: SandboxUser, listed: BotMessage) -> list[str]:
    """The list message's lines as they are now (after any redraw)."""
    return (user.message(listed.message_id).text or "").splitlines()


def buttons(user: SandboxUser, listed: BotMessage) -> list[list[str]]:
    return user.message(listed.message_id).buttons


async def admins(sandbox: SandboxServer) -> tuple[SandboxUser, SandboxUser]:
    ada = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    bea = sandbox.user(SECOND_ADMIN, first_name="Bea", language_code="en")
    return ada, bea


async def test_the_list_is_paged_and_redrawn_in_place_with_approve_all_under_four_eyes(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    ada, bea = await admins(sandbox)
    wim = await sign_up(sandbox, WORKERS[1], "Wim")
    own, *others = await march_statements(bot, [ADMIN_ID, *WORKERS], funded_by=SECOND_ADMIN)
    db = db_of(bot)

    await ada.send_command("/payouts")
    listed = await ada.next_message()
    first_page = lines(ada, listed)
    assert first_page[0] == "13 statements await a step · page 1 of 2"
    assert first_page[1] == (
        f"#{own} · Ada ({ADMIN_ID}) · March 2026 · €3.00 · awaiting review"
        " · yours: another admin reviews it"
    )
    assert (
        first_page[3] == f"#{others[1]} · Wim ({WORKERS[1]}) · March 2026 · €3.00 · awaiting review"
    )
    assert len(first_page) == 11  # the header and ten statements
    # No buttons on Ada's own statement; a row per other statement; approve all; Next.
    assert buttons(ada, listed) == [
        *([f"Approve #{i}", f"Hold #{i}"] for i in others[:9]),
        ["Approve all on this page"],
        ["Next »"],
    ]
    assert len(ada.history) == 1  # one message, not one per statement

    # Next and Previous redraw the same message.
    assert (await ada.press("Next »", message=listed)).text == "Page 2 of 2."
    second_page = lines(ada, listed)
    assert second_page[0] == "13 statements await a step · page 2 of 2"
    assert [line.split(" · ")[0] for line in second_page[1:]] == [f"#{i}" for i in others[9:]]
    assert buttons(ada, listed)[-1] == ["« Previous"]
    assert (await ada.press("« Previous", message=listed)).text == "Page 1 of 2."
    assert lines(ada, listed) == first_page
    assert all(not m.is_edit or m.message_id == listed.message_id for m in ada.history)

    # One statement approved from its row: redrawn with its next steps; the worker is told.
    answer = await ada.press(f"Approve #{others[1]}", message=listed)
    assert answer.text == f"Statement #{others[1]} approved."
    assert lines(ada, listed)[3].endswith("· approved")
    assert buttons(ada, listed)[1] == [f"Mark paid #{others[1]}", f"Hold #{others[1]}"]
    told = await wim.next_message()
    assert (told.text or "").startswith("Your statement for March 2026 (€3.00) was approved.")
    # One held, through its prompt.
    ada.drain()
    await ada.press(f"Hold #{others[2]}", message=listed)
    prompt = await ada.next_message()
    await ada.send_text("Check the identity", reply_to=prompt)
    assert (await said(ada)).text == f"Statement #{others[2]} put on hold."
    assert lines(ada, listed)[5] == "    Held: Check the identity"

    # Approve all on this page: the seven pending ones; Ada's own (four-eyes), the held one and
    # the approved one are skipped, and the answer says so.
    answer = await ada.press("Approve all on this page", message=listed)
    assert answer.text == (
        "Approved 7 statements. Skipped 3: 1 yours (another admin must approve them), 1 on hold"
        " (lift each hold on its own), 1 approved already."
    )
    statements = {s.id: s for s in await statements_for_month(db, "2026-03")}
    assert statements[own].state == "pending"
    assert statements[others[2]].state == "held"
    assert all(
        statements[i].state == "approved" and statements[i].approved_by == ADMIN_ID
        for i in [others[0], *others[3:9]]
    )
    assert all(statements[i].state == "pending" for i in others[9:])  # the next page
    assert "Approve all on this page" not in str(buttons(ada, listed))  # nothing pending left

    # The same press again (a stale or repeated button): nothing more, and why.
    data = f"pay_all {own} {others[8]} 0"
    again = await ada.press_data(data, message=listed)
    assert again.text == (
        "Nothing approved; nothing changed. Skipped 10: 1 yours (another admin must approve"
        " them), 1 on hold (lift each hold on its own), 8 approved already."
    )
    repeated = await ada.press_data(f"pay_ok {others[0]} 0", message=listed)
    assert repeated.text == f"Statement #{others[0]} was already approved; nothing changed."

    # Bea, the second admin, approves Ada's own statement with her page's approve all.
    await bea.send_command("/payouts")
    hers = await bea.next_message()
    assert buttons(bea, hers)[0] == [f"Approve #{own}", f"Hold #{own}"]
    answer = await bea.press("Approve all on this page", message=hers)
    assert answer.text == (
        "Approved 1 statements. Skipped 9: 1 on hold (lift each hold on its own),"
        " 8 approved already."
    )
    assert (await get_statement(db, own)).approved_by == SECOND_ADMIN

    # Bea pays one; Ada's old button for it then says why nothing changed, and her list is
    # redrawn without it.
    bea.drain()
    await bea.press(f"Mark paid #{others[0]}", message=hers)
    await bea.send_text("SEPA-7", reply_to=await bea.next_message())
    assert (await said(bea)).text == f"Statement #{others[0]} marked paid."
    stale = await ada.press_data(f"pay_ok {others[0]} 0", message=listed)
    assert stale.text == f"Statement #{others[0]} is paid: it cannot become approved."
    assert lines(ada, listed)[0] == "12 statements await a step · page 1 of 2"
    assert not any(line.startswith(f"#{others[0]} ") for line in lines(ada, listed))

    # A page past the end (the list shrank) shows the last one; garbage is refused.
    assert (await ada.press_data("pay_pg 7", message=listed)).text == "Page 2 of 2."
    for forged in ("pay_pg ²", "pay_all 1 2", f"pay_all {others[9]} {others[0]} 0", "pay_ok ٣ 0"):
        assert (await ada.press_data(forged, message=listed)).text, forged
    assert unanswered(sandbox) == []


async def test_prompts_are_bound_to_their_statements(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    ada, bea = await admins(sandbox)
    a, b, c, d = await march_statements(bot, WORKERS[:4], funded_by=SECOND_ADMIN)
    db = db_of(bot)

    await ada.send_command("/payouts")
    listed = await ada.next_message()
    await ada.press(f"Approve #{b}", message=listed)
    ada.drain()
    # Two prompts open at once: Mark paid for b, Hold for a.
    assert (await ada.press(f"Mark paid #{b}", message=listed)).text == (
        f"Statement #{b}: reply to the question below."
    )
    asked_b = await ada.next_message()
    await ada.press(f"Hold #{a}", message=listed)
    asked_a = await ada.next_message()
    assert asked_a.force_reply
    assert (asked_a.text or "").startswith(f"Why hold statement #{a} ")
    assert (asked_b.text or "").startswith(f"Payment reference for statement #{b} ")

    # A text that replies to no prompt is not guessed while two are open.
    await ada.send_text("REF-1")
    assert (await ada.next_message()).text == (
        f"2 questions are open (statements #{b}, #{a}): reply to the one this answers, or"
        " /cancel. Nothing changed."
    )
    await ada.send_text("REF-1", reply_to=listed)
    assert (await ada.next_message()).text == (
        f"That message is not an open question. Open: statements #{b}, #{a}; reply to one of"
        " them, or /cancel. Nothing changed."
    )
    # Each reply goes to its own prompt's statement, whatever the order.
    await ada.send_text("Missing tax form", reply_to=asked_a)
    assert (await said(ada)).text == f"Statement #{a} put on hold."
    await ada.send_text("SEPA-2026-04-9", reply_to=asked_b)
    assert (await said(ada)).text == f"Statement #{b} marked paid."
    held, paid = await get_statement(db, a), await get_statement(db, b)
    assert (held.state, held.hold_reason) == ("held", "Missing tax form")
    assert (paid.state, paid.reference) == ("paid", "SEPA-2026-04-9")

    # A prompt whose statement moved on meanwhile (Bea approved it): nothing applied, and why.
    ada.drain()
    await ada.press(f"Hold #{c}", message=listed)
    asked_c = await ada.next_message()
    await bea.send_command("/payouts")
    await bea.press(f"Approve #{c}", message=await bea.next_message())
    await ada.send_text("Too late", reply_to=asked_c)
    assert (await ada.next_message()).text == (
        f"Statement #{c} changed meanwhile: it is now approved. Nothing was applied; press its"
        " button again if it still needs a step."
    )
    assert (await get_statement(db, c)).state == "approved"

    # /cancel as a reply closes that prompt only; a plain text then goes to the one left.
    ada.drain()
    await ada.press(f"Hold #{c}", message=listed)
    asked_c = await ada.next_message()
    await ada.press(f"Hold #{d}", message=listed)
    await ada.next_message()
    await ada.send_command("/cancel", reply_to=asked_c)
    assert (await ada.next_message()).text == (
        f"Question for statement #{c} cancelled; nothing changed."
    )
    await ada.send_text("Address unknown")
    assert (await said(ada)).text == (
        f"Statement #{d} put on hold.\n(Your message replied to no question: it went to the only"
        f" one open, for statement #{d}.)"
    )
    assert (await get_statement(db, c)).state == "approved"
    assert (await get_statement(db, d)).hold_reason == "Address unknown"
    assert unanswered(sandbox) == []
