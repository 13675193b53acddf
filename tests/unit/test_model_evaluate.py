"""Classification metrics, the confidence threshold, confusion plots and the focal loss."""

from __future__ import annotations

import numpy as np
import pytest

from hil.model.evaluate import classification_metrics, plot_confusion, to_probs
from hil.quant import dequantize
from hil.model.losses import balanced_class_weights, focal_loss_np

NAMES = ["SR", "SB", "AFIB", "GSVT"]


def _probs(rows):
    return np.asarray(rows, np.float64)


def test_metrics_on_a_hand_counted_case():
    y = np.array([0, 0, 0, 1, 1, 2, 3, 3])
    # predictions: 0,0,1 | 1,1 | 2 | 3,0
    p = _probs([
        [0.9, 0.05, 0.03, 0.02], [0.6, 0.2, 0.1, 0.1], [0.3, 0.4, 0.2, 0.1],
        [0.1, 0.8, 0.05, 0.05], [0.2, 0.45, 0.2, 0.15],
        [0.0, 0.0, 1.0, 0.0],
        [0.1, 0.1, 0.1, 0.7], [0.35, 0.3, 0.05, 0.3],
    ])
    m = classification_metrics(y, p, NAMES, threshold=0.5)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["confusion"] == [[2, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]]
    sr = m["per_class"]["SR"]
    assert sr["precision"] == pytest.approx(2 / 3) and sr["recall"] == pytest.approx(2 / 3) and sr["support"] == 3
    sb = m["per_class"]["SB"]
    assert sb["precision"] == pytest.approx(2 / 3) and sb["recall"] == pytest.approx(1.0)
    f1 = [2 / 3, 0.8, 1.0, 2 / 3]
    assert m["f1_macro"] == pytest.approx(np.mean(f1))
    assert m["f1_weighted"] == pytest.approx(np.dot(f1, [3, 2, 1, 2]) / 8)
    th = m["thresholded"]
    # top probability < 0.5: rows 2 (0.4), 4 (0.45), 7 (0.35) are dropped; the five kept are all correct
    assert th["dropped"] == pytest.approx(3 / 8)
    assert th["accuracy"] == pytest.approx(1.0)
    assert th["windows"] == 5


def test_logits_and_probabilities_give_the_same_metrics():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(50, 4)) * 3
    y = rng.integers(0, 4, 50)
    a = classification_metrics(y, logits, NAMES, 0.6)
    b = classification_metrics(y, to_probs(logits), NAMES, 0.6)
    assert a == b


def test_absent_class_is_left_out_of_macro_f1():
    y = np.array([0, 0, 1, 1])
    p = np.eye(4)[[0, 0, 1, 0]]
    m = classification_metrics(y, p, NAMES, 0.5)
    assert m["per_class"]["AFIB"]["support"] == 0
    assert m["f1_macro"] == pytest.approx(np.mean([0.8, 2 / 3]))


def test_shape_errors():
    with pytest.raises(ValueError, match="3 outputs but 4 class names"):
        classification_metrics(np.zeros(2, int), np.zeros((2, 3)), NAMES, 0.5)


def test_dequantize():
    assert dequantize(np.array([[-128, 0, 127]], np.int8), 0.5, -10).tolist() == [[-59.0, 5.0, 68.5]]


def test_confusion_png(tmp_path):
    rng = np.random.default_rng(0)
    m = classification_metrics(rng.integers(0, 4, 40), rng.normal(size=(40, 4)), NAMES, 0.5)
    out = plot_confusion(m, NAMES, tmp_path / "c.png", "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_balanced_weights():
    w = balanced_class_weights([10, 30, 20, 40])
    assert w == pytest.approx([2.5, 100 / 120, 1.25, 0.625])
    assert np.dot(w, [10, 30, 20, 40]) == pytest.approx(100)  # every class carries the same total weight


def test_focal_loss_keras_matches_numpy_and_reduces_to_cross_entropy():
    import keras

    from hil.model.losses import WeightedFocalLoss

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(16, 4)).astype(np.float32) * 2
    y = rng.integers(0, 4, 16)
    w = [1.0, 2.0, 0.5, 3.0]
    k = float(WeightedFocalLoss(w, 2.0)(y, logits))
    assert k == pytest.approx(focal_loss_np(logits, y, w, 2.0), rel=1e-5)
    ce = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))
    assert float(WeightedFocalLoss([1.0] * 4, 0.0)(y, logits)) == pytest.approx(ce, rel=1e-5)
    # focusing down-weights easy (confident, correct) windows
    easy = np.array([[8.0, 0, 0, 0]], np.float32)
    assert focal_loss_np(easy, np.array([0]), [1] * 4, 2.0) < focal_loss_np(easy, np.array([0]), [1] * 4, 0.0) / 100
