"""/results and /bonus end to end: the real bot long polling the sandbox Bot API.

Answers are written into the database as the worker loop leaves them (tests/test_results.py);
everything a requester does goes through Telegram.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable

import pytest

from bot.app import BotApplication
from bot.config import Settings
from bot.ledger import balance, requester_account, worker_account
from sandbox import SandboxServer
from storage.db import Database
from tests.builders import (
    OTHER_REQUESTER,
    chunk_items,
    image_items,
    item_ids,
    open_batch,
    submit,
)
from tests.conftest import REQUESTER_ID


@pytest.fixture
def settings(sandbox: SandboxServer, make_settings: Callable[..., Settings]) -> Settings:
    """Two requesters, so one can try to read the other's results."""
    return make_settings(
        telegram_api_url=sandbox.url, requester_ids=f"{REQUESTER_ID},{OTHER_REQUESTER}"
    )


def db_of(bot: BotApplication) -> Database:
    database: Database = bot.bot_data.db
    return database


async def test_results_send_a_csv_row_per_item_and_every_answer_in_json(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    db, data_dir = db_of(bot), bot.bot_data.settings.data_dir
    batch_id = await open_batch(db, data_dir, image_items(data_dir, 3), answers_per_item=2)
    first, second, _third = await item_ids(db, batch_id)
    await submit(db, batch_id, first, 1101, "car")
    await submit(db, batch_id, first, 1102, "car")
    await submit(db, batch_id, second, 1101, "@person")
    rita = sandbox.user(REQUESTER_ID, "Rita")

    await rita.send_command(f"/results {batch_id}")
    intro = await rita.next_message()
    assert "partial" in (intro.text or "")
    assert "0 of 3 items complete" in (intro.text or "")
    assert "3 answers" in (intro.text or "")
    sheet = await rita.next_message()
    assert (sheet.kind, sheet.file_name) == ("document", "results.csv")
    assert sheet.file_bytes is not None
    rows = list(csv.reader(io.StringIO(sheet.file_bytes.decode("utf-8"))))
    assert [row[0] for row in rows[1:]] == [str(i) for i in await item_ids(db, batch_id)]
    assert rows[1][4:7] == ["car", rows[1][5], "2"]
    assert rows[2][4] == "'@person"
    export = await rita.next_message()
    assert (export.kind, export.file_name) == ("document", "results.json")
    assert export.file_bytes is not None
    document = json.loads(export.file_bytes)
    assert document["partial"] is True
    responses = [r for item in document["items"] for r in item["responses"]]
    assert len(responses) == 3
    assert {r["answer"] for r in responses} == {"car", "@person"}
    assert len({r["worker"] for r in responses}) == 2
    assert all(set(r) == {"worker", "answer", "duration_ms", "submitted_at"} for r in responses)

    # Another requester is refused exactly as for a batch that does not exist.
    otto = sandbox.user(OTHER_REQUESTER, "Otto")
    await otto.send_command(f"/results {batch_id}")
    refused = (await otto.next_message()).text or ""
    await otto.send_command("/results 999999")
    missing = (await otto.next_message()).text or ""
    assert refused == missing.replace("999999", str(batch_id))
    assert otto.pending == 0


async def test_a_transcription_batch_returns_the_assembled_recording(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    db, data_dir = db_of(bot), bot.bot_data.settings.data_dir
    items = chunk_items(data_dir, "interview.ogg", [(0, 30_000), (29_500, 52_000)])
    batch_id = await open_batch(
        db, data_dir, items, type="transcription", labels=(), answers_per_item=1
    )
    first, second = await item_ids(db, batch_id)
    await submit(db, batch_id, first, 1201, "Il était une fois un petit")
    await submit(db, batch_id, second, 1202, "un petit chat gris.")
    rita = sandbox.user(REQUESTER_ID, "Rita", language_code="fr")

    await rita.send_command(f"/results {batch_id}")
    assert "partiels" in ((await rita.next_message()).text or "")
    names = [(await rita.next_message()).file_name for _ in range(2)]
    assert names == ["results.csv", "results.json"]
    archive_message = await rita.next_message()
    assert archive_message.file_name == "transcripts.zip"
    assert archive_message.file_bytes is not None
    with zipfile.ZipFile(io.BytesIO(archive_message.file_bytes)) as archive:
        text = archive.read("interview.ogg.txt").decode("utf-8")
    assert text == "Il était une fois un petit chat gris.\n"


async def test_a_bonus_pays_each_worker_once_even_when_the_command_comes_twice(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    db, data_dir = db_of(bot), bot.bot_data.settings.data_dir
    batch_id = await open_batch(
        db, data_dir, image_items(data_dir, 2, first_seed=1300), extra_budget=200
    )
    first, second = await item_ids(db, batch_id)
    workers = {worker_id: sandbox.user(worker_id, "Worker") for worker_id in (1301, 1302)}
    await submit(db, batch_id, first, 1301, "car")
    await submit(db, batch_id, second, 1301, "car")
    await submit(db, batch_id, first, 1302, "car")
    rita = sandbox.user(REQUESTER_ID, "Rita")

    await rita.send_command(f"/bonus {batch_id} 0.50")
    done = (await rita.next_message()).text or ""
    assert "€0.50 sent to 2 workers (€1.00 in all)" in done
    for worker in workers.values():
        assert "bonus of €0.50" in ((await worker.next_message()).text or "")

    sandbox.redeliver_last(1)  # the same command message again, under a new update_id
    again = (await rita.next_message()).text or ""
    assert "sent to 0 workers" in again
    assert "2 workers had already received this bonus" in again
    assert all(worker.pending == 0 for worker in workers.values())
    for worker_id in workers:
        assert await balance(db, worker_account(worker_id)) == 50
    assert await balance(db, requester_account(REQUESTER_ID)) == 100

    await rita.send_command(f"/bonus {batch_id} 5.00")
    short = (await rita.next_message()).text or ""
    assert "€10.00 needed, €1.00 available, €9.00 missing" in short
    otto = sandbox.user(OTHER_REQUESTER, "Otto")
    await otto.send_command(f"/bonus {batch_id} 0.10")
    assert f"no batch #{batch_id}" in ((await otto.next_message()).text or "")
