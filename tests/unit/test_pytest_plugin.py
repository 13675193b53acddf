"""The pytest plugin: `device` tests are skipped without --board and selected with it; the board fixture resolves it."""

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pytest(tmp_path, *args):
    (tmp_path / "test_dev.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.mark.device
        def test_on_board(hil_board):
            print("BOARD", hil_board.name, hil_board.flasher.kind)

        def test_plain():
            pass
    """))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "--hil-boards", str(REPO / "boards.yaml"), str(tmp_path / "test_dev.py"), *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )


def test_device_tests_skip_without_board(tmp_path):
    p = _pytest(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed, 1 skipped" in p.stdout
    assert "BOARD" not in p.stdout


def test_board_option_selects_the_board(tmp_path):
    p = _pytest(tmp_path, "--board", "apollo4")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "BOARD apollo4 pyocd" in p.stdout and "2 passed" in p.stdout


def test_unknown_board_errors_in_the_fixture(tmp_path):
    p = _pytest(tmp_path, "--board", "nope")
    assert p.returncode == 1 and "board 'nope' is not defined" in p.stdout
