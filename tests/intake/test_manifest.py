"""The batch manifest and gold.csv: defaults, every problem named by its field, gold answers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.errors import Problem
from bot.intake.manifest import EMOTION_LABELS, BatchSpec, parse_gold, parse_manifest
from tests.intake.media import EMOTION, IMAGE_TAG, TRANSCRIPTION, toml

RATE = 1_000  # 10.00 an hour


def parse(**fields: Any) -> tuple[BatchSpec | None, tuple[Problem, ...]]:
    result = parse_manifest(toml(**fields), min_hourly_rate=RATE)
    return result.spec, result.problems


def problems_of(**fields: Any) -> list[tuple[str, Any]]:
    spec, problems = parse(**fields)
    assert spec is None
    return [(p.key, p.params.get("field")) for p in problems]


def test_the_design_example_parses() -> None:
    spec, problems = parse(**IMAGE_TAG)
    assert problems == ()
    assert spec == BatchSpec(
        type="image_tag",
        title="Street scenes",
        instructions="Tick every object you can see.",
        labels=("car", "bicycle", "person", "dog"),
        multiple=True,
        seconds_per_task=12,
        reward=4,
        reward_from_manifest=True,
        answers_per_item=3,
        time_limit=60,
        gold="gold.csv",
    )


def test_defaults_emotion_labels_fair_reward_and_time_limit() -> None:
    spec, _ = parse(**EMOTION)
    assert spec is not None
    assert spec.labels == EMOTION_LABELS
    assert (spec.reward, spec.reward_from_manifest) == (3, False)  # 10.00/h x 10 s = 2.8 -> 3
    assert spec.time_limit == 50  # max(30, 5 x 10)
    assert spec.answers_per_item == 3
    assert spec.multiple is False
    assert spec.gold is None


@pytest.mark.parametrize(("seconds", "limit"), [(1, 30), (6, 30), (7, 35), (120, 600), (600, 600)])
def test_default_time_limit(seconds: int, limit: int) -> None:
    spec, _ = parse(**{**TRANSCRIPTION, "seconds_per_task": seconds})
    assert spec is not None
    assert spec.time_limit == limit


def test_transcription_has_no_labels() -> None:
    spec, _ = parse(**TRANSCRIPTION)
    assert spec is not None
    assert spec.labels == ()


@pytest.mark.parametrize(("reward", "cents"), [("0.04", 4), (0.04, 4), (1, 100), (" 2.5 ", 250)])
def test_reward_as_string_or_number(reward: Any, cents: int) -> None:
    spec, _ = parse(**{**IMAGE_TAG, "reward": reward})
    assert spec is not None
    assert spec.reward == cents


@pytest.mark.parametrize(
    ("reward", "key"),
    [
        ("0.001", "batch.reward_too_small"),
        ("0", "batch.reward_too_small"),
        (0.0, "batch.reward_too_small"),
        ("-1", "batch.reward_too_small"),
        ("0.045", "batch.reward_sub_cent"),
        ("four cents", "batch.reward_invalid"),
        ("NaN", "batch.reward_invalid"),
        (True, "batch.reward_invalid"),
        ("1e9", "batch.reward_too_large"),
    ],
)
def test_bad_rewards_are_named(reward: Any, key: str) -> None:
    assert problems_of(**{**IMAGE_TAG, "reward": reward}) == [(key, "reward")]


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("answers_per_item", 11, "batch.field_out_of_range"),
        ("answers_per_item", 0, "batch.field_out_of_range"),
        ("time_limit", 5, "batch.field_out_of_range"),
        ("time_limit", 601, "batch.field_out_of_range"),
        ("seconds_per_task", 0, "batch.field_out_of_range"),
        ("seconds_per_task", 12.5, "batch.field_not_integer"),
        ("seconds_per_task", True, "batch.field_not_integer"),
        ("seconds_per_task", "12", "batch.field_not_integer"),
        ("title", "   ", "batch.field_empty"),
        ("title", "t" * 101, "batch.field_too_long"),
        ("instructions", 3, "batch.field_not_text"),
        ("multiple", "yes", "batch.field_not_boolean"),
        ("labels", "car", "batch.field_not_list"),
        ("labels", [], "batch.labels_missing"),
        ("labels", ["car", "Car"], "batch.label_duplicate"),
        ("labels", ["car", "a|b"], "batch.label_invalid"),
        ("labels", ["car", ""], "batch.label_invalid"),
        ("labels", [f"l{n}" for n in range(21)], "batch.labels_too_many"),
        ("type", "video_tag", "batch.type_unknown"),
        ("answer_per_item", 3, "batch.field_unknown"),
    ],
)
def test_each_bad_field_is_named(field: str, value: Any, key: str) -> None:
    assert problems_of(**{**IMAGE_TAG, field: value}) == [(key, field)]


def test_out_of_range_says_the_bounds() -> None:
    _, problems = parse(**{**IMAGE_TAG, "answers_per_item": 11})
    assert problems[0].params == {"field": "answers_per_item", "value": 11, "min": 1, "max": 10}


def test_an_unknown_type_lists_the_allowed_ones() -> None:
    _, problems = parse(**{**IMAGE_TAG, "type": "video_tag"})
    allowed = "image_tag, emotion, transcription, image_text, translation"  # not review
    assert problems[0].params["allowed"] == allowed


def test_every_problem_is_collected_not_only_the_first() -> None:
    found = problems_of(
        type="image_tag",
        title="",
        seconds_per_task=12,
        reward="0.001",
        answers_per_item=11,
        time_limit=5,
        colour="red",
    )
    assert found == [
        ("batch.field_unknown", "colour"),
        ("batch.field_empty", "title"),
        ("batch.field_missing", "instructions"),
        ("batch.labels_missing", "labels"),
        ("batch.reward_too_small", "reward"),
        ("batch.field_out_of_range", "answers_per_item"),
        ("batch.field_out_of_range", "time_limit"),
    ]


def test_missing_required_fields() -> None:
    assert problems_of() == [
        ("batch.field_missing", "type"),
        ("batch.field_missing", "title"),
        ("batch.field_missing", "instructions"),
        ("batch.field_missing", "seconds_per_task"),
    ]


def test_fields_that_do_not_fit_the_type() -> None:
    assert problems_of(**{**TRANSCRIPTION, "labels": ["a"], "multiple": True}) == [
        ("batch.field_not_allowed", "labels"),
        ("batch.field_not_allowed", "multiple"),
    ]


def test_a_time_limit_shorter_than_the_task_is_refused() -> None:
    assert problems_of(**{**IMAGE_TAG, "seconds_per_task": 90, "time_limit": 60}) == [
        ("batch.time_limit_below_estimate", "time_limit")
    ]


def test_syntax_errors_give_the_line() -> None:
    result = parse_manifest(b'type = "emotion"\ntitle = \n', min_hourly_rate=RATE)
    assert result.spec is None
    assert result.problems == (
        Problem("batch.manifest_syntax", {"file": "batch.toml", "line": 2, "column": 9}),
    )
    assert parse_manifest(b"\xff\xfe", min_hourly_rate=RATE).problems[0].key == (
        "batch.manifest_not_utf8"
    )


def test_gold_csv_beside_the_manifest_is_used_when_none_is_named() -> None:
    result = parse_manifest(toml(**EMOTION), min_hourly_rate=RATE, gold_default=True)
    assert result.spec is not None
    assert result.spec.gold == "gold.csv"


def test_an_unsafe_gold_name_is_refused() -> None:
    assert problems_of(**{**EMOTION, "gold": "../gold.csv"}) == [("batch.gold_missing", "gold")]


# --- gold.csv -------------------------------------------------------------------------------

SPEC = BatchSpec(
    type="image_tag",
    title="t",
    instructions="i",
    labels=("car", "bicycle", "person", "dog"),
    multiple=True,
    seconds_per_task=12,
    reward=4,
    reward_from_manifest=True,
    answers_per_item=3,
    time_limit=60,
    gold="gold.csv",
)
ITEMS = {"a.png", "b.png", "photos/c.png"}


def gold(text: str, spec: BatchSpec = SPEC) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    result = parse_gold(text.encode(), rules=spec.rules, items=ITEMS)
    return result.answers, [(p.key, p.params.get("line")) for p in result.problems]


def test_gold_answers_are_put_in_label_order() -> None:
    answers, problems = gold("file,answer\na.png,dog|Car\nphotos/c.png, person \n\n")
    assert problems == []
    assert answers == {"a.png": "car|dog", "photos/c.png": "person"}


def test_gold_with_a_bom_and_windows_lines() -> None:
    answers, _ = gold("\ufefffile,answer\r\nb.png,car\r\n")
    assert answers == {"b.png": "car"}


def test_every_gold_problem_is_named_with_its_line() -> None:
    _, problems = gold(
        "file,answer\n"
        "a.png,cat\n"  # not a label
        "missing.png,car\n"  # not an item
        "a.png,dog\n"  # twice
        "b.png,\n"  # empty
        "photos/c.png,car,extra\n"  # three columns
    )
    assert problems == [
        ("batch.gold_answer_not_label", 2),
        ("batch.gold_unknown_item", 3),
        ("batch.gold_duplicate", 4),
        ("batch.gold_answer_empty", 5),
        ("batch.gold_row_invalid", 6),
    ]


def test_the_wrong_answer_is_quoted() -> None:
    result = parse_gold(b"file,answer\na.png,car|cat\n", rules=SPEC.rules, items=ITEMS)
    assert result.problems == (
        Problem(
            "batch.gold_answer_not_label",
            {"file": "gold.csv", "line": 2, "item": "a.png", "answer": "cat"},
        ),
    )


def test_several_labels_need_multiple() -> None:
    _, problems = gold("file,answer\na.png,car|dog\n", replace(SPEC, multiple=False))
    assert problems == [("batch.gold_answer_single", 2)]


@pytest.mark.parametrize("header", ["", "path,label\n", "file\n"])
def test_a_wrong_header_is_refused(header: str) -> None:
    assert gold(header + "a.png,car\n")[1] == [("batch.gold_header", None)]


def test_transcription_gold_is_free_text() -> None:
    spec = replace(SPEC, type="transcription", labels=(), multiple=False)
    answers, problems = gold('file,answer\na.png,"Bonjour, tout le monde | ok"\n', spec)
    assert problems == []
    assert answers == {"a.png": "Bonjour, tout le monde | ok"}
