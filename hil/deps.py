"""External source trees the firmware can build against, pinned, never committed.

TFLM and AmbiqSuite are not in any package registry. The ``tflm`` engine and
the ``apollo4`` port build from trees the user points at with
``HIL_TFLM_ROOT`` / ``HIL_AMBIQSUITE_ROOT``; this module says which version
and how to get it, and can fetch TFLM on a machine with internet.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from urllib.parse import urlparse
from dataclasses import dataclass
from pathlib import Path

from hil.errors import ConfigError, InfraError


@dataclass(frozen=True)
class SourceTree:
    name: str
    env: str
    url: str
    commit: str | None
    marker: str  # a file that proves the tree is the right one
    setup: tuple[str, ...]  # commands run inside the tree after checkout
    note: str


TREES = {
    "tflm": SourceTree(
        name="tflm",
        env="HIL_TFLM_ROOT",
        url="https://github.com/tensorflow/tflite-micro.git",
        # The tree the pinned tflite-micro Python package (host reference) was checked against.
        commit="90b983c2b3f1480642e040bbd2ddb37b998f3424",
        marker="tensorflow/lite/micro/micro_interpreter.h",
        setup=("make -f tensorflow/lite/micro/tools/make/Makefile third_party_downloads",),
        note="third_party_downloads fetches flatbuffers, gemmlowp, ruy and kissfft into the tree.",
    ),
    "ambiqsuite": SourceTree(
        name="ambiqsuite",
        env="HIL_AMBIQSUITE_ROOT",
        url="https://ambiq.com/ (AmbiqSuite SDK R4.4 or later, after registration)",
        commit=None,
        marker="mcu/apollo4p/am_mcu_apollo.h",
        setup=(),
        note="Download AmbiqSuite from Ambiq's content portal; it is licensed and cannot be fetched automatically.",
    ),
}


def tree(name: str) -> SourceTree:
    if name not in TREES:
        raise ConfigError(f"unknown dependency {name!r}; known: {', '.join(TREES)}")
    return TREES[name]


REPO = Path(__file__).resolve().parents[1]


def cache_dir(name: str) -> Path:
    """Where ``hil deps NAME --fetch`` puts a tree by default: $HIL_DEPS_DIR/NAME (default third_party/NAME)."""
    return Path(os.environ.get("HIL_DEPS_DIR") or REPO / "third_party") / name


def located(name: str) -> Path | None:
    """The tree of the environment variable when set (even if wrong: it is what the user asked for), else
    the fetched cache when it looks right, else None."""
    t = tree(name)
    root = os.environ.get(t.env)
    if root:
        return Path(root) if (Path(root) / t.marker).exists() else None
    cached = cache_dir(name)
    return cached if (cached / t.marker).exists() else None


def tree_commit(root: Path) -> str | None:
    """The commit a tree is at: git's HEAD, else the first 40-hex id of its SOURCE.md (a pinned copy)."""
    if (root / ".git").exists():
        r = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.strip()
    try:
        m = re.search(r"\b[0-9a-f]{40}\b", (root / "SOURCE.md").read_text())
    except OSError:
        return None
    return m.group(0) if m else None


def reachable(url: str, timeout_s: float) -> str | None:
    """None when the host of ``url`` accepts a TCP connection within ``timeout_s``, else why not."""
    u = urlparse(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        socket.create_connection((u.hostname or "", port), timeout=timeout_s).close()
    except OSError as exc:
        return f"{u.hostname}:{port} unreachable ({exc})"
    return None


def instructions(name: str, dest: Path) -> list[str]:
    t = tree(name)
    if t.commit is None:
        return [f"# {t.note}", f"# get it from {t.url}, unpack it to {dest}", f"export {t.env}={dest}"]
    return [
        f"git clone {t.url} {dest}",
        f"git -C {dest} checkout {t.commit}",
        *(f"(cd {dest} && {c})" for c in t.setup),
        f"export {t.env}={dest.resolve()}",
    ]


def tree_url(t: SourceTree) -> str:
    # HIL_<NAME>_URL: a mirror (or, in tests, an address that cannot answer).
    return os.environ.get(f"HIL_{t.name.upper()}_URL") or t.url


def fetch(name: str, dest: Path, probe_timeout_s: float = 5.0) -> Path:
    """Clone and pin a tree (needs internet and git); InfraError within ``probe_timeout_s`` when offline."""
    t = tree(name)
    if t.commit is None:
        raise ConfigError(f"{name} cannot be fetched automatically: {t.note}")
    if not shutil.which("git"):
        raise InfraError("git is not installed", hint="sudo apt-get install -y git")
    url = tree_url(t)
    why = reachable(url, probe_timeout_s)
    if why:
        raise InfraError(f"cannot fetch {name}: {why}", hint=f"offline: set {t.env} to a local copy")
    steps = [["git", "clone", "--filter=blob:none", url, str(dest)], ["git", "-C", str(dest), "checkout", t.commit]]
    if (dest / ".git").exists():
        steps = [["git", "-C", str(dest), "fetch", "origin"], steps[1]]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise InfraError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    for c in t.setup:
        r = subprocess.run(c, shell=True, cwd=dest, capture_output=True, text=True)
        if r.returncode != 0:
            raise InfraError(f"{c} failed in {dest}: {r.stderr.strip()[-500:]}")
    return dest
