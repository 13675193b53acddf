"""Focal cross-entropy on logits with per-class weights (the guide's loss).

loss_i = w[y_i] * (1 - p_{y_i})^gamma * -log p_{y_i}, averaged over the batch.
The class weights live inside the loss so validation loss is weighted the same
way as training loss and early stopping compares like with like.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def balanced_class_weights(counts: Sequence[int]) -> list[float]:
    """n / (k * n_c) per class, as sklearn's ``class_weight='balanced'``; callers reject empty classes first."""
    c = np.asarray(counts, np.float64)
    return (c.sum() / (len(c) * c)).tolist()


def focal_loss_np(logits: np.ndarray, y: np.ndarray, weights: Sequence[float], gamma: float) -> float:
    """The same loss in numpy (validation metrics computed from one predict pass)."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    lp = logp[np.arange(len(y)), y]
    w = np.asarray(weights, np.float64)[y]
    return float(np.mean(w * (1.0 - np.exp(lp)) ** gamma * -lp))


def _make_class():
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="hil")
    class WeightedFocalLoss(keras.losses.Loss):
        def __init__(self, class_weights: Sequence[float] | None = None, gamma: float = 2.0, name: str = "focal", **kw):
            super().__init__(name=name, **kw)
            self.class_weights = [float(w) for w in class_weights] if class_weights is not None else None
            self.gamma = float(gamma)

        def call(self, y_true, y_pred):
            y = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            logp = ops.log_softmax(y_pred, axis=-1)
            onehot = ops.one_hot(y, ops.shape(y_pred)[-1], dtype=logp.dtype)
            lp = ops.sum(logp * onehot, axis=-1)
            loss = -lp * ops.power(1.0 - ops.exp(lp), self.gamma)
            if self.class_weights is not None:
                w = ops.convert_to_tensor(self.class_weights, dtype=logp.dtype)
                loss = loss * ops.take(w, y)
            return loss

        def get_config(self):
            return {**super().get_config(), "class_weights": self.class_weights, "gamma": self.gamma}

    return WeightedFocalLoss


_CLASS = None


def WeightedFocalLoss(*args, **kw):  # noqa: N802 - a factory that behaves like the class
    global _CLASS
    if _CLASS is None:
        _CLASS = _make_class()
    return _CLASS(*args, **kw)


def custom_objects() -> dict:
    """What keras.models.load_model needs to read a training checkpoint."""
    WeightedFocalLoss()  # registers the class
    return {"hil>WeightedFocalLoss": _CLASS}
