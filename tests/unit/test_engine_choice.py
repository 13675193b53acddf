"""Which engine and kernel set a build or run uses (hil.engines.choose_engine), and fetching a tree offline.

A TFLM tree here is a folder holding only the files the engine checks for
(micro_interpreter.h, CMSIS-NN's arm_nnfunctions.h): choosing an engine never
compiles anything; the real tree is built in tests/integration/test_tflm_engine.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hil import deps
from hil.config import load_board, load_boards
from hil.engines import choose_engine, get_engine
from hil.engines.tflm import CMSIS_NN_IN_TREE, CMSIS_NN_MARKER, MARKER
from hil.errors import ConfigError, InfraError

REPO = Path(__file__).resolve().parents[2]
BOARDS = REPO / "boards.yaml"


def _tree(root: Path, cmsis_nn: bool = True) -> Path:
    (root / MARKER).parent.mkdir(parents=True)
    (root / MARKER).write_text("")
    if cmsis_nn:
        (root / CMSIS_NN_IN_TREE / CMSIS_NN_MARKER).parent.mkdir(parents=True)
        (root / CMSIS_NN_IN_TREE / CMSIS_NN_MARKER).write_text("")
    return root


@pytest.fixture
def no_tree(monkeypatch, tmp_path):
    """No TFLM anywhere: no variables and an empty `hil deps` cache."""
    for var in ("HIL_TFLM_ROOT", "HIL_CMSIS_NN_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HIL_DEPS_DIR", str(tmp_path / "deps"))
    return tmp_path


def test_qemu_m4_runs_tflm_with_cmsis_nn_when_a_tree_is_set(no_tree, monkeypatch):
    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(no_tree / "tflm")))
    c = choose_engine(load_board("qemu-m4", BOARDS))
    assert (c.name, c.engine.kernels, c.engine.label) == ("tflm", "cmsis-nn", "tflm-cmsis-nn")
    assert "qemu-m4's engine" in c.reason


def test_the_fetched_cache_counts_as_a_tree(no_tree):
    _tree(deps.cache_dir("tflm"))
    assert choose_engine(load_board("qemu-m4", BOARDS)).name == "tflm"


def test_without_a_tree_qemu_m4_falls_back_to_aot_and_says_why(no_tree):
    c = choose_engine(load_board("qemu-m4", BOARDS))
    assert c.name == "aot" and c.engine.kernels is None
    assert "tflm unavailable" in c.reason and "HIL_TFLM_ROOT" in c.reason and "fallback_engine aot" in c.reason


def test_apollo4_has_no_fallback_so_a_missing_tree_is_a_config_error(no_tree):
    c = choose_engine(load_board("apollo4", BOARDS))
    assert (c.name, c.engine.kernels) == ("tflm", "cmsis-nn")  # as Ambiq ships it
    with pytest.raises(ConfigError, match="HIL_TFLM_ROOT"):
        c.engine.cmake_variables()


def test_cmsis_nn_without_its_tree_names_the_variable_and_the_fix(no_tree, monkeypatch):
    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(no_tree / "tflm", cmsis_nn=False)))
    eng = get_engine("tflm").with_kernels("cmsis-nn")
    with pytest.raises(ConfigError) as e:
        eng.cmake_variables()
    assert "HIL_CMSIS_NN_ROOT" in str(e.value) and "--kernels reference" in e.value.hint
    # qemu-m4 falls back rather than failing, and the reason names CMSIS-NN
    c = choose_engine(load_board("qemu-m4", BOARDS))
    assert c.name == "aot" and "CMSIS-NN" in c.reason


def test_reference_kernels_never_pass_cmsis_nn_to_cmake(no_tree, monkeypatch):
    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(no_tree / "tflm")))
    monkeypatch.setenv("HIL_CMSIS_NN_ROOT", str(no_tree / "tflm" / CMSIS_NN_IN_TREE))
    c = choose_engine(load_board("qemu-m4", BOARDS), kernels="reference")
    v = c.engine.cmake_variables()
    assert v["HIL_TFLM_KERNELS"] == "reference" and v["HIL_CMSIS_NN_ROOT"] == ""


def test_the_kernel_set_is_part_of_the_fingerprint(no_tree, monkeypatch):
    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(no_tree / "tflm")))
    tflm = get_engine("tflm")
    a, b = tflm.with_kernels("cmsis-nn").fingerprint(), tflm.with_kernels("reference").fingerprint()
    assert a["kernels"] == "cmsis-nn" and b["kernels"] == "reference" and a != b
    assert get_engine("tflm").kernels is None  # with_kernels configures a copy, never the registered engine


def test_the_diagnosis_image_of_tflm_is_its_own_and_aot_dumps_from_the_run_image(no_tree, monkeypatch):
    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(no_tree / "tflm")))
    aot = get_engine("aot")
    assert aot.for_dump() is aot  # aot stops its plan after the asked op: the run's image dumps
    run = get_engine("tflm").with_kernels("cmsis-nn")
    dump = run.for_dump()
    assert dump is not run and not run.dump_build and dump.for_dump() is dump
    assert (run.label, dump.label) == ("tflm-cmsis-nn", "tflm-cmsis-nn-dump")  # a folder of its own
    assert dump.fingerprint() == {**run.fingerprint(), "preserve_all": True}  # and a manifest of its own


def test_kernels_on_an_engine_with_one_set_is_refused(no_tree):
    with pytest.raises(ConfigError, match="--kernels reference: engine aot"):
        choose_engine(load_board("qemu-m4", BOARDS), "aot", "reference")
    assert choose_engine(load_board("qemu-m4", BOARDS), "aot").engine.kernels is None  # the board's kernels ignored


def test_an_engine_asked_for_says_so_in_words(no_tree):
    # the summary prints "engine aot: <reason>": a bare "--engine" there read as a stray option
    assert choose_engine(load_board("qemu-m4", BOARDS), "aot").reason == "chosen with --engine"


def test_boards_yaml_refuses_an_unknown_kernel_set(tmp_path):
    data = yaml.safe_load(BOARDS.read_text())
    data["boards"]["apollo4"]["kernels"] = "fast"
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as e:
        load_boards(f)
    assert "kernels" in str(e.value) and "cmsis-nn" in str(e.value)


def test_tree_commit_from_a_pinned_copy_without_git(tmp_path):
    (tmp_path / "SOURCE.md").write_text(f"tflite-micro {'ab' * 20} (tensorflow/)\n")
    assert deps.tree_commit(tmp_path) == "ab" * 20
    assert deps.tree_commit(tmp_path / "nothing") is None


def test_fetch_gives_up_within_seconds_when_the_host_cannot_be_reached(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a local port nobody listens on: refused at once, no real host contacted
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HIL_TFLM_URL", f"http://127.0.0.1:{port}/tflite-micro.git")
    ran: list = []
    monkeypatch.setattr(deps.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(InfraError, match="unreachable"):
        deps.fetch("tflm", tmp_path / "tflm", probe_timeout_s=2)
    assert ran == [] and not (tmp_path / "tflm").exists()  # gave up at the probe: git (minutes offline) never ran


def test_make_setup_tries_the_fetch_quietly_and_never_fails(tmp_path):
    import subprocess
    import sys

    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HIL_TFLM_URL": f"http://127.0.0.1:{port}/x.git",
           "HIL_DEPS_DIR": str(tmp_path / "deps"), "PYTHONPATH": str(REPO)}
    p = subprocess.run(["make", "-s", "-C", str(REPO), "deps-tflm", f"VENV={Path(sys.executable).parents[1]}"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.strip().splitlines()) == 1 and "aot" in p.stdout  # one quiet line, the consequence


# --- --engines: several engines in one run ------------------------------------------------------


def test_engines_in_the_order_given_each_with_its_kernels(monkeypatch, tmp_path):
    from hil.engines import choose_engines

    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(tmp_path / "tflm")))
    monkeypatch.delenv("HIL_CMSIS_NN_ROOT", raising=False)
    board = load_board("qemu-m4", BOARDS)
    choices, notes = choose_engines(board, ["aot", "tflm"])
    assert [c.engine.label for c in choices] == ["aot", "tflm-cmsis-nn"] and notes == []
    assert all(c.reason == "chosen with --engines" for c in choices)
    choices, _ = choose_engines(board, ["tflm", "aot"], "reference")  # --kernels: the engines with kernel sets
    assert [c.engine.label for c in choices] == ["tflm-reference", "aot"]


def test_engines_all_is_every_buildable_engine_the_boards_first(monkeypatch, tmp_path, no_tree):
    from hil.engines import choose_engines, engine_names

    board = load_board("qemu-m4", BOARDS)
    choices, notes = choose_engines(board, ["all"])  # no TFLM tree: tflm is left out, and said so
    assert [c.name for c in choices] == [n for n in engine_names() if n != "tflm"]
    assert len(notes) == 1 and "engine tflm left out" in notes[0] and "HIL_TFLM_ROOT" in notes[0]
    monkeypatch.setenv("HIL_TFLM_ROOT", str(_tree(tmp_path / "tflm")))
    choices, notes = choose_engines(board, ["all"])
    assert [c.name for c in choices][:1] == ["tflm"] and "aot" in [c.name for c in choices] and notes == []
    assert all(c.reason == "chosen with --engines all" for c in choices)


@pytest.mark.parametrize("names, words", [
    (["aot", "tlfm"], "unknown engine 'tlfm'; known: aot"),
    (["aot", "aot"], "engine aot is listed twice"),
    (["all", "aot"], "give it alone"),
    ([" ", ""], "name at least one engine"),
])
def test_bad_engine_lists_are_refused_naming_the_fix(names, words):
    from hil.engines import choose_engines

    with pytest.raises(ConfigError) as e:
        choose_engines(load_board("qemu-m4", BOARDS), names)
    assert words in str(e.value)


def test_kernels_with_only_engines_without_kernel_sets_is_refused():
    from hil.engines import choose_engines

    with pytest.raises(ConfigError, match="none of the engines aot has kernel sets"):
        choose_engines(load_board("qemu-m4", BOARDS), ["aot"], "reference")
