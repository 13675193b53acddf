"""The ``hil`` command line: parses options, calls one stage, renders with rich.

Everything a command does is callable from Python; this module only wires
options to those functions and maps errors to exit statuses (hil.errors).
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import click

from hil import __version__, ui
from hil.commands.options import WholeHelpGroup
from hil.errors import EXIT_INFRA, EXIT_USAGE, HilError


class HilGroup(WholeHelpGroup):
    """Turns every HilError into one message and its exit status, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except HilError as exc:
            ui.err_console.print(f"[bold red]error:[/bold red] {exc}", soft_wrap=True)
            if exc.hint:
                ui.err_console.print(f"[yellow]hint:[/yellow] {exc.hint}", soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            ui.err_console.print("[bold red]interrupted[/bold red]")
            sys.exit(EXIT_INFRA)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # Everything written before (results.jsonl is flushed line by line) stays on disk.
            where = f" writing {exc.filename}" if exc.filename else ""
            ui.err_console.print(f"[bold red]error:[/bold red] no space left on the device{where}", soft_wrap=True)
            ui.err_console.print(
                "[yellow]hint:[/yellow] free some space (or point --work/--out elsewhere) and run the command again; "
                "an interrupted `hil run` continues with --resume",
                soft_wrap=True,
            )
            sys.exit(EXIT_INFRA)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise


class Obj:
    """Global options, passed to every command as ``ctx.obj``."""

    def __init__(self, boards: Path | None) -> None:
        self.boards = boards


@click.group(cls=HilGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hil")
@click.option("-v", "--verbose", is_flag=True, help="Show debug output (commands run, files written).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final result.")
@click.option(
    "--boards",
    type=click.Path(path_type=Path),
    envvar="HIL_BOARDS",
    default=None,
    help="Board definitions (env HIL_BOARDS; default ./boards.yaml).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: bool, quiet: bool, boards: Path | None) -> None:
    """Hardware-in-the-loop evaluation of a TinyML ECG rhythm classifier.

    Trains and int8-quantises the model, builds firmware, flashes a board (or
    boots an emulated Cortex-M4 in QEMU), streams test windows over serial and
    compares the device with the Keras, TFLite and TFLM references.

    \b
    Example:
      hil run                     # everything, on the emulated board
      hil run --board apollo4     # the same on an Apollo4 Plus EVB
    """
    ui.set_verbosity(quiet=quiet, verbose=verbose)
    if not verbose:
        from hil import quiet_tf

        quiet_tf.install()
    ctx.obj = Obj(boards)


def _register() -> None:
    from hil.commands import (boards, build, compare, data, deps, diagnose, doctor, export, flash, history, lab,
                              nightly, run, train)

    for mod in (boards, doctor, deps, data, train, export, build, flash, run, diagnose, history, compare, nightly, lab):
        cli.add_command(mod.command)


_register()


def main() -> None:
    # click reports usage errors with status 2; ours is 3 (2 means infrastructure).
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        ui.err_console.print("[bold red]aborted[/bold red]")
        sys.exit(EXIT_INFRA)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
