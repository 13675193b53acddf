"""The local store: every usable record as int16, memory-mapped, plus an index.

Converting LSAD (45,152 records) from WFDB files takes minutes, so it happens
once.  Layout of a store folder::

    store.json          what it was built from (source path + fingerprint, expected shape) and status
    shards/00042.npy    int16 [n, leads, samples] at the source rate (500 Hz), one shard per 100 records
    shards/00042.json   per-record metadata of the shard (codes, age, sex, gain) and skipped records
    rate-100.npy        int16 [records, leads, samples x 100/500]: every record resampled for the model
    index.json          the consolidated index (records in row order, skips), written when complete

Conversion runs shards in parallel worker processes and never holds more than
one shard per worker in memory.  A shard's ``.json`` is written (atomically)
after its ``.npy``, so an interrupted conversion resumes at the first missing
shard.  ``store.json`` records a fingerprint of the source files (relative
path, size, mtime); a changed source is noticed and the store rebuilt.

Samples are ``round(mV * gain)`` with gain 1000/mV (LSAD's own, so the store
holds exactly the ``.mat`` values) unless a record would not fit int16; then its
gain is lowered and kept in the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from hil.artifacts import write_json_atomic
from hil.errors import DataError

STORE_VERSION = 1
SHARD = 100
_SOURCE_SUFFIXES = (".hea", ".mat", ".dat")


@dataclass(frozen=True)
class Expected:
    """The record shape every record must have (from ``cfg.dataset``)."""

    sample_rate: int = 500
    leads: int = 12
    samples: int = 5000

    @classmethod
    def from_cfg(cls, dataset) -> "Expected":
        return cls(int(dataset.sample_rate), int(dataset.leads), int(round(dataset.duration_s * dataset.sample_rate)))


@dataclass
class StoredRecord:
    name: str
    rel: str  # record path relative to the source root, without extension
    row: int  # row in the rate arrays (and order of the index)
    shard: int
    shard_row: int
    codes: list[int]
    age: int | None
    sex: str | None
    gain: float


@dataclass
class Skip:
    name: str
    rel: str
    reason: str
    detail: str


@dataclass
class Store:
    """An opened, complete store."""

    path: Path
    source: Path
    fingerprint: str  # of the source files and the expected shape
    expected: Expected
    records: list[StoredRecord]
    skips: list[Skip] = field(default_factory=list)
    _rate_cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def rate(self, rate: int, *, progress: bool = False) -> np.ndarray:
        """int16 memmap [records, leads, samples at ``rate``] (built once from the shards if missing)."""
        if rate not in self._rate_cache:
            f = self.path / f"rate-{rate}.npy"
            if not f.exists():
                _build_rate(self.path, self.records, self.expected, rate, progress)
            self._rate_cache[rate] = np.load(f, mmap_mode="r")
        return self._rate_cache[rate]

    def raw(self, rec: StoredRecord) -> np.ndarray:
        """The record at the source rate, int16 [leads, samples] (divide by ``rec.gain`` for mV)."""
        return np.load(self.path / "shards" / f"{rec.shard:05d}.npy", mmap_mode="r")[rec.shard_row]

    def gains(self) -> np.ndarray:
        return np.array([r.gain for r in self.records], dtype=np.float32)

    def skip_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.skips:
            out[s.reason] = out.get(s.reason, 0) + 1
        return dict(sorted(out.items()))


# --------------------------------------------------------------------------- fingerprint


def source_files(root: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of every record file under ``root``, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in filenames:
            if f.endswith(_SOURCE_SUFFIXES):
                p = os.path.join(dirpath, f)
                st = os.stat(p)
                out.append((os.path.relpath(p, root), st.st_size, st.st_mtime_ns))
    out.sort()
    return out


def source_fingerprint(root: Path, expected: Expected) -> str:
    h = hashlib.sha256(json.dumps([STORE_VERSION, expected.__dict__]).encode())
    for rel, size, mtime in source_files(root):
        h.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def default_store_dir(source: Path, work: Path) -> Path:
    """``<work>/datasets/stores/<source name>-<hash of its absolute path>``."""
    src = Path(source).resolve()
    return Path(work) / "datasets" / "stores" / f"{src.name}-{hashlib.sha1(str(src).encode()).hexdigest()[:8]}"


# --------------------------------------------------------------------------- conversion


def _convert_shard(source: str, rels: list[str], out_dir: str, shard: int, expected: Expected) -> dict:
    """Read ``rels`` and write one shard; returns the shard's metadata (also written to its .json)."""
    from hil.data.reader import RecordError, read_record

    out = Path(out_dir)
    metas: list[dict] = []
    skips: list[dict] = []
    arr = None
    rows: list[np.ndarray] = []
    for rel in rels:
        name = Path(rel).name
        try:
            rec = read_record(
                Path(source) / rel, sample_rate=expected.sample_rate, leads=expected.leads, samples=expected.samples
            )
        except RecordError as exc:
            skips.append({"name": name, "rel": rel, "reason": exc.reason, "detail": exc.detail})
            continue
        except Exception as exc:  # never let one odd file stop a 45k-record conversion
            skips.append({"name": name, "rel": rel, "reason": "unreadable_signal", "detail": f"{rel}: {exc!r}"})
            continue
        peak = float(np.abs(rec.signal).max())
        gain = _record_gain(rec, peak)
        rows.append(np.round(rec.signal * gain).astype(np.int16))
        metas.append(
            {"name": name, "rel": rel, "codes": rec.codes, "age": rec.header.age, "sex": rec.header.sex, "gain": gain}
        )
    arr = np.stack(rows) if rows else np.zeros((0, expected.leads, expected.samples), np.int16)
    tmp = out / f".{shard:05d}.npy.tmp"
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, out / f"{shard:05d}.npy")
    doc = {"shard": shard, "records": metas, "skips": skips}
    write_json_atomic(out / f"{shard:05d}.json", doc)
    return doc


