"""TFLM's library, compiled once per (tree, kernels, CPU flags, compiler) and reused.

Every tflm image links ``libtflm.a`` from ``<work>/cache/tflm-lib/<key>/``::

    libtflm.a  tflm-usage.cmake  tflm-sources.txt  compile_commands.json  build.log  manifest.json

The library holds every kernel TFLM's make files list (``firmware/engines/tflm/lib``),
so a second model, another board of the same CPU and every re-run reuse it: static
linking keeps only what the model's op resolver registers. ``<key>`` is a hash of the
manifest's inputs. Two builds at once cannot corrupt the cache: a ``flock`` per key
makes the second wait for the first, and a library is built in a temporary folder
and renamed into place whole.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from hil import ui
from hil.artifacts import is_fresh, sha256_file, sha256_json, sha256_tree, write_manifest
from hil.errors import ConfigError

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
LIB_SOURCES = FIRMWARE_DIR / "engines" / "tflm" / "lib"
TOOLCHAIN_FILE = FIRMWARE_DIR / "cmake" / "arm-none-eabi.cmake"
OUTPUTS = ("libtflm.a", "tflm-usage.cmake", "tflm-sources.txt", "compile_commands.json")
# What of the trees the library is compiled from (TFLM's make files list sources under these).
TREE_PARTS = ("tensorflow", "signal")
CMSIS_NN_PARTS = ("Include", "Source")
_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


@dataclass(frozen=True)
class TflmLibrary:
    folder: Path
    key: str
    built: bool  # compiled by this call; False: reused from the cache
    seconds: float  # of this call

    @property
    def record(self) -> dict[str, str]:
        """What an image's manifest and size.json say of the library it links."""
        return {"tflm_lib": str(self.folder), "tflm_lib_key": self.key}


def cpu_flags(native: bool) -> str:
    """The CPU flags the library is compiled with: the toolchain file's HIL_CPU_FLAGS (native: the host's)."""
    if native:
        return "native"
    m = re.search(r'set\(HIL_CPU_FLAGS "([^"]*)"\)', TOOLCHAIN_FILE.read_text())
    if not m:
        raise ConfigError(f"{TOOLCHAIN_FILE}: no set(HIL_CPU_FLAGS \"...\") line (the TFLM library key reads it)")
    return m.group(1)


def tree_fingerprint(root: Path, parts: tuple[str, ...]) -> str:
    """Every file's path, size and mtime under ``root``'s folders ``parts``: an edit in place changes it."""
    rows = []
    for part in parts:
        for dirpath, _, files in os.walk(root / part):
            for f in files:
                st = os.stat(os.path.join(dirpath, f))
                rows.append((os.path.relpath(os.path.join(dirpath, f), root), st.st_size, st.st_mtime_ns))
    return sha256_json(sorted(rows))


