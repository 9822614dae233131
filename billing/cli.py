"""Command line for billing: ``renkei billing simulate SCENARIO.json [--compare OTHER.json] [--json]``.

``billing_cli`` is a click group the ``renkei`` console script attaches as ``billing``; it also
runs on its own as ``python -m billing.cli simulate ...``.

Exit status: 0 on success; 2 when a scenario cannot be used (unreadable, invalid, or a floor/cap
that no allocation can meet). Then every problem is printed on stderr, one per line as
``FILE: where: problem``, and nothing on stdout, so a script never mistakes a partial result
for an answer.
"""

from __future__ import annotations

from pathlib import Path

import click

from billing.allocation import AllocationResult
from billing.errors import AllocationError, ScenarioError
from billing.scenario import Scenario, load_scenario
from billing.simulate import comparison_json, format_comparison, format_json, format_table, simulate

EXIT_BAD_SCENARIO = 2


@click.group(name="billing")
def billing_cli() -> None:
    """Cost allocation (按分計算) tools."""


def _load_and_allocate(path: Path, lang: str) -> tuple[Scenario | None, AllocationResult | None, list[str]]:
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        problems = error.problems_ja if lang == "ja" else error.problems
        return None, None, [f"{path}: {problem}" for problem in problems]
    try:
        return scenario, simulate(scenario), []
    except AllocationError as error:
        return scenario, None, [f"{path}: {error.message_ja if lang == 'ja' else error.message_en}"]


@billing_cli.command("simulate")
@click.argument("scenario_path", metavar="SCENARIO.json", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--compare",
    "other_path",
    metavar="OTHER.json",
    type=click.Path(dir_okay=True, path_type=Path),
    help="Second scenario: show each payer's amount in both and the difference (OTHER - SCENARIO).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="en",
    show_default=True,
    help="Language of the problem messages (ja: for municipal staff).",
)
def simulate_command(scenario_path: Path, other_path: Path | None, as_json: bool, lang: str) -> None:
    """Allocate the costs of SCENARIO.json and print each payer's share.

    Nothing is stored: this is for trying a policy before the council decides.
    """
    scenario, result, problems = _load_and_allocate(scenario_path, lang)
    other_scenario = other_result = None
    if other_path is not None:
        # Both files are checked before giving up, so every problem is listed in one run.
        other_scenario, other_result, other_problems = _load_and_allocate(other_path, lang)
        problems += other_problems
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise click.exceptions.Exit(EXIT_BAD_SCENARIO)
    assert scenario is not None and result is not None
    if other_path is None:
        if as_json:
            click.echo(format_json(result))
        else:
            click.echo(format_table(scenario, result), nl=False)
        return
    assert other_scenario is not None and other_result is not None
    if as_json:
        click.echo(comparison_json(result, other_result))
    else:
        click.echo(
            format_comparison(str(scenario_path), scenario, result, str(other_path), other_scenario, other_result),
            nl=False,
        )


if __name__ == "__main__":
    billing_cli()
