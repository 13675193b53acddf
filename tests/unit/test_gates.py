"""Gates: defaults from the model config, --gate overrides validated with clear errors."""

import pytest

from hil.config import GatesCfg
from hil.errors import ConfigError
from hil.scoring.gates import apply_overrides, evaluate


def _metrics(accuracy):
    """Full metrics of a backend (the typed report requires every key); only the accuracy matters to gates."""
    return {"accuracy": accuracy, "f1_macro": accuracy, "f1_weighted": accuracy, "per_class": {}, "confusion": [],
            "thresholded": {"accuracy": accuracy, "f1_macro": accuracy, "dropped": 0.0}}


def _stats(median):
    return {"min": median, "median": median, "p95": median, "max": median}


def _report(**over):
    r = {
        "agreement": {"top1": 1.0, "exact_match": 1.0},
        "metrics": {"keras": _metrics(0.90), "device": _metrics(0.88)},
        "latency": {"unit": "qemu_instructions", "cycles": _stats(5e6), "ms": None},
        "memory": {"arena_bytes": 20_000, "flash_bytes": 150_000},
    }
    r.update(over)
    return r


def test_defaults_pass_a_bit_exact_run():
    g = evaluate(GatesCfg(), _report())
    assert g["passed"]
    names = [c["name"] for c in g["checks"]]
    assert names == ["top1_agreement", "exact_match", "max_accuracy_drop"]  # unset limits are not checked


def test_one_mismatch_fails_the_exact_gate():
    g = evaluate(GatesCfg(), _report(agreement={"top1": 1.0, "exact_match": 0.999}))
    assert not g["passed"]
    failed = [c for c in g["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["exact_match"]
    assert failed[0]["value"] == 0.999 and failed[0]["limit"] == 1.0


def test_accuracy_drop_gate():
    g = evaluate(GatesCfg(max_accuracy_drop=0.01), _report())
    drop = next(c for c in g["checks"] if c["name"] == "max_accuracy_drop")
    assert drop["value"] == pytest.approx(0.02) and not drop["passed"]


def test_missing_value_fails_rather_than_passes():
    g = evaluate(GatesCfg(), _report(metrics={"keras": None, "device": _metrics(0.9)}))
    drop = next(c for c in g["checks"] if c["name"] == "max_accuracy_drop")
    assert drop["value"] is None and not drop["passed"]


def test_latency_in_board_unit_when_emulated_and_ms_on_a_real_chip():
    g = evaluate(GatesCfg(max_latency=4e6), _report())
    lat = next(c for c in g["checks"] if c["name"] == "max_latency")
    assert (lat["value"], lat["unit"], lat["passed"]) == (5e6, "qemu_instructions", False)
    real = _report(latency={"unit": "cycles", "cycles": _stats(4.8e6), "ms": _stats(50.0)})
    lat = next(c for c in evaluate(GatesCfg(max_latency=60), real)["checks"] if c["name"] == "max_latency")
    assert (lat["value"], lat["unit"], lat["passed"]) == (50.0, "ms", True)


def test_memory_gates():
    g = evaluate(GatesCfg(max_arena_bytes=10_000, max_flash_bytes=200_000), _report())
    by = {c["name"]: c["passed"] for c in g["checks"]}
    assert by["max_arena_bytes"] is False and by["max_flash_bytes"] is True


def test_overrides_apply_and_disable():
    g = apply_overrides(GatesCfg(max_latency=5.0), ["top1_agreement=0.99", "max-latency=none", "max_arena_bytes=0x8000"])
    assert g.top1_agreement == 0.99 and g.max_latency is None and g.max_arena_bytes == 0x8000


@pytest.mark.parametrize(
    "item, words",
    [
        ("top1_agrement=0.9", ["unknown gate", "top1_agreement"]),  # close match suggested
        ("exact_match", ["KEY=VALUE"]),
        ("exact_match=abc", ["not a number"]),
        ("exact_match=1.5", ["exact_match", "from 0 to 1"]),
        ("max_flash_bytes=-1", ["max_flash_bytes", "greater than"]),
    ],
)
def test_bad_overrides_name_the_problem(item, words):
    with pytest.raises(ConfigError) as e:
        apply_overrides(GatesCfg(), [item])
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("item, words", [
    ("top1_agreement=2", "top1_agreement takes a number from 0 to 1"),
    ("max_latency=-1", "max_latency takes a number greater than 0, or none to disable it"),
    ("exact_match=none", "this gate cannot be disabled"),
])
def test_out_of_range_gate_is_said_in_the_projects_words(item, words):
    with pytest.raises(ConfigError) as e:
        apply_overrides(GatesCfg(), [item])
    assert words in str(e.value) and "Input should be" not in str(e.value)
