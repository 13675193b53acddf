"""The pyOCD flasher against pyOCD's real API, with the probe faked at pyOCD's own probe layer.

No debug probe or Apollo board is attached to CI machines, so the probe is a
subclass of pyOCD's ``DebugProbe`` registered in pyOCD's probe registry
(``pyocd.probe.aggregator.PROBE_CLASSES``).  Everything above it is pyOCD's
real code: ``ConnectHelper`` lists and filters probes by unique id, ``Session``
validates options and builds the real ``Board``/target (so an unknown
``target_override`` or a missing pack fails inside pyOCD itself).  Only what
needs a live SWD wire is replaced: opening the session (DAP connect), the
flash algorithm run by ``FileProgrammer.program``, the memory read-back and
the reset; they act on a fake flash held by the probe.
"""

import builtins

import pytest
from pyocd.core.session import Session
from pyocd.flash.file_programmer import FileProgrammer
from pyocd.probe import aggregator
from pyocd.probe.debug_probe import DebugProbe
from pyocd.coresight.coresight_target import CoreSightTarget
from pyocd.core.soc_target import SoCTarget

from hil.config import PyocdFlasher
from hil.device.pyocd_flasher import ProbeNotFound, flash_pyocd
from hil.errors import ConfigError, InfraError

APP_BASE = 0xC000


class FakeProbe(DebugProbe):
    attached: list[str] = []
    enumerate_error: Exception | None = None

    def __init__(self, uid: str) -> None:
        super().__init__()
        self._uid = uid
        self.flash: dict[int, bytes] = {}
        self.resets = 0

    @classmethod
    def get_all_connected_probes(cls, unique_id=None, is_explicit=False):
        if cls.enumerate_error is not None:
            raise cls.enumerate_error
        return [cls(u) for u in cls.attached]

    @classmethod
    def get_probe_with_id(cls, unique_id, is_explicit=False):
        return None  # force pyOCD's list-and-filter path (contains match on unique_id)

    @property
    def description(self):
        return "Fake CMSIS-DAP"

    @property
    def vendor_name(self):
        return "hil-tests"

    @property
    def product_name(self):
        return "Fake CMSIS-DAP"

    @property
    def unique_id(self):
        return self._uid

    @property
    def associated_board_info(self):
        return None


@pytest.fixture
def bench(monkeypatch, tmp_path):
    """Registers FakeProbe as pyOCD's only probe type and fakes the SWD-level operations."""
    monkeypatch.setattr(aggregator, "PROBE_CLASSES", {"fake": FakeProbe})
    monkeypatch.setattr(FakeProbe, "attached", ["0001A"])
    monkeypatch.setattr(FakeProbe, "enumerate_error", None)
    state = {"sessions": [], "corrupt": False}

    def open_(self, init_board=True):  # no DAP connect: there is no wire
        self._closed = False
        state["sessions"].append(self)

    def close(self):
        self._closed = True

    def program(self, file_or_path, file_format=None, **kw):
        data = open(file_or_path, "rb").read()
        if state["corrupt"]:
            data = data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]
        self._session.probe.flash[kw["base_address"]] = data
        state["program"] = (file_format, kw)

    def read_block(self, addr, size):
        img = self.session.probe.flash.get(addr, b"")
        return list(img[:size])

    def reset(self, reset_type=None):
        self.session.probe.resets += 1

    monkeypatch.setattr(Session, "open", open_)
    monkeypatch.setattr(Session, "close", close)
    monkeypatch.setattr(FileProgrammer, "program", program)
    # On the base classes: pyOCD's built-in targets and the classes it makes from a pack share them.
    monkeypatch.setattr(SoCTarget, "read_memory_block8", read_block)
    monkeypatch.setattr(CoreSightTarget, "reset", reset)

    def no_prompt(*a):
        raise AssertionError("the flasher must never prompt")

    monkeypatch.setattr(builtins, "input", no_prompt)
    image = tmp_path / "hil.bin"
    image.write_bytes(bytes(range(256)) * 16)
    state["image"] = image
    return state


def cfg(**kw):
    base = dict(kind="pyocd", target_override="ama3b1kk_kbr", app_base=APP_BASE, frequency_hz=2_000_000, connect_mode="under-reset")
    return PyocdFlasher(**{**base, **kw})


def test_flashes_verifies_and_resets_with_the_board_options(bench):
    log = []
    flash_pyocd(cfg(), bench["image"], log.append)
    (session,) = bench["sessions"]
    assert session.probe.flash[APP_BASE] == bench["image"].read_bytes()
    assert session.probe.resets == 1
    assert bench["program"] == ("bin", {"base_address": APP_BASE})
    assert session.options.get("target_override") == "ama3b1kk_kbr"
    assert session.options.get("frequency") == 2_000_000
    assert session.options.get("connect_mode") == "under-reset"
    assert any("verify ok" in line for line in log)


PDSC = """<?xml version="1.0" encoding="UTF-8"?>
<package schemaVersion="1.7.7" xmlns:xs="http://www.w3.org/2001/XMLSchema-instance">
  <vendor>AmbiqMicro</vendor>
  <name>Apollo4_DFP</name>
  <description>hil test stand-in: the device description of Ambiq's Apollo4 DFP, no flash algorithm</description>
  <releases><release version="1.0.0">stand-in</release></releases>
  <devices>
    <family Dfamily="Apollo4" Dvendor="Ambiq Micro:120">
      <processor Dcore="Cortex-M4" DcoreVersion="r0p1" Dfpu="SP_FPU" Dmpu="MPU" Dendian="Little-endian"
                 Dclock="192000000"/>
      <device Dname="AMAP42KK-KBR">
        <memory name="MCU_MRAM" access="rx" start="0x00018000" size="0x001E8000" default="1" startup="1"/>
        <memory name="MCU_TCM" access="rwx" start="0x10000000" size="0x00060000" default="1"/>
      </device>
    </family>
  </devices>
</package>
"""


