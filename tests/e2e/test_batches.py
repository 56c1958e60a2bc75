"""Requester batches end to end: a ZIP with batch.toml through the sandbox, its summary, Publish
into escrow, /cancelbatch with refund, refusals, and other requesters kept out."""

from __future__ import annotations

from pathlib import Path

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.config import Settings
from bot.ledger import balance, escrow_account, requester_account, top_up
from sandbox import SandboxServer
from storage.batches import get_batch, items_of
from storage.db import Database
from storage.users import grant_role
from tests.conftest import ADMIN_ID, REQUESTER_ID, sql_rows, sql_value
from tests.e2e.harness import upload_zip as upload
from tests.intake.media import IMAGE_TAG, make_zip, png, toml

OTHER_REQUESTER = 7002
GOLD = b"file,answer\nphoto1.png,car|person\nphoto4.png,dog\n"


def street_scenes(extra: dict[str, bytes] | None = None) -> bytes:
    """6 PNGs, the design's manifest (3 answers x 0.04) and a gold.csv naming 2 of them."""
    files = {f"photo{n}.png": png(n) for n in range(1, 7)}
    files["batch.toml"] = toml(**IMAGE_TAG)
    files["gold.csv"] = GOLD
    files.update(extra or {})
    return make_zip(files)


async def fund(bot: BotApplication, clock: FixedClock, amount: int, requester: int) -> None:
    await top_up(
        bot.bot_data.db,
        requester_id=requester,
        amount=amount,
        actor_id=ADMIN_ID,
        key=f"topup:e2e:{requester}:{amount}",
        now=clock.now(),
        tz=bot.bot_data.settings.timezone,
    )


async def batch_count(db: Database) -> int:
    return int(await sql_value(db, "SELECT count(*) FROM batches"))


def stored_media(settings: Settings) -> list[Path]:
    return [p for p in settings.data_dir.rglob("*") if p.is_file()]


