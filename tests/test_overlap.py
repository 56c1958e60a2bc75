"""Dynamic overlap and routing (``bot/overlap.py``): the rules, and routing in the dispatcher."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.quality_crowds import fixed_overlap, make_label_crowd
from bot.aggregation import should_stop_text
from bot.dispatch import dispatch_pass
from bot.overlap import (
    OVERLAP_RULE,
    POOLED_THRESHOLD,
    agreed_confidence,
    batch_stopping,
    is_dynamic,
    needs_more,
    preferred_workers,
    refit,
    route_order,
    rule_for,
    stopping_confidences,
    worker_order,
)
from bot.votes import LabelResult, Vote
from storage.assignments import assignments_of_batch
from storage.db import Database
from storage.quality import record_gold
from tests.builders import NOW, POLICY, item_ids, publish_batch, submit, workers


def result(answer: str, confidence: float) -> LabelResult:
    return LabelResult(frozenset({answer}), confidence, 1.0, 2)


def test_the_most_answers_wins_over_the_least_and_the_tuned_rule() -> None:
    assert not needs_more(0.0, 1, threshold=0.9, least=2, most=1)  # one answer per item asked
    assert OVERLAP_RULE.needs_more(0.84, 2)
    assert not OVERLAP_RULE.needs_more(0.86, 2)
    assert should_stop_text(["bonjour"], 1).stop is not False  # the loop's limit still holds


def test_models_that_disagree_are_not_sure_at_all() -> None:
    assert agreed_confidence([result("car", 0.99), result("car", 0.93)]) == 0.93
    assert agreed_confidence([result("car", 0.99), result("dog", 0.97)]) == 0.0
    assert agreed_confidence([]) == 0.0


def test_stopping_confidences_trust_agreement_and_doubt_a_lone_answer() -> None:
    votes = {
        item: [Vote(worker, frozenset({"car"})) for worker in (1, 2, 3)] for item in range(1, 6)
    }
    votes[6] = [Vote(1, frozenset({"car"})), Vote(2, frozenset({"dog"}))]
    confidences, accuracy = stopping_confidences(votes)
    assert all(confidences[item] > 0.9 for item in range(1, 6))
    assert confidences[6] < 0.9
    assert set(accuracy) == {1, 2, 3}


def test_an_items_first_answers_ignore_the_estimates_and_later_ones_go_to_the_preferred() -> None:
    accuracy = {1: 0.6, 2: 0.95, 3: 0.8, 4: 0.9}
    preferred = preferred_workers(accuracy)
    assert preferred == {2, 4}  # the best quarter of four: the bar is the second best's 0.9
    load = {4: 50}  # at capacity: last in every case
    assert worker_order([1, 2, 3, 4], 0, preferred, load, capacity=50) == [1, 2, 3, 4]
    assert worker_order([1, 2, 3, 4], 1, preferred, load, capacity=50) == [1, 2, 3, 4]
    assert worker_order([3, 1, 2, 4], 2, preferred, load, capacity=50) == [2, 3, 1, 4]
    assert worker_order([3, 1, 4], 2, preferred, load, capacity=50) == [3, 1, 4]
    assert preferred_workers({}) == frozenset()
    assert preferred_workers({7: 0.8, 8: 0.8}) == {7, 8}  # ties are all in


def test_the_most_doubtful_items_are_pending_first() -> None:
    stopping = batch_stopping(
        {
            1: [Vote(1, frozenset({"car"})), Vote(2, frozenset({"dog"}))],
            2: [Vote(1, frozenset({"car"})), Vote(2, frozenset({"car"}))],
            3: [Vote(3, frozenset({"dog"}))],
        }
    )
    pending = stopping.pending({1: 2, 2: 2, 3: 1})
    assert set(pending) >= {1, 3}
    confidences = [stopping.confidences[item] for item in pending]
    assert confidences == sorted(confidences)


def test_routing_keeps_the_order_within_an_accuracy_band() -> None:
    accuracy = {1: 0.71, 2: 0.93, 3: 0.79, 5: 0.95}
    assert route_order([1, 2, 3, 4, 5], accuracy) == [2, 5, 1, 3, 4]


async def test_the_dispatcher_gives_a_scarce_slot_to_the_most_accurate_worker(
    db: Database, tmp_path: Path
) -> None:
    earlier = await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    (gold_item,) = await item_ids(db, earlier)
    scores = {501: 0.0, 502: 1.0}  # 503 has no gold answer yet
    for worker in (*scores, 503):
        await submit(db, earlier, gold_item, worker, "car")
    async with db.write() as tx:
        await tx.execute("UPDATE batches SET state = 'done' WHERE id = ?", (earlier,))
        for assignment in await assignments_of_batch(tx, earlier):
            if assignment.worker_id in scores:
                await record_gold(
                    tx,
                    assignment_id=assignment.id,
                    worker_id=assignment.worker_id,
                    task_type="image_tag",
                    item_id=gold_item,
                    score=scores[assignment.worker_id],
                    now=NOW,
                )
    await workers(db, [501, 502, 503])  # never served: 501 would go first
    await publish_batch(db, tmp_path, items=1, answers_per_item=1)
    offers = await dispatch_pass(db, POLICY, NOW)
    assert [offer.worker_id for offer in offers] == [502]


@pytest.mark.parametrize(("items", "model"), [(100, "pooled"), (60, "one-coin")])
def test_a_batch_stops_on_the_pooled_posterior_only_when_the_model_choice_keeps_it(
    items: int, model: str
) -> None:
    crowd = make_label_crowd("biased", 0, items=items)  # workers share a preference for "0"
    votes: dict[int, list[Vote]] = {}
    for item, worker, label in fixed_overlap(crowd, 0, overlap=3):
        votes.setdefault(item, []).append(Vote(worker, frozenset({str(label)})))
    stopping = batch_stopping(votes)
    assert stopping.model == model
    assert stopping.rule == (
        replace(OVERLAP_RULE, threshold=POOLED_THRESHOLD) if model == "pooled" else OVERLAP_RULE
    )
    assert set(stopping.confidences) == set(votes)
    assert set(stopping.accuracy) == set(crowd.confusions)
    pending = stopping.pending({item: 1 for item in votes})  # under ``least``: every item
    assert sorted(pending) == sorted(votes)
    assert [stopping.confidences[item] for item in pending] == sorted(stopping.confidences.values())


def test_a_refit_stops_the_sure_items_and_allows_the_others_one_more_answer() -> None:
    crowd = make_label_crowd("good", 0, items=60)
    votes: dict[int, list[Vote]] = {}
    for item, worker, label in fixed_overlap(crowd, 0):
        if len(votes.setdefault(item, [])) < 2:
            votes[item].append(Vote(worker, frozenset({str(label)})))
    decided = refit(votes, rule_for(5))
    stopping = batch_stopping({item: v for item, v in votes.items() if v}, rule_for(5))
    pending = stopping.pending({item: len(v) for item, v in votes.items() if v})
    assert [item for item, _ in decided.more] == pending  # the most doubtful first
    assert all(wanted == 3 for _, wanted in decided.more)
    assert set(decided.complete) == set(votes) - set(pending)
    assert decided.complete  # both kinds, on this crowd
    assert decided.more
    assert decided.accuracy == stopping.accuracy
    assert decided.preferred


def test_a_refit_decides_nothing_until_every_item_has_its_first_answers() -> None:
    votes = {
        1: [Vote(1, frozenset({"a"})), Vote(2, frozenset({"a"}))],
        2: [Vote(1, frozenset({"b"}))],
        3: [],
    }
    decided = refit(votes, rule_for(5))
    assert decided.complete == ()
    assert decided.more == ((2, 2), (3, 2))  # the first round's answers, nothing more
    assert decided.preferred == frozenset()


def test_a_refit_never_allows_more_than_the_batchs_answers_per_item() -> None:
    split = {1: [Vote(1, frozenset({"a"})), Vote(2, frozenset({"b"})), Vote(3, frozenset({"c"}))]}
    assert refit(split, rule_for(3)).complete == (1,)
    assert refit(split, rule_for(4)).more == ((1, 4),)
    assert not is_dynamic(2)
    assert is_dynamic(3)