def _apollo4_pack(folder):
    """A CMSIS pack (a zip with its .pdsc) that pyOCD really reads to build the amap42kk_kbr target.

    Ambiq's licensed DFP cannot be in CI; this holds only its device description
    (the programming it would drive is faked with the probe, above).
    """
    import zipfile

    pack = folder / "AmbiqMicro.Apollo4_DFP.1.0.0.pack"
    with zipfile.ZipFile(pack, "w") as z:
        z.writestr("AmbiqMicro.Apollo4_DFP.pdsc", PDSC)
    return pack


@pytest.fixture
def pack_targets_forgotten():
    """pyOCD registers a pack's targets process-wide; forget them after the test (no order dependence)."""
    from pyocd.target import TARGET

    before = dict(TARGET)
    yield
    TARGET.clear()
    TARGET.update(before)


def test_the_shipped_apollo4_entry_flashes_at_its_app_base_verifies_and_resets(bench, tmp_path,
                                                                              pack_targets_forgotten):
    """boards.yaml's apollo4 flasher as shipped (only the pack path filled in, as docs/bench-setup.md says)."""
    from pathlib import Path

    from hil.config import load_board

    shipped = load_board("apollo4", Path(__file__).resolve().parents[2] / "boards.yaml").flasher
    assert (shipped.kind, shipped.target_override, shipped.app_base) == ("pyocd", "amap42kk_kbr", 0x18000)
    pack = _apollo4_pack(tmp_path)
    log = []
    flash_pyocd(shipped.model_copy(update={"pack": str(pack)}), bench["image"], log.append)
    (session,) = bench["sessions"]
    target = session.board.target
    assert type(target).__name__.lower().startswith("amap42kk")  # built by pyOCD from the pack
    assert target.memory_map.get_boot_memory().start == 0x18000
    assert session.options.get("target_override") == "amap42kk_kbr"
    assert session.options.get("pack") == str(pack)
    assert session.options.get("frequency") == shipped.frequency_hz
    assert session.options.get("connect_mode") == shipped.connect_mode
    assert bench["program"] == ("bin", {"base_address": 0x18000})
    assert session.probe.flash == {0x18000: bench["image"].read_bytes()}
    assert session.probe.resets == 1
    assert any("verify ok" in line for line in log)


def test_no_probe_is_an_infrastructure_error(bench, monkeypatch):
    monkeypatch.setattr(FakeProbe, "attached", [])
    with pytest.raises(ProbeNotFound) as e:
        flash_pyocd(cfg(), bench["image"])
    assert e.value.exit_code == 2 and "no debug probe" in str(e.value)


def test_several_probes_without_unique_id_never_prompt(bench, monkeypatch):
    monkeypatch.setattr(FakeProbe, "attached", ["0001A", "0002B"])
    with pytest.raises(ConfigError) as e:
        flash_pyocd(cfg(), bench["image"])
    assert e.value.exit_code == 3
    assert "0001A" in str(e.value) and "0002B" in str(e.value) and "unique_id" in e.value.hint
    assert bench["sessions"] == []


def test_unique_id_picks_the_probe(bench, monkeypatch):
    monkeypatch.setattr(FakeProbe, "attached", ["0001A", "0002B"])
    flash_pyocd(cfg(unique_id="0002B"), bench["image"])
    assert bench["sessions"][0].probe.unique_id == "0002B"


def test_unique_id_matching_nothing(bench):
    with pytest.raises(ProbeNotFound) as e:
        flash_pyocd(cfg(unique_id="FFFF"), bench["image"])
    assert "'FFFF'" in str(e.value)


def test_missing_pack_file(bench, tmp_path):
    with pytest.raises(ConfigError) as e:
        flash_pyocd(cfg(pack=str(tmp_path / "AmbiqMicro.Apollo4_DFP.pack")), bench["image"])
    assert "does not exist" in str(e.value) and "pack" in e.value.hint


def test_target_not_built_in_without_pack(bench):
    # amap42kk_kbr (Apollo4 Plus) comes from Ambiq's CMSIS pack; pyOCD itself rejects it without one.
    with pytest.raises(ConfigError) as e:
        flash_pyocd(cfg(target_override="amap42kk_kbr"), bench["image"])
    assert "amap42kk_kbr" in str(e.value) and "pack" in e.value.hint


def test_udev_permission_error_names_the_fix(bench, monkeypatch):
    usb_core = pytest.importorskip("usb.core")
    monkeypatch.setattr(FakeProbe, "enumerate_error", usb_core.USBError("Access denied (insufficient permissions)", 13, 13))
    with pytest.raises(InfraError) as e:
        flash_pyocd(cfg(), bench["image"])
    assert "udev" in e.value.hint and "Access denied" in str(e.value)


def test_verify_failure(bench):
    bench["corrupt"] = True
    with pytest.raises(InfraError) as e:
        flash_pyocd(cfg(), bench["image"])
    assert f"0x{APP_BASE + 10:x}" in str(e.value)
    assert bench["sessions"][0].probe.resets == 0  # a bad image is not started


def test_missing_image(bench, tmp_path):
    with pytest.raises(ConfigError):
        flash_pyocd(cfg(), tmp_path / "nope.bin")
