"""A physical board is held by one run at a time: a flock per board, the holder named, a dead holder's lock taken over.

No board or probe is attached to CI machines: the board's serial port is a
pseudo-terminal and its probe is only a unique id in boards.yaml (the runs
here are stopped before anything would flash).  The locks, the processes
holding them and their deaths are real.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml

from hil.config import load_boards
from hil.device.lock import BoardBusy, BoardLock, board_identity, lock_board

PROBE = "FAKE-PROBE-0001"


@pytest.fixture
def lock_env(tmp_path, monkeypatch):
    d = tmp_path / "locks"
    monkeypatch.setenv("HIL_LOCK_DIR", str(d))
    return d


@pytest.fixture
def pty_path():
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def _board(url="/dev/ttyHIL-x"):
    b = load_boards("boards.yaml").boards["apollo4"]
    return b.model_copy(update={"flasher": b.flasher.model_copy(update={"unique_id": PROBE}),
                                "link": b.link.model_copy(update={"url": url, "usb": None})})


def test_identity_is_the_probe_then_the_port_and_emulated_boards_need_none():
    assert board_identity(_board()) == f"probe-{PROBE}"
    b = _board()
    no_probe = b.model_copy(update={"flasher": b.flasher.model_copy(update={"unique_id": None})})
    assert board_identity(no_probe) == "port-/dev/ttyHIL-x"
    assert board_identity(load_boards("boards.yaml").boards["qemu-m4"]) is None


def test_second_holder_is_refused_naming_the_first(lock_env):
    first = lock_board(_board(), "run-one")
    try:
        with pytest.raises(BoardBusy) as e:
            lock_board(_board(), "run-two")
        msg = str(e.value)
        assert e.value.exit_code == 2 and "--wait" in e.value.hint
        assert f"pid {os.getpid()}" in msg and socket.gethostname() in msg and "run-one" in msg and "since" in msg
    finally:
        first.release()
    lock_board(_board(), "run-two").release()  # free again once released


def test_waiting_gets_the_board_when_the_holder_releases(lock_env):
    import threading

    first = lock_board(_board(), "run-one")
    threading.Timer(0.5, first.release).start()  # the holder finishes while the second run waits
    lock = BoardLock(_board(), f"probe-{PROBE}", "run-two").acquire(wait_s=30)
    assert lock.holder()["run_id"] == "run-two" and not first.held
    lock.release()


HOLD = """
import sys, time
from hil.config import load_boards
from hil.device.lock import lock_board
b = load_boards('boards.yaml').boards['apollo4']
b = b.model_copy(update={'flasher': b.flasher.model_copy(update={'unique_id': sys.argv[1]})})
lock_board(b, 'killed-run')
print('held', flush=True)
time.sleep(600)
"""


def test_lock_of_a_killed_process_is_taken_over_and_its_details_rewritten(lock_env):
    p = subprocess.Popen([sys.executable, "-c", HOLD, PROBE], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(BoardBusy, match=f"pid {p.pid}"):
            lock_board(_board(), "mine")
    finally:
        p.kill()
        p.wait()
    lock = lock_board(_board(), "mine")  # the kernel dropped the dead holder's flock
    try:
        h = lock.holder()
        assert h["pid"] == os.getpid() and h["run_id"] == "mine"
        assert h["took_over_from"]["pid"] == p.pid and h["took_over_from"]["run_id"] == "killed-run"
    finally:
        lock.release()


def _hil_run(boards_file, tmp_path, name, *extra):
    # --engine aot: holding the board needs no TFLM tree (apollo4's own engine is tflm)
    return subprocess.Popen(
        [sys.executable, "-m", "hil.cli", "--boards", str(boards_file), "run", "--board", "apollo4", "--engine", "aot",
         "--work", str(tmp_path / f"w-{name}"), "--out", str(tmp_path / name), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})


def _wait_holder(lock_file, pid, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if json.loads(lock_file.read_text() or "{}").get("pid") == pid:
                return json.loads(lock_file.read_text())
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never held {lock_file}")


def test_two_hil_runs_on_one_board(lock_env, pty_path, tmp_path):
    """The second run exits 2 naming the first; with --wait it takes the board over when the first is killed."""
    boards = yaml.safe_load(open("boards.yaml"))
    boards["boards"]["apollo4"]["link"] = {"url": pty_path, "baud": 115200}
    boards["boards"]["apollo4"]["flasher"]["unique_id"] = PROBE
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(boards))
    lock_file = lock_env / f"probe-{PROBE}.lock"
    first = _hil_run(f, tmp_path, "first")
    waiter = None
    try:
        _wait_holder(lock_file, first.pid)
        os.kill(first.pid, signal.SIGSTOP)  # the first run holds the board (it would be training now)
        second = _hil_run(f, tmp_path, "second")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert f"pid {first.pid}" in err and "run first" in err and "since" in err and "Traceback" not in err
        assert not (tmp_path / "w-second").exists()  # refused before any step

        waiter = _hil_run(f, tmp_path, "third", "--wait", "120")
        time.sleep(1.0)
        assert waiter.poll() is None  # queued behind the first
        os.kill(first.pid, signal.SIGKILL)  # a run killed while holding the board
        h = _wait_holder(lock_file, waiter.pid)
        assert h["run_id"] == "third" and h["took_over_from"]["pid"] == first.pid
    finally:
        for p in (first, waiter):
            if p is not None and p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
            if p is not None:
                p.communicate()


def test_hil_flash_on_a_held_board_exits_2_naming_the_holder(lock_env, pty_path, tmp_path):
    """A second flash never writes a board a run holds (no probe here: the lock refuses before any flash)."""
    boards = yaml.safe_load(open("boards.yaml"))
    boards["boards"]["apollo4"]["link"] = {"url": pty_path, "baud": 115200}
    boards["boards"]["apollo4"]["flasher"]["unique_id"] = PROBE
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(boards))
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "hil.bin").write_bytes(b"\0" * 16)
    with lock_board(load_boards(f).boards["apollo4"], "the-nightly"):
        r = subprocess.run([sys.executable, "-m", "hil.cli", "--boards", str(f), "flash", "--board", "apollo4",
                            "--firmware", str(fw), "--log", str(tmp_path / "flash.log")],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert r.returncode == 2, r.stderr
    assert f"pid {os.getpid()}" in r.stderr and "run the-nightly" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "flash.log").exists()  # nothing was flashed