async def test_a_zip_becomes_a_draft_publish_holds_the_cost_and_cancel_returns_it(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    db = bot.bot_data.db
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await fund(bot, clock, 1_000, REQUESTER_ID)

    summary = await upload(rita, street_scenes())

    assert summary.startswith("Draft batch #1: Street scenes")
    assert "Items: 6 (of which 2 gold)" in summary
    assert "Answers per item: 3" in summary
    assert "Dynamic overlap" not in summary  # several labels per answer: a fixed overlap
    assert "Reward per answer: €0.04" in summary
    assert "Most it can cost: €0.72 (6 items × 3 answers × €0.04)" in summary
    assert "Your balance: €10.00" in summary
    assert rita.last_message is not None
    assert rita.last_message.buttons == [["Publish (€0.72)"], ["Discard"]]
    items = await db.run_read(items_of, 1)
    assert (len(items), sum(item.is_gold for item in items)) == (6, 2)
    assert await balance(db, escrow_account(1)) == 0

    toast = await rita.press("Publish")
    assert toast.text == "Published."
    published = await rita.next_message()
    assert published.is_edit
    assert published.text == (
        "Batch #1 is open to workers. €0.72 is held in escrow; your balance is now €9.28."
        " Follow it with /batch 1."
    )
    assert await balance(db, escrow_account(1)) == 72
    assert await balance(db, requester_account(REQUESTER_ID)) == 928
    opened = await db.run_read(get_batch, 1)
    assert opened is not None
    assert not opened.dynamic_overlap

    await rita.send_command("/batch 1")
    progress = (await rita.next_message()).text or ""
    assert "Batch #1: Street scenes (open)" in progress
    assert "Items done: 0 of 6 (2 gold)" in progress
    assert "Escrow: €0.72 held, €0.00 paid to workers" in progress
    assert "no answers yet" in progress

    await rita.send_command("/cancelbatch 1")
    cancelled = await rita.next_message()
    assert cancelled.text == (
        "Batch #1 is cancelled. €0.72 came back to your balance; €0.00 stays paid to workers"
        " for answers already given."
    )
    assert await balance(db, escrow_account(1)) == 0
    assert await balance(db, requester_account(REQUESTER_ID)) == 1_000
    batch = await db.run_read(get_batch, 1)
    assert batch is not None
    assert batch.state == "cancelled"


async def test_a_single_label_batch_is_published_with_dynamic_overlap(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    db = bot.bot_data.db
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await fund(bot, clock, 1_000, REQUESTER_ID)
    files = {f"photo{n}.png": png(n) for n in range(1, 4)}
    manifest = {key: value for key, value in IMAGE_TAG.items() if key != "gold"}
    files["batch.toml"] = toml(**{**manifest, "multiple": False, "answers_per_item": 4})

    summary = await upload(rita, make_zip(files))

    assert (
        "Dynamic overlap: each item gets 2 answers; more, up to 4, only where they leave doubt,"
        " first from the workers measured most accurate. Answers not bought go back to your"
        " balance."
    ) in summary
    assert "Most it can cost: €0.48 (3 items × 4 answers × €0.04)" in summary
    assert (await rita.press("Publish")).text == "Published."
    opened = await db.run_read(get_batch, 1)
    assert opened is not None
    assert opened.dynamic_overlap  # publishing started dynamic overlap (bot/refit.py)
    wanted = await sql_rows(db, 'SELECT wanted, "full" FROM items WHERE batch_id = 1')
    assert [tuple(row) for row in wanted] == [(2, 0)] * 3
    assert await balance(db, escrow_account(1)) == 48  # the most it can cost, as before


async def test_a_bad_zip_is_refused_by_name_and_nothing_is_written(
    sandbox: SandboxServer, bot: BotApplication, settings: Settings, clock: FixedClock
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await fund(bot, clock, 1_000, REQUESTER_ID)
    bad = street_scenes({"../evil.png": png(9), "notes.txt": b"hello"})

    text = await upload(rita, bad, "evil.zip")

    assert text.splitlines()[:2] == [
        "Your batch was refused (1 problem(s)):",
        "• ../evil.png: a path leaving the archive (absolute, “..” or a drive letter) is not"
        " allowed.",
    ]
    assert text.endswith("Nothing was created and no money moved. Fix these and send it again.")
    assert await batch_count(bot.bot_data.db) == 0
    assert stored_media(settings) == []
    assert await balance(bot.bot_data.db, requester_account(REQUESTER_ID)) == 1_000


async def test_every_problem_of_a_manifest_is_listed_in_french(
    sandbox: SandboxServer, bot: BotApplication, settings: Settings
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="fr")
    files = {f"photo{n}.png": png(n) for n in range(1, 3)}
    files["batch.toml"] = toml(**{**IMAGE_TAG, "type": "video_tag", "answers_per_item": 11})
    files["gold.csv"] = b"file,answer\nphoto1.png,cat\n"
    await rita.send_document(make_zip(files), file_name="lot.zip", mime_type="application/zip")
    await rita.next_message()
    text = (await rita.next_message(timeout=30)).text or ""
    assert "batch.toml : « type » vaut « video_tag »" in text
    assert "batch.toml : « answers_per_item » vaut 11 ; il doit être entre 1 et 10." in text
    assert "Rien n'a été créé et aucun argent n'a bougé." in text
    assert await batch_count(bot.bot_data.db) == 0
    assert stored_media(settings) == []


async def test_a_balance_too_small_refuses_publish_with_the_shortfall(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    db = bot.bot_data.db
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await fund(bot, clock, 50, REQUESTER_ID)
    summary = await upload(rita, street_scenes())
    assert "Your balance is €0.22 short of that cost" in summary

    refused = await rita.press("Publish")

    assert refused.show_alert
    assert refused.text == (
        "Not published: batch #1 may cost €0.72 and your balance is €0.50, €0.22 short."
        " Ask an admin to top up your budget."
    )
    batch = await db.run_read(get_batch, 1)
    assert batch is not None
    assert batch.state == "draft"
    assert await balance(db, requester_account(REQUESTER_ID)) == 50
    assert await balance(db, escrow_account(1)) == 0

    await fund(bot, clock, 100, REQUESTER_ID)  # topped up: the same button now works
    assert (await rita.press("Publish")).text == "Published."
    await rita.next_message()
    assert await balance(db, escrow_account(1)) == 72
    # A second tap (a stale client, a double tap) holds nothing more.
    again = await rita.press_data("bpub 1")
    assert again.text == "Batch #1 is already published; nothing more was held."
    assert await balance(db, escrow_account(1)) == 72


async def test_another_requester_is_refused_by_command_and_by_forged_buttons(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    db = bot.bot_data.db
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    olga = sandbox.user(OTHER_REQUESTER, first_name="Olga", language_code="en")
    await db.run_write(
        grant_role, user_id=OTHER_REQUESTER, role="requester", granted_by=None, now=clock.now()
    )
    await fund(bot, clock, 1_000, REQUESTER_ID)
    await fund(bot, clock, 1_000, OTHER_REQUESTER)
    await upload(rita, street_scenes())

    await olga.send_command("/batches")
    assert (await olga.next_message()).text == (
        "You have no batches yet. Send a ZIP with batch.toml, or /newbatch to create one step"
        " by step."
    )
    # Olga's own message gives her a bot message to press forged buttons on.
    for forged in ("bpub 1", "bdis 1"):
        answer = await olga.press_data(forged)
        assert (answer.text, answer.show_alert) == ("There is no batch #1 among yours.", True)
    batch = await db.run_read(get_batch, 1)
    assert batch is not None
    assert batch.state == "draft"
    assert await balance(db, requester_account(OTHER_REQUESTER)) == 1_000

    await rita.press("Publish")
    await rita.next_message()
    for command in ("/batch 1", "/cancelbatch 1", "/pausebatch 1"):
        await olga.send_command(command)
        assert (await olga.next_message()).text == "There is no batch #1 among yours."
    for forged in ("bcan 1", "bpau 1", "bcq 1"):
        answer = await olga.press_data(forged)
        assert answer.text == "There is no batch #1 among yours."
    answer = await olga.press_data("bcan 1; DROP TABLE batches")
    assert answer.text == "This button is not valid any more."
    batch = await db.run_read(get_batch, 1)
    assert batch is not None
    assert batch.state == "open"
    assert await balance(db, escrow_account(1)) == 72
    assert await balance(db, requester_account(REQUESTER_ID)) == 928

    # A worker without the role is told so; an admin sees every batch.
    walt = sandbox.user(5001, first_name="Walt", language_code="en")
    await walt.send_command("/batches")
    assert (await walt.next_message()).text == "This command is for requesters only."
    await walt.send_document(street_scenes(), file_name="x.zip", mime_type="application/zip")
    assert (await walt.next_message()).text == "This command is for requesters only."
    admin = sandbox.user(ADMIN_ID, first_name="Ada", language_code="en")
    await admin.send_command("/batches")
    listing = (await admin.next_message()).text or ""
    assert "#1 Street scenes: open, 0/6 items done, 0 answers (requester 7001)" in listing


async def test_buttons_pause_resume_and_cancel_with_confirmation(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    db = bot.bot_data.db
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await fund(bot, clock, 1_000, REQUESTER_ID)
    await upload(rita, street_scenes())
    await rita.press("Publish")
    await rita.next_message()

    await rita.send_command("/batch 1")
    view = await rita.next_message()
    assert view.buttons == [["Pause", "Cancel batch"], ["Results"]]
    assert (await rita.press("Pause", message=view)).text is not None
    redrawn = await rita.next_message()
    assert "(paused)" in (redrawn.text or "")
    assert redrawn.buttons == [["Resume", "Cancel batch"], ["Results"]]
    await rita.press("Resume", message=redrawn)
    assert (await rita.next_message()).buttons == [["Pause", "Cancel batch"], ["Results"]]

    await rita.press("Cancel batch")
    confirm = await rita.next_message()
    assert (confirm.text or "").startswith("Cancel batch #1?")
    assert (await rita.press("Yes, cancel it")).text == "Batch #1 cancelled."
    done = await rita.next_message()
    assert done.is_edit
    assert (done.text or "").startswith("Batch #1 is cancelled. €0.72 came back")
    assert await balance(db, requester_account(REQUESTER_ID)) == 1_000

    await rita.send_command("/pausebatch 1")
    assert (await rita.next_message()).text == (
        "Batch #1 is cancelled: only an open batch can be paused."
    )
    # With no id, the command offers the batches it fits (issue 15): none here.
    await rita.send_command("/resumebatch")
    assert (await rita.next_message()).text == "No batch of yours fits /resumebatch now."


async def test_a_file_over_20_mb_is_refused_before_downloading(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_document(bytes(21 * 1024 * 1024), file_name="big.zip")
    assert (await rita.next_message()).text == (
        "This file is larger than 20 MB, the most a bot can download from Telegram."
        " Split it into smaller ZIPs."
    )
    assert sandbox.calls_to("getFile") == []
    assert await batch_count(bot.bot_data.db) == 0


async def test_a_reward_below_the_floor_is_shown_and_a_draft_can_be_discarded(
    sandbox: SandboxServer, bot: BotApplication, clock: FixedClock
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await fund(bot, clock, 1_000, REQUESTER_ID)
    files = {f"photo{n}.png": png(n) for n in range(1, 4)}
    manifest = {key: value for key, value in IMAGE_TAG.items() if key != "gold"}
    files["batch.toml"] = toml(**{**manifest, "reward": "0.01"})

    summary = await upload(rita, make_zip(files))

    assert "Most it can cost: €0.09 (3 items × 3 answers × €0.01)" in summary
    assert (
        "⚠️ The reward of €0.01 for a 12 s task pays €3.00 an hour, below the fair-pay floor of"
        " €10.00 an hour (€0.04 an answer)."
    ) in summary
    assert (await rita.press("Discard")).text == "Discarded."
    assert (await rita.next_message()).text == "Draft #1 discarded. Nothing was charged."
    batch = await bot.bot_data.db.run_read(get_batch, 1)
    assert batch is not None
    assert batch.state == "cancelled"
    assert (await rita.press_data("bpub 1")).text == (
        "Batch #1 is cancelled: only a draft can be published."
    )
    assert await balance(bot.bot_data.db, requester_account(REQUESTER_ID)) == 1_000
