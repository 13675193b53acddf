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


@pytest.mark.slow
@pytest.mark.needs_tree("ambiqsuite", "tflm")  # apollo4's default engine is tflm
def test_apollo4_image_builds(tiny_export, monkeypatch):
    """The board's image, compiled and linked against the SDK's real libam_hal.a / libam_bsp.a,
    its UART at the board entry's link.baud (a rate other than the default, so it is the entry's)."""
    from hil.artifacts import ArtifactPaths
    from hil.config import load_board, load_model_config
    from hil.firmware.build import build_firmware
    from tests.trees import ambiq_extra_include

    standin = ambiq_extra_include()
    if standin:  # a partial SDK copy without apollo4p.h: compile against the tests' stand-in
        monkeypatch.setenv("HIL_AMBIQ_EXTRA_INCLUDE", str(standin))

    board = load_board("apollo4", REPO / "boards.yaml")
    board = board.model_copy(update={"link": board.link.model_copy(update={"baud": 460800})})
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    paths = ArtifactPaths(tiny_export.parent.parent, tiny_export.parent.name)
    folder = build_firmware(board, cfg, paths, board.engine)
    sections = _sections(folder / "hil.elf")
    assert sections[".isr_vector"] == APP_BASE
    syms = subprocess.run(["arm-none-eabi-nm", str(folder / "hil.elf")], capture_output=True, text=True, check=True).stdout
    assert " T am_hal_uart_configure" in syms and " T am_hal_pwrctrl_low_power_init" in syms  # from libam_hal.a
    assert " D g_AM_BSP_GPIO_COM_UART_TX" in syms  # from libam_bsp.a
    assert _u32_at(folder / "hil.elf", "uart_config") == 460800  # am_hal_uart_config_t.ui32BaudRate
    size = json.loads((folder / "size.json").read_text())
    assert size["engine"] == "tflm" and size["port"] == "apollo4"
    assert size["flash_bytes"] <= board.memory.flash_bytes
    assert (folder / "hil.bin").stat().st_size > size["model_bytes"]
