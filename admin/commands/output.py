"""How a ``renkei`` command reports a refused operation (the message in both languages, then the exit
code) and writes what it produces (a file, or standard output)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, TypeVar

import click

from core.errors import DomainError


def fail(error: DomainError) -> None:
    click.echo(f"エラー: {error.message_ja}", err=True)
    click.echo(f"Error: {error.message_en}", err=True)
    for item in error.problems:
        click.echo(f"  {item['field']}: {item['message_ja']} / {item['message_en']}", err=True)
    sys.exit(2 if error.kind == "invalid" else 1)


T = TypeVar("T")


def committed(operation: Callable[[], T]) -> T:
    """Run ``operation`` and commit; a refused one is rolled back and reported with :func:`fail`."""
    from admin.extensions import db

    try:
        result = operation()
        db.session.commit()
        return result
    except DomainError as error:
        db.session.rollback()
        fail(error)
        raise  # fail() exits; never reached


def write_output(data: bytes, output: Path | None, *, private: bool = False) -> None:
    """A command's file: written to ``output``, or to standard output when none is given. ``private``
    (personal data): the file is written anew, readable by this user only."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    elif private:
        from core.signing import open_private

        if output.exists():
            output.unlink()
        with open_private(output) as handle:
            handle.write(data)
    else:
        output.write_bytes(data)
