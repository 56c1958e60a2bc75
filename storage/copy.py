"""Storage room, copying a database: ``python -m storage.copy SOURCE_URL TARGET_URL``.

Moves an existing SQLite database into PostgreSQL (or any backend into an empty other one):
the target is migrated to the same versions, every table is copied row by row, each after the
tables it references (creation order otherwise; SQLite rebuilds a table to change a constraint,
which moves it to the end of its creation order) in ONE write transaction of the target,
identity counters are moved past the copied ids on PostgreSQL, and the ledger's rules hold on
the way in (the two-leg and append-only triggers fire on the target's inserts). The bot must be
stopped during the copy.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from bot.errors import StorageError
from storage.db import Database, Tx, WriteTx

_SKIPPED = {"schema_migrations"}


@dataclass(frozen=True)
class Copied:
    """Rows copied per table, in the order copied."""

    rows: dict[str, int]


async def table_names(tx: Tx, dialect: str) -> list[str]:
    """The database's tables in creation order (migrations create referenced tables first)."""
    if dialect == "sqlite":
        rows = await tx.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
    else:
        rows = await tx.fetch_all(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.oid"
        )
    return [str(row[0]) for row in rows if str(row[0]) not in _SKIPPED]


async def _references(tx: Tx, dialect: str, tables: list[str]) -> dict[str, set[str]]:
    """The tables each table's foreign keys point at (itself left out)."""
    found: dict[str, set[str]] = {table: set() for table in tables}
    if dialect == "sqlite":
        for table in tables:
            rows = await tx.fetch_all(f"SELECT \"table\" FROM pragma_foreign_key_list('{table}')")
            found[table] = {str(row[0]) for row in rows} - {table}
        return found
    rows = await tx.fetch_all(
        "SELECT DISTINCT tc.table_name, ccu.table_name FROM information_schema.table_constraints tc"
        " JOIN information_schema.constraint_column_usage ccu"
        " ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema"
        " WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"
    )
    for row in rows:
        if str(row[0]) in found and str(row[1]) != str(row[0]):
            found[str(row[0])].add(str(row[1]))
    return found


def referenced_first(tables: list[str], references: dict[str, set[str]]) -> list[str]:
    """``tables`` reordered so that each comes after the tables it references, otherwise in
    the order given (a cycle, which the schema does not have, keeps the given order)."""
    ordered: list[str] = []
    waiting = list(tables)
    known = set(tables)
    while waiting:
        ready = next(
            (t for t in waiting if references.get(t, set()) & known <= set(ordered)), waiting[0]
        )
        ordered.append(ready)
        waiting.remove(ready)
    return ordered


async def _columns(tx: Tx, table: str) -> list[str]:
    row = await tx.fetch_one(f"SELECT * FROM {table} LIMIT 1")
    return [] if row is None else list(row.keys())


async def _reset_identity(tx: WriteTx, table: str) -> None:
    await tx.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
        f" WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL HAVING max(id) IS NOT NULL"
    )


async def copy_database(source: Database, target: Database) -> Copied:
    """Copy every row of ``source`` into ``target`` (migrated here; it must hold no data)."""
    await source.migrate()
    await target.migrate()
    async with source.read() as tx:
        tables = await table_names(tx, source.dialect)
        tables = referenced_first(tables, await _references(tx, source.dialect, tables))
        contents = {table: await tx.fetch_all(f"SELECT * FROM {table}") for table in tables}
    copied: dict[str, int] = {}
    async with target.write() as tx:
        for table in await table_names(tx, target.dialect):
            if await tx.fetch_value(f"SELECT count(*) FROM {table}"):
                raise StorageError(f"the target database is not empty: {table} has rows")
        for table in tables:
            rows = contents[table]
            copied[table] = len(rows)
            if not rows:
                continue
            columns = list(rows[0].keys())
            named = ", ".join(f'"{column}"' for column in columns)  # items."full" is a keyword
            await tx.executemany(
                f"INSERT INTO {table} ({named}) VALUES ({', '.join('?' * len(columns))})",
                [tuple(row) for row in rows],
            )
            if target.dialect == "postgres" and "id" in columns:
                await _reset_identity(tx, table)
        if "items" in copied:
            await _recount_slots(tx)
    return Copied(copied)


async def _recount_slots(tx: WriteTx) -> None:
    """items.taken and items."full" from the copied assignments: the target's triggers counted
    each assignment on the way in on top of the counters copied with the items (0008). "full"
    compares with the item's gate where dynamic overlap set one (0020)."""
    await tx.execute(
        "UPDATE items SET taken = (SELECT count(*) FROM assignments a WHERE a.item_id = items.id"
        " AND a.state IN ('active', 'submitted'))"
    )
    await tx.execute(
        'UPDATE items SET "full" = CASE WHEN taken >= coalesce(wanted, (SELECT b.answers_per_item'
        " FROM batches b WHERE b.id = items.batch_id)) THEN 1 ELSE 0 END"
    )


async def _main(source_url: str, target_url: str) -> int:
    source = await Database.open(source_url)
    try:
        target = await Database.open(target_url)
        try:
            copied = await copy_database(source, target)
        finally:
            await target.close()
    finally:
        await source.close()
    for table, count in copied.rows.items():
        print(f"{table}: {count}")
    print(f"copied {sum(copied.rows.values())} rows in {len(copied.rows)} tables")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m storage.copy SOURCE_URL TARGET_URL", file=sys.stderr)
        print("  e.g. sqlite:///data/petitesmains.db postgresql://pm@localhost/pm", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(argv[0], argv[1]))
    except StorageError as exc:
        print(f"copy refused: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
