"""Synthetic LSAD: exact LSAD format, intended classes and rhythms through the real reader, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from hil.data.labels import LabelRule
from hil.data.lsad_format import leaf_folder, write_record
from hil.data.reader import find_records, read_header, read_record
from hil.data.synthetic import MARKER, _write_chunk, planned_rhythms

LEAF = Path("WFDBRecords/01/010")


def test_writer_reproduces_a_real_lsad_record_byte_for_byte(lsad_sample, tmp_path):
    src = lsad_sample / LEAF / "JS00001"
    digital = wfdb.rdrecord(str(src), physical=False).d_signal.astype(np.int16)
    h = read_header(src)
    write_record(tmp_path, "JS00001", digital, age=h.age, sex=h.sex, codes=[164889003, 59118001, 164934002])
    assert (tmp_path / "JS00001.hea").read_bytes() == src.with_suffix(".hea").read_bytes()
    assert (tmp_path / "JS00001.mat").read_bytes() == src.with_suffix(".mat").read_bytes()


def test_layout_and_format(synthetic_lsad):
    paths = find_records(synthetic_lsad)
    assert len(paths) == 60
    assert paths[0].relative_to(synthetic_lsad) == LEAF / "JS00001"
    assert leaf_folder(100) == "01/010" and leaf_folder(101) == "01/011" and leaf_folder(1001) == "02/020"
    assert (synthetic_lsad / LEAF / "RECORDS").read_text().split("\n")[:2] == ["JS00001", "JS00002"]
    text = paths[0].with_suffix(".hea").read_text().splitlines()
    assert text[0] == "JS00001 12 500 5000"
    assert text[1].startswith("JS00001.mat 16+24 1000/mV 16 0 ") and text[1].endswith(" 0 I")
    assert any(line.startswith("#Dx: ") for line in text)
    mat = paths[0].with_suffix(".mat").read_bytes()
    assert len(mat) == 24 + 12 * 5000 * 2 and mat[:4] == (30).to_bytes(4, "little") and mat[20:24] == b"val\0"
    rec = wfdb.rdrecord(str(paths[0]))
    assert rec.p_signal.shape == (5000, 12) and rec.fs == 500 and rec.units == ["mV"] * 12


def test_round_trip_classes_and_balance(synthetic_lsad, seed_config):
    meta = json.loads((synthetic_lsad / MARKER).read_text())
    intended = {r["name"]: r["rhythm"] for r in meta["records"]}
    rule = LabelRule.from_cfg(seed_config.classes)
    got = {}
    for p in find_records(synthetic_lsad):
        rec = read_record(p)
        got[p.name] = rule.names[rule.label(rec.codes)]
        assert 18 <= rec.header.age <= 90 and rec.header.sex in ("Male", "Female")
    assert got == intended
    assert sorted(intended.values()).count("SR") == 15
    # every block of 4 consecutive ids holds each class once: the id-ordered test split is balanced
    rh = planned_rhythms(60, 7)
    assert all(sorted(rh[i : i + 4]) == sorted(["SR", "SB", "AFIB", "GSVT"]) for i in range(0, 60, 4))


def test_rhythms_are_what_the_labels_say(synthetic_lsad):
    import physiokit as pk

    meta = {r["name"]: r for r in json.loads((synthetic_lsad / MARKER).read_text())["records"]}
    cv: dict[str, list[float]] = {"AFIB": [], "other": []}
    for p in find_records(synthetic_lsad):
        x = read_record(p).signal[1]  # lead II
        peaks = pk.ecg.find_peaks(pk.ecg.clean(x, sample_rate=500), sample_rate=500)
        rr = np.diff(peaks) / 500
        hr = 60 / np.median(rr)
        rhythm = meta[p.name]["rhythm"]
        if rhythm == "SB":
            assert hr < 62, (p.name, hr)
        elif rhythm == "SR":
            assert 58 < hr < 102, (p.name, hr)
        elif rhythm == "GSVT":
            assert hr > 98, (p.name, hr)
        cv["AFIB" if rhythm == "AFIB" else "other"].append(float(np.std(rr) / np.mean(rr)))
    assert np.median(cv["AFIB"]) > 5 * np.median(cv["other"])  # irregularly irregular


def test_generation_is_deterministic(synthetic_lsad, tmp_path):
    rows = _write_chunk(str(tmp_path), [2, 3], planned_rhythms(60, 7)[1:3], 7, 1.0)
    assert [r["name"] for r in rows] == ["JS00002", "JS00003"]
    for name in ("JS00002", "JS00003"):
        for ext in (".hea", ".mat"):
            assert (tmp_path / LEAF / f"{name}{ext}").read_bytes() == (synthetic_lsad / LEAF / f"{name}{ext}").read_bytes()


def test_fast_evenly_spaced_y_matches_physiokit():
    from physiokit.ecg.synthetic.helper_functions import evenly_spaced_y as original

    from hil.data._physiokit_fast import evenly_spaced_y

    rng = np.random.default_rng(0)
    for n in (5, 17, 80, 300):
        x = np.sort(rng.uniform(0, n * 1.3, n))
        x[n // 3] = x[n // 3 + 1]  # a repeated x (division by zero in the gradient)
        y = rng.normal(size=n)
        np.testing.assert_array_equal(evenly_spaced_y(x, y), original(x, y))
    x = rng.uniform(0, 40, 30)  # not increasing: falls back to the original
    y = rng.normal(size=30)
    np.testing.assert_array_equal(evenly_spaced_y(x, y), original(x, y))


def test_synth_refuses_a_foreign_folder(tmp_path):
    from hil.data.synthetic import synthesize_lsad
    from hil.errors import ConfigError

    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError):
        synthesize_lsad(tmp_path, 4, progress=False)
    assert (tmp_path / "precious.txt").exists()
