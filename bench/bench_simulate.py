"""Benchmark: ``billing simulate`` on a nationwide-size scenario.

    python bench/bench_simulate.py [--smoke]

Builds, in memory, a scenario of 1,741 tenants (the number of municipalities in Japan, with
synthetic but valid local government codes) × 50 cost items × 3 components (equal,
population, usage:api_calls) and times parse + validate + allocate, the work of one
``simulate`` run before printing. Issue #12 sets no target of its own for this figure (it
reports 1,741 x 50 x 3 in 103 ms); the line prints the limit and the ratio.

Beside it, the same run measures the nearest limit: decoding the same JSON text (with
decimals, as the scenario parser does) plus adding up the same exact Fractions once (every
municipality's component shares). No simulate can beat that: it has to read the file and
touch every exact share at least once. The runs alternate (simulate, simulate with bounds,
limit, ...) so that a noisy shared machine slows all alike; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from billing.scenario import parse_scenario  # noqa: E402
from core.codes import with_check_digit  # noqa: E402
from billing.simulate import simulate  # noqa: E402
from bench import common  # noqa: E402

TENANTS = 1_741
COST_ITEMS = 50
REPEATS = 7


def synthetic_codes(count: int) -> list[str]:
    """Valid six-digit codes: five-digit bases plus their check digit, avoiding prefecture
    codes (xx000c), which are not municipalities."""
    codes = []
    base = 1_001
    while len(codes) < count:
        first_five = f"{base:05d}"
        if first_five[2:] != "000":
            codes.append(with_check_digit(first_five))
        base += 1
    return codes


def build_scenario(*, floor: int | None = None, cap: int | None = None) -> str:
    rng = random.Random(2025)
    tenants = []
    for code in synthetic_codes(TENANTS):
        tenants.append(
            {
                "code": code,
                "population": rng.randint(200, 3_800_000),
                "months": rng.choice([12] * 9 + [6, 3]),
                "usage": {"api_calls": rng.randint(0, 5_000_000)},
            }
        )
    costs = [{"id": f"cost-{number:02d}", "amount": rng.randint(0, 100_000_000)} for number in range(COST_ITEMS)]
    scenario = {
        "fiscal_year": 2025,
        "tenants": tenants,
        "costs": costs,
        "policy": {
            "prefecture": {"code": "430005", "share": "0.5"},
            "components": [
                {"basis": "equal", "weight": "0.3"},
                {"basis": "population", "weight": 0.5},
                {"basis": "usage:api_calls", "weight": "1/5"},
            ],
            "floor": floor,
            "cap": cap,
        },
    }
    return json.dumps(scenario)


def seconds(nanoseconds: float) -> str:
    whole = int(nanoseconds)
    return f"{whole // 1_000_000_000}.{(whole % 1_000_000_000) // 1_000_000:03d} s"


def report(label: str, timings: list[int]) -> str:
    best, median = min(timings), statistics.median(timings)
    return f"{label:<40} best {seconds(best)}  median {seconds(median)}"


def timed(action) -> int:
    started = time.perf_counter_ns()
    action()
    return time.perf_counter_ns() - started


def main() -> int:
    global TENANTS, COST_ITEMS, REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_smoke_option(parser, "50 tenants x 5 cost items, one run each")
    if parser.parse_args().smoke:
        TENANTS, COST_ITEMS, REPEATS = 50, 5, 1
    text = build_scenario()
    result = simulate(parse_scenario(text))
    assert sum(line.amount for line in result.lines) == result.total

    # With bounds that bind: a floor and a cap around the average municipal share, so the
    # exact λ search (sorting ~3,500 breakpoints) is exercised too.
    average = result.municipal_total / TENANTS
    bounded_text = build_scenario(floor=int(average / 2), cap=int(average * 2))
    bounded = simulate(parse_scenario(bounded_text))
    binding = sum(1 for line in bounded.lines if line.bound)

    exact_parts = [part for line in result.lines for part in line.exact_components.values()]
    runs = common.alternate({
        "plain": lambda n: timed(lambda: simulate(parse_scenario(text))),
        "bounds": lambda n: timed(lambda: simulate(parse_scenario(bounded_text))),
        "decode": lambda n: timed(lambda: json.loads(text, parse_float=Decimal)),
        "add_up": lambda n: timed(lambda: sum(exact_parts, Fraction(0))),
    }, REPEATS)
    plain, with_bounds, decode, add_up = runs["plain"], runs["bounds"], runs["decode"], runs["add_up"]
    limit = [decoded + added for decoded, added in zip(decode, add_up)]

    print(
        f"bench_simulate: {TENANTS:,} tenants x {COST_ITEMS} cost items x 3 components "
        f"(equal, population, usage:api_calls); scenario JSON {len(text.encode()):,} bytes; "
        f"{REPEATS} runs each"
    )
    print(report("parse+validate+allocate", plain))
    print(report(f"  same, floor+cap binding ({binding:,} lines)", with_bounds))
    print(
        report("limit: decode JSON + sum the Fractions", limit)
        + f"   (json.loads best {seconds(min(decode))}, "
        + f"summing {len(exact_parts):,} exact shares best {seconds(min(add_up))})"
    )
    print(
        "  the limit is the least any simulate must do in this run: decode the same JSON text "
        "with decimals and add up each exact component share once."
    )
    common.report("simulate, median", statistics.median(plain) / 1e6, statistics.median(limit) / 1e6, None, "ms",
                  higher_is_better=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
