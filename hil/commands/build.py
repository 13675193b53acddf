"""``hil build``: placeholder until its issue lands."""

import click


@click.group("build")
def command() -> None:
    """(not yet implemented)"""
