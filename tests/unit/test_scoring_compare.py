"""Agreement, latency and memory numbers of a run (hil.scoring.compare)."""

import numpy as np
import pytest

from hil.config import load_boards
from hil.scoring import compare


@pytest.fixture(scope="module")
def boards():
    return load_boards("boards.yaml").boards


def test_identical_outputs_agree_fully():
    rng = np.random.default_rng(0)
    q = rng.integers(-128, 128, size=(50, 4), dtype=np.int8)
    a = compare.agreement(q, q.copy(), scale=0.1, zero_point=-3)
    assert a == {"windows": 50, "top1": 1.0, "exact_match": 1.0, "max_abs_diff_lsb": 0, "rmse": 0.0, "cosine": pytest.approx(1.0)}


def test_one_lsb_off_in_one_window():
    ref = np.array([[10, 20, 30, 40], [50, -10, 0, 5]], dtype=np.int8)
    dev = ref.copy()
    dev[1, 2] += 1
    a = compare.agreement(dev, ref)
    assert a["exact_match"] == 0.5
    assert a["top1"] == 1.0
    assert a["max_abs_diff_lsb"] == 1
    assert a["rmse"] == pytest.approx(np.sqrt(1 / 8))
    assert 0.99 < a["cosine"] < 1.0


def test_top1_disagreement_and_no_int8_overflow():
    ref = np.array([[127, -128, 0, 0]], dtype=np.int8)
    dev = np.array([[-128, 127, 0, 0]], dtype=np.int8)
    a = compare.agreement(dev, ref)
    assert a["top1"] == 0.0
    assert a["max_abs_diff_lsb"] == 255  # computed in int64, not wrapped in int8
    assert a["cosine"] < 0


def test_all_zero_logits_count_as_identical():
    z = np.full((3, 4), 5, dtype=np.int8)  # equal to the zero point: all-zero logits
    assert compare.agreement(z, z, zero_point=5)["cosine"] == 1.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        compare.agreement(np.zeros((2, 4), np.int8), np.zeros((3, 4), np.int8))


def test_emulated_latency_is_instructions_without_ms(boards):
    qemu = boards["qemu-m4"]
    lat = compare.latency([100, 200, 300], qemu)
    assert lat["unit"] == "qemu_instructions"
    assert lat["ms"] is None
    assert lat["cycles"]["median"] == 200 * qemu.timer.counts_per_tick
    assert lat["cycles"]["max"] == 300 * qemu.timer.counts_per_tick


def test_real_board_latency_in_cycles_and_ms(boards):
    apollo = boards["apollo4"]
    lat = compare.latency([96_000, 192_000], apollo)
    assert lat["unit"] == "cycles"
    assert lat["ms"]["min"] == pytest.approx(96_000 / apollo.clock_hz * 1e3)
    assert lat["ms"]["max"] == pytest.approx(2.0)


def test_memory_from_size_json():
    m = compare.memory({"text": 100, "data": 20, "bss": 300}, 4096)
    assert m == {"arena_bytes": 4096, "flash_bytes": 120, "ram_bytes": 320}
    assert compare.memory(None, None) == {"arena_bytes": None, "flash_bytes": None, "ram_bytes": None}


def test_metrics_on_dequantised_outputs():
    y = np.array([0, 1, 2, 3, 0])
    q = np.full((5, 4), -100, dtype=np.int8)
    q[np.arange(5), [0, 1, 2, 3, 1]] = 100  # last window wrong
    m = compare.metrics(y, compare.dequantize(q, 0.1, 0), ["SR", "SB", "AFIB", "GSVT"], 0.5)
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["confusion"][0] == [1, 1, 0, 0]
