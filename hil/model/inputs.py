"""The dataset a training or export runs on: --dataset, else the default (LSAD copy or synthetic)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hil.config import ModelConfig, work_dir

if TYPE_CHECKING:
    from hil.data import PreparedDataset


def open_dataset(cfg: ModelConfig, dataset: Path | None, work: Path | None, *, progress: bool = True) -> "PreparedDataset":
    from hil.data import default_dataset, prepare_dataset
    from hil.data.dataset import find_lsad

    work = work_dir(work)
    root = (find_lsad(dataset) or Path(dataset)) if dataset else default_dataset(cfg, work, progress=progress)
    return prepare_dataset(cfg, root, work, progress=progress)
