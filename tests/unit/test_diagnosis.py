"""hil.scoring.diagnosis and hil.scoring.profile on arrays built here (no device)."""

from __future__ import annotations

import struct

import numpy as np

from hil.device.protocol import parse_dump_chunk
from hil.scoring import diagnosis as diag_mod
from hil.scoring import profile as profile_mod
from hil.tflite import Graph, Operator, Tensor


def _graph(names):
    tensors = [Tensor(i, f"t{i}", (4,), 9, None, np.zeros(0, np.float32), np.zeros(0, np.int64), 0, (), None)
               for i in range(len(names) + 1)]
    ops = [Operator(i, n, 0, [i], [i + 1], None) for i, n in enumerate(names)]
    return Graph(tensors, ops, [0], [len(names)])


def test_first_divergence_is_the_earliest_op_and_names_the_references():
    g = _graph(["CONV_2D", "MEAN", "MUL"])
    ref = [np.arange(4, dtype=np.int8) for _ in range(3)]
    dev = [r.copy() for r in ref]
    dev[1][2] += 1
    dev[2] += 3
    host = {"tflite": ref, "tflm_host": [r.copy() for r in ref]}
    w = diag_mod.compare_layers(g, dev, host, window=7)
    d = w["first_divergence"]
    assert (d["index"], d["op"], d["output"], d["max_abs_diff_lsb"]) == (1, "MEAN", "t2", 1)
    assert d["references"] == ["tflite", "tflm_host"] and d["differing_share"] == 0.25
    assert [x["max_abs_diff_lsb"] for x in w["layers"]["tflite"]] == [0, 1, 3]
    assert w["references_diverge"] is None and w["tensor"]["index"] == 1
    assert diag_mod.summary({"first_divergence": d}).startswith("first divergence: op 1 MEAN, up to 1 LSB")


def test_departure_from_one_reference_only_is_named():
    g = _graph(["MEAN"])
    host = {"tflite": [np.zeros(4, np.int8)], "tflm_host": [np.ones(4, np.int8)]}
    w = diag_mod.compare_layers(g, [np.zeros(4, np.int8)], host, window=0)
    assert w["first_divergence"]["references"] == ["tflm_host"]
    assert w["references_diverge"]["index"] == 0  # the host references disagree there too


def test_disagreeing_windows():
    dev = np.array([[1, 2], [3, 4], [5, 6]], np.int8)
    a, b = dev.copy(), dev.copy()
    a[2, 0] = 0
    b[0, 1] = 0
    assert diag_mod.disagreeing(dev, a, b) == [0, 2]
    assert diag_mod.disagreeing(dev, dev) == []


def test_dump_chunk_layout():
    tensor = struct.pack("<BBH4iIfi", 1, 2, 0, 3, 5, 0, 0, 15, 0.5, -3)
    payload = struct.pack("<HH", 4, 53) + tensor + struct.pack("<I", 8) + bytes(range(7))
    op, ops, t, offset, data = parse_dump_chunk(payload)
    assert (op, ops, offset, data) == (4, 53, 8, bytes(range(7)))
    assert (t.shape, t.dtype, t.bytes, t.scale, t.zero_point) == ((3, 5), "int8", 15, 0.5, -3)


def test_by_type_adds_up_and_sorts():
    ops = [{"op": "CONV_2D", "counts": 30.0}, {"op": "MEAN", "counts": 60.0}, {"op": "CONV_2D", "counts": 10.0}]
    rows = profile_mod.by_type(ops, 100.0)
    assert [(r["op"], r["ops"], r["counts"], r["share"]) for r in rows] == [("MEAN", 1, 60.0, 0.6), ("CONV_2D", 2, 40.0, 0.4)]
