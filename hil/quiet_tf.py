"""Keep TensorFlow's C++ start-up chatter off the user's terminal.

TensorFlow's shared libraries log (oneDNN notes, CUDA stubs) through absl
before any log level applies, straight to file descriptor 2, so
``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. The CLI installs this import hook:
the first ``import tensorflow`` runs with fd 2 pointed at /dev/null, and
nothing else is affected. Python exceptions from the import still propagate.
"""

from __future__ import annotations

import importlib.abc
import logging
import importlib.machinery
import os
import sys
from contextlib import contextmanager
from typing import Iterator

_NOISY = ("tensorflow",)


@contextmanager
def stderr_fd_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec):  # type: ignore[override]
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:  # type: ignore[override]
        with stderr_fd_silenced():
            self.inner.exec_module(module)
        # Python-side warnings (e.g. tf.function retracing during predict) are not for users.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


class _QuietFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):  # type: ignore[override]
        if name not in _NOISY:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Silence TensorFlow's import-time logging (and its runtime INFO/WARNING lines)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
