"""A board that is a labgrid place, for real on 127.0.0.1.

The test starts a real ``labgrid-coordinator`` and a real ``labgrid-exporter``
(free ports, a temporary folder), and the exporter host's emulated board: QEMU
booting the image hil built, its UART on a TCP port that the exporter exports
as the place's ``NetworkSerialPort``.  ``hil run`` acquires the place through
the coordinator, streams over that port and scores bit-exact; a second client
(``labgrid-client`` as another user and host) holding the place makes
``hil run`` exit 2 naming it, or wait for it.  Only a debug probe cannot exist
here: the pyocd place's probe server is a listening socket that records what
pyOCD's remote probe sends it, said so below.  Everything started is stopped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from hil.device.labgrid_place import list_places
from hil.device.qemu import free_tcp_port

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLACE, PROBE_PLACE, EXPORTER = "qemu-lab", "apollo4-lab", "lab-exporter"
OTHER = {"LG_USERNAME": "nightly", "LG_HOSTNAME": "rig-2"}  # the second client: another user on another host
N = 12


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def _wait_for(what: str, ok, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = ok()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:g} s")


def _client(address: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("labgrid-client"), "-x", address, *args], capture_output=True, text=True,
                          timeout=30, env={**os.environ, **(env or {})}, check=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Lab:
    def __init__(self, address: str, boards: Path, probe: "ProbeServer") -> None:
        self.address, self.boards, self.probe = address, boards, probe

    def place(self, name: str = PLACE) -> dict:
        return next(p for p in list_places(self.address, 5)["places"] if p["place"] == name)


class ProbeServer:
    """Stands in for `pyocd server` with no probe attached (none exists here): answers every request of
    pyOCD's remote probe protocol (JSON lines) with its probe-error status, and keeps the requests."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.requests: list[dict] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                for line in f:
                    rq = json.loads(line)
                    self.requests.append(rq)
                    f.write(json.dumps({"id": rq["id"], "status": 3, "error": "no probe attached"}).encode() + b"\n")
                    f.flush()

    def close(self) -> None:
        self.sock.close()


def _boards_yaml(path: Path, address: str, probe_port: int) -> None:
    doc = yaml.safe_load((REPO / "boards.yaml").read_text())
    qemu, apollo = doc["boards"]["qemu-m4"], doc["boards"]["apollo4"]
    doc["boards"] = {
        PLACE: {**qemu, "description": "qemu-m4 booted by the lab's exporter host", "flasher": {"kind": "exporter"},
                "link": {**qemu["link"], "url": None}, "labgrid": {"coordinator": address, "place": PLACE}},
        # Apollo3's target is built into pyOCD: the session reaches the probe without a CMSIS pack.
        PROBE_PLACE: {**apollo, "flasher": {**apollo["flasher"], "target_override": "ama3b1kk_kbr"}, "labgrid": {"coordinator": address, "place": PROBE_PLACE, "probe_port": probe_port}},
    }
    doc["default"] = PLACE
    path.write_text(yaml.safe_dump(doc))


@pytest.fixture(scope="module")
def lab(run_setup, tiny_model, tmp_path_factory):
    from hil.config import load_board
    from hil.device.qemu import QemuInstance
    from hil.firmware.build import build_firmware

    root = tmp_path_factory.mktemp("lab")
    address = f"127.0.0.1:{free_tcp_port()}"
    probe = ProbeServer()
    boards = root / "boards.yaml"
    _boards_yaml(boards, address, probe.port)
    board = load_board(PLACE, boards)
    fw = build_firmware(board, tiny_model.cfg, tiny_model.paths, "aot")  # what the exporter host boots
    started: list[subprocess.Popen] = []
    try:
        started.append(subprocess.Popen([_tool("labgrid-coordinator"), "-l", address], cwd=root,
                                        stdout=open(root / "coordinator.log", "w"), stderr=subprocess.STDOUT))
        # The exporter host's QEMU: qemu-m4's machine and icount, booting the image built for the place.
        qemu_cfg = load_board("qemu-m4", REPO / "boards.yaml").flasher
        qemu = QemuInstance(fw / "hil.elf", qemu_cfg, root / "qemu.log").start()
        try:
            port = int(qemu.url.rsplit(":", 1)[1])
            (root / "exporter.yaml").write_text(yaml.safe_dump({
                PLACE: {"NetworkSerialPort": {"host": "127.0.0.1", "port": port, "protocol": "raw"}},
                PROBE_PLACE: {"NetworkSerialPort": {"host": "127.0.0.1", "port": free_tcp_port(), "protocol": "raw"}},
            }))
            _wait_for("the coordinator answers", lambda: _try_list(address))
            started.append(subprocess.Popen(
                [_tool("labgrid-exporter"), "-c", address, "-n", EXPORTER, "--hostname", "127.0.0.1",
                 str(root / "exporter.yaml")], cwd=root, stdout=open(root / "exporter.log", "w"),
                stderr=subprocess.STDOUT))
            for name in (PLACE, PROBE_PLACE):
                _client(address, "-p", name, "create")
                _client(address, "-p", name, "add-match", f"{EXPORTER}/{name}/*")
            _wait_for("the exporter's resources", lambda: len(list_places(address, 5)["resources"]) == 2)
            yield Lab(address, boards, probe)
        finally:
            qemu.stop()
    finally:
        probe.close()
        for proc in reversed(started):
            _stop(proc)


