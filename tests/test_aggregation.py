"""Aggregation: majority, weighted and Dawid-Skene votes, medoid and ROVER texts, early stopping."""

from __future__ import annotations

import math

import pytest

from bot.aggregation import (
    Vote,
    accuracy_weight,
    dawid_skene,
    label_class_count,
    majority_vote,
    medoid_transcript,
    rover_transcript,
    should_stop,
    should_stop_text,
    weighted_vote,
)

JOY, FEAR, ANGER = frozenset({"joy"}), frozenset({"fear"}), frozenset({"anger"})


def votes(*answers: tuple[int, frozenset[str]]) -> list[Vote]:
    return [Vote(worker, labels) for worker, labels in answers]


# --- weights ---


def test_accuracy_weight_is_log_odds_clipped() -> None:
    assert accuracy_weight(0.2, 5) == 0.0  # a random clicker among 5 counts for nothing
    assert accuracy_weight(0.1, 5) == 0.0  # below random is clipped, never negative
    assert accuracy_weight(0.7, 5) == pytest.approx(math.log(0.7 * 4 / 0.3))
    assert accuracy_weight(1.0, 5) == pytest.approx(math.log(0.99 * 4 / 0.01))
    assert accuracy_weight(0.9, 5) > accuracy_weight(0.8, 5)


def test_label_class_count() -> None:
    assert label_class_count(["joy", "fear", "anger"], multiple=False) == 3
    assert label_class_count(["car", "dog", "person", "bicycle"], multiple=True) == 16


# --- majority ---


def test_majority_picks_the_most_given_answer() -> None:
    result = majority_vote(votes((1, JOY), (2, FEAR), (3, JOY)), class_count=7)
    assert result.answer == JOY
    assert result.agreement == pytest.approx(2 / 3)
    assert result.answers == 3
    assert 0.5 < result.confidence < 1


def test_majority_ties_go_to_the_answer_given_first() -> None:
    assert majority_vote(votes((1, FEAR), (2, JOY)), class_count=7).answer == FEAR
    assert majority_vote(votes((1, JOY), (2, FEAR)), class_count=7).answer == JOY
    tie = majority_vote(votes((1, JOY), (2, FEAR), (3, FEAR), (4, JOY)), class_count=7)
    assert tie.answer == JOY
    assert tie.confidence < 0.5


def test_majority_confidence_is_the_posterior_with_equal_workers() -> None:
    # one-coin model, every worker at 0.7, 5 classes: (28/3)^2 / ((28/3)^2 + 4)
    result = majority_vote(votes((1, JOY), (2, JOY)), class_count=5)
    assert result.confidence == pytest.approx((28 / 3) ** 2 / ((28 / 3) ** 2 + 4))


def test_an_item_without_answers_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one answer"):
        majority_vote([], class_count=5)


def test_multi_label_sets_are_whole_classes() -> None:
    car_dog, car = frozenset({"car", "dog"}), frozenset({"car"})
    result = majority_vote(votes((1, car_dog), (2, car), (3, car_dog)), class_count=4)
    assert result.answer == car_dog
    assert result.agreement == pytest.approx(2 / 3)


# --- weighted ---


def test_a_reliable_worker_outweighs_two_random_clickers() -> None:
    answers = votes((1, FEAR), (2, FEAR), (3, JOY))
    accuracies = {1: 0.2, 2: 0.25, 3: 0.9}
    assert majority_vote(answers, class_count=5).answer == FEAR
    assert weighted_vote(answers, accuracies, class_count=5).answer == JOY


def test_unknown_workers_count_at_the_default_accuracy() -> None:
    answers = votes((1, JOY), (2, JOY))
    known = weighted_vote(answers, {1: 0.7, 2: 0.7}, class_count=5)
    unknown = weighted_vote(answers, {}, class_count=5)
    assert unknown.confidence == pytest.approx(known.confidence)
    assert unknown.confidence == pytest.approx(0.956, abs=1e-3)


# --- Dawid-Skene ---


def _spammer_batch() -> dict[int, list[Vote]]:
    """Worker 9 always answers FEAR; workers 1-3 are right except on item 4 (two slips)."""
    truth = {1: JOY, 2: ANGER, 3: JOY, 4: ANGER, 5: FEAR, 6: JOY}
    batch = {item: [Vote(9, FEAR)] for item in truth}
    for item, answer in truth.items():
        batch[item] += [Vote(worker, answer) for worker in (1, 2, 3)]
    batch[4] = [Vote(9, FEAR), Vote(1, FEAR), Vote(2, FEAR), Vote(3, ANGER)]
    return batch


