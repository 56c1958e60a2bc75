"""Intake refusals end to end (issue 12, item 7): a batch made only of gold items is refused with
its reason, nothing created and no money moved; a limit set by the environment is enforced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.app import BotApplication
from bot.clock import FixedClock
from bot.config import Settings, load_settings
from sandbox import SandboxServer
from tests.conftest import REQUESTER_ID, sql_value
from tests.e2e.harness import running_bot
from tests.intake.media import IMAGE_TAG, make_zip, png, toml


async def test_a_gold_only_batch_is_refused_with_its_reason(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    files = {f"photo{n}.png": png(n) for n in range(1, 3)}
    files["batch.toml"] = toml(**IMAGE_TAG)
    files["gold.csv"] = b"file,answer\nphoto1.png,car\nphoto2.png,dog\n"
    await rita.send_document(make_zip(files), file_name="gold.zip", mime_type="application/zip")
    assert ((await rita.next_message()).text or "").startswith("Checking gold.zip")
    text = (await rita.next_message(timeout=30)).text or ""
    assert "All 2 items have a gold answer" in text, text
    assert "Add items without a gold answer." in text
    assert await sql_value(bot.bot_data.db, "SELECT count(*) FROM batches") == 0
    assert await sql_value(bot.bot_data.db, "SELECT count(*) FROM transfers") == 0


async def test_a_zip_over_a_small_max_zip_bytes_is_refused(
    sandbox: SandboxServer, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    """``MAX_ZIP_BYTES=100`` from the environment: a 3-photo ZIP is refused with the catalogue
    message naming the limit, and nothing is created."""
    limits = load_settings({"TELEGRAM_BOT_TOKEN": "123456:ABCdef", "MAX_ZIP_BYTES": "100"}).intake
    settings = replace(make_settings(telegram_api_url=sandbox.url), intake=limits)
    async with running_bot(settings, clock=clock) as bot:
        rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
        files = {f"photo{n}.png": png(n) for n in range(1, 4)}
        files["batch.toml"] = toml(**IMAGE_TAG)
        await rita.send_document(make_zip(files), file_name="big.zip", mime_type="application/zip")
        assert ((await rita.next_message()).text or "").startswith("Checking big.zip")
        text = (await rita.next_message(timeout=30)).text or ""
        assert "more than 0.0001 MB once uncompressed" in text, text
        assert await sql_value(bot.bot_data.db, "SELECT count(*) FROM batches") == 0
