"""Synthetic LSAD: physiokit ECGs written in exactly LSAD's layout and format.

``synthesize_lsad(out, patients, seed)`` writes ``out/WFDBRecords/NN/NNN/JSxxxxx.{hea,mat}``
(12 leads, 500 Hz, 10 s, int16 at 1000/mV, ``#Dx:`` SNOMED-CT codes) plus the
``RECORDS`` files.  Nothing reads it except the real LSAD reader.

Rhythms (one per patient, balanced in every block of four consecutive ids so
that the id-ordered test split is balanced too):

============  ==========================  ===========================
class         physiokit                   Dx code
============  ==========================  ===========================
SR            SR preset, 60-100 bpm       426783006
SB            SR preset, 40-59 bpm        426177001
AFIB          AFIB preset, 60-150 bpm     164889003
GSVT          SR preset, 101-150 bpm      427084000 (STACH), or
              151-190 bpm, P hidden       426761007 (SVT)
============  ==========================  ===========================

Morphology varies per patient (physiokit's random preset parameters, sometimes
its ``random_morphology`` preset, P/T width, impedance, voltage), and every
lead gets baseline wander, mains hum (50 or 60 Hz) and muscle noise from
``physiokit.signal``.  Every record is generated from its own seed, so the
output does not depend on the number of worker processes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from hil.data.lsad_format import LEAD_NAMES, leaf_folder, write_record, write_records_file

SYNTH_VERSION = 1
MARKER = "synthetic.json"  # written last: its presence means the folder is complete
FS = 500
SAMPLES = 5000
GAIN = 1000

RHYTHMS = ("SR", "SB", "AFIB", "GSVT")
CODES = {"SR": 426783006, "SB": 426177001, "AFIB": 164889003, "STACH": 427084000, "SVT": 426761007}
# Non-rhythm codes LSAD often lists next to the rhythm (T-wave change, RBBB, ST drop, LVH): they must not change the label.
COMORBID = (164934002, 59118001, 429622005, 164873001)


@dataclass(frozen=True)
class SynthRecord:
    name: str
    rhythm: str  # SR / SB / AFIB / GSVT (the class the record is meant to be)
    codes: tuple[int, ...]
    heart_rate: float


def record_name(index: int) -> str:
    return f"JS{index:05d}"


def planned_rhythms(patients: int, seed: int) -> list[str]:
    """Class of each patient: a fresh permutation of the four rhythms for every block of four ids."""
    rng = np.random.default_rng([seed, 0x5EED])
    out: list[str] = []
    while len(out) < patients:
        out += [RHYTHMS[i] for i in rng.permutation(len(RHYTHMS))]
    return out[:patients]


def _one(index: int, rhythm: str, seed: int, noise: float) -> tuple[SynthRecord, np.ndarray, int, str]:
    from physiokit.ecg.synthetic import EcgPreset
    from physiokit.ecg.synthetic.rhythm_generator import simulate_brisk
    import physiokit.signal as pks

    from hil.data._physiokit_fast import install

    install()  # same output, 2.5x faster (see _physiokit_fast)
    rng = np.random.default_rng([seed, index])
    # physiokit draws from the global `random` and `np.random` generators: seed both per record.
    random.seed(int(rng.integers(2**31)))
    np.random.seed(int(rng.integers(2**31)))

    preset = EcgPreset.SR
    p_mult = rng.uniform(0.8, 1.2)
    if rhythm == "SR":
        hr, codes = rng.uniform(60, 100), [CODES["SR"]]
    elif rhythm == "SB":
        hr, codes = rng.uniform(40, 59), [CODES["SB"]]
    elif rhythm == "AFIB":
        hr, codes, preset = rng.uniform(60, 150), [CODES["AFIB"]], EcgPreset.AFIB
    else:
        if rng.random() < 0.6:
            hr, codes = rng.uniform(101, 150), [CODES["STACH"]]
        else:  # SVT: narrow, fast, P waves buried in the preceding T
            hr, codes, p_mult = rng.uniform(151, 190), [CODES["SVT"]], 0.3
    if preset == EcgPreset.SR and rng.random() < 0.3:
        preset = EcgPreset.random_morphology
    if rng.random() < 0.3:
        codes.append(int(rng.choice(COMORBID)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)  # physiokit smooths a complex noise array
        _, ecg, _, _, _ = simulate_brisk(
            signal_length=SAMPLES,
            sample_rate=FS,
            leads=12,
            heart_rate=float(hr),
            preset=preset,
            impedance=float(rng.uniform(0.7, 1.4)),
            p_multiplier=float(p_mult),
            t_multiplier=float(rng.uniform(0.8, 1.2)),
            noise_multiplier=float(rng.uniform(0.5, 1.5) * noise),
            voltage_factor=float(rng.uniform(220, 380)),
        )
    ecg = np.asarray(ecg, dtype=np.float64)[:, :SAMPLES]
    if noise > 0:
        sd = float(np.std(ecg)) + 1e-6
        mains = 50.0 if rng.random() < 0.5 else 60.0
        bw_amp, bw_f = rng.uniform(0.05, 0.6) * noise, rng.uniform(0.05, 0.5)
        pl_amp = rng.uniform(0.0, 0.08) * noise
        emg_amp = rng.uniform(0.0, 0.08) * noise
        for lead in range(ecg.shape[0]):
            y = pks.add_baseline_wander(ecg[lead], amplitude=bw_amp, frequency=bw_f, sample_rate=FS, signal_sd=sd)
            y = pks.add_powerline_noise(y, amplitude=pl_amp, frequency=mains, sample_rate=FS, signal_sd=sd)
            if emg_amp > 0:
                y = pks.add_noise_sources(
                    y, amplitudes=[emg_amp, emg_amp], frequencies=[35.0, 90.0],
                    noise_shapes=["laplace", "gaussian"], sample_rate=FS, signal_sd=sd,
                )
            ecg[lead] = y
    digital = np.clip(np.round(ecg.T * GAIN), -32767, 32767).astype(np.int16)  # [samples, leads]
    age = int(rng.integers(18, 91))
    sex = "Male" if rng.random() < 0.5 else "Female"
    rec = SynthRecord(record_name(index), rhythm, tuple(codes), float(hr))
    return rec, digital, age, sex


def _write_chunk(out: str, indices: list[int], rhythms: list[str], seed: int, noise: float) -> list[dict]:
    logging.getLogger("physiokit").setLevel(logging.CRITICAL)  # it logs a traceback for fast rates
    done = []
    for index, rhythm in zip(indices, rhythms):
        rec, digital, age, sex = _one(index, rhythm, seed, noise)
        folder = Path(out) / "WFDBRecords" / leaf_folder(index)
        write_record(folder, rec.name, digital, fs=FS, gain=GAIN, lead_names=LEAD_NAMES, age=age, sex=sex, codes=rec.codes)
        done.append({"name": rec.name, "rhythm": rec.rhythm, "codes": list(rec.codes), "heart_rate": round(rec.heart_rate, 1)})
    return done


def synthesize_lsad(
    out: Path,
    patients: int,
    seed: int = 42,
    *,
    noise: float = 1.0,
    workers: int | None = None,
    progress: bool = True,
) -> list[SynthRecord]:
    """Write a synthetic LSAD with ``patients`` records into ``out`` (replacing an earlier synthetic one)."""
    from hil import ui
    from hil.errors import ConfigError, DataError

    if patients < 1:
        raise ConfigError(f"--patients must be at least 1 (got {patients})")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / "WFDBRecords").is_dir() and not (out / MARKER).exists():
            raise ConfigError(f"{out}: folder exists and is not a synthetic LSAD; choose an empty or new --out")
        shutil.rmtree(out / "WFDBRecords", ignore_errors=True)
        (out / MARKER).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    rhythms = planned_rhythms(patients, seed)
    indices = list(range(1, patients + 1))
    chunk = max(1, min(25, -(-patients // 8)))
    tasks = [(indices[i : i + chunk], rhythms[i : i + chunk]) for i in range(0, patients, chunk)]
    workers = workers or min(len(tasks), os.cpu_count() or 1)
    rows: list[dict] = []
    with ui.progress(transient=True) as bar:
        task = bar.add_task("synthesising LSAD", total=patients, visible=progress)
        if workers <= 1:
            for idx, rh in tasks:
                rows += _write_chunk(str(out), idx, rh, seed, noise)
                bar.advance(task, len(idx))
        else:
            pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))  # spawn: never fork a TF process
            try:
                futures = [pool.submit(_write_chunk, str(out), idx, rh, seed, noise) for idx, rh in tasks]
                for fut, (idx, _) in zip(futures, tasks):
                    try:
                        rows += fut.result()
                    except Exception as exc:
                        raise DataError(f"synthesising records {idx[0]}..{idx[-1]} into {out} failed: {exc}") from None
                    bar.advance(task, len(idx))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()

    rows.sort(key=lambda r: r["name"])
    by_leaf: dict[str, list[str]] = {}
    for i in indices:
        by_leaf.setdefault(leaf_folder(i), []).append(record_name(i))
    for leaf, names in by_leaf.items():
        write_records_file(out / "WFDBRecords" / leaf, names)
    (out / "RECORDS").write_text("".join(f"WFDBRecords/{leaf}/\n" for leaf in by_leaf))
    (out / MARKER).write_text(
        json.dumps({"version": SYNTH_VERSION, "patients": patients, "seed": seed, "noise": noise, "records": rows}, indent=1)
    )
    return [SynthRecord(r["name"], r["rhythm"], tuple(r["codes"]), r["heart_rate"]) for r in rows]


def read_synthetic_marker(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return None