def test_dawid_skene_learns_who_to_trust() -> None:
    result = dawid_skene(_spammer_batch())
    assert result.converged
    assert result.items[1].answer == JOY
    assert result.items[5].answer == FEAR
    assert result.worker_accuracy[9] < result.worker_accuracy[3]
    assert all(0 <= item.confidence <= 1 for item in result.items.values())


def test_dawid_skene_keeps_gold_answers() -> None:
    result = dawid_skene(_spammer_batch(), gold={4: ANGER})
    assert result.items[4].answer == ANGER
    assert result.items[4].confidence == 1.0
    assert result.items[4].agreement == pytest.approx(1 / 4)


def test_dawid_skene_smoothing_copes_with_a_worker_of_one_answer() -> None:
    batch = {1: votes((1, JOY)), 2: votes((2, FEAR), (3, FEAR))}
    result = dawid_skene(batch)
    assert result.items[1].answer == JOY
    assert result.items[2].answer == FEAR
    assert 0 < result.worker_accuracy[1] < 1


def test_dawid_skene_with_a_single_class_and_no_items() -> None:
    assert dawid_skene({1: votes((1, JOY), (2, JOY))}).items[1].confidence == 1.0
    empty = dawid_skene({})
    assert empty.items == {}
    assert empty.converged


# --- transcription ---


def test_medoid_is_the_answer_closest_to_all_others() -> None:
    texts = ["the cat sat on the mat", "The cat sat on the hat.", "a dog ran", "the cat sat on mat"]
    result = medoid_transcript(texts)
    assert result.text == "the cat sat on the mat"
    assert result.answers == 4
    assert result.agreement == pytest.approx(1 / 4)
    assert 0 < result.confidence < 1


def test_medoid_keeps_the_text_as_typed_and_breaks_ties_to_the_earliest() -> None:
    assert medoid_transcript(["Hello, World!", "hello world"]).text == "Hello, World!"
    assert medoid_transcript(["one two", "three four"]).text == "one two"


def test_a_lone_transcript_has_no_confidence() -> None:
    result = medoid_transcript(["just me"])
    assert (result.text, result.confidence, result.agreement) == ("just me", 0.0, 1.0)
    with pytest.raises(ValueError, match="at least one answer"):
        medoid_transcript([])


def test_rover_repairs_errors_no_single_answer_avoids() -> None:
    texts = ["a x c d e", "a b y d e", "a b c d z"]
    assert medoid_transcript(texts).text in texts
    result = rover_transcript(texts)
    assert result.text == "a b c d e"
    assert result.agreement == 0.0


def test_rover_votes_insertions_and_deletions() -> None:
    assert rover_transcript(["a b c", "a b new c", "a b new c"]).text == "a b new c"
    assert rover_transcript(["a b c", "a c", "a c"]).text == "a c"
    assert rover_transcript(["a b c", "a b c extra", "a b c"]).text == "a b c"


def test_rover_needs_three_answers() -> None:
    assert rover_transcript(["Hello, World!", "hello word"]).text == "Hello, World!"


# --- early stopping ---


def test_two_reliable_workers_agreeing_stop_an_item() -> None:
    decision = should_stop(votes((1, JOY), (2, JOY)), {1: 0.8, 2: 0.8}, 5, class_count=5)
    assert decision.stop
    assert decision.reason == "confident"
    assert decision.confidence >= 0.95


def test_one_answer_never_stops_an_item() -> None:
    decision = should_stop(votes((1, JOY)), {1: 0.99}, 5, class_count=5)
    assert not decision.stop
    assert decision.reason == "collecting"


def test_weak_or_disagreeing_workers_keep_collecting() -> None:
    weak = should_stop(votes((1, JOY), (2, JOY)), {1: 0.65, 2: 0.65}, 5, class_count=5)
    assert not weak.stop
    split = should_stop(votes((1, JOY), (2, FEAR)), {1: 0.9, 2: 0.9}, 5, class_count=5)
    assert not split.stop


def test_the_answer_limit_stops_an_item() -> None:
    decision = should_stop(votes((1, JOY), (2, FEAR), (3, ANGER)), {}, 3, class_count=5)
    assert (decision.stop, decision.reason, decision.answers) == (True, "limit", 3)
    assert not should_stop([], {}, 3, class_count=5).stop


def test_transcripts_stop_when_two_agree_but_not_on_blanks() -> None:
    assert should_stop_text(["Bonjour le monde", "bonjour, le monde"], 5).reason == "confident"
    assert not should_stop_text(["bonjour le monde", "bonsoir la lune"], 5).stop
    assert not should_stop_text(["", " "], 5).stop
    assert should_stop_text(["", ""], 2).reason == "limit"
    assert not should_stop_text([], 5).stop
