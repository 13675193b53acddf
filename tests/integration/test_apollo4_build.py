"""The apollo4 port: a clear configure-time error without the AmbiqSuite SDK,
the start-up code and linker script placing the image after the secure
bootloader, and (with HIL_AMBIQSUITE_ROOT and, for the board's default tflm
engine, HIL_TFLM_ROOT set; in CI always, see tests/trees.py) the full Apollo4
Plus EVB image of ``tiny_export``, linked against the SDK's prebuilt HAL and BSP.
An SDK copy without CMSIS/AmbiqMicro/Include/apollo4p.h is compiled against the
stand-in in tests/ambiqsuite_standin/ (that image links but is not for a board).

    HIL_AMBIQSUITE_ROOT=<AmbiqSuite> HIL_TFLM_ROOT=<tflite-micro> \\
        .venv/bin/pytest tests/integration/test_apollo4_build.py -q
"""

from __future__ import annotations

import json
import os
import struct
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
PORT = FIRMWARE / "ports" / "apollo4"
TOOLCHAIN = FIRMWARE / "cmake" / "arm-none-eabi.cmake"
APP_BASE = 0x18000
CPU = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]


def _sections(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-objdump", "-h", str(elf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    return {r[1]: int(r[3], 16) for r in rows}


def _u32_at(elf: Path, symbol: str) -> int:
    """The first word of a symbol's initialised data in the ELF."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        e = ELFFile(f)
        (sym,) = e.get_section_by_name(".symtab").get_symbol_by_name(symbol)
        addr = sym["st_value"]
        for sec in e.iter_sections():
            if sec["sh_type"] != "SHT_NOBITS" and sec["sh_addr"] <= addr < sec["sh_addr"] + sec["sh_size"]:
                return struct.unpack_from("<I", sec.data(), addr - sec["sh_addr"])[0]
    raise AssertionError(f"{symbol} has no initialised data in {elf}")


def test_configure_fails_clearly_without_the_sdk(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HIL_AMBIQSUITE_ROOT"}
    r = subprocess.run(
        ["cmake", "-S", str(FIRMWARE), "-B", str(tmp_path / "b"), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
         "-DHIL_PORT=apollo4", "-DHIL_ENGINE=test", f"-DHIL_ENGINE_DIR={REPO / 'tests' / 'firmware_engine'}"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode != 0
    assert "HIL_AMBIQSUITE_ROOT" in text and "AmbiqSuite" in text


def test_configure_names_the_register_header_a_partial_sdk_lacks(tmp_path):
    """An SDK copy without apollo4p.h (as ../shared's): the error names the file and HIL_AMBIQ_EXTRA_INCLUDE."""
    sdk = tmp_path / "sdk"
    for f in ("mcu/apollo4p/am_mcu_apollo.h", "boards/apollo4p_evb/bsp/am_bsp_pins.h"):
        (sdk / f).parent.mkdir(parents=True, exist_ok=True)
        (sdk / f).write_text("")
    env = {k: v for k, v in os.environ.items() if k != "HIL_AMBIQ_EXTRA_INCLUDE"}
    r = subprocess.run(
        ["cmake", "-S", str(FIRMWARE), "-B", str(tmp_path / "b"), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
         "-DHIL_PORT=apollo4", f"-DHIL_AMBIQSUITE_ROOT={sdk}", "-DHIL_ENGINE=test",
         f"-DHIL_ENGINE_DIR={REPO / 'tests' / 'firmware_engine'}"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode != 0
    assert "CMSIS/AmbiqMicro/Include/apollo4p.h" in text and "HIL_AMBIQ_EXTRA_INCLUDE" in text


def test_startup_and_linker_script_put_the_vector_table_after_the_bootloader(tmp_path):
    """Our start-up file and linker script alone (no SDK): table at 0x18000, reset vector inside the image."""
    stubs = tmp_path / "stubs.c"
    stubs.write_text(
        "int main(void) { for (;;) { } }\n"
        "void HardFault_Handler(void) { for (;;) { } }\n"
        "void am_uart_isr(void) { }\n"
    )
    elf = tmp_path / "a4.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", *CPU, "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-O2",
         "-ffunction-sections", "-fdata-sections", str(PORT / "startup_apollo4.c"), str(stubs),
         "-T", str(PORT / "apollo4p.ld"), "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs",
         "-o", str(elf)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    sections = _sections(elf)
    assert sections[".isr_vector"] == APP_BASE
    assert sections[".text"] > APP_BASE
    table = subprocess.run(
        ["arm-none-eabi-objcopy", "-O", "binary", "-j", ".isr_vector", str(elf), "/dev/stdout"],
        capture_output=True, check=True,
    ).stdout
    words = [int.from_bytes(table[i : i + 4], "little") for i in range(0, len(table), 4)]
    assert len(words) == 16 + 84  # Cortex-M4 exceptions + the Apollo4 Plus interrupts
    assert 0x10000000 < words[0] <= 0x10060000  # initial SP at the top of the stack in TCM
    assert APP_BASE < words[1] < APP_BASE + 0x1E8000 and words[1] & 1  # Reset_Handler, Thumb
    syms = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    isr = next(int(line.split()[0], 16) for line in syms.splitlines() if line.endswith(" am_uart_isr"))
    assert words[16 + 15] == isr | 1  # UART0 (IRQ 15) -> the port's RX interrupt

    # hil.firmware.image reads the same from the ELF, and places every section in a region of the script
    from hil.errors import ConfigError
    from hil.firmware.image import memory_report, vector_table

    assert vector_table(elf) == (APP_BASE, words)
    report = memory_report(elf, PORT / "apollo4p.ld")
    size_out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in size_out.splitlines()[1].split()[:3])
    assert report["MRAM"] == {"origin": APP_BASE, "size": 0x1E8000, "used": text + data, "free": 0x1E8000 - text - data}
    assert report["TCM"]["used"] == data + bss and report["SSRAM"]["used"] == 0
    with pytest.raises(ConfigError, match=r"section \.\w+ .* at 0x10000000, outside every memory region"):
        memory_report(elf, FIRMWARE / "ports" / "qemu_mps2" / "mps2_an386.ld")  # no TCM in that map


# Apollo4 Plus memory from its datasheet (docs/boards.md): MRAM, TCM, shared SRAM.
DATASHEET = {"MRAM": (0x00000000, 0x200000), "TCM": (0x10000000, 0x60000), "SSRAM": (0x10060000, 0x100000)}
HAL_PREFIXES = ("am_hal_", "am_bsp_", "g_AM_", "am_util_")


@pytest.fixture(scope="module")
def apollo4_image(tiny_export):
    """The board's image (tflm, CMSIS-NN): compiled and linked against the SDK's real libam_hal.a / libam_bsp.a."""
    from hil.artifacts import ArtifactPaths
    from hil.config import load_board, load_model_config
    from hil.firmware.build import build_firmware
    from tests.trees import ambiq_extra_include

    mp = pytest.MonkeyPatch()
    standin = ambiq_extra_include()
    if standin:  # a partial SDK copy without apollo4p.h: compile against the tests' stand-in
        mp.setenv("HIL_AMBIQ_EXTRA_INCLUDE", str(standin))
    try:
        board = load_board("apollo4", REPO / "boards.yaml")
        # a rate other than the default, so the image's UART rate is seen to be the entry's link.baud
        board = board.model_copy(update={"link": board.link.model_copy(update={"baud": 460800})})
        cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
        paths = ArtifactPaths(tiny_export.parent.parent, tiny_export.parent.name)
        yield build_firmware(board, cfg, paths, board.engine), board
    finally:
        mp.undo()


def _cmake_cache(folder: Path, name: str) -> Path:
    text = (folder / "cmake" / "CMakeCache.txt").read_text()
    return Path(re.search(rf"^{name}:[A-Z]+=(.*)$", text, re.M)[1])


def _members_defining(archive: Path) -> dict[str, str]:
    """symbol -> archive member (arm-none-eabi-nm -A over the real library)."""
    out = subprocess.run(["arm-none-eabi-nm", "-A", "--defined-only", str(archive)], capture_output=True, text=True,
                         check=True).stdout
    rows = (re.match(r"^.*?\(?([^:()]+\.o)\)?:\s*[0-9a-f]*\s+[TDRBW]\s+(\S+)$", line) for line in out.splitlines())
    return {m[2]: m[1] for m in rows if m}


def _members_linked(map_file: Path, archive: Path) -> set[str]:
    """The members of ``archive`` the link map says were pulled into the image."""
    text = map_file.read_text()
    block = text.split("Archive member included", 1)[-1].split("Discarded input sections", 1)[0]
    return set(re.findall(rf"{re.escape(archive.name)}\(([^)]+)\)", block))


@pytest.mark.slow
@pytest.mark.needs_tree("ambiqsuite", "tflm")  # apollo4's default engine is tflm
def test_apollo4_image_layout_and_size_report(apollo4_image):
    """Vector table at the app base, every section inside the Apollo4 Plus memories, the size report."""
    from hil.artifacts import read_manifest
    from hil.firmware.image import linker_regions, vector_table

    folder, board = apollo4_image
    size = json.loads((folder / "size.json").read_text())
    assert size["engine"] == "tflm" and size["kernels"] == "cmsis-nn" and size["port"] == "apollo4"
    base, words = vector_table(folder / "hil.elf")
    assert base == APP_BASE
    assert 0x10000000 < words[0] <= 0x10060000 and APP_BASE < words[1] < 0x200000 and words[1] & 1
    regions = {r.name: r for r in linker_regions(PORT / "apollo4p.ld")}
    assert regions.keys() == DATASHEET.keys()
    for name, (origin, length) in DATASHEET.items():
        r = regions[name]
        assert origin <= r.origin and r.origin + r.length <= origin + length, f"{name} outside the datasheet's"
    # build_firmware placed every section (run and load address) in a region, or it would have refused the image
    report = size["regions"]
    assert report["MRAM"]["used"] == size["text"] + size["data"] == size["flash_bytes"]
    assert report["TCM"]["used"] == size["data"] + size["bss"]  # .data, .bss (arena), .noinit, stack
    assert report["SSRAM"]["used"] == 0
    assert all(0 <= r["used"] <= r["size"] and r["free"] == r["size"] - r["used"] for r in report.values())
    assert report["MRAM"]["size"] == board.memory.flash_bytes
    assert read_manifest(folder)["outputs"]["regions"] == report


@pytest.mark.slow
@pytest.mark.needs_tree("ambiqsuite", "tflm")
def test_apollo4_hal_and_bsp_symbols_come_from_the_real_libraries(apollo4_image):
    from hil.firmware.image import defined_symbols, undefined_symbols

    folder, _ = apollo4_image
    elf = folder / "hil.elf"
    assert undefined_symbols(elf) == set()
    port_obj = next((folder / "cmake" / "CMakeFiles" / "hil.dir").rglob("port_apollo4.c.obj"))
    wanted = {s for s in undefined_symbols(port_obj, weak=True) if s.startswith(HAL_PREFIXES)}
    assert {"am_hal_uart_configure", "am_hal_pwrctrl_low_power_init", "g_AM_BSP_GPIO_COM_UART_TX"} <= wanted
    image = defined_symbols(elf)
    libs = {lib: _members_defining(lib) for lib in (_cmake_cache(folder, "HIL_AMBIQ_HAL_LIB"),
                                                    _cmake_cache(folder, "HIL_AMBIQ_BSP_LIB"))}
    linked = {lib: _members_linked(folder / "hil.map", lib) for lib in libs}
    for sym in sorted(wanted):
        assert sym in image, f"{sym} is not defined in the image"
        lib = next((lib for lib, defs in libs.items() if sym in defs), None)
        assert lib is not None, f"{sym}: defined by neither real library"
        assert libs[lib][sym] in linked[lib], f"{sym}: the map shows no {lib.name}({libs[lib][sym]}) in the link"
    assert (folder / "hil.bin").stat().st_size > json.loads((folder / "size.json").read_text())["model_bytes"]


@pytest.mark.slow
@pytest.mark.needs_tree("ambiqsuite", "tflm")
def test_apollo4_uart_runs_at_the_board_entrys_baud(apollo4_image):
    folder, board = apollo4_image
    assert board.link.baud == 460800
    assert _u32_at(folder / "hil.elf", "uart_config") == 460800  # am_hal_uart_config_t.ui32BaudRate
