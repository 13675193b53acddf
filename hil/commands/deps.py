"""``hil deps``: pinned external trees (TFLM, AmbiqSuite) for the tflm engine and real boards."""

from __future__ import annotations

from pathlib import Path

import click

from hil import deps, ui
from hil.commands.options import json_option


@click.command("deps")
@click.argument("name", type=click.Choice(sorted(deps.TREES)))
@click.option("--dest", type=click.Path(path_type=Path), default=None, help="Where the tree goes (default ./third_party/NAME, git-ignored).")
@click.option("--fetch", "do_fetch", is_flag=True, help="Clone and pin it now (needs internet); otherwise print the commands.")
@click.option("--probe-timeout", type=float, default=5.0, show_default=True,
              help="Seconds to wait for the tree's host before giving up (offline machines).")
@click.option("--offline-ok", is_flag=True,
              help="With --fetch: an unreachable host prints one line and exits 0 (make setup).")
@json_option()
def command(name: str, dest: Path | None, do_fetch: bool, probe_timeout: float, offline_ok: bool,
            as_json: bool) -> None:
    """Show (or fetch) the pinned source tree NAME the firmware can build against.

    The tflm engine needs a TensorFlow Lite Micro tree (HIL_TFLM_ROOT); the
    apollo4 port needs AmbiqSuite (HIL_AMBIQSUITE_ROOT). Neither is in a
    package registry, and neither is ever committed to this repository.

    \b
    Examples:
      hil deps tflm                 # print the commands and the pinned commit
      hil deps tflm --fetch         # clone it into ./third_party/tflm ($HIL_DEPS_DIR/tflm)
      hil deps tflm --fetch --offline-ok --probe-timeout 3
    """
    from hil.errors import InfraError

    t = deps.tree(name)
    dest = dest or deps.cache_dir(name)
    found = deps.located(name)
    if do_fetch and found and dest.resolve() == found.resolve():
        ui.console.print(f"{name} already at {found}")
        return
    if do_fetch:
        try:
            deps.fetch(name, dest, probe_timeout_s=probe_timeout)
        except InfraError as exc:
            if not (offline_ok and "unreachable" in str(exc)):
                raise
            ui.console.print(f"{name} not fetched ({exc}); hil run uses the aot engine until a tree is available",
                             soft_wrap=True)
            return
        ui.console.print(f"[green]fetched[/green] {name} at {t.commit} into {dest}")
        ui.console.print(f"export {t.env}={dest.resolve()}")
        return
    steps = deps.instructions(name, dest)
    if as_json:
        ui.print_json({"name": name, "env": t.env, "url": t.url, "commit": t.commit, "found": str(found) if found else None,
                       "commands": steps})
        return
    status = f"[green]found[/green] at {found}" if found else f"[yellow]not found[/yellow] (${t.env} unset or wrong)"
    ui.console.print(f"[bold]{name}[/bold]: {status}")
    ui.console.print(f"pinned: {t.commit or 'n/a'}   source: {t.url}")
    ui.console.print(t.note)
    for s in steps:
        ui.console.print(f"  {s}", soft_wrap=True)
