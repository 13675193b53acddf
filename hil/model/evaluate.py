"""Classification metrics and confusion-matrix plots, with and without the confidence threshold.

Always computed on the held-out test windows by the callers (never the
validation windows, which select the model and calibrate quantisation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


def to_probs(scores: np.ndarray) -> np.ndarray:
    """Probabilities from logits or probabilities (rows already in [0, 1] summing to 1 pass through)."""
    s = np.asarray(scores, np.float64)
    if s.ndim != 2:
        raise ValueError(f"expected scores of shape [N, C], got {s.shape}")
    if s.size and s.min() >= 0 and s.max() <= 1 and np.allclose(s.sum(axis=1), 1.0, atol=1e-3):
        return s
    z = s - s.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return m


def _scores(cm: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    n = int(cm.sum())
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0
    f1_macro = float(f1[present].mean()) if present.any() else 0.0
    f1_weighted = float((f1 * support).sum() / support.sum()) if n else 0.0
    return {
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "f1_macro": f1_macro,
        "f1_weighted": f1_weighted,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion": cm.tolist(),
        "windows": n,
    }


def classification_metrics(
    y_true: np.ndarray, scores: np.ndarray, class_names: Sequence[str], threshold: float = 0.5
) -> dict[str, Any]:
    """accuracy, f1_macro, f1_weighted, per_class, confusion, and the same under ``thresholded``
    for the windows whose top probability reaches ``threshold`` (``dropped``: share left out).

    Macro F1 averages the classes present in ``y_true`` (an absent class has no recall to score).
    """
    y_true = np.asarray(y_true, np.int64)
    probs = to_probs(scores)
    if len(y_true) != len(probs):
        raise ValueError(f"{len(y_true)} labels but {len(probs)} score rows")
    k = len(class_names)
    if probs.shape[1] != k:
        raise ValueError(f"{probs.shape[1]} outputs but {k} class names")
    y_pred = probs.argmax(axis=1)
    out = _scores(confusion_matrix(y_true, y_pred, k), class_names)
    keep = probs.max(axis=1) >= threshold
    th = _scores(confusion_matrix(y_true[keep], y_pred[keep], k), class_names)
    th["dropped"] = float(1.0 - keep.mean()) if len(keep) else 0.0
    th["threshold"] = float(threshold)
    out["thresholded"] = th
    return out


def plot_confusion(metrics: dict[str, Any], class_names: Sequence[str], path: Path, title: str) -> Path:
    """PNG with counts and row-normalised confusion, without and with the threshold (2 x 2 panels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    th = metrics["thresholded"]
    rows = [
        (f"all windows (acc {metrics['accuracy']:.3f}, F1 {metrics['f1_macro']:.3f})", np.asarray(metrics["confusion"])),
        (
            f"top prob ≥ {th['threshold']:g}, {th['dropped']:.1%} dropped (acc {th['accuracy']:.3f}, F1 {th['f1_macro']:.3f})",
            np.asarray(th["confusion"]),
        ),
    ]
    k = len(class_names)
    fig, axes = plt.subplots(2, 2, figsize=(9, 8.5), squeeze=False)
    for r, (label, cm) in enumerate(rows):
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
        for c, (mat, fmt, name) in enumerate(((cm, "d", "counts"), (norm, ".2f", "normalised"))):
            ax = axes[r][c]
            ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
            for i in range(k):
                for j in range(k):
                    ax.text(j, i, format(mat[i, j], fmt), ha="center", va="center",
                            color="white" if norm[i, j] > 0.6 else "black", fontsize=9)
            ax.set_xticks(range(k), class_names)
            ax.set_yticks(range(k), class_names)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{name}: {label}" if c == 0 else name, fontsize=8, loc="left")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
