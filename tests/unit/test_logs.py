"""Output in a log (CI, nightly, `| tee`): a console that is not a terminal, in an 80-column environment.

Lines must stay whole (no wrapping of paths or table rows), long steps must
print a line now and then, and terminal help and tables must fit 80 columns.
"""

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from hil import ui
from hil.scoring.report import as_document
from hil.scoring.report_model import Report
from tests.unit.test_report import sample  # noqa: F401  (the report fixture)

LONG = Path("/srv/lab/nightly/runs/20260101-000000-qemu-m4-" + "x" * 80)


@pytest.fixture
def log(monkeypatch):
    """ui's consoles replaced by non-terminal ones, as rich makes them when COLUMNS=80."""
    monkeypatch.setenv("COLUMNS", "80")
    buf = io.StringIO()
    con = ui.make_console(file=buf)
    assert not con.is_terminal
    monkeypatch.setattr(ui, "console", con)
    monkeypatch.setattr(ui, "err_console", con)
    return buf


def test_info_keeps_a_long_path_on_one_line(log):
    ui.info(f"run folder {LONG}")
    assert log.getvalue() == f"run folder {LONG}\n"


def test_summary_rows_and_path_are_whole(log, sample):  # noqa: F811
    from hil.commands.run import render_summary

    rep = Report.model_validate(as_document(sample[0]))
    rep.timings = {"data": 49.0, "build": 1.0, "stream": 2.5, "references": 5.7, "compare": 0.1, "report": 1.0}
    render_summary(rep, LONG)
    lines = log.getvalue().splitlines()
    device = next(line for line in lines if line.startswith("│ device"))
    assert device.count("│") == 7  # one row, every column, on one line
    assert any(str(LONG) in line and "report.html" in line for line in lines)
    timings = next(line for line in lines if "timings" in line)
    assert "report 1.0s" in timings and "total 59.3s" in timings


def test_long_step_prints_progress_lines_without_a_terminal(log):
    with ui.progress(transient=True) as bar:
        task = bar.add_task("synthesising LSAD", total=200)
        for _ in range(200):
            bar.advance(task)
    lines = log.getvalue().splitlines()
    assert lines[-1] == "  synthesising LSAD: 200/200 (100%), 0 s"
    assert 10 <= len(lines) <= 12 and all(line.startswith("  synthesising LSAD: ") for line in lines)
    assert "" not in lines  # no blank lines


@pytest.fixture
def fake_clock(monkeypatch):
    """ui's clock, moved by the test: a step is slow without the test waiting for it."""
    now = [1000.0]
    monkeypatch.setattr(ui, "clock", lambda: now[0])
    monkeypatch.setitem(ui._state, "last_line", 0.0)
    return now


def test_a_quiet_step_says_it_is_still_running_every_10_s(log, fake_clock):
    beat = ui.Heartbeat("export")  # not started: tick() is what its thread calls
    fake_clock[0] += 9.9
    assert not beat.tick()
    fake_clock[0] += 0.1
    assert beat.tick() and not beat.tick()
    fake_clock[0] += 5
    ui.info("export: converting to int8")  # a line of the step's own restarts the 10 s
    fake_clock[0] += 9
    assert not beat.tick()
    fake_clock[0] += 1
    assert beat.tick()
    assert log.getvalue().splitlines() == ["  export: still running, 10 s", "export: converting to int8",
                                           "  export: still running, 25 s"]


def test_every_stage_of_a_run_prints_lines_while_it_runs_without_a_terminal(log, fake_clock):
    import time

    from hil.steps import StageTimer

    def lines() -> list[str]:
        return [x for x in log.getvalue().splitlines() if "still running" in x]

    with StageTimer().stage("build", "firmware for qemu-m4"):  # a stage with no progress bar of its own
        for n in (1, 2, 3):
            fake_clock[0] += ui.HEARTBEAT_S
            end = time.monotonic() + 10  # the heartbeat thread polls every 0.5 s of real time
            while len(lines()) < n and time.monotonic() < end:
                time.sleep(0.01)
    assert lines() == ["  build: still running, 10 s", "  build: still running, 20 s", "  build: still running, 30 s"]
    out = log.getvalue().splitlines()
    assert out[0] == "▶ build firmware for qemu-m4" and out[-1].startswith("  build done in")
    assert "" not in out


def test_boards_fit_80_columns_without_breaking_a_value(monkeypatch):
    from hil.cli import cli

    buf = io.StringIO()
    monkeypatch.setattr(ui, "console", Console(file=buf, width=80, force_terminal=True, color_system=None))
    CliRunner().invoke(cli, ["boards"], catch_exceptions=False)
    out = buf.getvalue()
    assert "qemu_instructions" in out and max(map(len, out.splitlines())) <= 80
    assert "pyocd, jlink" in out  # the apollo4 flasher and its fallback on one line


def test_help_lists_whole_command_descriptions():
    from hil.cli import cli

    out = CliRunner().invoke(cli, ["--help"], terminal_width=80).output
    commands = out.split("Commands:")[1]
    assert "..." not in commands and max(map(len, commands.splitlines())) <= 80
    assert "compare with the references." in " ".join(commands.split())


def test_training_progress_says_starting_until_a_batch_has_a_loss():
    from hil.model.train import _Run

    run = _Run(Path("/nonexistent"), None, [1.0], 0.0, None, ["a"], 8, 10, None)
    assert run._describe() == "epoch 1/8 starting"
    run.last_loss = 0.5
    assert run._describe() == "epoch 1/8 loss 0.5000"


def test_make_setup_filters_setuptools_editable_notice_but_not_other_warnings():
    import re
    import subprocess
    import sys

    line = next(x for x in (Path(__file__).parents[2] / "Makefile").read_text().splitlines() if "-e '.[dev]'" in x)
    env_value = re.search(r'PYTHONWARNINGS="([^"]+)"', line).group(1)
    # What pip does with a build backend's warning (pyproject_hooks re-emits it as BuildBackendWarning).
    code = ("import warnings\nfrom pip._vendor.pyproject_hooks import BuildBackendWarning as B\n"
            "warnings.warn_explicit('Editable installation.\\n' + '*' * 80 + '\\nPlease be careful', B, 'x.py', 1)\n"
            "warnings.warn_explicit('Something else', B, 'x.py', 2)\n")
    p = subprocess.run([sys.executable, "-c", code], env={"PYTHONWARNINGS": env_value}, capture_output=True, text=True)
    assert "Editable installation" not in p.stderr and "Something else" in p.stderr
