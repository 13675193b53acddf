"""Options that several commands share, defined once so they read and behave alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

work_option = click.option(
    "--work", type=click.Path(path_type=Path), envvar="HIL_WORK", default=None,
    help="Work folder for generated artifacts (env HIL_WORK; default ./build).",
)  # fmt: skip


def json_option(help: str = "Print one JSON document instead of the tables.") -> Callable[[F], F]:
    """``--json`` (parameter ``as_json``): machine-readable output for scripts and CI."""
    return click.option("--json", "as_json", is_flag=True, help=help)


class EngineChoice(click.Choice):
    """The registered engines (hil.engines), read when the option is parsed or shown, not at import."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from hil.engines import engine_names

        return tuple(engine_names())

    @choices.setter
    def choices(self, value: object) -> None:  # click.Choice.__init__ assigns it
        pass


def engine_option(help: str) -> Callable[[F], F]:
    """``--engine``: one of the registered engines; None means the board's."""
    return click.option("--engine", type=EngineChoice(), default=None, help=help)


def kernels_option(help: str = "Kernel set of the tflm engine (default: the board's `kernels`).") -> Callable[[F], F]:
    """``--kernels``: cmsis-nn or reference; None means the board's."""
    return click.option("--kernels", type=click.Choice(["cmsis-nn", "reference"]), default=None, help=help)


class WholeHelpGroup(click.Group):
    """A group whose --help lists each command's whole first sentence (wrapped), never cut mid-sentence."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(limit=1000)) for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
