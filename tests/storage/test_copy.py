"""Copying a SQLite database with every table filled into the other backend (PostgreSQL in the
suite's PostgreSQL run, another SQLite file in the SQLite run): ``python -m storage.copy``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import StorageError
from bot.payouts import check_invariants
from storage.copy import copy_database, table_names
from storage.db import Database
from storage.ledger import transfer_by_key
from storage.sqlite import SqliteDatabase
from tests.builders import NOW, PARIS, make_ready, publish_batch, register_worker, submit
from tests.conftest import database_url

WORKER = 501
STAMP = "2026-01-15T12:00:00.000000Z"
# Tables no use case of a short story fills, filled the way their features would.
_REST = (
    "INSERT INTO audit_log (actor_id, action, detail, created_at) VALUES (9001, 'grant', '{}', ?)",
    "INSERT INTO processed_updates (update_id, processed_at) VALUES (77, ?)",
    "INSERT INTO month_closes (month, closed_at, statements_created) VALUES ('2025-12', ?, 1)",
    "INSERT INTO statements (worker_id, month, amount, created_at) VALUES (501, '2025-12', 4, ?)",
    "INSERT INTO statement_events (statement_id, to_state, created_at) VALUES (1, 'pending', ?)",
    "INSERT INTO worker_type_pauses (worker_id, task_type, reason, paused_at)"
    " VALUES (501, 'emotion', 'accuracy', ?)",
    "INSERT INTO settings_secrets (name, secret, created_at) VALUES ('gold', 'ab12', ?)",
    "INSERT INTO gold_results (assignment_id, worker_id, task_type, item_id, score, scored_at)"
    " VALUES (1, 501, 'image_tag', 1, 0.75, ?)",
    "INSERT INTO type_pause_lifts (worker_id, task_type, reason, lifted_by, lifted_at)"
    " VALUES (501, 'emotion', 'accuracy', 9001, ?)",
    "INSERT INTO appeals (worker_id, text, created_at) VALUES (501, 'Please look again', ?)",
    "INSERT INTO results_secret (id, secret, created_at) VALUES (1, 'cd34', ?)",
    "INSERT INTO fair_pay_alerts (batch_id, alerted_at, answers, median_rate,"
    " median_duration_ms, reward, suggested_reward) VALUES (1, ?, 12, 950.5, 15000.0, 4, 5)",
    "INSERT INTO media_file_ids (sha256, bot_id, file_id, created_at)"
    " SELECT sha256, 123456, 'AgAD-file', ? FROM media LIMIT 1",
    "INSERT INTO send_budgets (bot_id, tokens, refilled_at) VALUES (123456, 12.5, ?)",
    "INSERT INTO invoices (requester_id, amount, currency, created_at)"
    " VALUES (7001, 1000, 'EUR', ?)",
    "INSERT INTO payments (telegram_charge_id, provider_charge_id, invoice_id, requester_id,"
    " amount, currency, transfer_id, created_at)"
    " SELECT 'tg-1', 'prov-1', 1, 7001, 1000, 'EUR', min(id), ? FROM transfers",
    "INSERT INTO payout_details (worker_id, holder, iban, bic, updated_at)"
    " VALUES (501, 'Zoé Martin', 'FR7630006000011234567890189', 'AGRIFRPP', ?)",
    "INSERT INTO sepa_files (month, message_id, total, created_by, created_at)"
    " VALUES ('2025-12', 'PM-2025-12-1', 4, 9001, ?)",
    "INSERT INTO sepa_file_statements (file_id, statement_id, amount) SELECT 1, 1, 4 WHERE ? != ''",
    "INSERT INTO pending_corrections (debit_account, credit_account, amount, reason, proposed_by,"
    " proposed_at) VALUES ('bank', 'requester:7001', 100, 'lost transfer', 9001, ?)",
    "INSERT INTO examples_seen (worker_id, batch_id, seen_at) VALUES (501, 1, ?)",
    "INSERT INTO worker_levels (worker_id, level, rank, updated_at) VALUES (501, 'newcomer', 0, ?)",
    "INSERT INTO task_reports (assignment_id, batch_id, requester_id, worker_id, reason,"
    " created_at) SELECT min(id), 1, 7001, 501, 'unclear', ? FROM assignments",
    "INSERT INTO batch_reviews (batch_id, reporters, opened_at) VALUES (1, 1, ?)",
    "INSERT INTO requester_reputation (requester_id, name, median_rate, workers_paid,"
    " reports_upheld, updated_at) VALUES (7001, 'Rita', 1200, 1, 0, ?)"
    " ON CONFLICT (requester_id) DO UPDATE SET name = excluded.name",  # publishing made one
    "INSERT INTO worker_mutes (worker_id, requester_id, muted_at) VALUES (501, 7001, ?)",
    # Both ids must be users (foreign keys); the one registered user stands for both here.
    "INSERT INTO requester_exclusions (requester_id, worker_id, excluded_at) VALUES (501, 501, ?)",
    "INSERT INTO overlap_preferred (batch_id, worker_id) SELECT 1, 501 WHERE ? != ''",
    "INSERT INTO conversation_states (name, conversation_key, state, updated_at)"
    " VALUES ('newbatch', '[7001, 7001]', '2', ?)",
    "INSERT INTO conversation_data (scope, owner_id, data, updated_at)"
    " VALUES ('user', 7001, '{\"draft\": {}}', ?)",
)


async def filled_sqlite(tmp_path: Path) -> Database:
    """A SQLite database in which every table holds at least one row."""
    source = await SqliteDatabase.open_file(tmp_path / "old.db")
    await source.migrate()
    await register_worker(source, WORKER, NOW, first_name="Zoé")
    await make_ready(source, WORKER, NOW)
    batch_id = await publish_batch(source, tmp_path / "data", NOW, items=2)
    await submit(source, batch_id, 1, WORKER, ["car"], at=NOW)
    async with source.write() as tx:
        for statement in _REST:
            await tx.execute(statement, (STAMP,))
    return source


async def test_every_table_of_a_sqlite_database_is_copied(tmp_path: Path) -> None:
    source = await filled_sqlite(tmp_path)
    target = await Database.open(database_url(tmp_path / "new.db"))
    try:
        async with source.read() as tx:
            tables = await table_names(tx, source.dialect)
            before = {
                t: [tuple(r) for r in await tx.fetch_all(f"SELECT * FROM {t}")] for t in tables
            }
        assert all(before.values()), [t for t, rows in before.items() if not rows]

        copied = await copy_database(source, target)

        assert copied.rows == {table: len(rows) for table, rows in before.items()}
        async with target.read() as tx:
            assert sorted(await table_names(tx, target.dialect)) == sorted(tables)
            for table, rows in before.items():
                after = [tuple(r) for r in await tx.fetch_all(f"SELECT * FROM {table}")]
                assert sorted(after, key=repr) == sorted(rows, key=repr), table
        # The health check reads the same from both (the hand-made statement is its one finding).
        found = await check_invariants(target, tz=PARIS, cap=25_000)
        assert found == await check_invariants(source, tz=PARIS, cap=25_000)
        assert found == ["statement 1: amount 4, but 0 earned that month"]
        # New rows take ids after the copied ones; the ledger keeps its keys.
        assert await target.run_read(transfer_by_key, "hold:batch:1") is not None
        await register_worker(target, WORKER + 1, NOW)
        await publish_batch(target, tmp_path / "data", NOW, items=1, title="After the move")
        with pytest.raises(StorageError, match="not empty"):
            await copy_database(source, target)
    finally:
        await target.close()
        await source.close()
