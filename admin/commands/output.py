"""How a ``renkei`` command reports a refused operation: the message in both languages, then the exit code."""

from __future__ import annotations

import sys

import click

from core.errors import DomainError


def fail(error: DomainError) -> None:
    click.echo(f"エラー: {error.message_ja}", err=True)
    click.echo(f"Error: {error.message_en}", err=True)
    for item in error.problems:
        click.echo(f"  {item['field']}: {item['message_ja']} / {item['message_en']}", err=True)
    sys.exit(2 if error.kind == "invalid" else 1)
