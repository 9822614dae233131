"""`renkei gateway lint FILE`: the headers an nginx config's auth location must set; `renkei gateway fold`:
the folder process that records the gateway's counted calls in the database (docs/gateway.md)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("gateway")
def group() -> None:
    """The API gateway (nginx in front of the platform's APIs)."""


@group.command("lint")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def lint_command(file: Path) -> None:
    """Name what FILE's auth location lacks for renkei's check (exit 1 if anything); print its recipe hash."""
    from maintenance.nginx_lint import LintError, report
    from tenancy.identity.gateway import RECIPE_HEADER

    try:
        found = report(file)
    except LintError as error:
        raise click.ClickException(str(error)) from None
    for problem in found.problems:
        click.echo(problem)
    if found.problems:
        raise SystemExit(1)
    click.echo(f"{file}: the auth location passes no consumer header, sets every header the check reads and "
               "answers within a few seconds.")
    for target, digest, sent in found.hashes:
        if sent == digest:
            click.echo(f"auth location {target}: sends its recipe hash {digest}; register "
                       f"<the gateway's client id>={digest} in RENKEI_GATEWAY_RECIPES to bind the credential to it.")
        else:
            click.echo(f"auth location {target}: recipe hash {digest}. To bind the gateway's credential to this "
                       f"recipe, add 'proxy_set_header {RECIPE_HEADER} {digest};' to it and register "
                       f"<the gateway's client id>={digest} in RENKEI_GATEWAY_RECIPES (docs/gateway.md).")


@group.command("fold")
@click.option("--seconds", type=float, default=None,
              help="How often to fold (default RENKEI_GATEWAY_FOLD_SECONDS, 0.5).")
@click.option("--once", is_flag=True, help="Fold what is there now and end (beside a running folder too).")
@with_appcontext
def fold_command(seconds: float | None, once: bool) -> None:
    """Record the gateway's counted calls in the database: this host's folder process, run by systemd.

    Runs until stopped (SIGTERM or SIGINT end it between two folds; a kill at any moment loses and
    doubles nothing). Folds every call-log segment no server process holds: the sealed ones, and
    those of processes that ended. One per host: a second one waits until the first ends.
    """
    import signal
    import threading

    from flask import current_app

    from admin.service.gateway_calls import log_directory, run_folder

    app = current_app._get_current_object()
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    if not once:
        click.echo(f"Folding the gateway's calls in {log_directory(app)} until stopped.")
    counted = run_folder(app, stop, seconds=seconds, rounds=1 if once else None, lock=not once)
    click.echo(f"Gateway calls folded: {counted} newly counted.")
