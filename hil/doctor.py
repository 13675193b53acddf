"""Checks of what a machine needs to run hil, each with the command that fixes it."""

from __future__ import annotations

import grp
import importlib.metadata
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass

APT_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm cmake"
APT_FIX = f"sudo apt-get update && sudo apt-get install -y {APT_PACKAGES}"
# Every runtime dependency of pyproject.toml (a unit test keeps the two lists equal).
PY_PACKAGES = ("tensorflow", "numpy", "scipy", "pyserial", "pyocd", "click", "rich", "wfdb", "physiokit", "tflite-micro",
               "ai-edge-litert", "cobs", "pydantic", "pyyaml", "matplotlib", "labgrid", "pyelftools")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def _version_of(cmd: list[str], pattern: str = r"(\d+\.\d+(?:\.\d+)?)") -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = out.strip().splitlines()[0] if out.strip() else ""
    m = re.search(pattern, first)
    return m.group(1) if m else first or None


def check_tool(name: str, args: list[str], fix: str, required: bool = True) -> Check:
    path = shutil.which(args[0])
    if not path:
        return Check(name, False, f"{args[0]} not found on PATH", fix, required)
    ver = _version_of(args)
    return Check(name, True, f"{ver or '?'} ({path})", None, required)


def check_python_packages() -> list[Check]:
    out = []
    for pkg in PY_PACKAGES:
        try:
            ver = importlib.metadata.version(pkg)
            out.append(Check(f"python: {pkg}", True, ver))
        except importlib.metadata.PackageNotFoundError:
            out.append(Check(f"python: {pkg}", False, "not installed", "make setup  (or: pip install -e .[dev])"))
    return out


def check_serial_permissions() -> Check:
    """Serial ports on Debian belong to group dialout; a user outside it cannot open a board's VCOM."""
    if os.geteuid() == 0:
        return Check("serial permissions", True, "running as root", required=False)
    try:
        dialout = grp.getgrnam("dialout")
    except KeyError:
        return Check("serial permissions", True, "no dialout group on this system", required=False)
    user = os.environ.get("USER") or ""
    member = dialout.gr_gid in os.getgroups() or user in dialout.gr_mem
    if member:
        return Check("serial permissions", True, "user is in group dialout", required=False)
    return Check(
        "serial permissions", False, "user is not in group dialout (needed for a real board's serial port)",
        f"sudo usermod -aG dialout {user or '$USER'}  (then log in again)", required=False,
    )


def plugin_checks() -> list[Check]:
    """What each registered flasher and engine needs (qemu-system-arm, debug probes, a TFLM tree...)."""
    from hil.engines import all_engines
    from hil.flashers import all_flashers

    return [c for plugin in [*all_flashers(), *all_engines()] for c in plugin.checks()]


def run_checks() -> list[Check]:
    checks = [
        check_tool("arm-none-eabi-gcc", ["arm-none-eabi-gcc", "--version"], APT_FIX),
        check_tool("cmake", ["cmake", "--version"], APT_FIX),
        check_tool("host C compiler", ["cc", "--version"], "sudo apt-get install -y build-essential"),
        # Only the libFuzzer tests need clang (make setup installs it): not required to run hil.
        check_tool("clang (fuzz tests)", ["clang", "--version"], "sudo apt-get install -y clang", required=False),
    ]
    checks += check_python_packages()
    checks += [check_serial_permissions()]
    checks += plugin_checks()
    return checks
