"""Patient split: last share of sorted ids is test, stratified seeded validation, no overlap."""

from __future__ import annotations

from collections import Counter

from hil.data.split import split_patients


def _labels(n: int) -> dict[str, int]:
    return {f"JS{i:05d}": (i * 7) % 4 for i in range(1, n + 1)}


def test_split_rules():
    labels = _labels(500)
    s = split_patients(labels, 0.2, 0.2, seed=42)
    assert set(s) == set(labels) and set(s.values()) == {"train", "val", "test"}
    ids = sorted(labels)
    assert [p for p in ids if s[p] == "test"] == ids[-100:]
    rest = ids[:-100]
    per_class = Counter(labels[p] for p in rest)
    val_per_class = Counter(labels[p] for p in rest if s[p] == "val")
    for c, n in per_class.items():  # stratified: 20 % of every class
        assert val_per_class[c] == round(n * 0.2)


def test_split_is_deterministic_and_seeded():
    labels = _labels(200)
    a = split_patients(labels, 0.2, 0.2, seed=1)
    assert a == split_patients(dict(reversed(list(labels.items()))), 0.2, 0.2, seed=1)
    b = split_patients(labels, 0.2, 0.2, seed=2)
    assert a != b
    assert {p for p in a if a[p] == "test"} == {p for p in b if b[p] == "test"}


def test_prepared_split_has_no_patient_overlap(synthetic_prepared):
    ds = synthetic_prepared
    sets = {s: set(ds.patients(s)) for s in ("train", "val", "test")}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    assert sets["train"] | sets["val"] | sets["test"] == set(ds.labels)
    for split in ("val", "test"):
        assert {r.record for r in ds.refs(split)} == sets[split]  # windows stay inside their split
    counts = ds.class_counts("all")
    assert counts == {"SR": 15, "SB": 15, "AFIB": 15, "GSVT": 15}
    assert sum(ds.class_counts("test").values()) == 12
    spp = ds.cfg.windows.test_samples_per_patient
    assert ds.class_counts("test", unit="windows") == {k: v * spp for k, v in ds.class_counts("test").items()}
