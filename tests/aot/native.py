"""Build a generated aot model natively (gcc, shared library) and run it from Python."""

from __future__ import annotations

import ctypes
import itertools
import subprocess
from pathlib import Path

import numpy as np

from bench.support import ENGINE, INCLUDE, KERNELS

HARNESS = Path(__file__).resolve().parent / "host_harness.c"
_COUNTER = itertools.count()
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"]


def build_shared(gen_dir: Path, out: Path, extra: list[str] | None = None) -> Path:
    """Compile kernels + gen_dir/model_aot.c + the harness into out (a .so)."""
    cmd = ["gcc", *CFLAGS, *(extra or []), f"-I{ENGINE}", f"-I{INCLUDE}", f"-I{gen_dir}",
           *map(str, KERNELS), str(gen_dir / "model_aot.c"), str(HARNESS), "-o", str(out), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


class NativeModel:
    def __init__(self, so: Path, in_bytes: int, out_bytes: int, out_dtype=np.int8) -> None:
        self.lib = ctypes.CDLL(str(so))
        self.lib.aot_test_run.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p]
        self.in_bytes, self.out_bytes, self.out_dtype = in_bytes, out_bytes, out_dtype

    def run(self, x: np.ndarray) -> np.ndarray:
        """x: [N, ...] model inputs (int8 or float32); returns [N, out elements]."""
        n = x.shape[0]
        xin = np.ascontiguousarray(x)
        assert xin[0].nbytes == self.in_bytes, (xin[0].nbytes, self.in_bytes)
        out = np.zeros(n * self.out_bytes, np.uint8)
        rc = self.lib.aot_test_run(xin.ctypes.data, n, out.ctypes.data)
        if rc != 0:
            raise RuntimeError("aot_test_run failed")
        return out.view(self.out_dtype).reshape(n, -1)


def load(gen_dir: Path, info, work: Path) -> NativeModel:
    # a fresh file name per model: dlopen() of a path already loaded returns the old library
    so = build_shared(gen_dir, work / f"model_aot_{info.model_sha256[:12]}_{next(_COUNTER)}.so")
    out_dtype = np.float32 if info.output.dtype == "float32" else np.int8
    return NativeModel(so, info.input.bytes, info.output.bytes, out_dtype)


SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


def build_filter(gen_dir: Path, out: Path, sanitize: bool = True) -> Path:
    """tests/aot/stdin_main.c + kernels + model as an executable (stdin windows -> stdout outputs)."""
    flags = ["-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", *(SANITIZE if sanitize else [])]
    cmd = ["gcc", *flags, f"-I{ENGINE}", f"-I{INCLUDE}", f"-I{gen_dir}", *map(str, KERNELS),
           str(gen_dir / "model_aot.c"), str(HARNESS.parent / "stdin_main.c"), "-o", str(out), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def run_filter(exe: Path, x: np.ndarray, out_bytes: int) -> np.ndarray:
    res = subprocess.run([str(exe)], input=np.ascontiguousarray(x).tobytes(), capture_output=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{exe.name} failed ({res.returncode}): {res.stderr.decode(errors='replace')[-3000:]}")
    return np.frombuffer(res.stdout, np.int8).reshape(-1, out_bytes)
