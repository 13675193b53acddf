"""TFLM compiled once: the library in <work>/cache/tflm-lib is reused by a second model with another
op set (its kernels are in the archive already), and the image it gives runs in QEMU bit-exact with
TFLite's reference kernels. Needs HIL_TFLM_ROOT (in CI always, see tests/trees.py).

    HIL_TFLM_ROOT=<tflite-micro> HIL_CMSIS_NN_ROOT=<cmsis-nn> .venv/bin/pytest tests/integration/test_tflm_lib_cache.py -q
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
needs_tflm = pytest.mark.needs_tree("tflm")


def _build(paths, kernels: str) -> Path:
    from hil.config import load_board, load_model_config
    from hil.firmware.build import build_firmware

    board = load_board("qemu-m4", REPO / "boards.yaml")
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    return build_firmware(board, cfg, paths, "tflm", kernels=kernels)


def _other_model(paths) -> Path:
    """A CONV_2D + AVERAGE_POOL_2D model: an op the seed model lacks, another input shape."""
    from tests.aot import op_models

    tflite = paths.export / "model.tflite"
    tflite.parent.mkdir(parents=True, exist_ok=True)
    tflite.write_bytes(op_models.pool(np.random.default_rng(3), 3, "avg"))
    return tflite


def _compiled_sources(folder: Path) -> list[str]:
    return [c["file"] for c in json.loads((folder / "cmake" / "compile_commands.json").read_text())]


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def test_second_model_links_the_cached_library_without_compiling_tflm(tiny_export):
    from hil.artifacts import ArtifactPaths, read_manifest
    from hil.export.tflite_info import read_ops

    work = tiny_export.parent.parent
    first = _build(ArtifactPaths(work, tiny_export.parent.name), "cmsis-nn")
    lib = Path(read_manifest(first)["outputs"]["tflm_lib"])
    assert lib.parent == work / "cache" / "tflm-lib"
    lib_manifest = read_manifest(lib)
    assert lib_manifest["inputs"]["kernels"] == "cmsis-nn"
    assert lib_manifest["inputs"]["cpu_flags"] == "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
    listed = (lib / "tflm-sources.txt").read_text().split()
    assert any(s.endswith("/micro/kernels/cmsis_nn/conv.cc") for s in listed)  # TFLM's list, specialised
    assert any(s.endswith("/micro/kernels/pooling.cc") for s in listed) or any(
        s.endswith("/micro/kernels/cmsis_nn/pooling.cc") for s in listed)  # every kernel, not the first model's
    before = ((lib / "libtflm.a").stat().st_mtime_ns, lib_manifest["outputs"]["libtflm_sha256"])

    other = ArtifactPaths(work, "other-ops")
    tflite = _other_model(other)
    assert "AVERAGE_POOL_2D" in read_ops(tflite) and "AVERAGE_POOL_2D" not in read_ops(tiny_export / "model.tflite")
    second = _build(other, "cmsis-nn")
    out = read_manifest(second)["outputs"]
    assert out["tflm_lib"] == str(lib) and out["tflm_lib_compiled"] is False
    assert ((lib / "libtflm.a").stat().st_mtime_ns, read_manifest(lib)["outputs"]["libtflm_sha256"]) == before
    tflm_root = str(Path(os.environ["HIL_TFLM_ROOT"]).resolve())
    compiled = _compiled_sources(second)
    assert compiled and not [f for f in compiled if f.startswith(tflm_root)]  # no TFLM object rebuilt
    assert any(f.endswith("tflm_ops.cc") for f in compiled)
    syms = subprocess.run(["arm-none-eabi-nm", "-C", str(second / "hil.elf")], capture_output=True, text=True,
                          check=True).stdout
    assert "tflite::Register_AVERAGE_POOL_2D()" in syms  # the new op's kernel, from the cached archive
    _runs_bit_exact(second, tflite)


def _runs_bit_exact(folder: Path, tflite: Path) -> None:
    from hil.config import load_board
    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from hil.device.qemu import QemuInstance
    from tests.aot.references import tflite_ref

    board = load_board("qemu-m4", REPO / "boards.yaml")
    with QemuInstance(folder / "hil.elf", board.flasher, folder / "qemu.log") as q:
        link = open_link(q.url, board.link.baud, None)
        try:
            client = DeviceClient(link, timeout_s=30, retries=1, inflight=2, board="qemu-m4")
            info = client.hello()
            x = np.random.default_rng(5).integers(-128, 128, size=(16, info.input.bytes), dtype=np.int8)
            got = np.stack([r.outputs for r in sorted(client.infer_stream(enumerate(x)), key=lambda r: r.index)])
        finally:
            link.close()
    ref = tflite_ref(tflite.read_bytes(), x).reshape(len(x), -1)
    assert np.array_equal(got.astype(np.int8), ref.astype(np.int8))


def test_a_second_build_waits_for_the_one_holding_the_lock(tmp_path):
    """The cache's lock (real flock, two processes): the second says it waits, and enters only after the first
    lets go."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from hil.firmware.tflm_lib import _locked
        with _locked(Path({str(tmp_path / 'k.lock')!r})):
            print(sys.argv[1], "in", flush=True)
            sys.stdin.readline()  # hold the lock until told
        print(sys.argv[1], "out", flush=True)
    """)

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", script, name], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    first = start("a")
    assert first.stdout.readline().strip() == "a in"
    second = start("b")
    try:
        assert "waiting for another build of the TFLM library (k)" in second.stdout.readline()
        first.stdin.write("\n")
        first.stdin.flush()
        assert first.stdout.readline().strip() == "a out"
        assert second.stdout.readline().strip() == "b in"  # only now
        second.stdin.write("\n")
        second.stdin.flush()
        assert second.stdout.readline().strip() == "b out"
    finally:
        for p in (first, second):
            p.kill()
            p.wait(timeout=10)
