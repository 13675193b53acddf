"""hil: hardware-in-the-loop evaluation harness for TinyML."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hil")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+src"
