"""Storage room, migrations: one numbered list of SQL files for both backends.

A migration is ``storage/migrations/NNNN_name.sql``, written in SQLite's dialect and translated
for PostgreSQL (``storage/dialect.py``). What cannot be translated goes between
``-- only: sqlite`` (or ``-- only: postgres``) and ``-- end only`` lines in the same file, so
both backends keep one list and one number per change.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from bot.errors import MigrationError
from storage.dialect import Dialect, ddl_to_postgres, for_dialect

SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


class Migration:
    """One numbered SQL file, ``NNNN_name.sql``."""

    def __init__(self, version: int, name: str, sql: str) -> None:
        self.version = version
        self.name = name
        self.sql = sql

    def __lt__(self, other: Migration) -> bool:
        return self.version < other.version

    def script(self, dialect: Dialect) -> str:
        """The whole file for one backend (PostgreSQL runs it as one script)."""
        text = for_dialect(self.sql, dialect)
        return ddl_to_postgres(text) if dialect == "postgres" else text

    def statements(self) -> list[str]:
        """The SQLite text split into complete statements (so they share one transaction)."""
        statements: list[str] = []
        pending = ""
        for line in self.script("sqlite").splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                if pending.strip():
                    statements.append(pending.strip())
                pending = ""
        if pending.strip() and not all(
            part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
        ):
            raise MigrationError(f"migration {self.version} ends with an incomplete statement")
        return statements


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in ``storage/migrations``, checked to be numbered 1, 2, 3, ..."""
    found: list[Migration] = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.partition("_")
        if not number.isdigit():
            raise MigrationError(f"migration file {name!r} does not start with a number")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort()
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration {expected} is missing (found {migration.version})")
    return found
