"""``prepare_dataset``: store (cached) -> labels -> patient split -> fixed window lists.

Outputs in ``<work>/<model>/data/`` (a stage folder with ``manifest.json``)::

    split.csv          record, label, class, split  (one row per labelled patient)
    windows-train.csv  a fixed list of training windows (for evaluating on train)
    windows-val.csv    validation windows (model selection, quantisation calibration)
    windows-test.csv   test windows: what every stage and board scores
    summary.json       counts per class and split, skipped records by reason

The folder is reused while the store, the class map, the split, the windowing
and the preprocessing are unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

import numpy as np

from hil.artifacts import (
    ArtifactPaths,
    is_fresh,
    read_manifest,
    sha256_file,
    sha256_json,
    write_json_atomic,
    write_manifest,
)
from hil.config import ModelConfig, TrainingCfg, WindowsCfg, work_dir
from hil.data.labels import LabelRule
from hil.data.preprocess import preprocess
from hil.data.reader import EXCLUSIONS
from hil.data.split import SPLITS, split_patients
from hil.data.store import Expected, Skip, Store, build_store, default_store_dir
from hil.data.windows import WindowRef, Windows, draw_windows, gather, read_refs, split_rng, write_refs
from hil.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

DATA_VERSION = 1
Split = Literal["train", "val", "test", "all"]
_LIST = {s: f"windows-{s}.csv" for s in SPLITS}


@dataclass
class PreparedDataset:
    """A converted, labelled and split dataset of one model config."""

    name: str
    path: Path  # the dataset folder (holding WFDBRecords/)
    fingerprint: str  # changes when data, labels, split, windows or preprocessing change
    cfg: ModelConfig
    store: Store
    data_dir: Path  # <work>/<model>/data
    labels: dict[str, int]  # record -> class index (labelled records only)
    splits: dict[str, str]  # record -> split
    skips: list[Skip] = field(default_factory=list)  # store skips + records without a class
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def class_names(self) -> list[str]:
        return list(self.cfg.classes.names)

    @property
    def rate_array(self) -> np.ndarray:
        return self.store.rate(self.cfg.preprocess.sample_rate)

    def patients(self, split: Split) -> list[str]:
        return sorted(p for p, s in self.splits.items() if split == "all" or s == split)

    def class_counts(self, split: Split | str, unit: Literal["patients", "windows"] = "patients") -> dict[str, int]:
        """Patients (or fixed-list windows) per class name in ``split`` ("all" for every split)."""
        _check_split(split)
        counts = {n: 0 for n in self.class_names}
        if unit == "windows":
            for s in SPLITS if split == "all" else (split,):
                _, y = self._refs(s)
                for c in y:
                    counts[self.class_names[int(c)]] += 1
            return counts
        for p in self.patients(split):  # type: ignore[arg-type]
            counts[self.class_names[self.labels[p]]] += 1
        return counts

    def skip_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.skips:
            out[s.reason] = out.get(s.reason, 0) + 1
        return dict(sorted(out.items()))

    def _refs(self, split: str) -> tuple[list[WindowRef], np.ndarray]:
        if split not in self._cache:
            self._cache[split] = read_refs(self.data_dir / _LIST[split])
        return self._cache[split]

    def refs(self, split: Split, limit: int | None = None) -> list[WindowRef]:
        _check_split(split)
        out: list[WindowRef] = []
        for s in SPLITS if split == "all" else (split,):
            out += self._refs(s)[0]
        return out[:limit] if limit is not None else out

    def windows(self, split: Split, limit: int | None = None) -> Windows:
        """The fixed windows of ``split`` (the first ``limit``; lists are stored shuffled, so a prefix is a fair sample)."""
        _check_split(split)
        refs: list[WindowRef] = []
        ys: list[np.ndarray] = []
        for s in SPLITS if split == "all" else (split,):
            r, y = self._refs(s)
            refs += r
            ys.append(y)
        y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
        if limit is not None:
            if limit < 0:
                raise DataError(f"window limit must be >= 0 (got {limit})")
            refs, y = refs[:limit], y[:limit]
        row_of = self._row_of()
        try:
            rows = np.array([row_of[r.record] for r in refs], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"window list names record {exc.args[0]} that is not in the store",
                            hint=f"delete {self.data_dir} to rebuild the lists") from None
        leads = np.array([r.lead for r in refs], dtype=np.int64)
        starts = np.array([r.start for r in refs], dtype=np.int64)
        frame = self.cfg.preprocess.frame_size
        x = gather(self.rate_array, self._gains(), rows, leads, starts, frame)
        return Windows(preprocess(x, self.cfg), y.astype(np.int64), refs, self.class_names)

    def _row_of(self) -> dict[str, int]:
        if "row_of" not in self._cache:
            self._cache["row_of"] = {r.name: r.row for r in self.store.records}
        return self._cache["row_of"]

    def _gains(self) -> np.ndarray:
        if "gains" not in self._cache:
            self._cache["gains"] = self.store.gains()
        return self._cache["gains"]

    # ------------------------------------------------------------------ training input

    def train_batches(self, training: TrainingCfg, windows: WindowsCfg) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Endless (x float32 [B, frame], y int32 [B]) batches of fresh random training windows.

        Each pass over the training patients draws ``train_samples_per_patient``
        new windows per patient (new lead and start), shuffled; the sequence is
        fixed by ``training.seed``.
        """
        patients = self.patients("train")
        if not patients:
            raise DataError(f"{self.name}: the training split is empty", hint="use a larger dataset")
        row_of = self._row_of()
        rows = np.array([row_of[p] for p in patients], dtype=np.int64)
        labels = np.array([self.labels[p] for p in patients], dtype=np.int32)
        sig, gains = self.rate_array, self._gains()
        frame, n_leads, n = self.cfg.preprocess.frame_size, sig.shape[1], sig.shape[2]
        if n < frame:
            raise DataError(f"records have {n} samples at the model rate, fewer than frame_size {frame}")
        spp, lead, bs = windows.train_samples_per_patient, windows.lead, training.batch_size
        rng = np.random.default_rng([training.seed, 0x7A1])
        pending = np.zeros(0, dtype=np.int64)
        while True:
            while len(pending) < bs:  # a new pass: every patient spp times, shuffled
                pending = np.concatenate([pending, rng.permutation(np.repeat(np.arange(len(rows)), spp))])
            take, pending = pending[:bs], pending[bs:]
            ls = rng.integers(0, n_leads, bs) if lead == "random" else np.full(bs, int(lead))
            st = rng.integers(0, n - frame + 1, bs)
            x = gather(sig, gains, rows[take], ls, st, frame)
            yield preprocess(x, self.cfg), labels[take]

    def train_dataset(self, training: TrainingCfg, windows: WindowsCfg) -> "tf.data.Dataset":
        """Infinite, shuffled, seeded ``tf.data.Dataset`` of (x float32 [B, frame], y int32 [B])."""
        import tensorflow as tf

        bs, frame = training.batch_size, self.cfg.preprocess.frame_size
        ds = tf.data.Dataset.from_generator(
            lambda: self.train_batches(training, windows),
            output_signature=(
                tf.TensorSpec(shape=(bs, frame), dtype=tf.float32),
                tf.TensorSpec(shape=(bs,), dtype=tf.int32),
            ),
        )
        return ds.prefetch(4)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "store": str(self.store.path),
            "fingerprint": self.fingerprint,
            "records_found": len(self.store.records) + len(self.store.skips),
            "records_used": len(self.labels),
            "patients": len(self.splits),
            "class_names": self.class_names,
            "class_counts": {s: self.class_counts(s) for s in ("all", *SPLITS)},
            "windows": {s: len(self._refs(s)[0]) for s in SPLITS},
            "skipped": self.skip_counts(),
            "skipped_examples": [
                {"record": s.name, "reason": s.reason, "detail": s.detail} for s in self.skips[:20]
            ],
        }


