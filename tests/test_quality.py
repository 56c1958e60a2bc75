"""Quality rules: word error rate, gold scores, accuracy, pauses, levels, speed, gold mixing."""

from __future__ import annotations

import math

import pytest

from bot.quality import (
    DEFAULT_PRIOR,
    LEVEL_RULES,
    AccuracyEstimate,
    BetaPrior,
    QualityPolicy,
    SpeedPolicy,
    choose_gold,
    estimate_accuracy,
    gold_score,
    is_gold_turn,
    is_implausibly_fast,
    label_gold_score,
    levenshtein,
    next_gold_item,
    normalise_words,
    transcription_gold_score,
    wilson_interval,
    word_edit_distance,
    word_error_rate,
    worker_level,
)


def gold(right: int, wrong: int) -> AccuracyEstimate:
    return estimate_accuracy([1.0] * right + [0.0] * wrong)


# --- words and word error rate ---


def test_normalise_words_folds_case_punctuation_and_spaces() -> None:
    assert normalise_words("  Bonjour,   le MONDE !\n") == ("bonjour", "le", "monde")
    assert normalise_words("peut-être l’homme") == ("peut", "être", "l", "homme")
    assert normalise_words("café") == normalise_words("cafe\u0301")  # composed or not
    assert normalise_words("...") == ()


def test_levenshtein_counts_edits() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein((), ("a", "b")) == 2
    assert levenshtein(("a", "b"), ("a", "b")) == 0


def test_word_edit_distance_on_known_strings() -> None:
    assert word_edit_distance("the cat sat", "The cat sat.") == 0
    assert word_edit_distance("the cat sat", "the cat sat on") == 1
    assert word_edit_distance("the cat sat on the mat", "the cat sit on mat") == 2


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("the cat sat on the mat", "the cat sat on the mat", 0.0),
        ("the cat sat on the mat", "the cat sit on mat", 2 / 6),
        ("Bonjour, le monde !", "bonjour le monde", 0.0),
        ("one two", "one two three four five", 1.5),  # insertions can exceed 1
        ("one two", "", 1.0),
        ("", "", 0.0),  # a silent clip left empty
        ("", "something", 1.0),  # a silent clip given words
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, expected: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


# --- gold scores ---


def test_label_gold_score_is_exact_for_single_labels_and_jaccard_for_sets() -> None:
    assert label_gold_score(frozenset({"joy"}), frozenset({"joy"})) == 1.0
    assert label_gold_score(frozenset({"joy"}), frozenset({"fear"})) == 0.0
    car_person_dog = frozenset({"car", "person", "dog"})
    assert label_gold_score(car_person_dog, frozenset({"car", "person"})) == pytest.approx(2 / 3)
    assert label_gold_score(car_person_dog, frozenset()) == 0.0
    assert label_gold_score(frozenset(), frozenset()) == 1.0


def test_transcription_gold_score_is_one_minus_wer_clipped() -> None:
    assert transcription_gold_score("a b c d", "a b x d") == pytest.approx(0.75)
    assert transcription_gold_score("a b", "x y z w v u") == 0.0
    assert transcription_gold_score("a b", "A, b!") == 1.0


def test_gold_score_dispatches_on_task_type() -> None:
    assert gold_score("emotion", frozenset({"joy"}), frozenset({"joy"})) == 1.0
    assert gold_score("image_tag", frozenset({"car"}), frozenset({"car", "dog"})) == 0.5
    assert gold_score("transcription", "a b", "a b") == 1.0
    with pytest.raises(TypeError):
        gold_score("transcription", frozenset({"joy"}), "joy")
    with pytest.raises(TypeError):
        gold_score("emotion", "joy", frozenset({"joy"}))