def _record_gain(rec, peak: float) -> float:
    gain = 1000.0  # 1 µV resolution: LSAD's own gain
    if peak * gain > 32767:
        gain = float(np.floor(32767.0 / peak))
    return gain


def _pool(workers: int):
    # spawn: the parent may have TensorFlow loaded (threads), so never fork it.
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"))


def build_store(
    source: Path,
    store_dir: Path,
    expected: Expected = Expected(),
    *,
    rates: Iterable[int] = (100,),
    workers: int | None = None,
    shard_size: int = SHARD,
    progress: bool = True,
) -> Store:
    """Convert ``source`` into ``store_dir`` (resuming an interrupted conversion) and open it.

    Returns at once when the store is complete and the source unchanged.
    """
    from hil import ui
    from hil.data.reader import find_records

    source, store_dir = Path(source), Path(store_dir)
    if not source.is_dir():
        raise DataError(f"{source}: dataset folder not found", hint="run `hil data download --out DIR` or `hil data synth --out DIR`")
    fp = source_fingerprint(source, expected)
    meta_path = store_dir / "store.json"
    meta = _read_json(meta_path)
    if meta and meta.get("fingerprint") == fp and meta.get("complete"):
        store = open_store(store_dir)
        for r in rates:
            store.rate(r, progress=progress)
        return store
    if meta and meta.get("fingerprint") != fp:
        ui.info(f"[yellow]{source} changed since its store was built; rebuilding {store_dir}[/yellow]")
        shutil.rmtree(store_dir, ignore_errors=True)
    shards_dir = store_dir / "shards"
    shards_dir.mkdir(parents=True, exist_ok=True)
    for stale in store_dir.glob("rate-*.npy"):
        stale.unlink()
    records = [str(p.relative_to(source)) for p in find_records(source)]
    if not records:
        raise DataError(f"{source}: no WFDB records (.hea files) found", hint="pass the folder that holds WFDBRecords/")
    write_json_atomic(
        meta_path,
        {"version": STORE_VERSION, "source": str(source.resolve()), "fingerprint": fp, "expected": expected.__dict__,
         "records": len(records), "shard_size": shard_size, "complete": False},
    )
    if meta and meta.get("shard_size", shard_size) != shard_size:
        shutil.rmtree(shards_dir, ignore_errors=True)
        shards_dir.mkdir(parents=True)
    chunks = [records[i : i + shard_size] for i in range(0, len(records), shard_size)]
    todo = [i for i in range(len(chunks)) if not (shards_dir / f"{i:05d}.json").exists()]
    workers = max(1, min(workers or (os.cpu_count() or 1), len(todo)))
    with ui.progress(transient=True) as bar:
        task = bar.add_task(f"converting {source.name}", total=len(records), visible=progress)
        bar.advance(task, len(records) - sum(len(chunks[i]) for i in todo))
        _convert_shards(source, chunks, todo, shards_dir, expected, workers, lambda n: bar.advance(task, n))
    _write_index(store_dir, len(chunks))
    meta = _read_json(meta_path) or {}
    meta["complete"] = True
    write_json_atomic(meta_path, meta)
    store = open_store(store_dir)
    for r in rates:
        store.rate(r, progress=progress)
    return store