def _check_split(split: str) -> None:
    if split not in (*SPLITS, "all"):
        raise DataError(f"unknown split {split!r}; use one of train, val, test, all")


def strict_check(skips: list[Skip], source: Path) -> None:
    """--strict: any skipped record that is a defect (not a mere exclusion) is an error."""
    bad = [s for s in skips if s.reason not in EXCLUSIONS]
    if not bad:
        return
    counts: dict[str, int] = {}
    for s in bad:
        counts[s.reason] = counts.get(s.reason, 0) + 1
    listing = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    examples = "; ".join(s.detail for s in bad[:3])
    raise DataError(
        f"{source}: {len(bad)} record(s) skipped ({listing}); e.g. {examples}",
        hint="fix or remove those records, or run without --strict to skip them",
    )


def prepare_dataset(
    cfg: ModelConfig,
    dataset_dir: Path,
    work: Path | None = None,
    *,
    progress: bool = True,
    strict: bool = False,
) -> PreparedDataset:
    """Convert (cached), label, split and write the fixed window lists of ``dataset_dir`` for ``cfg``."""
    dataset_dir = Path(dataset_dir)
    work = work_dir(work)
    expected = Expected.from_cfg(cfg.dataset)
    store = build_store(
        dataset_dir, default_store_dir(dataset_dir, work), expected, rates=(cfg.preprocess.sample_rate,), progress=progress
    )
    rule = LabelRule.from_cfg(cfg.classes)
    labels: dict[str, int] = {}
    skips = list(store.skips)
    for r in store.records:
        c = rule.label(r.codes)
        if c is None:
            codes = ",".join(map(str, r.codes))
            skips.append(Skip(r.name, r.rel, "no_class", f"{r.rel}: Dx {codes} has no code of {', '.join(rule.names)}"))
        else:
            labels[r.name] = c
    if strict:
        strict_check(skips, dataset_dir)
    if not labels:
        raise DataError(
            f"{dataset_dir}: no record carries a Dx code of the classes {', '.join(cfg.classes.names)}",
            hint="check the dataset folder and classes.codes in the model config",
        )

    paths = ArtifactPaths(work, cfg.name)
    out = paths.data
    inputs = {
        "version": str(DATA_VERSION),
        "store": store.fingerprint,
        "dataset": sha256_json(cfg.dataset),
        "classes": sha256_json(cfg.classes),
        "split": sha256_json(cfg.split),
        "windows": sha256_json(cfg.windows),
        "preprocess": sha256_json(cfg.preprocess),
    }
    required = ["split.csv", *_LIST.values()]
    if not is_fresh(out, inputs, required):
        _write_lists(cfg, store, labels, out, inputs, required)
    manifest = read_manifest(out) or {}
    splits = _read_split(out / "split.csv")
    ds = PreparedDataset(
        name=_dataset_name(dataset_dir),
        path=dataset_dir,
        fingerprint=manifest.get("outputs", {}).get("fingerprint", ""),
        cfg=cfg,
        store=store,
        data_dir=out,
        labels=labels,
        splits=splits,
        skips=skips,
    )
    write_json_atomic(out / "summary.json", ds.summary())
    return ds


