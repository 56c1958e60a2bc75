"""Aggregation command: re-aggregate an export offline with exactly the code ``/results`` uses.

    python -m bot.aggregate ANSWERS.csv [--gold GOLD.csv] [--type label|text] > RESULTS.csv

``ANSWERS.csv`` is crowd-kit's long format: ``task,worker,label`` (or ``task,worker,text``);
``GOLD.csv`` is ``task,label`` (or ``task,text``). The output is ``task,label,confidence`` (or
``task,text,confidence``), one row per task in the order first seen. Labels go through the
single-label task types' aggregation (Dawid-Skene, model chosen by held-out answers), texts
through transcription's (weighted ROVER). Task and worker ids may be any strings. A plain
module: no Telegram, no database.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.batch_settings import BatchSettings
from bot.tasks import task_type
from bot.tasks.base import Given, ItemAnswers

TYPES = {"label": "emotion", "text": "transcription"}  # a type whose aggregation is used


class InputError(ValueError):
    """A malformed CSV: says which file and what is wrong."""


def _read(handle: TextIO, value: str, name: str) -> list[dict[str, str]]:
    reader = csv.DictReader(handle)
    missing = {"task", value} - set(reader.fieldnames or ())
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(sorted(missing))}")
    return list(reader)


def aggregate_rows(
    answers: Sequence[dict[str, str]], gold: Sequence[dict[str, str]], kind: str
) -> list[tuple[str, str, float]]:
    """(task, answer, confidence) per task, in the order tasks first appear."""
    value = "label" if kind == "label" else "text"
    tasks: dict[str, int] = {}
    workers: dict[str, int] = {}
    given: dict[int, list[Given]] = {}
    for row in answers:
        item = tasks.setdefault(row["task"], len(tasks) + 1)
        worker = workers.setdefault(row["worker"], len(workers) + 1)
        given.setdefault(item, []).append(Given(worker, row[value]))
    known = {tasks[row["task"]]: row[value] for row in gold if row["task"] in tasks}
    labels = tuple(sorted({str(g.answer) for answers in given.values() for g in answers}))
    settings = BatchSettings(
        type=TYPES[kind],  # type: ignore[arg-type]
        title="",
        instructions="",
        labels=labels if kind == "label" else (),
        multiple=False,
        seconds_per_task=1,
        reward=0,
        answers_per_item=max((len(a) for a in given.values()), default=1),
        time_limit=30,
    )
    items = [ItemAnswers(item, tuple(answers), known.get(item)) for item, answers in given.items()]
    fitted = task_type(settings.type).aggregate(settings, items)
    return [
        (task, fitted.items[item].answer, fitted.items[item].confidence)
        for task, item in tasks.items()
    ]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Read the CSVs, write the results to ``out`` (stdout); 2 and a message on bad input."""
    parser = argparse.ArgumentParser(prog="python -m bot.aggregate", description=__doc__)
    parser.add_argument("answers", help="task,worker,label (or task,worker,text)")
    parser.add_argument("--gold", help="task,label (or task,text): known answers")
    parser.add_argument("--type", choices=sorted(TYPES), default="label")
    args = parser.parse_args(argv)
    value = "label" if args.type == "label" else "text"
    try:
        with open(args.answers, newline="", encoding="utf-8") as handle:
            answers = _read(handle, value, args.answers)
            if answers and "worker" not in answers[0]:
                raise InputError(f"{args.answers}: missing column(s) worker")
        gold: list[dict[str, str]] = []
        if args.gold:
            with open(args.gold, newline="", encoding="utf-8") as handle:
                gold = _read(handle, value, args.gold)
    except (OSError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(["task", value, "confidence"])
    for task, answer, confidence in aggregate_rows(answers, gold, args.type):
        writer.writerow([task, answer, f"{confidence:.4f}"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
