"""`renkei gateway lint FILE`: the headers an nginx config's auth location must set (docs/gateway.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("gateway")
def group() -> None:
    """The API gateway (nginx in front of the platform's APIs)."""


@group.command("lint")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def lint_command(file: Path) -> None:
    """Name every header renkei's check needs that FILE's auth location does not set; exit 1 if any."""
    from maintenance.nginx_lint import LintError, lint

    try:
        problems = lint(file)
    except LintError as error:
        raise click.ClickException(str(error)) from None
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(1)
    click.echo(f"{file}: the auth location passes no consumer header and sets every header the check reads.")
