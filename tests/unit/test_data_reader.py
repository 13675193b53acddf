"""The LSAD reader on real records, header variants and every bad-input case."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from hil.data import prepare_dataset
from hil.data.labels import LabelRule
from hil.data.reader import RecordError, find_records, read_header, read_record
from hil.errors import DataError

LEAF = Path("WFDBRecords/01/010")
EXPECTED = {"JS00001": "AFIB", "JS00002": "SB", "JS00004": "SB", "JS00005": "AFIB"}


def test_sample_records_shapes_units_classes(lsad_sample, seed_config):
    rule = LabelRule.from_cfg(seed_config.classes)
    paths = find_records(lsad_sample)
    assert [p.name for p in paths] == sorted(EXPECTED)
    for p in paths:
        rec = read_record(p)
        assert rec.signal.shape == (12, 5000) and rec.signal.dtype == np.float32
        assert rec.fs == 500
        assert rec.lead_names[:3] == ["I", "II", "III"] and rec.lead_names[-1] == "V6"
        # physical units: the int16 values at 1000/mV, in mV
        raw = wfdb.rdrecord(str(p), physical=False).d_signal.T
        np.testing.assert_allclose(rec.signal, raw / 1000.0, atol=1e-6)
        assert rule.names[rule.label(rec.codes)] == EXPECTED[p.name]
    h = read_header(lsad_sample / LEAF / "JS00001")
    assert (h.age, h.sex) == (85, "Male")
    assert read_header(lsad_sample / LEAF / "JS00002.hea").sex == "Female"


def _copy_sample(src: Path, dst: Path, names=("JS00001", "JS00002", "JS00004", "JS00005")) -> Path:
    leaf = dst / LEAF
    leaf.mkdir(parents=True)
    for n in names:
        for ext in (".hea", ".mat"):
            shutil.copy(src / LEAF / f"{n}{ext}", leaf / f"{n}{ext}")
    return leaf


def _edit_header(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, count))


def test_dx_with_space_is_accepted(lsad_sample, tmp_path):
    leaf = _copy_sample(lsad_sample, tmp_path, ["JS00002"])
    _edit_header(leaf / "JS00002.hea", "#Dx: ", "# Dx: ")
    _edit_header(leaf / "JS00002.hea", "#Age: ", "# Age: ")
    rec = read_record(leaf / "JS00002")
    assert rec.codes == [426177001, 164934002] and rec.header.age == 59


def test_other_record_prefix_is_accepted(lsad_sample, tmp_path):
    leaf = _copy_sample(lsad_sample, tmp_path, ["JS00004"])
    for ext in (".hea", ".mat"):
        (leaf / f"JS00004{ext}").rename(leaf / f"HR12345{ext}")
    _edit_header(leaf / "HR12345.hea", "JS00004", "HR12345", count=-1)
    assert read_record(leaf / "HR12345").codes == [426177001]


def test_malformed_first_line_is_rejected_clearly(lsad_sample, tmp_path):
    leaf = _copy_sample(lsad_sample, tmp_path, ["JS00004"])
    _edit_header(leaf / "JS00004.hea", "JS00004 12 500 5000", "JS00004.mat,12,500")
    with pytest.raises(RecordError) as err:
        read_record(leaf / "JS00004")
    assert err.value.reason == "malformed_header"
    assert "JS00004.hea" in str(err.value) and "malformed first line" in str(err.value)
    assert "'<record> <signals> <rate> <samples>'" in str(err.value)


def _bad_input_folder(src: Path, root: Path) -> dict[str, str]:
    """Copies of the sample with one defect each; returns record -> expected skip reason."""
    leaf = _copy_sample(src, root)  # 4 good records stay
    bad: dict[str, str] = {}

    def clone(new: str, base: str = "JS00002", folder: Path = leaf) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(leaf / f"{base}.mat", folder / f"{new}.mat")
        (folder / f"{new}.hea").write_text((leaf / f"{base}.hea").read_text().replace(base, new))
        return folder / new

    p = clone("JS10001")
    p.with_suffix(".hea").write_bytes(b"\xff\xfe\x00garbage\x00")
    bad["JS10001"] = "unreadable_header"
    p = clone("JS10002")
    p.with_suffix(".mat").write_bytes(p.with_suffix(".mat").read_bytes()[:50_000])
    bad["JS10002"] = "unreadable_signal"
    p = clone("JS10003")
    p.with_suffix(".mat").unlink()
    bad["JS10003"] = "missing_signal"
    p = clone("JS10006")  # lead III all "invalid sample" (-32768 in format 16) -> NaN
    raw = bytearray(p.with_suffix(".mat").read_bytes())
    data = np.frombuffer(raw, dtype="<i2", offset=24).reshape(5000, 12).copy()
    data[:, 2] = -32768
    p.with_suffix(".mat").write_bytes(bytes(raw[:24]) + data.tobytes())
    bad["JS10006"] = "nan_lead"
    p = clone("JS10007")
    data[:, 2] = 0
    p.with_suffix(".mat").write_bytes(bytes(raw[:24]) + data.tobytes())
    bad["JS10007"] = "flat_lead"
    header_edits = [  # record, text in its header, replacement, expected reason
        ("JS10004", "JS10004 12 500 5000", "JS10004 12 500 4000", "wrong_length"),
        ("JS10005", "JS10005 12 500 5000", "JS10005 12 250 5000", "wrong_rate"),
        ("JS10008", "#Dx: 426177001,164934002", "#Dx: 999999001", "no_class"),
        ("JS10009", "#Dx: 426177001,164934002\n", "", "missing_dx"),
        ("JS10010", "#Dx: 426177001,164934002", "#Dx: SB,164934002", "bad_dx"),
        ("JS10011", "JS10011 12 500 5000", "JS00099 12 500 5000", "record_name_mismatch"),
        ("JS10012", "JS10012 12 500 5000", "JS10012.mat 16+24 1000/mV", "malformed_header"),
    ]
    for name, old, new, reason in header_edits:
        _edit_header(clone(name).with_suffix(".hea"), old, new)
        bad[name] = reason
    clone("JS00002", base="JS00004", folder=root / "WFDBRecords/02/020")  # same id as a good record, SB too
    bad["JS00002@dup"] = "duplicate_id"
    return bad


@pytest.fixture(scope="module")
def bad_dataset(lsad_sample, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-lsad")
    return root, _bad_input_folder(lsad_sample, root)


def test_every_bad_input_is_skipped_under_its_reason(bad_dataset, seed_config, tmp_path):
    root, bad = bad_dataset
    ds = prepare_dataset(seed_config, root, tmp_path, progress=False)
    reasons = {(s.name if s.reason != "duplicate_id" else s.name + "@dup"): s.reason for s in ds.skips}
    assert reasons == bad
    # the good records are still there, labelled as the real data says
    assert {r: ds.class_names[c] for r, c in ds.labels.items()} == EXPECTED
    # the duplicate is the second copy (02/020), the first one (01/010) is kept
    dup = next(s for s in ds.skips if s.reason == "duplicate_id")
    assert dup.rel.startswith("WFDBRecords/02/020")
    assert sum(ds.skip_counts().values()) == len(bad)
    summary = ds.summary()
    assert summary["records_found"] == 4 + len(bad) and summary["records_used"] == 4


def test_strict_turns_defects_into_an_error(bad_dataset, seed_config, tmp_path):
    root, _ = bad_dataset
    with pytest.raises(DataError) as err:
        prepare_dataset(seed_config, root, tmp_path, progress=False, strict=True)
    msg = str(err.value)
    assert "12 record(s) skipped" in msg and "nan_lead: 1" in msg and "no_class" not in msg


def test_strict_accepts_mere_exclusions(lsad_sample, seed_config, tmp_path):
    root = tmp_path / "d"
    leaf = _copy_sample(lsad_sample, root)
    _edit_header(leaf / "JS00004.hea", "#Dx: 426177001", "#Dx: 251146004")  # low QRS voltage only: not a class
    ds = prepare_dataset(seed_config, root, tmp_path / "w", progress=False, strict=True)
    assert ds.skip_counts() == {"no_class": 1} and "JS00004" not in ds.labels


def test_read_record_errors_are_data_errors(tmp_path):
    with pytest.raises(DataError):
        find_records(tmp_path / "nope")
    (tmp_path / "X1.hea").write_text("X1 12 500 5000\n")
    with pytest.raises(RecordError) as err:
        read_record(tmp_path / "X1")
    assert err.value.reason == "missing_dx"
