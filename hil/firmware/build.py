"""``build_firmware``: the firmware image of one model for one board (or the host).

Asks the engine (hil.engines) to generate the model's sources into the
firmware folder, configures and builds ``firmware/`` with CMake
(arm-none-eabi toolchain file, or the native compiler for the host port) with
the engine's folder and variables, and writes into
``<work>/<model>/firmware/<board>-<engine>/``::

    hil.elf  hil.bin  hil.map  size.json  manifest.json  build.log  model/  cmake/

The folder is reused when its manifest's inputs (the .tflite, the firmware
sources, the engine's fingerprint, the board entry, the toolchain) match.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from hil import ui
from hil.artifacts import (
    ArtifactPaths,
    is_fresh,
    sha256_file,
    sha256_json,
    sha256_tree,
    write_json_atomic,
    write_manifest,
)
from hil.config import Board, ModelConfig
from hil.engines import BuildContext, Engine, Generated, choose_engine
from hil.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "firmware"
TOOLCHAIN_FILE = FIRMWARE_DIR / "cmake" / "arm-none-eabi.cmake"
HOST_PORT = "host"
OUTPUTS = ("hil.elf", "hil.map", "size.json")


def _run(cmd: list[str], log: Path, what: str) -> None:
    ui.debug("$ " + " ".join(cmd))
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError:
            raise ConfigError(
                f"{cmd[0]} not found on PATH (needed to {what})",
                hint="install the toolchain: make setup (or apt-get install cmake gcc-arm-none-eabi)",
            ) from None
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise ConfigError(f"{what} failed (exit {proc.returncode}); full log: {log}\n{tail}")


def tool_version(tool: str) -> str:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError):
        return "missing"
    return out.splitlines()[0].strip() if out else "unknown"


def cmake_build(
    build_dir: Path,
    *,
    port: str,
    engine: str,
    engine_dir: Path | None = None,
    model_dir: Path | None = None,
    board_name: str | None = None,
    sanitize: bool = False,
    fuzz: bool = False,
    log: Path | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Configures and builds firmware/ into build_dir; returns build_dir."""
    build_dir.mkdir(parents=True, exist_ok=True)
    log = log or build_dir / "build.log"
    native = port == HOST_PORT
    defs = {
        "HIL_PORT": port,
        "HIL_ENGINE": engine,
        "HIL_ENGINE_DIR": str(engine_dir) if engine_dir else "",
        "HIL_MODEL_DIR": str(model_dir) if model_dir else "",
        "HIL_SANITIZE": "ON" if sanitize else "OFF",
        "HIL_FUZZ": "ON" if fuzz else "OFF",
        **({"HIL_BOARD_NAME": board_name} if board_name else {}),
        **(extra or {}),
    }
    if not native:
        defs["CMAKE_TOOLCHAIN_FILE"] = str(TOOLCHAIN_FILE)
    elif fuzz or sanitize:
        defs["CMAKE_C_COMPILER"] = "clang" if fuzz else os.environ.get("CC", "cc")
    cmd = ["cmake", "-S", str(FIRMWARE_DIR), "-B", str(build_dir)] + [f"-D{k}={v}" for k, v in defs.items()]
    _run(cmd, log, f"configuring the firmware (port {port}, engine {engine})")
    _run(["cmake", "--build", str(build_dir), "-j", str(min(2, os.cpu_count() or 1))], log,
         f"building the firmware (port {port}, engine {engine})")
    return build_dir


