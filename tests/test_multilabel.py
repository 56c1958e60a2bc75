"""Multi-label aggregation (``bot/multilabel.py``): one binary model per label, never per set."""

from __future__ import annotations

import random
import time

import pytest

from bot.aggregation import Vote, dawid_skene
from bot.compute import Compute, offload
from bot.multilabel import dawid_skene_per_label

LABELS = [f"tag{n}" for n in range(10)]
CAR, DOG, PERSON = "car", "dog", "person"


def noisy(truth: frozenset[str], accuracy: float, rng: random.Random) -> frozenset[str]:
    """Each label judged right with ``accuracy``, independently."""
    return frozenset(label for label in LABELS if (label in truth) == (rng.random() < accuracy))


def crowd_batch(
    seed: int, items: int = 600
) -> tuple[dict[int, frozenset[str]], dict[int, list[Vote]]]:
    """Items with random tag sets; 5 answers each from 40 workers, a few of them spammers."""
    rng = random.Random(seed)
    accuracy = {w: (0.5 if w <= 6 else rng.uniform(0.8, 0.97)) for w in range(1, 41)}
    truth = {
        item: frozenset(label for label in LABELS if rng.random() < 0.3) for item in range(items)
    }
    votes = {
        item: [Vote(w, noisy(truth[item], accuracy[w], rng)) for w in rng.sample(range(1, 41), 5)]
        for item in truth
    }
    return truth, votes


def per_label_majority(votes: list[Vote]) -> frozenset[str]:
    return frozenset(x for x in LABELS if sum(x in v.labels for v in votes) * 2 > len(votes))


def test_five_hundred_distinct_label_sets_aggregate_per_label() -> None:
    truth, votes = crowd_batch(seed=10)
    assert len({v.labels for given in votes.values() for v in given}) >= 500
    started = time.process_time()
    result = dawid_skene(votes, multiple=True)
    used = time.process_time() - started
    right = sum(result.items[i].answer == truth[i] for i in truth) / len(truth)
    majority = sum(per_label_majority(votes[i]) == truth[i] for i in truth) / len(truth)
    print(
        f"\n600 items, 10 labels: exact sets {right:.3f} (per-label majority {majority:.3f}), "
        f"{used:.2f} s of CPU"
    )
    assert right >= majority
    assert right > 0.8
    assert result.converged
    assert {c for c in result.classes} == {frozenset({label}) for label in LABELS}
    spammers = [result.worker_accuracy[w] for w in range(1, 7)]
    good = [result.worker_accuracy[w] for w in range(7, 41)]
    assert max(spammers) < min(good)
    assert all(0 < item.confidence <= 1 for item in result.items.values())


def test_an_item_answer_is_the_labels_more_likely_there_than_not() -> None:
    votes = {
        1: [
            Vote(1, frozenset({CAR, DOG})),
            Vote(2, frozenset({CAR})),
            Vote(3, frozenset({CAR, DOG})),
        ],
        2: [Vote(1, frozenset()), Vote(2, frozenset()), Vote(3, frozenset({PERSON}))],
    }
    result = dawid_skene(votes, multiple=True)
    assert result.items[1].answer == frozenset(
        {CAR, DOG}
    )  # no voter gave exactly... all agree on car
    assert result.items[1].agreement == pytest.approx(2 / 3)
    assert result.items[2].answer == frozenset()
    assert result.items[2].answers == 3


def test_gold_items_keep_their_labels() -> None:
    votes = {1: [Vote(1, frozenset({CAR})), Vote(2, frozenset({CAR}))]}
    result = dawid_skene(votes, gold={1: frozenset({CAR, PERSON})}, multiple=True)
    assert result.items[1].answer == frozenset({CAR, PERSON})
    assert result.items[1].confidence == 1.0


def test_a_mix_no_single_worker_gave_can_win() -> None:
    # Three workers each miss a different label: the per-label answer is the full set.
    votes = {
        1: [
            Vote(1, frozenset({CAR, DOG})),
            Vote(2, frozenset({DOG, PERSON})),
            Vote(3, frozenset({CAR, PERSON})),
        ]
    }
    found = dawid_skene_per_label(
        {item: [(v.worker_id, v.labels) for v in given] for item, given in votes.items()}, gold={}
    )
    assert found.items[1].answer == frozenset({CAR, DOG, PERSON})
    assert found.labels == (CAR, DOG, PERSON)


def test_no_answers_give_no_items() -> None:
    empty = dawid_skene({}, multiple=True)
    assert empty.items == {}
    assert empty.converged


async def test_aggregation_runs_in_a_worker_process() -> None:
    _, votes = crowd_batch(seed=3, items=50)
    inline = dawid_skene(votes, multiple=True)
    compute = Compute(workers=1)
    try:
        remote = await compute.run(_fit, votes)
    finally:
        await compute.shutdown()
    assert remote.items == inline.items
    threaded = await offload(_fit, votes)  # no pool installed: a thread
    assert threaded.items == inline.items


def _fit(votes: dict[int, list[Vote]]):  # top level: picklable for the worker process
    return dawid_skene(votes, multiple=True)
