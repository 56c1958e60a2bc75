"""Bench: the quality benchmark, our aggregation against crowd-kit's on seeded crowds (issue 16).

Run from the project root with the benchmark extra installed (``pip install -e '.[quality]'``):

    .venv/bin/python -m bench.quality [--seeds 0-4]

Prints three tables: label accuracy per crowd (our methods, crowd-kit's, the best crowd-kit
method and our gap to it, our expected calibration error), transcript word error rates (our
ROVER, weighted ROVER, crowd-kit's ROVER), and answers bought by dynamic overlap with routing
against a fixed overlap of 5. Without crowd-kit the crowd-kit columns are left out.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Callable, Mapping, Sequence

from bench.aggregation_report import parse_seeds
from bench.quality_crowds import (
    ITEMS,
    LABEL_CROWDS,
    OVERLAP,
    TEXT_CROWDS,
    LabelCrowd,
    fixed_overlap,
    make_label_crowd,
    make_text_crowd,
    text_answers,
)
from bot.aggregation import majority_vote, rover_transcript
from bot.dawid_skene import DawidSkeneResult, dawid_skene
from bot.model_choice import best_dawid_skene
from bot.overlap import OVERLAP_RULE, OverlapRule, batch_stopping, rank_workers
from bot.quality import word_error_rate
from bot.text_consensus import TextAnswer, weighted_rover_batch
from bot.votes import Vote

Rows = list[tuple[int, int, int]]
Predictor = Callable[[Rows], dict[int, int]]
BINS = 10
TOLERANCE = 0.01
"""Equal accuracy, for dynamic overlap against fixed overlap 5: within one point (as item 3's
"within 1 point of the best"); the target is at least ``SAVING`` of the answers saved."""
SAVING = 0.30


def _votes(rows: Rows) -> dict[int, list[Vote]]:
    votes: dict[int, list[Vote]] = {}
    for item, worker, label in rows:
        votes.setdefault(item, []).append(Vote(worker, frozenset({str(label)})))
    return votes


def _classes(fitted: DawidSkeneResult) -> dict[int, int]:
    return {item: int(next(iter(found.answer))) for item, found in fitted.items.items()}


def ours() -> dict[str, Predictor]:
    """Our label methods by name; ``auto`` is the one ``/results`` uses."""
    return {
        "majority": lambda rows: {
            item: int(next(iter(majority_vote(v, class_count=5).answer)))
            for item, v in _votes(rows).items()
        },
        "ds-full": lambda rows: _classes(dawid_skene(_votes(rows))),
        "ds-1coin": lambda rows: _classes(dawid_skene(_votes(rows), model="one-coin")),
        "auto": lambda rows: _classes(best_dawid_skene(_votes(rows))),
    }


def crowdkit() -> dict[str, Predictor]:
    """crowd-kit's methods by name; empty when it is not installed."""
    try:
        import pandas as pd
        from crowdkit import aggregation as ck
    except ImportError:
        return {}

    def run(method: Callable[[], object]) -> Predictor:
        def predict(rows: Rows) -> dict[int, int]:
            frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
            found = method().fit_predict(frame)  # type: ignore[attr-defined]
            return {int(task): int(label) for task, label in found.items()}

        return predict

    return {
        "ck-MV": run(ck.MajorityVote),
        "ck-Wawa": run(ck.Wawa),
        "ck-DS": run(lambda: ck.DawidSkene(n_iter=100)),
        "ck-1coin": run(lambda: ck.OneCoinDawidSkene(n_iter=100)),
        "ck-GLAD": run(ck.GLAD),
    }


def accuracy(predicted: Mapping[int, int], truth: Mapping[int, int]) -> float:
    return sum(predicted.get(item) == label for item, label in truth.items()) / len(truth)


