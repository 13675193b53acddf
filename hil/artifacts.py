"""Artifact folders and manifests: what makes ``hil run`` behave like a build system.

Each stage writes its outputs into one folder together with ``manifest.json``
naming the hashes of everything it was made from.  A stage whose manifest
matches its current inputs is reused; otherwise it is rebuilt.

Layout under the work folder (``--work``, env ``HIL_WORK``, default ``./build``)::

    <work>/<model>/data/                  split, fixed window lists
    <work>/<model>/train/                 model.keras, history.csv, metrics.json
    <work>/<model>/export/                model.tflite, <header>.h
    <work>/<model>/firmware/<board>-<engine>/   hil.elf, hil.bin, hil.map, size.json
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from pydantic import BaseModel

from hil.config import work_dir

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(root: Path, patterns: Iterable[str] = ("**/*",)) -> str:
    """One hash over the relative paths and contents of the files under ``root``."""
    h = hashlib.sha256()
    files = sorted({p for pat in patterns for p in root.glob(pat) if p.is_file()})
    for p in files:
        h.update(str(p.relative_to(root)).encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def sha256_json(value: Any) -> str:
    """Stable hash of JSON-able data (pydantic models are dumped first)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write JSON so that a crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except OSError as exc:  # e.g. a full disk: name the file the user knows, not the temporary
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class ArtifactPaths:
    """Where each stage of one model keeps its outputs."""

    work: Path
    model: str

    @classmethod
    def for_model(cls, model_name: str, work: Path | str | None = None) -> "ArtifactPaths":
        return cls(work_dir(work), model_name)

    @property
    def root(self) -> Path:
        return self.work / self.model

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def train(self) -> Path:
        return self.root / "train"

    @property
    def export(self) -> Path:
        return self.root / "export"

    def firmware(self, board: str, engine: str) -> Path:
        return self.root / "firmware" / f"{board}-{engine}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_manifest(folder: Path, stage: str, inputs: Mapping[str, str], outputs: Mapping[str, Any]) -> dict:
    """Record what ``folder`` was made from (``inputs``: name -> hash) and what it holds."""
    doc = {
        "stage": stage,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "inputs": dict(inputs),
        "inputs_sha256": sha256_json(dict(inputs)),
        "outputs": dict(outputs),
    }
    write_json_atomic(folder / MANIFEST, doc)
    return doc


def is_fresh(folder: Path, inputs: Mapping[str, str], required: Iterable[str] = ()) -> bool:
    """True when ``folder`` was made from exactly ``inputs`` and still holds ``required`` files."""
    m = read_manifest(folder)
    if m is None or m.get("inputs_sha256") != sha256_json(dict(inputs)):
        return False
    return all((folder / r).exists() for r in required)
