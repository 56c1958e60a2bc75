"""Intake, manifest: `batch.toml` and its `gold.csv`, validated into a typed `BatchSpec`."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from bot.batch_settings import LEVELS, REQUESTED_TYPES, BatchSettings, BatchType, Level
from bot.errors import Problem
from bot.intake.archive import normalise_member_path
from bot.intake.pricing import default_reward
from bot.tasks import TaskType, task_type
from bot.tasks.base import LABEL_SEPARATOR, echo
from bot.tasks.emotion import EMOTION_LABELS

# re-exported for the intake's callers
__all__ = ["EMOTION_LABELS", "LABEL_SEPARATOR", "REQUESTED_TYPES", "BatchType"]
MANIFEST_NAME = "batch.toml"
DEFAULT_GOLD_NAME = "gold.csv"
DEFAULT_EXAMPLES_NAME = "examples.csv"
WHY_MAX = 300  # characters of a "why" (an example's or a gold answer's)

TITLE_MAX = 100
INSTRUCTIONS_MAX = 800  # leaves room in a 1,024-character caption for reward and timer
LABEL_MAX = 40
LABELS_MAX = 20
SECONDS_PER_TASK_RANGE = (1, 600)
ANSWERS_PER_ITEM_RANGE = (1, 10)
TIME_LIMIT_RANGE = (15, 600)
DEFAULT_ANSWERS_PER_ITEM = 3
REWARD_MAX_CENTS = 100_000  # 1,000.00 per answer: a typo guard, far above any micro-task

FIELDS = (
    "type",
    "title",
    "instructions",
    "labels",
    "multiple",
    "seconds_per_task",
    "reward",
    "answers_per_item",
    "time_limit",
    "review",
    "gold",
    "examples",
    "min_level",
)
"""The manifest's fields, in the order problems are reported."""
_FIELD_ORDER = {name: index for index, name in enumerate(FIELDS)}
_TOML_POSITION = re.compile(r"at line (\d+), column (\d+)")


@dataclass(frozen=True)
class AnswerRules:
    """What an answer may be: the batch type, its labels, and whether several labels go together."""

    type: BatchType
    labels: tuple[str, ...]
    multiple: bool


@dataclass(frozen=True)
class BatchSpec(BatchSettings):
    """A valid manifest: the batch's settings, whether it gave the reward, and its gold file."""

    reward_from_manifest: bool
    gold: str | None
    examples_file: str | None = field(default=None, kw_only=True)

    @property
    def rules(self) -> AnswerRules:
        """What an answer to this batch's tasks may be."""
        return AnswerRules(self.type, self.labels, self.multiple)


@dataclass(frozen=True)
class ManifestResult:
    """The spec when the manifest is valid, and every problem found, in the manifest's order.

    ``gold`` (the gold file named) and ``rules`` (type and labels) are given even when other
    fields have problems, so that the gold file can still be checked and not taken for an item.
    """

    spec: BatchSpec | None
    problems: tuple[Problem, ...]
    gold: str | None = None
    rules: AnswerRules | None = None
    examples: str | None = None


def parse_manifest(
    data: bytes,
    *,
    min_hourly_rate: int,
    gold_default: bool = False,
    examples_default: bool = False,
) -> ManifestResult:
    """Parse and check ``batch.toml``, collecting every problem, each naming its field.

    ``gold_default`` says a ``gold.csv`` lies beside the manifest: it is the gold file when the
    manifest names none (``examples_default``: the same for ``examples.csv``).
    """
    table, problems = _load_toml(data)
    if table is None:
        return ManifestResult(
            None,
            tuple(problems),
            DEFAULT_GOLD_NAME if gold_default else None,
            examples=DEFAULT_EXAMPLES_NAME if examples_default else None,
        )
    reader = _Fields(table)
    for unknown in sorted(set(table).difference(FIELDS)):
        reader.problem("batch.field_unknown", unknown)
    gold = _file_name(reader, "gold", DEFAULT_GOLD_NAME if gold_default else None)
    examples = _file_name(reader, "examples", DEFAULT_EXAMPLES_NAME if examples_default else None)
    rules = _answer_rules(reader)
    spec = _build_spec(reader, rules, min_hourly_rate=min_hourly_rate, gold=gold)
    if spec is not None:
        spec = replace(spec, examples_file=examples)
    problems = sorted(reader.problems, key=_field_order)
    return ManifestResult(
        spec if not problems else None, tuple(problems), gold, rules, examples=examples
    )