def _write_lists(cfg: ModelConfig, store: Store, labels: dict[str, int], out: Path, inputs: dict, required: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    splits = split_patients(labels, cfg.split.test_fraction, cfg.split.val_fraction, cfg.split.seed)
    names = cfg.classes.names
    tmp = out / ".split.csv.tmp"
    tmp.write_text(
        "record,label,class,split\n" + "".join(f"{p},{labels[p]},{names[labels[p]]},{splits[p]}\n" for p in sorted(splits))
    )
    tmp.replace(out / "split.csv")
    n = int(round(store.expected.samples * cfg.preprocess.sample_rate / store.expected.sample_rate))
    spp = {
        "train": cfg.windows.train_samples_per_patient,
        "val": cfg.windows.val_samples_per_patient,
        "test": cfg.windows.test_samples_per_patient,
    }
    for s in SPLITS:
        patients = sorted(p for p, sp in splits.items() if sp == s)
        refs = draw_windows(
            patients, spp[s], cfg.windows.lead, store.expected.leads, n, cfg.preprocess.frame_size, split_rng(cfg.split.seed, s)
        )
        write_refs(out / _LIST[s], refs, [labels[r.record] for r in refs])
    files = {f: sha256_file(out / f) for f in required}
    write_manifest(out, "data", inputs, {"fingerprint": sha256_json({"inputs": inputs, "files": files}), "files": files})


def _read_split(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines()[1:]:
        rec, _label, _cls, split = line.split(",")
        out[rec] = split
    return out


def _dataset_name(dataset_dir: Path) -> str:
    from hil.data.synthetic import read_synthetic_marker

    return "synthetic-lsad" if read_synthetic_marker(dataset_dir) else "lsad"


# --------------------------------------------------------------------------- default dataset

DEFAULT_SYNTH_PATIENTS = 400
DEFAULT_SYNTH_SEED = 42


def find_lsad(root: Path) -> Path | None:
    """``root`` if it holds ``WFDBRecords/`` (or one subfolder of it does, as an unpacked archive)."""
    root = Path(root)
    if (root / "WFDBRecords").is_dir():
        return root
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if (child / "WFDBRecords").is_dir():
                return child
    return None


def default_dataset(cfg: ModelConfig, work: Path | None = None, *, progress: bool = True) -> Path:
    """``$HIL_DATASETS/lsad`` if it holds WFDBRecords, else a synthetic LSAD generated once under the work folder."""
    from hil import ui
    from hil.data.synthetic import read_synthetic_marker, synthesize_lsad

    env = os.environ.get("HIL_DATASETS")
    if env:
        found = find_lsad(Path(env) / "lsad")
        if found:
            return found
        ui.debug(f"$HIL_DATASETS={env}: no lsad/WFDBRecords there; using synthetic LSAD")
    out = work_dir(work) / "datasets" / "synthetic-lsad"
    marker = read_synthetic_marker(out)
    if marker and marker.get("patients") == DEFAULT_SYNTH_PATIENTS and marker.get("seed") == DEFAULT_SYNTH_SEED:
        return out
    ui.info(f"no LSAD copy found ($HIL_DATASETS/lsad); generating a synthetic LSAD of {DEFAULT_SYNTH_PATIENTS} patients in {out}")
    synthesize_lsad(out, DEFAULT_SYNTH_PATIENTS, DEFAULT_SYNTH_SEED, progress=progress)
    return out
