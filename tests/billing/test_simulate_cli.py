"""``billing simulate`` as a finance officer uses it: scenario files in, shares (or every
problem with the file) out. Expected figures are worked out by hand in the comments."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from billing.cli import billing_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
MUNICIPALITIES_CSV = REPO_ROOT / "tenancy" / "data" / "kumamoto_municipalities.csv"

SAMPLE = {
    "fiscal_year": 2025,
    "tenants": [{"code": "431001", "population": 738744, "months": 12, "usage": {"api_calls": 120000}}],
    "costs": [{"id": "cloud", "amount": 12000000}],
    "policy": {
        "prefecture": {"code": "430005", "share": "0.5"},
        "components": [{"basis": "equal", "weight": "0.5"}, {"basis": "population", "weight": "0.5"}],
        "floor": None,
        "cap": None,
    },
}

# docs/allocation.md, example 1, written as a scenario with weights as JSON numbers.
EXAMPLE_1 = {
    "fiscal_year": 2025,
    "tenants": [
        {"code": "433489", "population": 10000},
        {"code": "433641", "population": 20000},
        {"code": "433675", "population": 30000},
    ],
    "costs": [{"id": "cloud", "amount": 700000}, {"id": "maintenance", "amount": 300000}],
    "policy": {
        "prefecture": {"code": "430005", "share": 0.5},
        "components": [{"basis": "equal", "weight": 0.5}, {"basis": "population", "weight": "1/2"}],
    },
}


def write(tmp_path: Path, name: str, scenario: object) -> Path:
    path = tmp_path / name
    text = scenario if isinstance(scenario, str) else json.dumps(scenario, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def simulate(*args: object):
    return CliRunner().invoke(billing_cli, ["simulate", *map(str, args)])


def test_the_sample_scenario_prints_one_json_object_with_the_prefecture_line(tmp_path):
    result = simulate(write(tmp_path, "sample.json", SAMPLE), "--json")
    assert result.exit_code == 0, result.stderr
    # 12,000,000 yen: the prefecture bears half (6,000,000); Kumamoto city, the only
    # municipality, pays the other half, split 50/50 between the equal and population parts.
    assert json.loads(result.stdout) == {
        "total": 12000000,
        "allocations": [
            {"code": "430005", "amount": 6000000, "components": {"prefecture": 6000000}},
            {"code": "431001", "amount": 6000000, "components": {"equal": 3000000, "population": 3000000}},
        ],
    }
    assert result.stderr == ""


def test_worked_example_1_through_the_command_line(tmp_path):
    result = simulate(write(tmp_path, "example1.json", EXAMPLE_1), "--json")
    assert result.exit_code == 0, result.stderr
    output = json.loads(result.stdout)
    # Cost items 700,000 + 300,000 = 1,000,000; see docs/allocation.md example 1.
    assert output["total"] == 1_000_000
    assert [(line["code"], line["amount"]) for line in output["allocations"]] == [
        ("430005", 500_000),
        ("433489", 125_000),
        ("433641", 166_667),
        ("433675", 208_333),
    ]
    assert output["allocations"][2]["components"] == {"equal": 83_334, "population": 83_333}


def test_the_table_shows_japanese_names_yen_and_shares(tmp_path):
    result = simulate(write(tmp_path, "example1.json", EXAMPLE_1))
    assert result.exit_code == 0, result.stderr
    table = result.stdout
    assert "令和7年度" in table
    assert "熊本県" in table and "美里町" in table and "南関町" in table
    assert "500,000円" in table and "166,667円" in table and "1,000,000円" in table
    # 玉東町 433641 pays 166,667 of 1,000,000: 16.6667% → 16.67%.
    rows = {line.split()[0]: line for line in table.splitlines() if line[:6].isdigit()}
    assert "玉東町" in rows["433641"] and rows["433641"].rstrip().endswith("16.67%")
    assert rows["430005"].rstrip().endswith("50.00%")
    assert "equal" in table and "population" in table


def test_a_scenario_with_several_faults_lists_every_one_and_prints_nothing(tmp_path):
    bad = {
        "fiscal_year": 2025,
        "tenants": [
            {"code": "431001", "population": 738744, "months": 13},
            {"code": "431002", "population": 123146},
            {"code": "432024", "population": 1.5, "months": 6},
            {"code": "431001", "population": 10},
            {"code": "430005", "population": 1},
            {"code": "432032", "population": 31334, "usage": {"api_calls": -1}},
        ],
        "costs": [{"id": "cloud", "amount": 1.5}, {"id": "maintenance", "amount": "12"}],
        "policy": {
            "prefecture": {"code": "430005", "share": "1.2"},
            "components": [
                {"basis": "equal", "weight": "0.5"},
                {"basis": "area", "weight": "0.2"},
                {"basis": "usage:api_calls", "weight": "0.2"},
            ],
            "floor": 1000,
            "cap": 10,
        },
    }
    result = simulate(write(tmp_path, "bad.json", bad), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    problems = result.stderr.strip().splitlines()
    expected = [
        "tenants[0].months",
        "tenants[1].code: check digit wrong for 431002 (expected 431001)",
        "tenants[2].population",
        "tenants[3].code: 431001 is already listed at tenants[0]",
        "tenants[4].code: 430005 is the prefecture",
        "tenants[5].usage.api_calls",  # negative quantity
        "tenants[0].usage.api_calls: missing",
        "costs[0].amount",
        "costs[1].amount",
        "policy.prefecture.share",
        "policy.components[1].basis: unknown basis 'area'",
        "policy.components: weights must add up to exactly 1; they add up to 0.9",
        "policy.floor: the floor (1,000 yen) is above the cap (10 yen)",
    ]
    for fragment in expected:
        assert any(fragment in problem for problem in problems), (fragment, problems)
    assert all(problem.startswith(f"{tmp_path / 'bad.json'}: ") for problem in problems)
    assert len(problems) >= len(expected)


def test_weights_written_as_json_decimals_are_exact(tmp_path):
    # 0.1 + 0.2 + 0.7 is 1.0000000000000002 in binary floating point; as decimals it is 1.
    scenario = dict(EXAMPLE_1)
    scenario["tenants"] = [dict(tenant, usage={"api_calls": 100}) for tenant in EXAMPLE_1["tenants"]]
    scenario["policy"] = {
        "components": [
            {"basis": "equal", "weight": 0.1},
            {"basis": "population", "weight": 0.2},
            {"basis": "usage:api_calls", "weight": 0.7},
        ]
    }
    result = simulate(write(tmp_path, "decimals.json", scenario), "--json")
    assert result.exit_code == 0, result.stderr
    # 1,000,000: equal 100,000 → 33,333⅓ each; population 200,000 → 33,333⅓ / 66,666⅔ /
    # 100,000; usage 700,000 → 233,333⅓ each. Exact lines 300,000 / 333,333⅓ / 366,666⅔;
    # floors 999,999 → the missing yen to 433675 (⅔).
    amounts = {line["code"]: line["amount"] for line in json.loads(result.stdout)["allocations"]}
    assert amounts == {"433489": 300_000, "433641": 333_333, "433675": 366_667}


def test_a_usage_basis_nobody_used_cannot_be_divided(tmp_path):
    scenario = dict(EXAMPLE_1)
    scenario["tenants"] = [dict(tenant, usage={"api_calls": 0}) for tenant in EXAMPLE_1["tenants"]]
    scenario["policy"] = {
        "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "usage:api_calls", "weight": "1/2"}]
    }
    result = simulate(write(tmp_path, "unused.json", scenario))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "policy.components[1]: usage:api_calls has weight 0.5 (1/2)" in result.stderr


def test_everyone_with_zero_months_leaves_nothing_to_divide(tmp_path):
    scenario = dict(EXAMPLE_1)
    scenario["tenants"] = [dict(tenant, months=0) for tenant in EXAMPLE_1["tenants"]]
    result = simulate(write(tmp_path, "nobody.json", scenario))
    assert result.exit_code == 2
    assert "every tenant has months 0" in result.stderr


def test_an_infeasible_floor_exits_2_with_the_reason(tmp_path):
    # The municipalities share 500,000 (the prefecture bears half); 3 × 200,000 = 600,000.
    scenario = json.loads(json.dumps(EXAMPLE_1))
    scenario["policy"]["floor"] = 200_000
    result = simulate(write(tmp_path, "floor.json", scenario))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "policy.floor: infeasible floor" in result.stderr
    assert "600,000" in result.stderr and "500,000" in result.stderr


def test_a_cap_infeasible_because_a_member_used_nothing_exits_2_at_policy_cap(tmp_path):
    # Pure usage policy on 1,000,000 with a cap of 400,000: 3 × 400,000 = 1,200,000 looks
    # enough, but 433489 used nothing and no scaling charges it, so the two users carry at
    # most 2 × 400,000 = 800,000 < 1,000,000. Validation asks allocation's own test.
    scenario = json.loads(json.dumps(EXAMPLE_1))
    scenario["policy"] = {"components": [{"basis": "usage:api_calls", "weight": 1}], "cap": 400_000}
    for tenant, used in zip(scenario["tenants"], (0, 10, 30)):
        tenant["usage"] = {"api_calls": used}
    result = simulate(write(tmp_path, "cap.json", scenario))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "policy.cap: infeasible cap" in result.stderr and "800,000" in result.stderr


def test_a_missing_file_and_broken_json_are_reported(tmp_path):
    broken = write(tmp_path, "broken.json", '{"fiscal_year": 2025,\n "tenants": [}')
    result = simulate(tmp_path / "nowhere.json", "--compare", broken)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"{tmp_path / 'nowhere.json'}: file not found"
    assert lines[1].startswith(f"{broken}: invalid JSON at line 2")


def test_problems_in_japanese_for_municipal_staff(tmp_path):
    scenario = json.loads(json.dumps(SAMPLE))
    scenario["tenants"][0]["code"] = "431002"
    result = simulate(write(tmp_path, "ja.json", scenario), "--lang", "ja")
    assert result.exit_code == 2
    assert "431002 の検査数字が正しくありません(正しくは 431001)" in result.stderr


def kumamoto_codes() -> list[str]:
    with MUNICIPALITIES_CSV.open(encoding="utf-8") as municipalities:
        return [row["code"] for row in csv.DictReader(municipalities) if row["kind"] != "prefecture"]


def wave_scenario(fiscal_year: int, codes: list[str]) -> dict:
    return {
        "fiscal_year": fiscal_year,
        "tenants": [{"code": code} for code in codes],
        "costs": [{"id": "cloud", "amount": 273_000}],
        "policy": {"components": [{"basis": "equal", "weight": 1}]},
    }


def test_compare_thirteen_members_with_twenty_one(tmp_path):
    codes = kumamoto_codes()
    first_wave, fy2025 = codes[:13], codes[:21]
    a = write(tmp_path, "fy2024.json", wave_scenario(2024, first_wave))
    b = write(tmp_path, "fy2025.json", wave_scenario(2025, fy2025))

    # 273,000 yen split equally: 21,000 each among 13; 13,000 each among 21. The first wave
    # pays 8,000 less each; the 8 newcomers pay 13,000 (from nothing).
    result = simulate(a, "--compare", b, "--json")
    assert result.exit_code == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert comparison["a"]["total"] == comparison["b"]["total"] == 273_000
    differences = {row["code"]: row for row in comparison["differences"]}
    assert sorted(differences) == sorted(fy2025)
    for code in first_wave:
        assert differences[code] == {"code": code, "a": 21_000, "b": 13_000, "difference": -8_000}
    for code in fy2025[13:]:
        assert differences[code] == {"code": code, "a": None, "b": 13_000, "difference": 13_000}

    table = simulate(a, "--compare", b)
    assert table.exit_code == 0, table.stderr
    assert "熊本市" in table.stdout
    assert table.stdout.count("-8,000円") == 13
    assert table.stdout.count("+13,000円") == 8
    assert "13 municipalities" in table.stdout and "21 municipalities" in table.stdout


def test_runs_as_python_module(tmp_path):
    path = write(tmp_path, "sample.json", SAMPLE)
    environment = dict(os.environ, PYTHONIOENCODING="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "billing.cli", "simulate", str(path), "--json"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    output = json.loads(completed.stdout)
    assert output["total"] == 12_000_000
    assert [line["amount"] for line in output["allocations"]] == [6_000_000, 6_000_000]


@pytest.mark.parametrize("months", [6.0, "6", 13, -1])
def test_months_must_be_a_whole_number_within_the_year(tmp_path, months):
    scenario = json.loads(json.dumps(SAMPLE))
    scenario["tenants"][0]["months"] = months
    result = simulate(write(tmp_path, "months.json", scenario))
    assert result.exit_code == 2
    assert "tenants[0].months: must be a whole number of months from 0 to 12" in result.stderr


def test_a_member_with_zero_months_needs_no_figures_and_pays_nothing(tmp_path):
    # 433683 joins next year: listed with months 0 and nothing else. The others split as in
    # example 1 (its population and usage would not count anyway).
    scenario = json.loads(json.dumps(EXAMPLE_1))
    scenario["tenants"].append({"code": "433683", "months": 0})
    result = simulate(write(tmp_path, "next-year.json", scenario), "--json")
    assert result.exit_code == 0, result.stderr
    amounts = {line["code"]: line["amount"] for line in json.loads(result.stdout)["allocations"]}
    assert amounts == {"430005": 500_000, "433489": 125_000, "433641": 166_667, "433675": 208_333, "433683": 0}


def test_a_key_given_twice_and_a_municipal_code_as_prefecture_are_reported(tmp_path):
    text = json.dumps(EXAMPLE_1).replace('"fiscal_year": 2025', '"fiscal_year": 2024, "fiscal_year": 2025')
    text = text.replace('"code": "430005"', '"code": "431001"')
    result = simulate(write(tmp_path, "twice.json", text))
    assert result.exit_code == 2
    assert "fiscal_year: given more than once" in result.stderr
    assert "policy.prefecture.code: 431001 is not a prefecture code" in result.stderr
