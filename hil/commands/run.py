"""``hil run``: placeholder until its issue lands."""

import click


@click.group("run")
def command() -> None:
    """(not yet implemented)"""
