"""`renkei onboarding ...` commands."""

from __future__ import annotations

import click


@click.group("onboarding")
def group() -> None:
    """onboarding commands."""
