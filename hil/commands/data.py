"""``hil data``: placeholder until its issue lands."""

import click


@click.group("data")
def command() -> None:
    """(not yet implemented)"""
