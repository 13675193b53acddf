"""The external trees and inputs some tests need, and whether a missing one skips or fails.

TFLM (``HIL_TFLM_ROOT``, with ``HIL_CMSIS_NN_ROOT`` when set) and AmbiqSuite
(``HIL_AMBIQSUITE_ROOT``) are never in the repository (``hil deps``). A test
that needs one is marked ``@pytest.mark.needs_tree("tflm", ...)``; before it
runs, tests/conftest.py calls :func:`require`, which checks each tree the way
the firmware build will use it and, when one is unset or broken,

- skips the test, naming the variable and the fix (a developer's machine), or
- fails it, with the same message, when ``HIL_REQUIRE_TREES=1`` (what
  ``.ci/run`` sets when it points the variables at ``../shared``), so a wrong
  path in CI cannot pass as a skip.

The real LSAD sample records (``lsad-sample``: ``HIL_LSAD_SAMPLE``, by default
``../shared/data/lsad-sample`` beside the checkout) are an input of the same
kind: the ``lsad_sample`` fixture calls :func:`require` too, so the same switch
makes their absence fail in CI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from hil.deps import TREES

REQUIRE_ENV = "HIL_REQUIRE_TREES"
REPO = Path(__file__).resolve().parents[1]
# Compile-only stand-in for the register header a partial AmbiqSuite copy lacks
# (see the file's own header); handed to the build only by the tests.
AMBIQ_STANDIN = REPO / "tests" / "ambiqsuite_standin"
TFLM_DOWNLOADS = "tensorflow/lite/micro/tools/make/downloads"


@dataclass(frozen=True)
class Need:
    env: str
    files: tuple[str, ...]  # relative to the tree; all must exist
    fix: str
    default: str = ""  # where to look when the variable is unset ("" : the variable is required)


NEEDS = {
    "tflm": Need(
        TREES["tflm"].env,
        (TREES["tflm"].marker, f"{TFLM_DOWNLOADS}/flatbuffers/include/flatbuffers/flatbuffers.h",
         f"{TFLM_DOWNLOADS}/gemmlowp/fixedpoint/fixedpoint.h", f"{TFLM_DOWNLOADS}/ruy/ruy/profiler/instrumentation.h"),
        "point it at a tflite-micro tree with its third-party downloads (`hil deps tflm` prints the pinned commit "
        "and the steps)",
    ),
    "ambiqsuite": Need(
        TREES["ambiqsuite"].env,
        (TREES["ambiqsuite"].marker, "boards/apollo4p_evb/bsp/am_bsp_pins.h"),
        "point it at an AmbiqSuite R4.x SDK with apollo4p (licensed, from Ambiq; see docs/boards.md)",
    ),
    "lsad-sample": Need(
        "HIL_LSAD_SAMPLE",
        tuple(f"WFDBRecords/01/010/JS0000{i}.{ext}" for i in (1, 2, 4, 5) for ext in ("hea", "mat")),
        "put the four sample LSAD records (JS00001, JS00002, JS00004, JS00005 with WFDBRecords/01/010 above them) "
        "in ../shared/data/lsad-sample beside the checkout, or point HIL_LSAD_SAMPLE at a copy",
        default=str(REPO.parent / "shared" / "data" / "lsad-sample"),
    ),
}
# Optional: checked only when set (the tflm build then compiles CMSIS-NN's kernels).
CMSIS_NN = Need("HIL_CMSIS_NN_ROOT", ("Include/arm_nnfunctions.h",),
                f"point it at CMSIS-NN (in a TFLM tree: $HIL_TFLM_ROOT/{TFLM_DOWNLOADS}/cmsis_nn), or unset it")


def trees_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def problem(name: str) -> str | None:
    """Why the tree ``name`` cannot be used, or None when it can."""
    need = NEEDS[name]
    checks = [(need, True)] + ([(CMSIS_NN, False)] if name == "tflm" else [])
    for n, mandatory in checks:
        root = os.environ.get(n.env, "") or n.default
        if not root:
            if mandatory:
                return f"{n.env} is not set: {n.fix}"
            continue
        missing = [f for f in n.files if not (Path(root) / f).is_file()]
        if missing:
            where = f"{n.env}={root}" if os.environ.get(n.env) else f"{n.env} is unset and {root}"
            return f"{where} is not usable (no {missing[0]}): {n.fix}"
    return None


def require(*names: str) -> None:
    """Skips (or, with HIL_REQUIRE_TREES=1, fails) the current test when a tree is unset or broken."""
    problems = [p for p in map(problem, names) if p]
    if not problems:
        return
    text = "; ".join(problems)
    if trees_required():
        pytest.fail(f"{REQUIRE_ENV}=1 and {text}. In CI, .ci/run sets these from ../shared.",
                    pytrace=False)
    pytest.skip(text)


def path(name: str) -> Path:
    """The folder of ``name`` after :func:`require` (the variable, or the default place)."""
    need = NEEDS[name]
    return Path(os.environ.get(need.env, "") or need.default).resolve()


def ambiq_extra_include() -> Path | None:
    """The stand-in folder when the SDK lacks apollo4p.h (a partial copy), else None."""
    sdk = Path(os.environ[NEEDS["ambiqsuite"].env])
    if (sdk / "CMSIS" / "AmbiqMicro" / "Include" / "apollo4p.h").is_file():
        return None
    return AMBIQ_STANDIN
