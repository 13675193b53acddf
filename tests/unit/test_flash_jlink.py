"""The J-Link flasher with a fake ``JLinkExe`` on PATH.

SEGGER's J-Link Commander and a probe are not available in CI, so a small
script named JLinkExe stands in for it: it checks the command line and the
generated command file line by line (device, interface, speed, loadbin and
verifybin of the image at the app base, reset, go, exit) and then prints the
output J-Link Commander prints on success or on the failure chosen by
$FAKE_JLINK_MODE, which the flasher must parse.
"""

import os
import stat
import sys

import pytest

from hil.config import JlinkFlasher, load_boards
from hil.device import jlink_flasher
from hil.device.flash import flash_board
from hil.errors import ConfigError, InfraError

FAKE = r'''#!PYTHON
import os, sys
args = sys.argv[1:]
opt = {args[i].lower(): args[i + 1] for i in range(0, len(args) - 1, 2)}
mode = os.environ.get("FAKE_JLINK_MODE", "ok")
script = open(opt["-commandfile"]).read().splitlines()
img = os.environ["FAKE_JLINK_IMAGE"]
want = ["device AMAP42KK-KBR", "si SWD", "speed 2000", "connect", "r", "h",
        f'loadbin "{img}", 0x18000', f'verifybin "{img}", 0x18000', "r", "g", "exit"]
if script != want or opt.get("-device") != "AMAP42KK-KBR" or opt.get("-if") != "SWD" or opt.get("-exitonerror") != "1":
    print("FAKE: unexpected invocation", args, script)
    sys.exit(99)
if os.environ.get("FAKE_JLINK_SN") and opt.get("-selectemubysn") != os.environ["FAKE_JLINK_SN"]:
    print("FAKE: wrong -SelectEmuBySN", args); sys.exit(98)
print("SEGGER J-Link Commander V7.94e (Compiled Jan 15 2024 15:19:49)")
if mode == "noprobe":
    print("Connecting to J-Link via USB...FAILED: Cannot connect to J-Link.")
    sys.exit(1)
print("Connecting to J-Link via USB...O.K.")
print("Device \"AMAP42KK-KBR\" selected.")
if mode == "notarget":
    print("Cannot connect to target.")
    sys.exit(0)  # some versions exit 0 even here: only the output tells
print("Found SW-DP with ID 0x2BA01477")
print("Cortex-M4 identified.")
print(f"Downloading file [{img}]...")
if mode == "progfail":
    print("Error while programming flash: Programming failed.")
    print("Failed to program.")
    sys.exit(1)
print("J-Link: Flash download: Bank 0 @ 0x00018000: 1 range affected (4096 bytes)")
print("O.K.")
if mode == "verifyfail":
    print("Verify failed @ address 0x00018010.")
    sys.exit(1)
if mode == "noverify":
    sys.exit(0)
print("Verify successful.")
print("Reset delay: 0 ms")
'''


@pytest.fixture
def fake_jlink(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "JLinkExe"
    exe.write_text(FAKE.replace("#!PYTHON", "#!" + sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    image = tmp_path / "fw" / "hil.bin"
    image.parent.mkdir()
    image.write_bytes(b"\x00" * 4096)
    monkeypatch.setenv("FAKE_JLINK_IMAGE", str(image.resolve()))
    return image


def cfg(**kw):
    return JlinkFlasher(**{"kind": "jlink", "device": "AMAP42KK-KBR", "speed_khz": 2000, "app_base": 0x18000, **kw})


def test_command_file():
    text = jlink_flasher.command_file(cfg(), "/x/hil.bin")
    assert 'loadbin "/x/hil.bin", 0x18000' in text and text.rstrip().endswith("exit")


def test_success_is_confirmed_from_the_output(fake_jlink):
    log = []
    jlink_flasher.flash_jlink(cfg(), fake_jlink, log.append)
    assert any("Verify successful" in line for line in log)
    assert any("loadbin" in line for line in log)  # the command file is in the flash log


def test_serial_number_selects_the_probe(fake_jlink, monkeypatch):
    monkeypatch.setenv("FAKE_JLINK_SN", "260101234")
    jlink_flasher.flash_jlink(cfg(serial_number="260101234"), fake_jlink)


@pytest.mark.parametrize(
    "mode, words",
    [
        ("noprobe", "no J-Link probe"),
        ("notarget", "cannot connect to the target"),  # exit status 0, failure only in the output
        ("progfail", "programming failed"),
        ("verifyfail", "verify failed"),
        ("noverify", "did not confirm the verify"),
    ],
)
def test_failures_are_parsed(fake_jlink, monkeypatch, mode, words):
    monkeypatch.setenv("FAKE_JLINK_MODE", mode)
    with pytest.raises(InfraError) as e:
        jlink_flasher.flash_jlink(cfg(), fake_jlink)
    assert words in str(e.value) and e.value.exit_code == 2


def test_unknown_device_is_a_config_error():
    with pytest.raises(ConfigError):
        jlink_flasher.parse_output('Connecting to J-Link via USB...O.K.\nUnknown device "AMAP4".\n', 1)


def test_jlinkexe_missing(monkeypatch, tmp_path, fake_jlink):
    with pytest.raises(InfraError) as e:
        jlink_flasher.flash_jlink(cfg(binary="JLinkExe-not-installed"), fake_jlink)
    assert "not on PATH" in str(e.value)


def test_apollo4_falls_back_to_jlink_when_pyocd_finds_no_probe(fake_jlink, monkeypatch, tmp_path):
    """boards.yaml's apollo4: pyOCD first; with no probe attached, the J-Link fallback flashes."""
    from pyocd.probe import aggregator

    monkeypatch.setattr(aggregator, "PROBE_CLASSES", {})  # pyOCD sees no probe at all
    board = load_boards("boards.yaml").boards["apollo4"]
    board = board.model_copy(update={"fallback_flasher": board.fallback_flasher.model_copy(update={"speed_khz": 2000})})
    log = tmp_path / "flash.log"
    result = flash_board(board, fake_jlink.parent, log)
    assert result.flasher == "jlink"
    assert "no debug probe" in result.notes[0]
    assert "Verify successful" in log.read_text()
