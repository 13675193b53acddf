"""Errors that end a command, each with the exit status infrastructure can act on.

Exit statuses (see ARCHITECTURE.md): 0 all gates passed, 1 a gate failed,
2 infrastructure failure (flash, link, emulator: worth a retry),
3 usage or configuration error (fix the command or the file).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_INFRA = 2
EXIT_USAGE = 3


class HilError(Exception):
    """Base class: a message meant for the user, and an exit status."""

    exit_code = EXIT_USAGE
    # Whether doing the same again (reconnect, restart the emulator) may succeed.
    retryable = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ConfigError(HilError):
    """A configuration file, option or input folder is wrong."""

    exit_code = EXIT_USAGE


class DataError(HilError):
    """A dataset is missing, unreadable or unusable."""

    exit_code = EXIT_USAGE


class InfraError(HilError):
    """Flash, link or emulator failure: retrying may help."""

    exit_code = EXIT_INFRA
    retryable = True


class GateFailed(HilError):
    """The run completed but a quality gate did not pass."""

    exit_code = EXIT_GATE_FAILED
