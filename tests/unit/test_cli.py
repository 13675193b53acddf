"""The CLI as a user runs it: a real subprocess, real exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def hil(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hil.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def test_version():
    r = hil("--version")
    assert r.returncode == 0 and r.stdout.startswith("hil, version ")


def test_help_lists_every_command_group():
    r = hil("--help")
    assert r.returncode == 0
    for cmd in ("boards", "doctor", "data", "train", "export", "build", "flash", "run"):
        assert f"  {cmd}" in r.stdout, cmd


def test_every_command_has_help_with_an_example():
    from hil.cli import cli

    def walk(group, prefix=()):
        for name, cmd in group.commands.items():
            yield prefix + (name,), cmd
            if hasattr(cmd, "commands"):
                yield from walk(cmd, prefix + (name,))

    paths = [p for p, _ in walk(cli)]
    assert ("data", "synth") in paths and ("run",) in paths
    for path in paths:
        r = hil(*path, "--help")
        assert r.returncode == 0 and "Example" in r.stdout, " ".join(path)


def test_boards_lists_both_boards():
    r = hil("boards")
    assert r.returncode == 0
    assert "qemu-m4" in r.stdout and "apollo4" in r.stdout


def test_boards_json():
    doc = json.loads(hil("boards", "--json").stdout)
    assert doc["default"] == "qemu-m4"
    assert set(doc["boards"]) >= {"qemu-m4", "apollo4"}
    assert doc["boards"]["apollo4"]["flasher"]["target_override"] == "amap42kk_kbr"


def test_boards_check_good_file():
    r = hil("boards", "--check")
    assert r.returncode == 0 and "ok" in r.stdout


def test_boards_check_misspelt_key_exits_3_with_one_line(tmp_path):
    bad = tmp_path / "boards.yaml"
    bad.write_text((REPO / "boards.yaml").read_text().replace("\n    port: qemu_mps2", "\n    prot: qemu_mps2"))
    r = hil("--boards", str(bad), "boards", "--check")
    assert r.returncode == 3
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert str(bad) in lines[0] and "boards.qemu-m4.prot" in lines[0] and "'port'" in lines[0]
    assert "Traceback" not in r.stderr


def test_boards_file_from_environment(tmp_path):
    import os

    bad = tmp_path / "b.yaml"
    bad.write_text("default: x\nboards: {}\n")
    r = hil("boards", env={**os.environ, "HIL_BOARDS": str(bad)})
    assert r.returncode == 3 and str(bad) in r.stderr


def test_unknown_command_is_a_usage_error():
    assert hil("flsh").returncode == 3


def test_doctor_on_this_machine():
    r = hil("doctor", "--json")
    doc = json.loads(r.stdout)
    by_name = {c["name"]: c for c in doc["checks"]}
    # This machine (and CI, after `make setup`) has the toolchain and QEMU.
    assert by_name["arm-none-eabi-gcc"]["ok"], by_name["arm-none-eabi-gcc"]
    assert by_name["qemu-system-arm"]["ok"]
    assert by_name["python: tensorflow"]["ok"]
    assert r.returncode == (0 if doc["ok"] else 3)


def test_doctor_names_the_fix_for_a_missing_tool(tmp_path):
    import os

    # An empty PATH: no cross compiler, no QEMU.
    r = subprocess.run(
        [sys.executable, "-m", "hil.cli", "doctor", "--json"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "PATH": str(tmp_path)}, timeout=120,
    )
    doc = json.loads(r.stdout)
    gcc = next(c for c in doc["checks"] if c["name"] == "arm-none-eabi-gcc")
    assert not gcc["ok"] and "apt-get install" in gcc["fix"] and "gcc-arm-none-eabi" in gcc["fix"]
    assert r.returncode == 3


def test_deps_tflm_reports_pin_and_whether_the_tree_is_found(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "HIL_TFLM_ROOT"}
    doc = json.loads(hil("deps", "tflm", "--json", env=env).stdout)
    assert len(doc["commit"]) == 40 and doc["found"] is None
    assert any(doc["commit"] in c for c in doc["commands"])

    (tmp_path / "tensorflow/lite/micro").mkdir(parents=True)
    (tmp_path / "tensorflow/lite/micro/micro_interpreter.h").write_text("")
    doc = json.loads(hil("deps", "tflm", "--json", env={**env, "HIL_TFLM_ROOT": str(tmp_path)}).stdout)
    assert doc["found"] == str(tmp_path)


def test_deps_ambiqsuite_cannot_be_fetched():
    r = hil("deps", "ambiqsuite", "--fetch")
    assert r.returncode == 3 and "cannot be fetched automatically" in r.stderr


def test_tensorflow_startup_chatter_is_kept_off_stderr():
    code = (
        "import sys; from hil import quiet_tf; quiet_tf.install(); import tensorflow as tf; "
        "print(float((tf.constant([1.0]) * 2).numpy()[0]))"
    )
    import os

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "2.0"
    assert "cudart_stub" not in r.stderr and "oneDNN" not in r.stderr and "cuInit" not in r.stderr, r.stderr


def test_full_disk_is_an_infrastructure_error_naming_the_file(tmp_path):
    """A real ENOSPC (writing to /dev/full) reaches the CLI as one message and exit 2, not a traceback."""
    import click
    from click.testing import CliRunner

    from hil.cli import HilGroup
    from hil.scoring.runner import ResultsStore

    @click.group(cls=HilGroup)
    def root():
        pass

    @root.command()
    def write():
        store = ResultsStore(Path("/dev/full"))
        store.append({"index": 0, "outputs": [1, 2, 3, 4]})
        store.close()

    r = CliRunner().invoke(root, ["write"])
    assert r.exit_code == 2, r.output
    assert "no space left on the device writing /dev/full" in r.output and "--resume" in r.output
    assert "Traceback" not in r.output
