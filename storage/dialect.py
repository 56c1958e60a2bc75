"""Storage room, SQL dialects: the SQLite-flavoured SQL of storage/ turned into PostgreSQL.

Storage modules and migrations are written once, for SQLite. The PostgreSQL backend passes
every statement through ``to_postgres`` (queries) or ``ddl_to_postgres`` (migrations), so a
new query works on both backends as long as it keeps to what is translated here or to the
forms both engines accept (``ON CONFLICT``, ``RETURNING``, window functions, ``coalesce``):

- ``?``, ``?NNN`` and ``:name`` placeholders become ``$1``, ``$2``, ... (never inside string
  literals);
- ``INSERT OR IGNORE INTO t ...`` becomes ``INSERT INTO t ... ON CONFLICT DO NOTHING``;
- ``x GLOB 'pattern'`` becomes the anchored regular expression ``x ~ '^...$'``;
- ``max(0, e)`` (SQLite's two-argument max) becomes ``GREATEST(0, e)``; ``CAST(x AS INTEGER)``
  casts to ``BIGINT``, ``AS REAL`` to ``DOUBLE PRECISION``;
- SQLite's index hints ``t INDEXED BY name`` are dropped (PostgreSQL's planner picks);
- ``sqlite_master`` lookups of a table become ``information_schema.tables`` in the schema in use;
- in migrations: ``INTEGER`` becomes ``BIGINT`` (Telegram ids pass 2^31), ``id INTEGER PRIMARY
  KEY`` an identity column, and ``REAL`` ``DOUBLE PRECISION``.

What cannot be translated (triggers, above all) is written per backend in the migration file
itself, between ``-- only: sqlite`` / ``-- only: postgres`` and ``-- end only`` lines.
"""

from __future__ import annotations

import re
from functools import lru_cache

Dialect = str  # "sqlite" or "postgres"
DIALECTS = ("sqlite", "postgres")

_ONLY = re.compile(r"^\s*--\s*only:\s*(\w+)\s*$")
_END_ONLY = re.compile(r"^\s*--\s*end only\s*$")
_STRING_OR_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?(\d*)|(?<!:):([A-Za-z_]\w*)")
_INSERT_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_GLOB = re.compile(r"\bGLOB\s+'((?:[^']|'')*)'", re.IGNORECASE)
_MAX0 = re.compile(r"\bmax\(0,\s*", re.IGNORECASE)
_SQLITE_MASTER = re.compile(
    r"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = \?", re.IGNORECASE
)
_CAST_INTEGER = re.compile(r"\bAS\s+INTEGER\b", re.IGNORECASE)
_CAST_REAL = re.compile(r"\bAS\s+REAL\b", re.IGNORECASE)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
_PG_TABLE_EXISTS = (
    "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()"
    " AND table_name = ?"
)


def for_dialect(text: str, dialect: Dialect) -> str:
    """A migration's text with the blocks meant for the other backend left out."""
    kept: list[str] = []
    block: str | None = None
    for line in text.splitlines(keepends=True):
        if (start := _ONLY.match(line)) is not None:
            block = start.group(1)
            if block not in DIALECTS:
                raise ValueError(f"unknown dialect {block!r} in '-- only:' (use sqlite, postgres)")
            continue
        if _END_ONLY.match(line):
            block = None
            continue
        if block is None or block == dialect:
            kept.append(line)
    return "".join(kept)


def glob_to_regex(pattern: str) -> str:
    """SQLite's GLOB pattern (``*``, ``?``, ``[...]``) as an anchored POSIX regular expression."""
    out: list[str] = ["^"]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.index("]", index + 1)
            out.append(pattern[index : end + 1])
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    out.append("$")
    return "".join(out)


def _globs(sql: str) -> str:
    return _GLOB.sub(lambda m: "~ '" + glob_to_regex(m.group(1)) + "'", sql)


def _placeholders(sql: str) -> tuple[str, tuple[str, ...]]:
    """``?`` or ``:name`` placeholders numbered; the names in number order (none for ``?``)."""
    count = 0
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        nonlocal count
        text, digits, name = match.group(0), match.group(1), match.group(2)
        if name is not None:
            if name not in names:
                names[name] = len(names) + 1
            return f"${names[name]}"
        if not text.startswith("?"):
            return text  # a string literal, kept as written
        # SQLite: ?NNN is parameter NNN; a bare ? is one more than the largest so far.
        count = int(digits) if digits else count + 1
        return f"${count}"

    translated = _STRING_OR_PLACEHOLDER.sub(number, sql)
    if count and names:
        raise ValueError("a statement mixes ? and :name placeholders")
    return translated, tuple(names)


def _on_conflict_do_nothing(sql: str) -> str:
    if not _INSERT_OR_IGNORE.search(sql):
        return sql
    sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql)
    returning = _RETURNING.search(sql)
    if returning is None:
        return sql.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return sql[: returning.start()] + "ON CONFLICT DO NOTHING " + sql[returning.start() :]


@lru_cache(maxsize=4096)
def to_postgres(sql: str) -> tuple[str, tuple[str, ...]]:
    """One statement of storage/ in PostgreSQL's dialect, and the ``:name`` parameters in the
    order of ``$1``, ``$2``, ... (empty for ``?``); cached, as the texts are constants."""
    sql = _SQLITE_MASTER.sub(_PG_TABLE_EXISTS, sql)
    sql = _on_conflict_do_nothing(sql)
    sql = _MAX0.sub("GREATEST(0, ", _INDEXED_BY.sub("", sql))
    sql = _CAST_INTEGER.sub("AS BIGINT", _CAST_REAL.sub("AS DOUBLE PRECISION", sql))
    return _placeholders(_globs(sql))


_ID_PRIMARY_KEY = re.compile(r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_INTEGER = re.compile(r"\bINTEGER\b")
_REAL = re.compile(r"\bREAL\b")


def ddl_to_postgres(text: str) -> str:
    """A migration (already cut to the PostgreSQL blocks) in PostgreSQL's dialect."""
    text = _ID_PRIMARY_KEY.sub("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", text)
    text = _INTEGER.sub("BIGINT", text)
    text = _REAL.sub("DOUBLE PRECISION", text)
    return _globs(text)