def _convert_shards(source: Path, chunks: list[list[str]], todo: list[int], shards_dir: Path, expected: Expected,
                    workers: int, advance: Callable[[int], None]) -> None:
    """Converts the shards ``todo``, in worker processes when there are several; each shard is its own file."""
    if workers <= 1 or len(todo) <= 1:
        for i in todo:
            _convert_shard(str(source), chunks[i], str(shards_dir), i, expected)
            advance(len(chunks[i]))
        return
    pool = _pool(workers)
    try:
        futs = {pool.submit(_convert_shard, str(source), chunks[i], str(shards_dir), i, expected): i for i in todo}
        for fut in as_completed(futs):
            try:
                fut.result()
            except Exception as exc:  # a worker died (disk full, killed): finished shards are kept
                raise DataError(
                    f"converting {source} (shard {futs[fut]}) failed: {exc}",
                    hint="fix the cause and run again: the conversion resumes where it stopped",
                ) from None
            advance(len(chunks[futs[fut]]))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C stops now, not after every shard
        raise
    pool.shutdown()


def _write_index(store_dir: Path, n_shards: int) -> None:
    """Consolidate the shard metadata; a record id seen twice keeps its first (sorted path) copy."""
    records: list[dict] = []
    skips: list[dict] = []
    seen: dict[str, str] = {}
    for i in range(n_shards):
        doc = json.loads((store_dir / "shards" / f"{i:05d}.json").read_text())
        skips += doc["skips"]
        for j, m in enumerate(doc["records"]):
            if m["name"] in seen:
                skips.append({"name": m["name"], "rel": m["rel"], "reason": "duplicate_id",
                              "detail": f"{m['rel']}: record id {m['name']} already used by {seen[m['name']]}"})
                continue
            seen[m["name"]] = m["rel"]
            records.append({**m, "shard": i, "shard_row": j, "row": len(records)})
    write_json_atomic(store_dir / "index.json", {"records": records, "skips": skips})


def open_store(store_dir: Path) -> Store:
    store_dir = Path(store_dir)
    meta = _read_json(store_dir / "store.json")
    index = _read_json(store_dir / "index.json")
    if not meta or not meta.get("complete") or index is None:
        raise DataError(f"{store_dir}: not a complete store", hint="run `hil data convert DIR` to (re)build it")
    return Store(
        path=store_dir,
        source=Path(meta["source"]),
        fingerprint=meta["fingerprint"],
        expected=Expected(**meta["expected"]),
        records=[StoredRecord(**r) for r in index["records"]],
        skips=[Skip(**s) for s in index["skips"]],
    )


# --------------------------------------------------------------------------- resampled view


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Polyphase resampling along the last axis (anti-alias FIR of scipy.signal.resample_poly)."""
    from math import gcd

    from scipy.signal import resample_poly

    if src_rate == dst_rate:
        return x.astype(np.float64)
    g = gcd(src_rate, dst_rate)
    return resample_poly(x.astype(np.float64), dst_rate // g, src_rate // g, axis=-1)


def _rate_shard(store_dir: str, shard: int, rows: list[int], src_rate: int, rate: int) -> np.ndarray:
    raw = np.load(Path(store_dir) / "shards" / f"{shard:05d}.npy", mmap_mode="r")
    y = resample(np.asarray(raw[rows]), src_rate, rate)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def _build_rate(store_dir: Path, records: list[StoredRecord], expected: Expected, rate: int, progress: bool) -> None:
    from hil import ui

    n_out = int(round(expected.samples * rate / expected.sample_rate))
    tmp = store_dir / f".rate-{rate}.npy.tmp"
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int16, shape=(len(records), expected.leads, n_out))
    by_shard: dict[int, list[StoredRecord]] = {}
    for r in records:
        by_shard.setdefault(r.shard, []).append(r)
    with ui.progress(transient=True) as bar:
        task = bar.add_task(f"resampling to {rate} Hz", total=len(records), visible=progress)
        for shard, recs in by_shard.items():
            y = _rate_shard(str(store_dir), shard, [r.shard_row for r in recs], expected.sample_rate, rate)
            out[[r.row for r in recs]] = y
            bar.advance(task, len(recs))
    out.flush()
    del out
    os.replace(tmp, store_dir / f"rate-{rate}.npy")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
