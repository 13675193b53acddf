"""``hil export``: placeholder until its issue lands."""

import click


@click.group("export")
def command() -> None:
    """(not yet implemented)"""
