"""`renkei usage ...` commands."""

from __future__ import annotations

import click


@click.group("usage")
def group() -> None:
    """usage commands."""
