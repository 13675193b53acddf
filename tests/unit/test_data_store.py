"""The int16 store: exact values, parallel = serial, resumable, notices a changed source."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import wfdb

import hil.data.store as store_mod
from hil.data.reader import find_records
from hil.data.store import Expected, build_store, open_store


def test_store_holds_the_mat_values_exactly(lsad_sample, tmp_path):
    st = build_store(lsad_sample, tmp_path / "st", progress=False)
    assert [r.name for r in st.records] == ["JS00001", "JS00002", "JS00004", "JS00005"]
    for rec, path in zip(st.records, find_records(lsad_sample)):
        d = wfdb.rdrecord(str(path), physical=False).d_signal.T
        assert rec.gain == 1000.0
        assert np.array_equal(np.asarray(st.raw(rec)), d)
    assert st.records[0].age == 85 and st.records[0].codes == [164889003, 59118001, 164934002]
    r100 = st.rate(100)
    assert r100.shape == (4, 12, 1000) and r100.dtype == np.int16
    assert isinstance(r100, np.memmap)


@pytest.mark.slow
def test_parallel_resumable_and_source_change(synthetic_lsad, tmp_path, monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(synthetic_lsad, src)
    serial = build_store(src, tmp_path / "serial", shard_size=10, workers=1, progress=False)

    # interrupted after 3 of 6 shards ...
    calls = {"n": 0}
    real = store_mod._convert_shard

    def flaky(*args, **kwargs):
        if calls["n"] == 3:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(store_mod, "_convert_shard", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_store(src, tmp_path / "st", shard_size=10, workers=1, progress=False)
    done = sorted(p.name for p in (tmp_path / "st" / "shards").glob("*.json"))
    assert done == ["00000.json", "00001.json", "00002.json"]
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "st" / "shards").glob("*.npy")}

    # ... resumes in parallel workers with only the missing shards
    monkeypatch.setattr(store_mod, "_convert_shard", real)
    st = build_store(src, tmp_path / "st", shard_size=10, workers=2, progress=False)
    assert all(p.stat().st_mtime_ns == m for p, m in kept.items())
    assert len(list((tmp_path / "st" / "shards").glob("*.json"))) == 6
    assert [r.name for r in st.records] == [r.name for r in serial.records]
    assert np.array_equal(np.asarray(st.rate(100)), np.asarray(serial.rate(100)))

    # unchanged source: reused as is
    again = build_store(src, tmp_path / "st", shard_size=10, progress=False)
    assert again.fingerprint == st.fingerprint

    # a changed header is noticed and the store rebuilt from it
    hea = src / "WFDBRecords/01/010/JS00003.hea"
    text = hea.read_text()
    hea.write_text(text.replace(text.split("#Dx: ")[1].split("\n")[0], "426783006"))
    changed = build_store(src, tmp_path / "st", shard_size=10, progress=False)
    assert changed.fingerprint != st.fingerprint
    assert next(r for r in changed.records if r.name == "JS00003").codes == [426783006]
    assert open_store(tmp_path / "st").fingerprint == changed.fingerprint


def test_expected_shape_comes_from_config(seed_config):
    assert Expected.from_cfg(seed_config.dataset) == Expected(500, 12, 5000)
