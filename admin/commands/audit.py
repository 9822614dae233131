"""`renkei audit ...` commands."""

from __future__ import annotations

import click


@click.group("audit")
def group() -> None:
    """audit commands."""
