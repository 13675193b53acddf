"""Runs made through the pytest plugin (``hil_run``, the device/nightly tests) are history like `hil run`'s.

A pytest session of its own runs two tests on qemu-m4 (2 windows each, the
session's prebuilt aot image): each run gets its own folder under $HIL_RUNS
and its own row in --hil-history, the row holds the facts `hil history import`
reads from the folder, and the second run is compared with the first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from hil.history import facts, open_history
from hil.scoring.report_model import load_report
from tests.fixtures.run import REPO

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

COMPARED = ("board", "engine", "kernels", "model_name", "model_sha256", "firmware_sha256", "dataset_fingerprint",
            "split", "windows", "series", "exit_status", "passed", "numbers", "gates", "baseline_run_id")


def test_runs_of_the_plugin_are_recorded_in_the_history(run_setup, tmp_path):
    (tmp_path / "test_on_board.py").write_text(textwrap.dedent("""
        RUN = dict(windows=2, engine="aot", no_train=True, devices=1)

        def test_first(hil_run):
            assert hil_run(**RUN).exit_code == 0

        def test_second(hil_run):
            assert hil_run(**RUN).exit_code == 0
    """))
    history = tmp_path / "history.sqlite"
    env = {**os.environ, "HIL_RUNS": str(tmp_path / "runs"), "PYTHONPATH": str(REPO)}
    env.pop("HIL_HISTORY", None)  # the option names the file
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "--basetemp", str(tmp_path / "pt"), "--board", "qemu-m4", "--hil-boards", str(REPO / "boards.yaml"),
         "--hil-model", str(run_setup.model), "--hil-work", str(run_setup.work),
         "--hil-dataset", str(run_setup.dataset), "--hil-history", str(history), str(tmp_path / "test_on_board.py")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
    )
    assert p.returncode == 0 and "2 passed" in p.stdout, p.stdout[-3000:] + p.stderr[-3000:]

    first, second = sorted((tmp_path / "runs").iterdir(), key=lambda d: d.name.endswith("test_second"))
    assert first.name.endswith("-qemu-m4-test_first") and second.name.endswith("-qemu-m4-test_second")
    with open_history(history) as h:
        rows = {r["run_id"]: r for r in h.rows()}
    assert sorted(rows) == sorted([first.name, second.name])  # one row per run, named by its folder
    for d in (first, second):
        imported = facts.report_row(load_report(d / "report.json"), d, 0)  # what `hil history import` would record
        assert {k: rows[d.name][k] for k in COMPARED} == {k: imported[k] for k in COMPARED}
        assert rows[d.name]["run_dir"] == str(d.resolve()) and rows[d.name]["windows"] == 2
    assert rows[first.name]["baseline_run_id"] is None and rows[second.name]["baseline_run_id"] == first.name
    growth = next(g for g in rows[second.name]["gates"] if g["name"] == "regression.latency_growth")
    assert growth["passed"] and growth["value"] == 0  # the same windows, the same image: the same counts