def _try_list(address: str) -> bool:
    try:
        list_places(address, 2)
        return True
    except Exception:
        return False


@pytest.fixture
def locks(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))


def _hil(lab: Lab, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hil.cli", "--boards", str(lab.boards), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_run_on_the_place_waits_for_its_holder_then_scores_bit_exact(lab, run_setup, locks, tmp_path):
    from hil.run import run_pipeline

    _client(lab.address, "-p", PLACE, "acquire", env=OTHER)
    releaser = threading.Timer(2.0, lambda: _client(lab.address, "-p", PLACE, "release", env=OTHER))
    releaser.start()
    try:
        t0 = time.monotonic()
        res = run_pipeline(run_setup.options(tmp_path / "r", board=PLACE, boards_file=lab.boards, windows=N,
                                             devices=None, wait=60))
    finally:
        releaser.cancel()
    assert time.monotonic() - t0 >= 2.0  # it waited for the other client's release
    assert res.exit_code == 0
    rep = res.report
    assert rep["agreement"]["exact_match"] == 1.0 and rep["agreement"]["max_abs_diff_lsb"] == 0
    assert rep.devices.count == 1 and rep.devices.shares[0].scored == N
    rows = [json.loads(line) for line in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["index"] for r in rows) == list(range(N))
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["board"]["link"]["url"].startswith("socket://127.0.0.1:")  # the place's NetworkSerialPort
    assert "nothing is written from here" in (tmp_path / "r" / "flash.log").read_text()
    assert lab.place()["free"]  # released at the end of the run


def test_a_place_held_by_another_client_exits_2_naming_it(lab, run_setup, locks, tmp_path):
    _client(lab.address, "-p", PLACE, "acquire", env=OTHER)
    try:
        r = _hil(lab, "run", "--board", PLACE, "--engine", "aot", "--no-train", "--windows", "4",
                 "--work", str(run_setup.work), "--dataset", str(run_setup.dataset), "--out", str(tmp_path / "r"))
        assert r.returncode == 2, r.stderr
        assert "rig-2/nightly" in r.stderr and PLACE in r.stderr and "--wait" in r.stderr
        assert not (tmp_path / "r" / "results.jsonl").exists()
        assert lab.place()["acquired_by"] == "rig-2/nightly"  # someone else's place is never released by hil
    finally:
        _client(lab.address, "-p", PLACE, "release", env=OTHER)


def test_hil_lab_lists_the_places_their_boards_and_who_holds_them(lab, locks):
    _client(lab.address, "-p", PROBE_PLACE, "acquire", env=OTHER)
    try:
        r = _hil(lab, "lab", "--json", timeout=60)
    finally:
        _client(lab.address, "-p", PROBE_PLACE, "release", env=OTHER)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)["coordinators"][0]
    places = {p["place"]: p for p in doc["places"]}
    assert places[PLACE]["free"] and places[PLACE]["boards"] == [PLACE]
    assert places[PROBE_PLACE]["acquired_by"] == "rig-2/nightly" and places[PROBE_PLACE]["boards"] == [PROBE_PLACE]
    assert {(e["group"], e["cls"]) for e in doc["resources"]} == {(PLACE, "NetworkSerialPort"),
                                                                  (PROBE_PLACE, "NetworkSerialPort")}


def test_a_pyocd_place_flashes_through_the_exporters_probe_server(lab, locks, tmp_path):
    """hil flash on a physical place: pyOCD's remote probe connects to the exporter's `pyocd server`.

    No probe exists here, so the server is the ProbeServer above: pyOCD really opens the remote
    probe and says hello; the server answers "probe error" and the flash fails (exit 2)."""
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "hil.bin").write_bytes(b"\0" * 64)
    r = _hil(lab, "flash", "--board", PROBE_PLACE, "--firmware", str(fw), "--log", str(tmp_path / "flash.log"),
             timeout=60)
    assert r.returncode == 2, r.stderr
    assert lab.probe.requests[0]["request"] == "hello"  # pyOCD's remote probe reached the exporter's server
    assert f"remote:127.0.0.1:{lab.probe.port}" in (tmp_path / "flash.log").read_text()
    assert lab.place(PROBE_PLACE)["free"]  # released on error too


def test_ctrl_c_mid_run_releases_the_place_and_keeps_what_was_scored(lab, run_setup, locks, tmp_path):
    import signal

    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "hil.cli", "--boards", str(lab.boards), "run", "--board", PLACE, "--engine", "aot",
           "--no-train", "--windows", "150", "--work", str(run_setup.work), "--dataset", str(run_setup.dataset),
           "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        results = out / "results.jsonl"
        _wait_for("the run streams", lambda: results.exists() and results.read_bytes().count(b"\n") >= 3, 120)
        assert lab.place()["acquired_by"]  # held while the run streams
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    assert "--resume" in err and results.read_bytes().count(b"\n") >= 3  # everything scored is kept
    assert lab.place()["free"]  # released on Ctrl-C
