"""The order the suite's tests start in (tests/conftest.py ``run_order``) and the per-worker table of where the time
went (tests/suite_times.py ``by_worker``): what CI's log shows of a run's end."""

from __future__ import annotations

import pytest

from tests.conftest import run_order
from tests.suite_times import breakdown, by_worker


class Item:
    def __init__(self, name: str, *markers: str):
        self.name = name
        self.markers = set(markers)

    def get_closest_marker(self, name: str):
        return pytest.mark.__getattr__(name) if name in self.markers else None


def test_long_tests_start_first_those_needing_no_keycloak_before_and_the_keycloak_stoppers_stay_last():
    items = [Item("ends", "ends_keycloak", "keycloak"), Item("plain"), Item("stops", "stops_keycloak", "keycloak"),
             Item("long stopper", "long", "stops_keycloak", "keycloak"), Item("keycloak", "keycloak"),
             Item("long keycloak", "long", "keycloak"), Item("long", "long"), Item("plain 2"), Item("long 2", "long")]
    items.sort(key=run_order)
    assert [item.name for item in items] == ["long", "long 2", "long keycloak", "plain", "plain 2", "keycloak",
                                             "long stopper", "stops", "ends"]


def test_the_browser_tests_come_after_every_other_keycloak_test_their_long_crawls_first():
    items = [Item("page", "browser", "keycloak"), Item("stops", "stops_keycloak", "keycloak"),
             Item("crawl", "long", "browser", "keycloak"), Item("keycloak", "keycloak"), Item("plain"),
             Item("long keycloak", "long", "keycloak")]
    items.sort(key=run_order)
    assert [item.name for item in items] == ["long keycloak", "plain", "keycloak", "crawl", "page", "stops"]


def test_the_session_runs_the_long_tests_first_and_the_crawls_after_the_other_keycloak_tests(request):
    """The order this very session got (whatever -k or -m selected): the sort is the one that ran."""
    items = request.session.items
    assert [run_order(item) for item in items] == sorted(run_order(item) for item in items)


def test_the_worker_table_shows_how_long_each_worker_sat_idle_at_the_end():
    rows = [
        {"id": "a", "package": "p", "markers": [], "seconds": 60.0, "worker": "gw0", "start": 1000.0, "stop": 1060.0},
        {"id": "b", "package": "p", "markers": [], "seconds": 40.0, "worker": "gw0", "start": 1060.0, "stop": 1100.0},
        {"id": "c", "package": "p", "markers": [], "seconds": 30.0, "worker": "gw1", "start": 1000.0, "stop": 1030.0},
    ]
    table = by_worker(rows)
    assert table[1].split() == ["gw0", "2", "100.0", "100", "0"]
    assert table[2].split() == ["gw1", "1", "30.0", "30", "70"]  # done at 30 s of 100: idle for the last 70
    assert table[-1].strip() == "first start to last end: 100 s"
    assert table[0] in breakdown(rows)


def test_rows_without_times_from_an_older_report_give_no_worker_table():
    rows = [{"id": "a", "package": "p", "markers": [], "seconds": 1.0}]
    assert by_worker(rows) == []
    assert not any(line.startswith("by worker") for line in breakdown(rows))
