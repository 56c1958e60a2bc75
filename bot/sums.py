"""Aggregation rules' array helper: sums in the order the pure-Python rules added (numpy).

Floating-point addition is not associative, and numpy's ``sum`` adds a row pairwise; the EM
fits (``bot/dawid_skene.py``, ``bot/multilabel.py``) add left to right, as the loops they
replaced did, so a tie between two classes breaks the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def sequential_sum(values: Floats) -> Floats:
    """The sums over the last axis, added left to right (zeros when it is empty)."""
    if values.shape[-1] == 0:
        return np.zeros(values.shape[:-1])
    total = values[..., 0].copy()
    for k in range(1, values.shape[-1]):
        total += values[..., k]
    return total


def ordered_sum(values: Floats) -> float:
    """The sum of a vector added left to right (Python's ``sum``, not numpy's pairwise one)."""
    return float(sum(values.tolist()))


def add_into(bins: npt.NDArray[np.intp], weights: Floats, size: int) -> Floats:
    """``size`` totals: each weight added to its bin, in input order (``np.bincount``)."""
    return np.bincount(bins, weights=weights, minlength=size).astype(np.float64, copy=False)
