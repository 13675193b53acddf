"""``hil run`` / ``hil flash`` refuse bad input at once, with a message and exit status 3 (no stage runs)."""

import subprocess
import sys

import pytest

HIL = [sys.executable, "-m", "hil.cli"]


def run(*args, cwd=None):
    return subprocess.run([*HIL, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_unknown_board(tmp_path):
    p = run("run", "--board", "qemu-m5", "--work", str(tmp_path), "--out", str(tmp_path / "r"))
    assert p.returncode == 3
    assert "board 'qemu-m5' is not defined" in p.stderr and "qemu-m4" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "r").exists()


def test_bad_gate_is_refused_before_any_stage(tmp_path):
    p = run("run", "--gate", "exact_match=2", "--work", str(tmp_path), "--out", str(tmp_path / "r"))
    assert p.returncode == 3 and "exact_match" in p.stderr
    assert not any(tmp_path.iterdir())  # no data generated, nothing trained


def test_model_with_no_export(tmp_path):
    p = run("run", "--no-train", "--work", str(tmp_path), "--out", str(tmp_path / "r"))
    assert p.returncode == 3
    assert "has no export" in p.stderr and "hil export" in p.stderr


def test_model_folder_without_config(tmp_path):
    p = run("run", "--model", str(tmp_path), "--work", str(tmp_path / "w"))
    assert p.returncode == 3 and "config.yaml" in p.stderr


def test_resume_with_nothing_to_resume(tmp_path):
    p = run("run", "--resume", "--out", str(tmp_path / "r"), "--work", str(tmp_path / "w"))
    assert p.returncode == 3 and "nothing to resume" in p.stderr


def test_flash_without_a_build(tmp_path):
    p = run("flash", "--board", "apollo4", "--work", str(tmp_path))
    assert p.returncode == 3 and "hil build --board apollo4" in p.stderr


@pytest.mark.parametrize("cmd", ["run", "flash"])
def test_help_has_an_example(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0 and "Example" in p.stdout


def test_split_all_never_trains_on_the_external_set(tmp_path):
    p = run("run", "--split", "all", "--dataset", str(tmp_path), "--work", str(tmp_path / "w"), "--out", str(tmp_path / "r"))
    assert p.returncode == 3 and "has no export" in p.stderr and "no training on this dataset" in p.stderr


def test_unknown_training_profile(tmp_path):
    p = run("run", "--profile", "quik", "--work", str(tmp_path), "--out", str(tmp_path / "r"))
    assert p.returncode == 3 and "quick" in p.stderr and not any(tmp_path.iterdir())


def test_unknown_engine_in_engines_is_refused_before_any_stage(tmp_path):
    p = run("run", "--engines", "aot,tlfm", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "r"))
    assert p.returncode == 3 and "Traceback" not in p.stderr
    assert "unknown engine 'tlfm'" in p.stderr and "aot" in p.stderr
    assert not any(tmp_path.iterdir())  # no data generated, nothing trained, no run folder


def test_engine_and_engines_together_are_refused(tmp_path):
    p = run("run", "--engine", "aot", "--engines", "aot,tflm", "--work", str(tmp_path / "w"))
    assert p.returncode == 3 and "give one of them" in p.stderr
