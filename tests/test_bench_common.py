"""bench/common.py: the sides alternate, the figures are judged against the project's targets."""

from __future__ import annotations

import argparse

from bench import common


def test_sides_alternate_round_by_round():
    calls = []
    samples = common.alternate({"a": lambda n: calls.append(("a", n)) or n,
                                "b": lambda n: calls.append(("b", n)) or 10 * n}, 3)
    assert calls == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert samples == {"a": [0, 1, 2], "b": [0, 10, 20]}


def test_median_and_nearest_rank_percentile():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert common.median(values) == 3.0
    assert common.percentile(values, 0.5) == 3.0
    assert common.percentile(values, 0.95) == 5.0
    assert common.percentile(list(range(1, 101)), 0.99) == 99


def test_a_throughput_ratio_below_the_project_target_is_not_met(capsys):
    assert common.report("get", 70.0, 100.0, "get-by-code", "req/s") is False
    line = capsys.readouterr().out
    assert "ratio  0.70" in line and ">= 0.8 of bare Flask" in line and "NOT met" in line
    assert common.report("get", 85.0, 100.0, "get-by-code", "req/s") is True


def test_a_time_ratio_meets_its_target_at_or_under_it(capsys):
    assert common.report("wave", 13.0, 10.0, "wave", "s", higher_is_better=False) is True
    assert common.report("wave", 13.5, 10.0, "wave", "s", higher_is_better=False) is False
    assert "1.3x the Keycloak calls alone" in capsys.readouterr().out


def test_an_absolute_goal_needs_no_limit(capsys):
    # issue 55 item 5: a page's p95 under 150 ms at national size
    assert common.report("page p95", 149.0, None, "page", "ms", higher_is_better=False) is True
    assert common.report("page p95", 150.0, None, "page", "ms", higher_is_better=False) is False
    assert common.report("quota p99", 2.5, None, "quota-check-p99", "ms", higher_is_better=False) is False
    assert common.report("verify", 10.0, 20.0, None, "records/s") is None
    assert "no project target" in capsys.readouterr().out


def test_the_database_comes_from_the_option_or_the_environment(monkeypatch):
    monkeypatch.setenv("RENKEI_BENCH_DATABASE_URL", "postgresql+psycopg://x@h/from-env")
    parser = argparse.ArgumentParser()
    common.add_database_option(parser, "sqlite:///default.db")
    assert parser.parse_args([]).database_url == "postgresql+psycopg://x@h/from-env"
    assert parser.parse_args(["--database-url", "sqlite:///given.db"]).database_url == "sqlite:///given.db"
    monkeypatch.delenv("RENKEI_BENCH_DATABASE_URL")
    parser = argparse.ArgumentParser()
    common.add_database_option(parser, "sqlite:///default.db")
    assert parser.parse_args([]).database_url == "sqlite:///default.db"
