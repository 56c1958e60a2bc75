"""Shared fixtures: settings, a real SQLite database, the sandbox Bot API and a running bot."""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.clock import FixedClock
from bot.config import Settings, load_settings
from storage.db import Database, Params, Row

os.environ["PTB_TIMEDELTA"] = "true"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

# The PostgreSQL run of the suite (scripts/postgres-cluster.sh): every database a test opens by a
# file path lives instead in a schema of its own on that server, named after the path.
POSTGRES = os.environ.get("PM_TEST_POSTGRES", "")
BACKEND = "postgres" if POSTGRES else "sqlite"


def database_url(path: Path) -> str:
    """The ``DATABASE_URL`` of the test database at ``path`` (a bot process opens the same)."""
    if not POSTGRES:
        return f"sqlite:///{path}"
    schema = "t_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:24]
    return f"{POSTGRES}?search_path={schema}"


if POSTGRES:
    Database.redirect = database_url

# What either backend raises when a constraint or a ledger trigger refuses a statement.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)
sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="checks SQLite itself")

TOKEN = "123456:TEST-petites-mains-token"
ADMIN_ID = 9001
REQUESTER_ID = 7001


_template: Path | None = None
_template_guard = threading.Lock()


def _migrated_template() -> Path:
    """A SQLite file that ``Database.migrate`` brought to the latest version, made once per test
    process (in a thread of its own: a test's event loop may be running)."""
    global _template
    with _template_guard:
        if _template is None:
            folder = Path(tempfile.mkdtemp(prefix="pm-migrated-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "migrated.db"

            async def build() -> None:
                database = await Database.open(path)
                try:
                    await database.migrate()
                finally:
                    await database.close()

            with ThreadPoolExecutor(1) as thread:
                thread.submit(asyncio.run, build()).result()
            _template = path
        return _template


def migrated_file(path: Path) -> Path:
    """``path``, on SQLite a copy of a database migrated once per test process when no file is
    there yet: what the test's own ``migrate()`` (or the bot's at start) finds is then all
    applied, as it checks, instead of running every migration again for each test (tenths of a
    second each). On PostgreSQL nothing is copied: each schema is migrated there as before."""
    if not POSTGRES and not path.exists():
        source = sqlite3.connect(_migrated_template())
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first, the order otherwise kept: with the workers of ``make test``
    one starts each long test early while the others work through the rest, so none of them is
    left to run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test, pointing at a database in ``tmp_path``; override any variable."""

    def make(**overrides: Any) -> Settings:
        if "database_url" not in {key.lower() for key in overrides}:
            migrated_file(tmp_path / "test.db")
        environ = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DATABASE_URL": database_url(tmp_path / "test.db"),
            "DATA_DIR": str(tmp_path / "data"),
            "ADMIN_IDS": str(ADMIN_ID),
            "REQUESTER_IDS": str(REQUESTER_ID),
        }
        environ.update({key.upper(): str(value) for key, value in overrides.items()})
        return load_settings(environ)

    return make


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in a real file."""
    database = await Database.open(migrated_file(tmp_path / "unit.db"))
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def sql_rows(db: Database, sql: str, params: Params = ()) -> list[Row]:
    """Every row of a query the test runs itself, in a read transaction of its own."""
    async with db.read() as tx:
        return await tx.fetch_all(sql, params)


async def sql_value(db: Database, sql: str, params: Params = ()) -> Any:
    """The first column of the first row of a query the test runs itself, or None."""
    async with db.read() as tx:
        return await tx.fetch_value(sql, params)
