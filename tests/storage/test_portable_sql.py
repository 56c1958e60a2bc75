"""SQL that only SQLite understands, caught on the SQLite run already (decision 0013).

Storage modules and migrations are written once and run on both backends; ``storage/dialect.py``
translates a few mechanical forms and nothing else. This guard scans the string literals of
``storage/*.py`` and the migrations outside ``-- only: sqlite`` blocks for the SQLite-only forms
that keep coming back, so a feature tested on SQLite alone fails here before the PostgreSQL run.
The translator itself, the SQLite backend and the SQLite-to-PostgreSQL copy (which reads a
SQLite file) are the exceptions.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from storage.dialect import for_dialect

STORAGE = Path(__file__).resolve().parents[2] / "storage"
SQLITE_SIDE = {"dialect.py", "sqlite.py", "copy.py"}

# Each form with the portable one to write instead (docs/decisions/0013-postgresql-*.md).
FORMS: dict[str, re.Pattern[str]] = {
    "INSERT ... ON CONFLICT (key) DO UPDATE SET col = excluded.col": re.compile(
        r"\b(?:INSERT\s+OR\s+REPLACE|REPLACE\s+INTO|INSERT\s+OR\s+(?:ABORT|FAIL|ROLLBACK))\b",
        re.IGNORECASE,
    ),
    "CAST(x AS INTEGER) = x (not typeof)": re.compile(r"\btypeof\s*\(", re.IGNORECASE),
    "times computed in Python, compared as ISO text": re.compile(
        r"\b(?:datetime|julianday|strftime|unixepoch|date|time)\s*\(\s*'", re.IGNORECASE
    ),
    "julianday/strftime in Python": re.compile(r"\b(?:julianday|strftime)\s*\(", re.IGNORECASE),
    "JSON handled in Python": re.compile(r"\bjson(?:_\w+)?\s*\(|->>", re.IGNORECASE),
    "a real column (rowid is SQLite's)": re.compile(r"\b(?:_?rowid_?|oid)\b", re.IGNORECASE),
    "coalesce / CASE (ifnull, iif are SQLite's)": re.compile(
        r"\b(?:ifnull|iif)\s*\(", re.IGNORECASE
    ),
    "string_agg in Python or per backend": re.compile(r"\bgroup_concat\s*\(", re.IGNORECASE),
    "id INTEGER PRIMARY KEY (no AUTOINCREMENT)": re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE),
    "CASE WHEN a >= b THEN a ELSE b END (scalar max/min is SQLite's; max(0, x) is translated)": (
        re.compile(r"\b(?:max|min)\((?!\s*0\s*,)(?:[^(),']|'[^']*'|\((?:[^()]|\([^()]*\))*\))*,")
    ),
}


def sqlite_only_forms(sql: str) -> list[str]:
    """The portable replacements for each SQLite-only form found in ``sql``."""
    return [instead for instead, pattern in FORMS.items() if pattern.search(sql)]


def python_strings(source: str) -> str:
    """The string literals of a module (comments are not SQL), one a line."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return "\n".join(token.string for token in tokens if token.type == tokenize.STRING)


def portable_text(path: Path) -> str:
    """What of a storage file must run on both backends."""
    text = path.read_text("utf-8")
    if path.suffix == ".sql":
        return for_dialect(text, "postgres")  # drops the `-- only: sqlite` blocks
    return python_strings(text)


def storage_files() -> list[Path]:
    modules = [p for p in sorted(STORAGE.glob("*.py")) if p.name not in SQLITE_SIDE]
    return modules + sorted((STORAGE / "migrations").glob("*.sql"))


@pytest.mark.parametrize("path", storage_files(), ids=lambda p: p.relative_to(STORAGE).as_posix())
def test_storage_sql_runs_on_both_backends(path: Path) -> None:
    found = sqlite_only_forms(portable_text(path))
    assert not found, f"{path.name} uses SQLite-only SQL; write instead: {found}"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)",
        "REPLACE INTO t (k, v) VALUES (?, ?)",
        "amount INTEGER CHECK (typeof(amount) = 'integer' AND amount > 0)",
        "SELECT * FROM t WHERE at < datetime('now', '-1 day')",
        "SELECT julianday(ended_at) - julianday(started_at) FROM assignments",
        "SELECT strftime('%Y-%m', created_at) FROM transfers",
        "SELECT json_extract(body, '$.kind') FROM items",
        "SELECT * FROM payments ORDER BY created_at DESC, rowid DESC",
        "SELECT ifnull(x, 0) FROM t",
        "SELECT group_concat(name) FROM t",
        "id INTEGER PRIMARY KEY AUTOINCREMENT",
        "SELECT max(coalesce(u.updated_at, ''), coalesce(l.ended, '')) FROM users u",
        "SELECT min(a.reward, 10) FROM assignments a",
    ],
)
def test_a_planted_sqlite_only_form_is_caught(sql: str) -> None:
    assert sqlite_only_forms(sql)
    assert sqlite_only_forms(python_strings(f"QUERY = (\n    {sql!r}\n)\n"))


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        "INSERT OR IGNORE INTO t (k) VALUES (?)",
        "amount INTEGER CHECK (CAST(amount AS INTEGER) = amount AND amount > 0)",
        "SELECT max(id), min(coalesce(a, b)), sum(max(0, x - (SELECT count(*) FROM t))) FROM t",
        "SELECT CASE WHEN a >= b THEN a ELSE b END FROM t WHERE at < ?",
        "SELECT 'worker:' || s.worker_id, coalesce(x, 0) FROM statements s",
    ],
)
def test_portable_forms_pass(sql: str) -> None:
    assert sqlite_only_forms(sql) == []


def test_only_sqlite_blocks_and_comments_are_left_alone(tmp_path: Path) -> None:
    migration = tmp_path / "0099_x.sql"
    migration.write_text(
        "CREATE TABLE t (amount INTEGER);\n"
        "-- only: sqlite\n"
        "CREATE TRIGGER t_guard BEFORE INSERT ON t WHEN typeof(NEW.amount) <> 'integer'\n"
        "BEGIN SELECT RAISE(ABORT, 'amount'); END;\n"
        "-- end only\n",
        "utf-8",
    )
    assert sqlite_only_forms(portable_text(migration)) == []
    module = tmp_path / "x.py"
    module.write_text("# no INSERT OR REPLACE here\nQUERY = 'SELECT 1'\n", "utf-8")
    assert sqlite_only_forms(portable_text(module)) == []
    migration.write_text("CREATE TABLE t (amount INTEGER CHECK (typeof(amount) = 'integer'));\n")
    assert sqlite_only_forms(portable_text(migration))