def elf_sizes(elf: Path, native: bool) -> dict[str, int]:
    """text, data, bss of an ELF (Berkeley format of size)."""
    tool = "size" if native else "arm-none-eabi-size"
    try:
        out = subprocess.run([tool, str(elf)], capture_output=True, text=True, check=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise ConfigError(f"{tool} failed on {elf}: {exc}") from None
    fields = out.splitlines()[1].split()
    return {"text": int(fields[0]), "data": int(fields[1]), "bss": int(fields[2])}


def firmware_sources_hash(port: str, engine_dir: Path) -> str:
    """Hash of everything under firmware/ that goes into this image."""
    parts = {
        "top": sha256_tree(FIRMWARE_DIR, ("CMakeLists.txt", "cmake/*", "include/**/*", "app/**/*")),
        "port": sha256_tree(FIRMWARE_DIR / "ports" / port),
        "engine": sha256_tree(engine_dir),
    }
    return sha256_json(parts)


def _generate(engine: Engine, tflite: Path, model_dir: Path) -> Generated:
    """The engine's model sources into a fresh model_dir."""
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    return engine.generate(tflite, model_dir)


def _copy_outputs(build_dir: Path, out: Path, native: bool) -> None:
    """hil.elf (the native executable on the host port), hil.bin (cross builds only), hil.map."""
    if native:
        shutil.copy2(build_dir / "hil", out / "hil.elf")
        (out / "hil.bin").unlink(missing_ok=True)
    else:
        shutil.copy2(build_dir / "hil.elf", out / "hil.elf")
        shutil.copy2(build_dir / "hil.bin", out / "hil.bin")
    shutil.copy2(build_dir / "hil.map", out / "hil.map")


def _size_report(elf: Path, gen: Generated, tflite: Path, *, native: bool, **labels: str) -> dict:
    sizes = elf_sizes(elf, native=native)
    return {
        **sizes,
        "flash_bytes": sizes["text"] + sizes["data"],
        "ram_bytes": sizes["data"] + sizes["bss"],
        "model_bytes": gen.model_bytes,
        "arena_bytes": gen.arena_bytes,
        "tflite_bytes": tflite.stat().st_size,
        **labels,
    }


def _region_report(elf: Path, build_dir: Path) -> dict[str, dict[str, int]]:
    """Bytes used and free per memory region of the port's linker script (hil.firmware.image)."""
    from hil.firmware.image import linker_script_of, memory_report

    script = linker_script_of(build_dir)
    if script is None:
        raise ConfigError(f"{build_dir}: no -T linker script in the image's link command (the port's port.cmake "
                          "links the executable hil with -T<script>)")
    return memory_report(elf, script)


def _tree_commit_warning(fingerprint: dict) -> None:
    """A TFLM tree at another commit than the pinned one builds, but says so."""
    from hil.deps import TREES

    got, pinned = fingerprint.get("tflm_commit"), TREES["tflm"].commit
    if got and got != pinned:
        ui.info(f"[yellow]warning:[/yellow] the TFLM tree is at {got}, not the pinned {pinned} (hil deps tflm); "
                "the image builds from it, and its commit is in the manifest and the report")


def _test_opt_level(engine: str) -> str:
    """-O2, or the test switch HIL_TEST_FIRMWARE_OPT=ENGINE=FLAG (e.g. aot=-O0): a slower image under the
    same series key, the regression tests/integration/test_nightly.py injects. Not a user setting."""
    want, _, flag = os.environ.get("HIL_TEST_FIRMWARE_OPT", "").partition("=")
    return flag if want == engine and flag in ("-O0", "-O1", "-Os", "-O3") else "-O2"


def _check_arena_fits(board: Board, eng: Engine, gen: Generated) -> None:
    """ConfigError when the engine's arena alone exceeds the board's RAM (boards.yaml memory.ram_bytes)."""
    if gen.arena_bytes <= board.memory.ram_bytes:
        return
    what = ("the diagnosis image keeps every tensor (no arena reuse), so its arena" if eng.dump_build
            else "its tensor arena")
    raise ConfigError(
        f"board {board.name!r}: engine {eng.label} cannot run this model: {what} needs {gen.arena_bytes} bytes, "
        f"the board has {board.memory.ram_bytes} bytes of RAM (memory.ram_bytes in boards.yaml)",
        hint="diagnose on a board with more RAM (qemu-m4 has 4 MiB), or with an engine whose run image dumps "
             "(--engine aot)" if eng.dump_build else "use a smaller model or a board with more RAM",
    )


# What of a board entry never reaches the image: the host's side of the link (where, how long to wait,
# how many retries or windows in flight) and the lab place. A change there must not rebuild the image;
# link.baud does (HIL_UART_BAUD).
HOST_SIDE = {"name": True, "labgrid": True, "link": {"url": True, "usb": True, "timeout_s": True, "retries": True,
                                                      "inflight": True}}


def board_key(board: Board, host: bool = False) -> str:
    """The board's part of an image's manifest inputs."""
    return sha256_json({"name": board.name, "entry": board.model_dump(mode="json", exclude=HOST_SIDE), "host": host})


def build_firmware(
    board: Board,
    cfg: ModelConfig,
    paths: ArtifactPaths,
    engine: str | None = None,
    *,
    host: bool = False,
    kernels: str | None = None,
    dump: bool = False,
) -> Path:
    """Builds (or reuses) the firmware image; returns its folder (``<board>-<engine>[-<kernels>]``).

    ``dump``: the image that answers DUMP (``Engine.for_dump``): the run's own for most engines, a
    diagnosis image in a ``-dump`` folder for those whose run image cannot (tflm)."""
    eng = choose_engine(board, engine, kernels).engine
    if dump:
        eng = eng.for_dump()
    engine = eng.name
    tflite = paths.export / "model.tflite"
    if not tflite.is_file():
        raise ConfigError(
            f"model {cfg.name!r}: no exported model at {tflite}",
            hint=f"run `hil export --model models/{cfg.name}` (or `hil run`) first",
        )
    port = HOST_PORT if host else board.port
    if not (FIRMWARE_DIR / "ports" / port / "port.cmake").exists():
        raise ConfigError(
            f"board {board.name!r}: port {port!r} has no firmware/ports/{port}/port.cmake",
            hint="set `port` in boards.yaml to a folder under firmware/ports/",
        )
    native = host or port == HOST_PORT  # a board may itself be the host port (tests, plug-in flashers)
    label = "host" if host else board.name
    out = paths.firmware(label, eng.label)
    compiler = tool_version("cc" if native else "arm-none-eabi-gcc")
    inputs = {
        "tflite": sha256_file(tflite),
        "firmware_sources": firmware_sources_hash(port, eng.firmware_dir),
        "build_driver": sha256_file(Path(__file__)),
        "board": board_key(board, host),
        "engine": engine,
        **({"kernels": eng.kernels} if eng.kernels else {}),
        **eng.fingerprint(),
        "toolchain": compiler,
        "cmake": tool_version("cmake"),
    }
    _tree_commit_warning(inputs)
    opt = _test_opt_level(engine)
    inputs["opt_level"] = opt
    if is_fresh(out, inputs, OUTPUTS):
        ui.debug(f"firmware {out} is up to date")
        return out

    out.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    log.write_text("")
    variables = eng.cmake_variables()  # before generating: a missing external tree is the first error
    variables["HIL_OPT_LEVEL"] = opt  # always passed: the CMake cache would keep a previous value
    variables["HIL_UART_BAUD"] = str(board.link.baud)  # the rate the host opens the port at
    compilers = (compiler, tool_version("c++" if native else "arm-none-eabi-g++"))
    pre = eng.prebuild(BuildContext(paths.work / "cache", native, opt, compilers))
    variables.update(pre.variables)
    gen = _generate(eng, tflite, out / "model")
    if not native:  # before the compile: minutes spent on an image that cannot run are minutes lost
        _check_arena_fits(board, eng, gen)
    build_dir = out / "cmake"
    cmake_build(build_dir, port=port, engine=engine, engine_dir=eng.firmware_dir, model_dir=out / "model",
                board_name=label, log=log, extra=variables)

    _copy_outputs(build_dir, out, native)
    regions = _region_report(out / "hil.elf", build_dir) if not native else {}
    size = _size_report(out / "hil.elf", gen, tflite, native=native, board=label, engine=engine, port=port,
                        **({"kernels": eng.kernels} if eng.kernels else {}),
                        **({"tflm_commit": inputs["tflm_commit"]} if inputs.get("tflm_commit") else {}),
                        **pre.record, **({"regions": regions} if regions else {}))
    if not native and size["flash_bytes"] > board.memory.flash_bytes:
        raise ConfigError(
            f"board {board.name!r}: image needs {size['flash_bytes']} bytes of flash, the board has "
            f"{board.memory.flash_bytes} (memory.flash_bytes in boards.yaml)"
        )
    write_json_atomic(out / "size.json", size)
    write_manifest(
        out,
        "firmware",
        inputs,
        {
            "elf_sha256": sha256_file(out / "hil.elf"),
            "ops": gen.ops,
            **pre.record,
            **({"regions": regions} if regions else {}),
            **{k: size[k] for k in ("text", "data", "bss", "flash_bytes", "ram_bytes", "model_bytes", "arena_bytes")},
        },
    )
    return out
