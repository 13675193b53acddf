"""``hil flash``: placeholder until its issue lands."""

import click


@click.group("flash")
def command() -> None:
    """(not yet implemented)"""
