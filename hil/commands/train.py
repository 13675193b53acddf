"""``hil train``: placeholder until its issue lands."""

import click


@click.group("train")
def command() -> None:
    """(not yet implemented)"""
