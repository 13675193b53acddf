"""LSAD data: reader, store, labels, patient split, windows, preprocessing, synthetic LSAD, download.

Public API (see docs/data.md)::

    from hil.data import prepare_dataset, default_dataset, PreparedDataset, Windows, WindowRef
    from hil.data.preprocess import preprocess
"""

from hil.data.dataset import PreparedDataset, default_dataset, prepare_dataset
from hil.data.windows import WindowRef, Windows

__all__ = ["PreparedDataset", "Windows", "WindowRef", "default_dataset", "prepare_dataset"]
