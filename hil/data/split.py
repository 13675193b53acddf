"""Patient split (ARCHITECTURE.md): the last ``test_fraction`` of sorted patient ids are
the test set; ``val_fraction`` of the rest, drawn per class with the seed
(stratified), is validation; the remainder trains.  No patient is in two splits.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

SPLITS = ("train", "val", "test")


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))


def split_patients(
    labels: Mapping[str, int], test_fraction: float, val_fraction: float, seed: int
) -> dict[str, str]:
    """patient id -> "train" | "val" | "test" (deterministic for the inputs)."""
    ids = sorted(labels)
    n_test = _round(len(ids) * test_fraction)
    out = {pid: "test" for pid in ids[len(ids) - n_test :]}
    rest = ids[: len(ids) - n_test]
    rng = np.random.default_rng(seed)
    for cls in sorted({labels[p] for p in rest}):
        members = [p for p in rest if labels[p] == cls]  # sorted, so the draw depends only on the seed
        n_val = _round(len(members) * val_fraction)
        chosen = set(rng.permutation(len(members))[:n_val].tolist())
        for i, p in enumerate(members):
            out[p] = "val" if i in chosen else "train"
    return out
