"""Build a generated aot model into a bare-metal image and time one invoke on QEMU mps2-an386."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.support import ENGINE, INCLUDE, KERNELS

HERE = Path(__file__).resolve().parent / "qemu"
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections"]
INSTR_PER_TICK = 40     # SysTick at 25 MHz, icount shift=0: 1 ns per instruction


@dataclass
class QemuBench:
    ticks: int
    instructions: int
    arena_bytes: int
    engine_flash_bytes: int          # kernels + generated model: text + rodata + data
    outputs: list[int]
    windows: list[list[int]] = field(default_factory=list)   # outputs of the compiled-in windows
    fixedpoint: tuple[int, int] | None = None                  # (checked, mismatches) with fixedpoint=True
    op_ticks: list[tuple[int, int, int]] = field(default_factory=list)   # (index, code, ticks)


def tools_available() -> bool:
    return bool(shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"))


def write_windows(x: np.ndarray, path: Path) -> Path:
    """C header with int8 windows [N, bytes] for -DBENCH_WINDOWS."""
    x = np.ascontiguousarray(x, dtype=np.int8).reshape(len(x), -1)
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in row) + "}" for row in x)
    path.write_text(f"static const int8_t k_windows[{x.shape[0]}][{x.shape[1]}] = {{\n{rows}\n}};\n")
    return path


def build_image(gen_dir: Path, work: Path, extra_cflags: list[str] | None = None,
                windows: np.ndarray | None = None) -> tuple[Path, int]:
    work.mkdir(parents=True, exist_ok=True)
    objs = []
    if windows is not None:
        hdr = write_windows(windows, work / "bench_windows.h")
        extra_cflags = [*(extra_cflags or []), f'-DBENCH_WINDOWS="{hdr}"']
    inc = [f"-I{ENGINE}", f"-I{INCLUDE}", f"-I{gen_dir}", f"-I{HERE}"]
    engine_srcs = [*KERNELS, gen_dir / "model_aot.c"]
    for src in [*engine_srcs, HERE / "bench_main.c"]:
        obj = work / (src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, *CFLAGS, *(extra_cflags or []), *inc, "-c", str(src),
                        "-o", str(obj)], check=True, capture_output=True, text=True)
        objs.append(obj)
    elf = work / "aot_bench.elf"
    subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
                    f"-T{HERE / 'bench.ld'}", "-Wl,--gc-sections", *map(str, objs), "-lm", "-o", str(elf)],
                   check=True, capture_output=True, text=True)
    flash = _engine_flash(elf, [o for o in objs if o.stem != "bench_main"])
    return elf, flash


def _engine_flash(elf: Path, objs: list[Path]) -> int:
    """Bytes of code and constants the engine (kernels + generated model) puts in the image:
    the sizes of the linked image's symbols that the engine's objects define."""
    image = {}
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(elf)], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2].lower() in ("t", "r", "d"):
            image[parts[3]] = int(parts[1], 16)
    total = 0
    for o in objs:
        syms = subprocess.run(["arm-none-eabi-nm", "--defined-only", str(o)], check=True, capture_output=True,
                              text=True).stdout
        for line in syms.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].lower() in ("t", "r", "d"):
                total += image.pop(parts[2], 0)
    return total


def run_image(elf: Path, timeout: float = 120) -> QemuBench:
    cmd = ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none",
           "-serial", "none", "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
           "-kernel", str(elf)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    text = res.stdout + res.stderr    # semihosting output lands on stderr
    if res.returncode != 0 or "ticks" not in text:
        raise RuntimeError(f"QEMU run failed (rc {res.returncode}): {text[-2000:]} {res.stderr[-2000:]}")
    ticks = int(re.search(r"^ticks (\d+)", text, re.M).group(1))
    arena = int(re.search(r"^arena (\d+)", text, re.M).group(1))
    outs = [int(v) for v in re.search(r"^out(.*)$", text, re.M).group(1).split()]
    ops = [(int(a), int(b), int(c)) for a, b, c in re.findall(r"^op (\d+) (\d+) (\d+)", text, re.M)]
    wins = sorted((int(m.group(1)), [int(v) for v in m.group(2).split()])
                  for m in re.finditer(r"^win (\d+)((?: -?\d+)*)$", text, re.M))
    fp = re.search(r"^fixedpoint (\d+) (\d+)", text, re.M)
    fixed = (int(fp.group(1)), int(fp.group(2))) if fp else None
    return QemuBench(ticks, ticks * INSTR_PER_TICK, arena, 0, outs, [w for _, w in wins], fixed, ops)


def measure(gen_dir: Path, work: Path, extra_cflags: list[str] | None = None,
            windows: np.ndarray | None = None, fixedpoint: bool = False) -> QemuBench:
    flags = [*(extra_cflags or []), *(["-DBENCH_FIXEDPOINT"] if fixedpoint else [])]
    elf, flash = build_image(gen_dir, work, flags, windows)
    r = run_image(elf)
    r.engine_flash_bytes = flash
    return r
