"""The aot engine's workload and QEMU timing harness, shared by bench/bench_aot.py and tests/aot.

The seed network with random weights (``models``), ECG-like test windows
(``signals``) and a bare-metal QEMU image that times one invoke (``qemu_bench``
and ``qemu/``). Not product code, so not in ``hil``; not in ``tests``, so the
benchmark does not import the test suite.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "firmware" / "engines" / "aot"
INCLUDE = REPO / "firmware" / "include"
KERNELS = sorted(ENGINE.glob("*.c"))