def _field_order(problem: Problem) -> int:
    """Problems in the order of the manifest's fields; unknown fields first."""
    return _FIELD_ORDER.get(problem.params.get("field", ""), -1)


def _load_toml(data: bytes) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [Problem("batch.manifest_not_utf8", {"file": MANIFEST_NAME})]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POSITION.search(str(error))
        line, column = (int(found[1]), int(found[2])) if found else (text.count("\n") + 1, 1)
        params = {"file": MANIFEST_NAME, "line": line, "column": column}
        return None, [Problem("batch.manifest_syntax", params)]


def _answer_rules(reader: _Fields) -> AnswerRules | None:
    batch_type = reader.batch_type()
    kind = None if batch_type is None else task_type(batch_type)
    labels = _labels_for(reader, kind)
    multiple = reader.boolean("multiple", default=False)
    if multiple and kind is not None and not kind.takes("multiple"):
        reader.problem("batch.field_not_allowed", "multiple", type=batch_type)
        return None
    if batch_type is None or labels is None or multiple is None:
        return None
    return AnswerRules(cast(BatchType, batch_type), labels, multiple)


def _build_spec(
    reader: _Fields, rules: AnswerRules | None, *, min_hourly_rate: int, gold: str | None
) -> BatchSpec | None:
    title = reader.text("title", TITLE_MAX)
    instructions = reader.text("instructions", INSTRUCTIONS_MAX)
    seconds = reader.integer("seconds_per_task", SECONDS_PER_TASK_RANGE)
    if "seconds_per_task" not in reader.table:
        reader.problem("batch.field_missing", "seconds_per_task")
    reward, from_manifest = _reward(reader, seconds, min_hourly_rate)
    answers = reader.integer(
        "answers_per_item", ANSWERS_PER_ITEM_RANGE, default=DEFAULT_ANSWERS_PER_ITEM
    )
    time_limit = reader.integer(
        "time_limit", TIME_LIMIT_RANGE, default=_default_time_limit(seconds)
    )
    if seconds is not None and time_limit is not None and time_limit < seconds:
        reader.problem("batch.time_limit_below_estimate", "time_limit", seconds_per_task=seconds)
    min_level = _min_level(reader)
    review = _review(reader, rules)
    if (
        rules is None
        or title is None
        or instructions is None
        or seconds is None
        or reward is None
        or answers is None
        or time_limit is None
        or min_level is None
        or review is None
        or reader.problems
    ):
        return None
    return BatchSpec(
        type=rules.type,
        title=title,
        instructions=instructions,
        labels=rules.labels,
        multiple=rules.multiple,
        seconds_per_task=seconds,
        reward=reward,
        reward_from_manifest=from_manifest,
        answers_per_item=answers,
        time_limit=time_limit,
        review=review,
        gold=gold,
        min_level=min_level,
    )


def _min_level(reader: _Fields) -> Level | None:
    """The least level a worker needs (``newcomer``, the default, lets everyone in)."""
    value = reader.table.get("min_level", "newcomer")
    if value not in LEVELS:
        allowed = ", ".join(LEVELS)
        reader.problem("batch.level_unknown", "min_level", value=_echo(str(value)), allowed=allowed)
        return None
    return cast(Level, value)


def _review(reader: _Fields, rules: AnswerRules | None) -> bool | None:
    """Whether a review step follows (text types; the type's default when not given)."""
    kind = None if rules is None else task_type(rules.type)
    if "review" in reader.table and kind is not None and not kind.takes("review"):
        reader.problem("batch.field_not_allowed", "review", type=kind.name)
        return None
    return reader.boolean("review", default=kind is not None and kind.review_by_default)


def default_time_limit(seconds_per_task: int) -> int:
    """``max(30, 5 x seconds_per_task)``, within the 15-600 s a manifest allows."""
    return min(max(30, 5 * seconds_per_task), TIME_LIMIT_RANGE[1])


