"""Bench checks on a physical board (marker ``device``; run with ``--board NAME``).

    pytest tests/device --board apollo4

The board is flashed once per session (fixture ``hil_device``) with the image
built from the current export; each test talks to it through ``hil_client``,
which has already passed HELLO and the model-hash check.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.device


def test_info_names_the_board_and_the_model(hil_board, hil_client, hil_export):
    from hil.artifacts import sha256_file

    board = hil_board
    info = hil_client.hello()
    assert info.engine == board.engine
    assert info.model_sha256 == sha256_file(hil_export / "model.tflite")
    assert info.arena_bytes > 0


def test_echo_round_trip(hil_client):
    payload = bytes(range(256)) * 3
    assert hil_client.echo(payload) == payload


def test_windows_are_bit_exact_with_tflite(hil_client, hil_model, hil_paths, hil_export):
    from hil.data import default_dataset, prepare_dataset
    from hil.export.quantize import quantize_input
    from hil.export.references import tflite_ref_outputs
    from hil.export.tflite_info import read_io_quant

    ds = prepare_dataset(hil_model, default_dataset(hil_model, hil_paths.work), hil_paths.work, progress=False)
    w = ds.windows("test", limit=50)
    s, zp, *_ = read_io_quant(hil_export / "model.tflite")
    x = quantize_input(w.x, s, zp)
    got = {r.index: r.outputs for r in hil_client.infer_stream(enumerate(x))}
    ref = tflite_ref_outputs(hil_export / "model.tflite", x)
    assert sorted(got) == list(range(len(x)))
    assert np.array_equal(np.stack([got[i] for i in range(len(x))]), ref)


def test_profile_covers_every_op(hil_client, hil_export):
    from hil.export.tflite_info import read_ops

    prof = hil_client.profile()
    ops = read_ops(hil_export / "model.tflite")
    assert [p.op_index for p in prof] == list(range(len(ops)))
    assert [p.op_name for p in prof] == ops  # each op's time under its own name, in execution order
    assert sum(p.ticks for p in prof) > 0  # (ticks are unsigned: ">= 0" would assert nothing)


def test_short_run_passes_its_gates(hil_run):
    res = hil_run(windows=200)
    assert res.exit_code == 0, [c for c in res.report["gates"]["checks"] if not c["passed"]]
    assert res.report["latency"]["unit"] in ("cycles", "qemu_instructions")