def calibration_error(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Expected calibration error over ``BINS`` equal-width confidence bins."""
    bins: dict[int, list[tuple[float, bool]]] = {}
    for confidence, right in zip(confidences, correct, strict=True):
        bins.setdefault(min(BINS - 1, int(confidence * BINS)), []).append((confidence, right))
    return sum(
        abs(statistics.fmean(c for c, _ in group) - statistics.fmean(r for _, r in group))
        * len(group)
        for group in bins.values()
    ) / len(confidences)


def _ece(rows: Rows, crowd: LabelCrowd) -> float:
    fitted = best_dawid_skene(_votes(rows))
    found = [
        (f.confidence, int(next(iter(f.answer))) == crowd.truth[i]) for i, f in fitted.items.items()
    ]
    return calibration_error([c for c, _ in found], [r for _, r in found])


def label_table(seeds: Sequence[int]) -> list[str]:
    methods = {**ours(), **crowdkit()}
    theirs = [name for name in methods if name.startswith("ck-")]
    lines = ["| crowd | " + " | ".join(methods) + " | best crowd-kit | gap (auto) | ECE (auto) |"]
    lines.append("|---" * (len(methods) + 4) + "|")
    for name in LABEL_CROWDS:
        scores: dict[str, list[float]] = {method: [] for method in methods}
        eces = []
        for seed in seeds:
            crowd = make_label_crowd(name, seed)
            rows = fixed_overlap(crowd, seed)
            for method, predict in methods.items():
                scores[method].append(accuracy(predict(rows), crowd.truth))
            eces.append(_ece(rows, crowd))
        mean = {method: statistics.fmean(values) for method, values in scores.items()}
        best = max(theirs, key=lambda m: mean[m]) if theirs else "auto"
        cells = " | ".join(f"{mean[m]:.3f}" for m in methods)
        gap = mean["auto"] - mean[best]
        lines.append(
            f"| {name} | {cells} | {best} {mean[best]:.3f} | {gap:+.3f} | "
            f"{statistics.fmean(eces):.3f} |"
        )
    return lines


def text_table(seeds: Sequence[int]) -> list[str]:
    try:
        import pandas as pd
        from crowdkit.aggregation import ROVER
    except ImportError:
        pd = None
    lines = [
        "| transcripts | ROVER | weighted ROVER (ours) | crowd-kit ROVER |",
        "|---|---|---|---|",
    ]
    for name in TEXT_CROWDS:
        wers: dict[str, list[float]] = {"plain": [], "weighted": [], "ck": []}
        for seed in seeds:
            crowd = make_text_crowd(name, seed)
            rows = text_answers(crowd, seed)
            by_item: dict[int, list[TextAnswer]] = {}
            for item, worker, text in rows:
                by_item.setdefault(item, []).append(TextAnswer(worker, text))
            found = {
                "plain": {
                    i: rover_transcript([a.text for a in g]).text for i, g in by_item.items()
                },
                "weighted": {i: r.text for i, r in weighted_rover_batch(by_item).items.items()},
            }
            if pd is not None:
                rover = ROVER(tokenizer=lambda s: s.split(" "), detokenizer=" ".join)
                frame = pd.DataFrame(rows, columns=["task", "worker", "text"])
                found["ck"] = {int(k): str(v) for k, v in rover.fit_predict(frame).items()}
            for method, texts in found.items():
                wers[method].append(
                    statistics.fmean(word_error_rate(crowd.truth[i], texts[i]) for i in crowd.truth)
                )
        cells = [f"{statistics.fmean(v):.4f}" if v else "n/a" for v in wers.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def fixed_answers(crowd: LabelCrowd, seed: int) -> tuple[int, float]:
    """Answers bought and accuracy with a fixed overlap of ``OVERLAP`` (what ``/results`` gives)."""
    rows = fixed_overlap(crowd, seed)
    return len(rows), accuracy(_classes(best_dawid_skene(_votes(rows))), crowd.truth)


def dynamic_overlap(
    crowd: LabelCrowd, seed: int, rule: OverlapRule = OVERLAP_RULE
) -> tuple[int, float]:
    """Answers bought and accuracy with dynamic overlap and routing (``bot/overlap.py``): each
    round, every item still uncertain (``batch_stopping``: the model choice on every answer so
    far) gets one answer from the best-ranked free worker; the result is what ``/results`` would
    give (``best_dawid_skene``) on the answers bought."""
    rng = random.Random(f"dynamic:{crowd.name}:{seed}")
    workers = sorted(crowd.confusions)
    capacity = -(-len(crowd.truth) * OVERLAP // len(workers))
    answers: dict[int, list[Vote]] = {item: [] for item in crowd.truth}
    load: dict[int, int] = {}
    estimated: Mapping[int, float] = {}
    pending = sorted(crowd.truth)
    while pending:
        for item in pending:
            taken = {vote.worker_id for vote in answers[item]}
            free = [w for w in workers if w not in taken]
            rng.shuffle(free)
            worker = rank_workers(free, estimated, load, capacity)[0]
            load[worker] = load.get(worker, 0) + 1
            label = crowd.answer(worker, item, rng)
            answers[item].append(Vote(worker, frozenset({str(label)})))
        stopping = batch_stopping(answers, rule)
        estimated = stopping.accuracy
        pending = stopping.pending({item: len(votes) for item, votes in answers.items()})
    fitted = best_dawid_skene(answers)
    return sum(map(len, answers.values())), accuracy(_classes(fitted), crowd.truth)


def overlap_table(
    seeds: Sequence[int], items: int = ITEMS, crowds: Sequence[str] = LABEL_CROWDS
) -> list[str]:
    """Answers bought and accuracy, fixed overlap 5 against dynamic overlap with routing, per
    crowd (``items`` per crowd and fewer ``crowds`` for a short run)."""
    lines = [
        "| crowd | fixed overlap 5: answers, accuracy | dynamic + routing: answers, accuracy "
        f"| answers saved | met (>= {SAVING:.0%} saved, accuracy within {TOLERANCE:.2f}) |",
        "|---|---|---|---|---|",
    ]
    for name in crowds:
        fixed, dynamic, fixed_acc, dynamic_acc = [], [], [], []
        for seed in seeds:
            crowd = make_label_crowd(name, seed, items=items)
            bought, right = fixed_answers(crowd, seed)
            fixed.append(bought)
            fixed_acc.append(right)
            bought, right = dynamic_overlap(crowd, seed)
            dynamic.append(bought)
            dynamic_acc.append(right)
        saved = 1 - sum(dynamic) / sum(fixed)
        gap = statistics.fmean(dynamic_acc) - statistics.fmean(fixed_acc)
        met = "yes" if saved >= SAVING and gap >= -TOLERANCE else "no"
        lines.append(
            f"| {name} | {statistics.fmean(fixed):.0f}, {statistics.fmean(fixed_acc):.3f} | "
            f"{statistics.fmean(dynamic):.0f}, {statistics.fmean(dynamic_acc):.3f} | {saved:.0%} "
            f"| {met} ({gap:+.3f}) |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--part", choices=["labels", "texts", "overlap", "all"], default="all")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    tables = {"labels": label_table, "texts": text_table, "overlap": overlap_table}
    for part, table in tables.items():
        if args.part in (part, "all"):
            print("\n".join(table(seeds)), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