def _default_time_limit(seconds: int | None) -> int | None:
    return None if seconds is None else default_time_limit(seconds)


def _labels_for(reader: _Fields, kind: TaskType | None) -> tuple[str, ...] | None:
    """The labels of the batch: required, defaulted or refused, as its task type says."""
    if kind is not None and not kind.takes("labels"):
        if "labels" in reader.table:
            reader.problem("batch.field_not_allowed", "labels", type=kind.name)
        return ()
    if "labels" not in reader.table:
        if kind is not None and kind.default_labels is not None:
            return kind.default_labels
        if kind is not None:
            reader.problem("batch.labels_missing", "labels")
        return None
    return _check_labels(reader, reader.table["labels"])


def _check_labels(reader: _Fields, value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        reader.problem("batch.field_not_list", "labels")
        return None
    labels = tuple(label.strip() for label in value)
    ok = True
    if not labels:
        reader.problem("batch.labels_missing", "labels")
        ok = False
    if len(labels) > LABELS_MAX:
        reader.problem("batch.labels_too_many", "labels", count=len(labels), limit=LABELS_MAX)
        ok = False
    seen: set[str] = set()
    for label in labels:
        if not label or len(label) > LABEL_MAX or LABEL_SEPARATOR in label or _has_control(label):
            reader.problem("batch.label_invalid", "labels", label=_echo(label), limit=LABEL_MAX)
            ok = False
        elif label.casefold() in seen:
            reader.problem("batch.label_duplicate", "labels", label=_echo(label))
            ok = False
        seen.add(label.casefold())
    return labels if ok else None


def _reward(reader: _Fields, seconds: int | None, min_hourly_rate: int) -> tuple[int | None, bool]:
    """The reward in cents and whether the manifest gave it (else the fair-pay default)."""
    if "reward" not in reader.table:
        if seconds is None:
            return None, False
        return default_reward(seconds, min_hourly_rate), False
    value = reader.table["reward"]
    amount = _decimal(value)
    if amount is None:
        reader.problem("batch.reward_invalid", "reward", value=_echo(str(value)))
        return None, True
    cents = amount * 100
    if cents < 1:
        reader.problem("batch.reward_too_small", "reward", value=_echo(str(value)), min_cents=1)
    elif cents > REWARD_MAX_CENTS:
        reader.problem("batch.reward_too_large", "reward", max_cents=REWARD_MAX_CENTS)
    elif cents != cents.to_integral_value():
        reader.problem("batch.reward_sub_cent", "reward", value=_echo(str(value)))
    else:
        return int(cents), True
    return None, True


def _decimal(value: Any) -> Decimal | None:
    """A finite decimal from ``"0.04"``, ``0.04`` or ``1``; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else repr(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _file_name(reader: _Fields, field: str, default: str | None) -> str | None:
    """The file a field names (``gold``, ``examples``), else the default lying beside it."""
    if field not in reader.table:
        return default
    name = reader.text(field, 255)
    if name is None:
        return None
    normalised = normalise_member_path(name)
    if normalised is None:
        reader.problem("batch.gold_missing", field, file=_echo(name))
    return normalised


class _Fields:
    """Reads typed fields from the manifest's table, recording a problem for each bad one."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        self.table = table
        self.problems: list[Problem] = []

    def problem(self, key: str, field: str, **params: Any) -> None:
        self.problems.append(Problem(key, {"field": field, **params}))

    def batch_type(self) -> str | None:
        value = self._required("type")
        if value is None:
            return None
        if not isinstance(value, str) or value not in REQUESTED_TYPES:
            allowed = ", ".join(REQUESTED_TYPES)
            self.problem("batch.type_unknown", "type", value=_echo(str(value)), allowed=allowed)
            return None
        return value

    def text(self, field: str, limit: int) -> str | None:
        value = self._required(field)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem("batch.field_not_text", field)
            return None
        value = value.strip()
        if not value:
            self.problem("batch.field_empty", field)
            return None
        if len(value) > limit:
            self.problem("batch.field_too_long", field, length=len(value), limit=limit)
            return None
        return value

    def integer(
        self, field: str, bounds: tuple[int, int], *, default: int | None = None
    ) -> int | None:
        """The field's integer within ``bounds``; required when there is no default to take."""
        if field not in self.table:
            return default
        value = self.table[field]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem("batch.field_not_integer", field, value=_echo(str(value)))
            return None
        low, high = bounds
        if not low <= value <= high:
            self.problem("batch.field_out_of_range", field, value=value, min=low, max=high)
            return None
        return value

    def boolean(self, field: str, *, default: bool) -> bool | None:
        value = self.table.get(field, default)
        if not isinstance(value, bool):
            self.problem("batch.field_not_boolean", field)
            return None
        return value

    def _required(self, field: str) -> Any:
        if field not in self.table:
            self.problem("batch.field_missing", field)
            return None
        return self.table[field]


def _has_control(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


_echo = echo  # a user-supplied value short enough to quote back in a message


# --- gold.csv -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldResult:
    """Gold answers by item path (labels joined by ``|`` in label order), why each is right
    (when the file has a ``why`` column), and every problem."""

    answers: dict[str, str]
    problems: tuple[Problem, ...]
    why: dict[str, str] = field(default_factory=dict)


_HEADERS = (["file", "answer"], ["file", "answer", "why"])


def parse_gold(
    data: bytes,
    *,
    rules: AnswerRules,
    items: Collection[str],
    name: str = DEFAULT_GOLD_NAME,
    why_required: bool = False,
) -> GoldResult:
    """Check ``gold.csv``: header ``file,answer`` or ``file,answer,why``; known items; answers
    among the labels. ``examples.csv`` has the same shape with ``why`` required
    (``why_required``; ``items`` are then the example files)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return GoldResult({}, (Problem("batch.gold_not_utf8", {"file": name}),))
    rows = csv.reader(io.StringIO(text, newline=""))
    found = _Found(why_required=why_required)
    try:
        header = [cell.strip().lower() for cell in next(rows, None) or []]
        if header not in _HEADERS[why_required:]:
            key = "batch.examples_header" if why_required else "batch.gold_header"
            return GoldResult({}, (Problem(key, {"file": name}),))
        for row in rows:
            _gold_row(row, rows.line_num, name, rules, items, len(header), found)
    except csv.Error:
        found.problems.append(
            Problem("batch.gold_row_invalid", {"file": name, "line": rows.line_num})
        )
    if found.problems:
        return GoldResult({}, tuple(found.problems))
    return GoldResult(found.answers, (), found.why)


@dataclass
class _Found:
    why_required: bool
    answers: dict[str, str] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


def _gold_row(
    row: list[str],
    line: int,
    name: str,
    rules: AnswerRules,
    items: Collection[str],
    columns: int,
    found: _Found,
) -> None:
    problems, seen, answers = found.problems, found.seen, found.answers
    if not any(cell.strip() for cell in row):
        return
    if len(row) != columns:
        problems.append(Problem("batch.gold_row_invalid", {"file": name, "line": line}))
        return
    item = normalise_member_path(row[0].strip()) or row[0].strip()
    where = {"file": name, "line": line, "item": _echo(item)}
    if item not in items:
        problems.append(Problem("batch.gold_unknown_item", where))
    elif item in seen:
        problems.append(Problem("batch.gold_duplicate", where))
    seen.add(item)
    answer = _gold_answer(row[1], rules, where, problems)
    if answer is not None and item in items:
        answers.setdefault(item, answer)
    why = row[2].strip() if columns == 3 else ""
    if (found.why_required and not why) or len(why) > WHY_MAX or _has_control(why):
        problems.append(Problem("batch.why_invalid", {**where, "limit": WHY_MAX}))
    elif why:
        found.why.setdefault(item, why)


def _gold_answer(
    cell: str, rules: AnswerRules, where: dict[str, Any], problems: list[Problem]
) -> str | None:
    """The canonical answer, as the batch's task type reads a gold cell."""
    answer, found = task_type(rules.type).gold_answer(cell, rules.labels, rules.multiple, where)
    problems.extend(found)
    return answer
