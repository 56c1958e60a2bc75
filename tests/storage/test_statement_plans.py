"""The ledger's look for months without statements probes the statements' unique index once a
(month, worker), never scans the statements per transfer (a start on 1,000,000 rewards and
10,000 statements hung on that scan)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import bundled_migrations
from storage.ledger import UNSTATED_MONTHS
from storage.payouts import CLOSED_MISSING_STATEMENTS


@pytest.mark.parametrize(
    ("select", "params"), [(UNSTATED_MONTHS, ("2026-11",)), (CLOSED_MISSING_STATEMENTS, ())]
)
def test_statements_are_probed_by_their_unique_index(
    tmp_path: Path, select: str, params: tuple[str, ...]
) -> None:
    """The plan, not a timing."""
    with sqlite3.connect(tmp_path / "plan.db") as conn:
        for migration in bundled_migrations():
            for statement in migration.statements():
                conn.execute(statement)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {select}", params)]
    probes = [step for step in plan if step.startswith("SEARCH s ")]
    assert probes == [
        "SEARCH s USING COVERING INDEX sqlite_autoindex_statements_1 (worker_id=? AND month=?)"
    ], plan
    assert not any(step.startswith("SCAN s") for step in plan), plan