# --- accuracy estimate ---


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(7, 10, z=1.96)
    assert low == pytest.approx(0.39677, abs=1e-5)
    assert high == pytest.approx(0.89221, abs=1e-5)
    assert wilson_interval(10, 10, z=1.96)[0] == pytest.approx(0.72246, abs=1e-5)
    assert wilson_interval(0, 10, z=1.96) == pytest.approx((0.0, 0.27754), abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_fractional_successes() -> None:
    low, high = wilson_interval(2.5, 4)
    assert 0 < low < 0.625 < high < 1
    assert math.isclose(sum(wilson_interval(5, 10)), 1.0)  # symmetric around one half


def test_beta_smoothing_starts_at_the_prior_and_moves_with_gold() -> None:
    assert DEFAULT_PRIOR.mean == pytest.approx(0.7)
    assert estimate_accuracy([]).score == pytest.approx(0.7)
    assert gold(10, 0).score == pytest.approx(17 / 20)
    assert gold(0, 10).score == pytest.approx(7 / 20)
    assert estimate_accuracy([1, 1], prior=BetaPrior(2, 1)).score == pytest.approx(4 / 5)


def test_estimate_keeps_counts_and_bounds() -> None:
    estimate = estimate_accuracy([1.0, 0.5, 0.0, 1.0])
    assert estimate.gold_answers == 4
    assert estimate.score_sum == pytest.approx(2.5)
    assert estimate.score == pytest.approx(9.5 / 14)
    assert 0 <= estimate.lower_bound < 2.5 / 4 < estimate.upper_bound <= 1


# --- pausing ---


def test_no_pause_before_the_minimum_of_gold_answers() -> None:
    assert not QualityPolicy().should_pause(gold(0, 9))
    assert QualityPolicy().should_pause(gold(0, 10))


def test_pause_only_when_surely_below_threshold() -> None:
    policy = QualityPolicy()
    assert policy.should_pause(gold(3, 7))  # upper bound 0.558
    assert not policy.should_pause(gold(4, 6))  # upper bound 0.648: not sure enough
    assert not policy.should_pause(gold(7, 3))


def test_policy_is_configurable() -> None:
    strict = QualityPolicy(threshold=0.8, min_gold=5)
    assert strict.should_pause(gold(2, 3))
    assert not QualityPolicy().should_pause(gold(2, 3))


def test_pause_decision_says_why_and_how_to_resume() -> None:
    decision = QualityPolicy().decide(gold(2, 8))
    assert decision.paused
    assert (decision.threshold, decision.min_gold, decision.gold_answers) == (0.6, 10, 10)
    assert decision.upper_bound == pytest.approx(0.4592, abs=1e-4)
    assert decision.score == pytest.approx(9 / 20)
    assert decision.right_answers_to_resume == 3
    assert not QualityPolicy().should_pause(gold(2 + 3, 8))
    assert QualityPolicy().decide(gold(8, 2)).right_answers_to_resume == 0


# --- levels ---


def test_newcomer_is_told_what_confirmed_takes() -> None:
    status = worker_level(12, gold(3, 0))
    assert status.level == "newcomer"
    assert status.next_rule == LEVEL_RULES[0]
    assert (status.tasks_missing, status.gold_missing) == (38, 7)
    assert status.lower_bound_missing > 0


def test_confirmed_and_expert() -> None:
    confirmed = worker_level(60, gold(16, 4))  # lower bound 0.62
    assert confirmed.level == "confirmed"
    assert confirmed.next_rule is not None
    assert confirmed.next_rule.level == "expert"
    assert confirmed.tasks_missing == 240
    expert = worker_level(400, gold(29, 1))  # lower bound 0.86
    assert expert.level == "expert"
    assert expert.next_rule is None


def test_many_tasks_do_not_make_up_for_accuracy() -> None:
    status = worker_level(1000, gold(15, 5))  # lower bound 0.57
    assert status.level == "newcomer"
    assert status.tasks_missing == 0
    assert status.lower_bound_missing == pytest.approx(0.6 - gold(15, 5).lower_bound)


# --- speed ---


def test_implausibly_fast_answers() -> None:
    assert is_implausibly_fast("image_tag", 999)
    assert not is_implausibly_fast("emotion", 1_000)
    assert is_implausibly_fast("transcription", 2_999, clip_ms=9_000)
    assert not is_implausibly_fast("transcription", 3_000, clip_ms=9_000)
    with pytest.raises(ValueError, match="clip length"):
        is_implausibly_fast("transcription", 3_000)


def test_three_flags_in_the_last_ten_pause_the_type() -> None:
    policy = SpeedPolicy()
    assert not policy.should_pause([True, True] + [False] * 8)
    assert policy.should_pause([False] * 7 + [True] * 3)
    old_flags_forgotten = [True] * 3 + [False] * 10
    assert not policy.should_pause(old_flags_forgotten)
    decision = SpeedPolicy(max_flags=2, window=4).decide([True, False, True, False])
    assert (decision.paused, decision.flags, decision.window) == (True, 2, 4)


# --- gold mixing ---


def test_exactly_one_gold_turn_in_every_block_of_eight() -> None:
    turns = [n for n in range(800) if is_gold_turn(n, seed="secret:7:42")]
    assert len(turns) == 100
    assert [n // 8 for n in turns] == list(range(100))
    assert len({n % 8 for n in turns}) > 1  # not always the same place


def test_gold_turns_depend_on_the_seed_only() -> None:
    first = [is_gold_turn(n, "secret:7:42") for n in range(64)]
    assert first == [is_gold_turn(n, "secret:7:42") for n in range(64)]
    assert first != [is_gold_turn(n, "secret:7:43") for n in range(64)]
    assert sum(is_gold_turn(n, "s", gold_share=1 / 4) for n in range(40)) == 10
    with pytest.raises(ValueError, match="gold_share"):
        is_gold_turn(0, "s", gold_share=0)


def test_gold_items_are_never_repeated_to_a_worker() -> None:
    gold_items = [11, 12, 13]
    seen: set[int] = set()
    for _ in gold_items:
        item = next_gold_item(gold_items, seen, seed="w1")
        assert item is not None
        assert item not in seen
        seen.add(item)
    assert seen == set(gold_items)
    assert next_gold_item(gold_items, seen, seed="w1") is None


def test_choose_gold_serves_on_its_turn_and_not_without_gold() -> None:
    turn = next(n for n in range(8) if is_gold_turn(n, "w2"))
    assert choose_gold(turn, [5, 6], set(), "w2") in {5, 6}
    assert choose_gold((turn + 1) % 8, [5, 6], set(), "w2") is None
    assert choose_gold(turn, [], set(), "w2") is None
    assert choose_gold(turn, [5, 6], {5, 6}, "w2") is None
