"""Intake, sentences: the short texts of a text batch (translation), read from ``.txt``/``.csv``.

A ``.txt`` file holds one sentence a line (blank lines skipped); a ``.csv`` file has a header
with a ``text`` column and, optionally, an ``id`` column. Each sentence is an item named
``FILE:LINE`` (``FILE:ID`` with an id), the name ``gold.csv`` and the results use.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.errors import Problem
from bot.tasks.base import echo
from bot.tasks.translation import MAX_SENTENCE_CHARS

EXTENSIONS = frozenset({".txt", ".csv"})
MAX_SENTENCES = 5000  # per upload: a product catalogue, not a book


@dataclass(frozen=True)
class Sentence:
    """One short text to work on, and the item name it gets."""

    name: str
    text: str


def is_sentences_name(path: str) -> bool:
    """Whether a file name is a sentences file (its content is checked later)."""
    return PurePosixPath(path).suffix.lower() in EXTENSIONS


def read_sentences(path: str, data: bytes) -> tuple[list[Sentence], list[Problem]]:
    """The sentences of one file, in file order, and every problem with it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Problem("batch.sentences_not_utf8", {"file": path})]
    if path.lower().endswith(".csv"):
        return _csv_sentences(path, text)
    lines = enumerate(text.splitlines(), start=1)
    return _checked(path, [(f"{path}:{line}", line, raw) for line, raw in lines])


def _csv_sentences(path: str, text: str) -> tuple[list[Sentence], list[Problem]]:
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(rows, [])]
        if "text" not in header:
            return [], [Problem("batch.sentences_header", {"file": path})]
        at_text, at_id = header.index("text"), header.index("id") if "id" in header else None
        found: list[tuple[str, int, str]] = []
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                where = {"file": path, "line": rows.line_num}
                return [], [Problem("batch.sentences_row_invalid", where)]
            key = row[at_id].strip() if at_id is not None else str(rows.line_num)
            found.append((f"{path}:{key}", rows.line_num, row[at_text]))
    except csv.Error:
        return [], [Problem("batch.sentences_row_invalid", {"file": path, "line": rows.line_num})]
    return _checked(path, found)


def _checked(path: str, rows: list[tuple[str, int, str]]) -> tuple[list[Sentence], list[Problem]]:
    """Sentences trimmed, inner whitespace tidied; blank ones skipped, long or repeated names
    refused."""
    sentences: list[Sentence] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for name, line, raw in rows:
        sentence = " ".join(raw.split())
        if not sentence:
            continue
        where = {"file": path, "line": line}
        if len(sentence) > MAX_SENTENCE_CHARS:
            limit = {**where, "limit": MAX_SENTENCE_CHARS}
            problems.append(Problem("batch.sentence_too_long", limit))
        elif name in seen:
            problems.append(Problem("batch.sentence_duplicate", {**where, "item": echo(name)}))
        else:
            sentences.append(Sentence(name, sentence))
        seen.add(name)
    if len(sentences) > MAX_SENTENCES:
        too_many = {"file": path, "limit": MAX_SENTENCES}
        problems.append(Problem("batch.sentences_too_many", too_many))
    return sentences, problems
