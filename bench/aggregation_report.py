"""Bench: the crowd-simulation report of issue 6 over several seeds (not run by pytest).

Run from the project root: ``.venv/bin/python -m bench.aggregation_report [--seeds 0-19]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterable, Sequence

from tests.crowds import (
    LabelReport,
    TextReport,
    format_report,
    run_label_simulation,
    run_text_simulation,
)


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` or ``"1,5,9"`` into a list of seeds."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def _mean(values: Iterable[float]) -> str:
    return f"{statistics.fmean(values):.3f}"


def label_summary(labels: Sequence[LabelReport]) -> list[str]:
    """Mean accuracies over the seeds and the worst margins over plain majority."""
    saved = statistics.fmean(1 - r.early_answers / r.full_answers for r in labels)
    return [
        f"  labels: majority {_mean(r.majority for r in labels)}, weighted "
        f"{_mean(r.weighted for r in labels)}, Dawid-Skene {_mean(r.dawid_skene for r in labels)}",
        f"  smallest margin over majority: weighted "
        f"{min(r.weighted - r.majority for r in labels):+.3f}, Dawid-Skene "
        f"{min(r.dawid_skene - r.majority for r in labels):+.3f}, early stopping "
        f"{min(r.early_accuracy - r.majority for r in labels):+.3f}",
        f"  early stopping: {saved:.0%} of answers saved, accuracy "
        f"{_mean(r.early_accuracy for r in labels)}",
    ]


def text_summary(texts: Sequence[TextReport]) -> list[str]:
    """Mean word error rates over the seeds."""
    saved = statistics.fmean(1 - r.early_answers / r.full_answers for r in texts)
    return [
        f"  transcription WER: random single {_mean(r.random_single_wer for r in texts)}, "
        f"medoid {_mean(r.medoid_wer for r in texts)}, ROVER {_mean(r.rover_wer for r in texts)}",
        f"  smallest margin of ROVER under the medoid: "
        f"{min(r.medoid_wer - r.rover_wer for r in texts):+.3f}",
        f"  transcription early stopping: {saved:.0%} saved, medoid WER "
        f"{_mean(r.early_medoid_wer for r in texts)}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0-9", help="a range such as 0-9, or a list 1,5,9")
    seeds = parse_seeds(parser.parse_args(argv).seeds)
    labels, texts = [], []
    for seed in seeds:
        labels.append(run_label_simulation(seed))
        texts.append(run_text_simulation(seed))
        print(format_report(labels[-1], texts[-1]), flush=True)
    print("\n".join([f"over {len(seeds)} seeds:", *label_summary(labels), *text_summary(texts)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
