"""bench/bench_pages.py's list of pages: every GET page of the app is requested or knowingly left out, and a
route with a parameter nothing fills stops the benchmark naming the route (issue 49, item 6: a route's
``period`` once stopped it with a bare KeyError, and nothing ran it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from werkzeug.routing import Map, Rule

from bench import bench_pages

FACTS = {"run_id": 3, "item_id": 7, "fiscal_year": 2025, "month": "2026-04"}


def test_every_page_of_the_app_is_filled_or_knowingly_left_out(app):
    paths, skipped = bench_pages.page_paths(app, FACTS)
    assert any(path.startswith("/admin/members-report/") and path.endswith(".pdf") for path in paths)  # its period
    assert "/admin/progress/report/2026-04.xlsx" in paths
    assert "/admin/meetings/<int:meeting_id>" in skipped  # a meeting the national data set does not make
    assert not [path for path in paths if "<" in path]


def test_the_annual_report_is_timed_for_the_closed_year_and_the_year_in_progress(app):
    """The year in progress reads every dataset and the live figures (issue 55, item 5: every download timed)."""
    from core.calendar import fiscal_year_of, today_jst

    paths, _ = bench_pages.page_paths(app, FACTS)
    for year in (2025, fiscal_year_of(today_jst())):
        for fmt in ("pdf", "xlsx"):
            assert f"/admin/annual-reports/{year}.{fmt}" in paths


def test_a_route_whose_parameter_nothing_fills_is_named():
    routes = SimpleNamespace(url_map=Map([Rule("/admin/tenants/", endpoint="tenants.index", methods=["GET"]),
                                          Rule("/admin/widgets/<int:widget_id>/", endpoint="widgets.detail",
                                               methods=["GET"])]))
    with pytest.raises(bench_pages.UnfilledRoute, match=r"/admin/widgets/<int:widget_id>/ \(widgets.detail: widget_id\)"):
        bench_pages.page_paths(routes, FACTS)