def library_inputs(root: Path, cmsis_nn: Path | None, kernels: str, *, native: bool, opt_level: str,
                   compilers: tuple[str, str], commit: str | None) -> dict[str, str]:
    """The cache key's parts: a change in any of them compiles another library."""
    return {
        "tflm_root": str(root.resolve()),
        "tflm_commit": commit or "unknown",
        "tflm_tree": tree_fingerprint(root, TREE_PARTS),
        "kernels": kernels,
        "cmsis_nn_root": str(cmsis_nn.resolve()) if cmsis_nn else "",
        "cmsis_nn_tree": tree_fingerprint(cmsis_nn, CMSIS_NN_PARTS) if cmsis_nn else "",
        "cpu_flags": cpu_flags(native),
        "toolchain_file": "" if native else sha256_file(TOOLCHAIN_FILE),
        "c_compiler": compilers[0],
        "cxx_compiler": compilers[1],
        "opt_level": opt_level,
        "lib_sources": sha256_tree(LIB_SOURCES),
        "driver": sha256_file(Path(__file__)),
    }


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            ui.info(f"waiting for another build of the TFLM library ({path.stem}) to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield  # closing the file drops the lock


def tflm_library(cache: Path, root: Path, cmsis_nn: Path | None, kernels: str, *, native: bool,
                 opt_level: str, compilers: tuple[str, str], commit: str | None = None) -> TflmLibrary:
    """The library for these inputs from ``cache`` (``<work>/cache``), compiled first when it is not there."""
    t0 = time.monotonic()
    inputs = library_inputs(root, cmsis_nn, kernels, native=native, opt_level=opt_level, compilers=compilers,
                            commit=commit)
    key = sha256_json(inputs)[:16]
    folder = cache / "tflm-lib" / key
    if is_fresh(folder, inputs, OUTPUTS):
        return TflmLibrary(folder, key, False, time.monotonic() - t0)
    with _locked(folder.parent / f"{key}.lock"):
        if is_fresh(folder, inputs, OUTPUTS):  # another build made it while this one waited
            return TflmLibrary(folder, key, False, time.monotonic() - t0)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{key}."))
        log = folder.parent / f"{key}.build.log"  # beside the temporary folder: kept when the build fails
        log.write_text("")
        try:
            _compile(tmp, log, root, cmsis_nn, kernels, native=native, opt_level=opt_level)
            shutil.copy2(log, tmp / "build.log")
            write_manifest(tmp, "tflm-lib", inputs, {"sources": len((tmp / "tflm-sources.txt").read_text().split()),
                                                     "libtflm_sha256": sha256_file(tmp / "libtflm.a")})
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the library from other users of the cache
            if folder.exists():  # stale (an older manifest): nothing links from it while we hold the lock
                shutil.rmtree(folder)
            os.rename(tmp, folder)
            log.unlink()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return TflmLibrary(folder, key, True, time.monotonic() - t0)


def _compile(out: Path, log: Path, root: Path, cmsis_nn: Path | None, kernels: str, *, native: bool,
             opt_level: str) -> None:
    """Configures and builds firmware/engines/tflm/lib in ``out/build``; keeps the outputs in ``out``."""
    build = out / "build"
    defs = {"HIL_TFLM_ROOT": str(root), "HIL_TFLM_KERNELS": kernels,
            "HIL_CMSIS_NN_ROOT": str(cmsis_nn) if cmsis_nn else "", "HIL_OPT_LEVEL": opt_level}
    if not native:
        defs["CMAKE_TOOLCHAIN_FILE"] = str(TOOLCHAIN_FILE)
    configure = ["cmake", "-S", str(LIB_SOURCES), "-B", str(build)] + [f"-D{k}={v}" for k, v in defs.items()]
    _run(configure, log, f"configuring the TFLM library (kernels {kernels})", progress=False)
    ui.info(f"compiling the TFLM library (kernels {kernels}) once into {out.parent}; tflm images reuse it")
    _run(["cmake", "--build", str(build), "-j", str(min(2, os.cpu_count() or 1))], log,
         f"compiling the TFLM library (kernels {kernels})", progress=True)
    for name in OUTPUTS:
        shutil.copy2(build / name, out / name)
    shutil.rmtree(build)  # the objects are in libtflm.a


def _run(cmd: list[str], log: Path, what: str, *, progress: bool) -> None:
    """Runs ``cmd`` into ``log``; on a terminal or in a log, shows the build's percentage when asked."""
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError:
            raise ConfigError(f"{cmd[0]} not found on PATH (needed for {what})",
                              hint="install the toolchain: make setup") from None
        try:
            with ui.progress(transient=True) as bar:
                task = bar.add_task(what, total=100, visible=progress)
                assert proc.stdout is not None
                for line in proc.stdout:
                    f.write(line)
                    m = _PERCENT.match(line)
                    if m:
                        bar.update(task, completed=int(m.group(1)))
        except BaseException:  # Ctrl-C, a timeout: no compiler left writing into a folder about to be removed
            proc.kill()
            proc.wait()
            raise
        rc = proc.wait()
    if rc != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise ConfigError(f"{what} failed (exit {rc}); full log: {log}\n{tail}")
